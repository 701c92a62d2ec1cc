"""The texts of an alert, one per language, and what sending them costs: pure, no I/O.

Each language the template exists in (or those asked for) is rendered with the same parameters;
an exercise is marked "EXERCICE" at the head of every text, so nobody mistakes it for the real
thing. Subscribers get their language, or French. A template tried with real parameters before
any alert (``alertd templates preview``) is described here too.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal

from alertd.errors import InputError
from templates import FALLBACK_LANGUAGE, Catalog, Rendered, TemplateError, analyse, costs

EXERCISE_PREFIX = "EXERCICE - "


@dataclass(frozen=True, slots=True)
class Text:
    lang: str
    text: str  # what goes out
    encoding: str
    segments: int


def render_texts(
    catalog: Catalog,
    template: str,
    params: Mapping[str, str],
    languages: Sequence[str] | None,
    *,
    exercise: bool,
) -> dict[str, Text]:
    """The text in each language; InputError names the template problem for the officer."""
    try:
        available = catalog.languages(template)
        if not available:
            catalog.get(template, FALLBACK_LANGUAGE)  # raises, naming the known templates
        wanted = list(languages) if languages else available
        unknown = [lang for lang in wanted if lang not in available]
        if unknown:
            raise InputError(
                f"template {template!r} has no text in {', '.join(unknown)} "
                f"(it has {', '.join(available)})"
            )
        if FALLBACK_LANGUAGE not in wanted:
            wanted.append(FALLBACK_LANGUAGE)  # everyone else falls back to it
        return {lang: _one(catalog, template, lang, params, exercise) for lang in wanted}
    except TemplateError as exc:
        raise InputError(str(exc)) from None


def _one(
    catalog: Catalog, template: str, lang: str, params: Mapping[str, str], exercise: bool
) -> Text:
    chosen = catalog.get(template, lang)
    rendered = chosen.render({k: v for k, v in params.items() if k in chosen.params})
    text = (EXERCISE_PREFIX if exercise else "") + rendered.to_send
    info = analyse(text)
    if info.segments > chosen.max_segments + (1 if exercise else 0):
        raise InputError(
            f"{lang}/{template}: the text takes {info.segments} SMS segments, more than the "
            f"{chosen.max_segments} this template allows: shorten the parameters"
        )
    return Text(lang, text, info.encoding, info.segments)


def missing_params(catalog: Catalog, template: str, params: Mapping[str, str]) -> list[str]:
    try:
        return [p for p in catalog.get(template, FALLBACK_LANGUAGE).params if p not in params]
    except TemplateError as exc:
        raise InputError(str(exc)) from None


@dataclass(frozen=True, slots=True)
class Estimate:
    recipients: int
    segments: int  # in all, each recipient counted with their language's text
    cost_eur: dict[str, str]  # per gateway, if everything went through it
    seconds: float | None  # at the primary gateway's rate; None: no rate configured


def estimate(
    texts: Mapping[str, Text],
    recipients_by_language: Mapping[str, int],
    prices: Mapping[str, Decimal],
    rate: float,
) -> Estimate:
    """Segments, cost and time for these recipients. The time is at the primary gateway's rate
    (segments per second): the others only take what it fails to send."""
    segments = sum(
        n * texts.get(lang, texts[FALLBACK_LANGUAGE]).segments
        for lang, n in recipients_by_language.items()
    )
    return priced(sum(recipients_by_language.values()), segments, prices, rate)


def priced(recipients: int, segments: int, prices: Mapping[str, Decimal], rate: float) -> Estimate:
    """What these segments cost at each gateway's price, and take at the primary's rate."""
    return Estimate(
        recipients=recipients,
        segments=segments,
        cost_eur={n: str((p * segments).quantize(Decimal("0.01"))) for n, p in prices.items()},
        seconds=round(segments / rate, 1) if rate else None,
    )


@dataclass(frozen=True, slots=True)
class TemplateLine:
    """One template in one language, as the catalog lists it."""

    name: str
    lang: str
    event: str
    severity: str
    max_segments: int
    params: tuple[str, ...]
    description: str


def template_lines(catalog: Catalog) -> list[TemplateLine]:
    return [
        TemplateLine(
            t.name, t.lang, t.event, t.severity, t.max_segments, tuple(t.params), t.description
        )
        for t in catalog
    ]


@dataclass(frozen=True, slots=True)
class TemplatePreview:
    """A template rendered with real parameters: what goes out, in how many segments, at what
    cost, and why (the characters that force UCS-2 or cost two septets, the transliteration)."""

    name: str
    lang: str
    severity: str
    text: str
    encoding: str
    units: int  # septets (GSM-7) or UTF-16 code units (UCS-2)
    segments: int
    max_segments: int
    ucs2_chars: tuple[str, ...]
    extension_chars: tuple[str, ...]
    transliterated_text: str | None
    transliterated_segments: int | None
    replacements: tuple[tuple[str, str], ...]  # (original, replacement)
    to_send: str
    segments_to_send: int
    over_limit: bool
    recipients: int
    cost_eur: Mapping[str, Decimal]  # per gateway


def describe(rendered: Rendered, recipients: int, prices: Mapping[str, Decimal]) -> TemplatePreview:
    info = rendered.info
    plain = rendered.alternative
    return TemplatePreview(
        name=rendered.template.name,
        lang=rendered.template.lang,
        severity=rendered.template.severity,
        text=rendered.text,
        encoding=info.encoding,
        units=info.units,
        segments=info.segments,
        max_segments=rendered.template.max_segments,
        ucs2_chars=info.ucs2_chars,
        extension_chars=info.extension_chars,
        transliterated_text=plain.text if plain else None,
        transliterated_segments=analyse(plain.text).segments if plain else None,
        replacements=plain.replaced if plain else (),
        to_send=rendered.to_send,
        segments_to_send=rendered.segments_to_send,
        over_limit=rendered.over_limit,
        recipients=recipients,
        cost_eur=costs(rendered.segments_to_send, recipients, prices),
    )
