"""The texts of an alert, one per language, and what sending them costs: pure, no I/O.

Each language the template exists in (or those asked for) is rendered with the same parameters;
an exercise is marked "EXERCICE" at the head of every text, so nobody mistakes it for the real
thing. Subscribers get their language, or French.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal

from alertd.errors import InputError
from templates import FALLBACK_LANGUAGE, Catalog, TemplateError, analyse

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
    return Estimate(
        recipients=sum(recipients_by_language.values()),
        segments=segments,
        cost_eur={n: str((p * segments).quantize(Decimal("0.01"))) for n, p in prices.items()},
        seconds=round(segments / rate, 1) if rate else None,
    )
