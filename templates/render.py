"""Message templates: plain text files a communications officer can edit, and their rendering.

A template file is a small header, a line of three dashes, then the text::

    event: submersion
    severity: life_safety
    max_segments: 2
    transliterate: yes
    lengths: zone=60, instructions=140
    ---
    ALERTE SUBMERSION MARINE {commune}, {zone}: montez à l'étage ...

Placeholders are ``{name}``. Rendering refuses a missing or unknown parameter by name, and cleans
every value: control characters and line breaks become spaces, spaces are collapsed, and a value
longer than its bound is refused. A parameter can therefore never start a second message, add a
line, or smuggle a placeholder (values are inserted as they are, never formatted again).
"""

from __future__ import annotations

import string
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass, field

from templates.sms import TextInfo, analyse
from templates.translit import Transliteration, transliterate

SEVERITIES = ("life_safety", "information")
DEFAULT_LENGTH = 60
_KNOWN_HEADER = ("event", "severity", "max_segments", "transliterate", "lengths", "description")


class TemplateError(ValueError):
    """A template file or a rendering request is wrong; the message names what and where."""


@dataclass(frozen=True, slots=True)
class Template:
    name: str
    lang: str
    event: str
    severity: str
    body: str
    max_segments: int = 2
    transliterate: bool = True
    lengths: Mapping[str, int] = field(default_factory=dict)
    description: str = ""

    @property
    def params(self) -> tuple[str, ...]:
        return placeholders(self.body, f"{self.lang}/{self.name}")

    def render(self, values: Mapping[str, object]) -> Rendered:
        missing = [p for p in self.params if p not in values]
        if missing:
            raise TemplateError(
                f"{self.lang}/{self.name}: missing parameter(s) "
                f"{', '.join(missing)} (the template uses {', '.join(self.params)})"
            )
        unknown = sorted(set(values) - set(self.params))
        if unknown:
            raise TemplateError(
                f"{self.lang}/{self.name}: unknown parameter(s) "
                f"{', '.join(unknown)} (the template uses {', '.join(self.params)})"
            )
        clean = {
            p: clean_value(p, values[p], self.lengths.get(p, DEFAULT_LENGTH)) for p in self.params
        }
        text = self.body.format_map(clean)
        return Rendered(self, text, analyse(text))


@dataclass(frozen=True, slots=True)
class Rendered:
    template: Template
    text: str
    info: TextInfo

    @property
    def alternative(self) -> Transliteration | None:
        """The GSM-7 transliteration, when the template allows it and it saves segments."""
        if not self.template.transliterate or not self.info.ucs2_chars:
            return None
        plain = transliterate(self.text)
        if not plain.faithful or analyse(plain.text).segments >= self.info.segments:
            return None
        return plain

    @property
    def to_send(self) -> str:
        """What goes out: the transliteration when it is offered, else the text as written."""
        plain = self.alternative
        return plain.text if plain is not None else self.text

    @property
    def segments_to_send(self) -> int:
        return analyse(self.to_send).segments

    @property
    def over_limit(self) -> bool:
        """More segments than the template allows, even after transliteration."""
        return self.segments_to_send > self.template.max_segments


def placeholders(body: str, where: str) -> tuple[str, ...]:
    names: dict[str, None] = {}
    try:
        parsed = list(string.Formatter().parse(body))
    except ValueError as exc:
        raise TemplateError(
            f"{where}: bad braces in the text ({exc}); write {{{{ for a brace"
        ) from None
    for _, name, spec, conversion in parsed:
        if name is None:
            continue
        if not name.isidentifier() or spec or conversion:
            raise TemplateError(
                f"{where}: placeholder {{{name}}} must be a plain name like {{commune}}"
            )
        names[name] = None
    return tuple(names)


def clean_value(name: str, value: object, limit: int) -> str:
    if value is None:
        raise TemplateError(f"parameter {name} has no value")
    text = unicodedata.normalize("NFC", str(value))
    # Invisible format characters (soft hyphen, zero-width space) go; other control and
    # separator characters (line breaks, tabs, no-break spaces) become plain spaces.
    text = "".join(
        ""
        if unicodedata.category(c) == "Cf"
        else " "
        if unicodedata.category(c)[0] in "CZ" and c != " "
        else c
        for c in text
    )
    text = " ".join(text.split())
    if not text:
        raise TemplateError(f"parameter {name} is empty")
    if len(text) > limit:
        raise TemplateError(f"parameter {name} is {len(text)} characters, at most {limit}")
    return text


def parse_template(name: str, lang: str, source: str) -> Template:
    where = f"{lang}/{name}"
    source = unicodedata.normalize("NFC", source.replace("\r\n", "\n"))
    head, sep, body = (
        ("", "---", source[4:]) if source.startswith("---\n") else source.partition("\n---\n")
    )
    if not sep:
        raise TemplateError(f"{where}: no '---' line between the header and the text")
    meta: dict[str, str] = {}
    for number, line in enumerate(head.splitlines(), start=1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        key, colon, value = line.partition(":")
        key = key.strip()
        if not colon or key not in _KNOWN_HEADER:
            raise TemplateError(
                f"{where}: header line {number} {line!r}: expected one of "
                f"{', '.join(_KNOWN_HEADER)} followed by ':'"
            )
        meta[key] = value.strip()
    template = Template(
        name=name,
        lang=lang,
        event=meta.get("event", name),
        severity=_severity(meta.get("severity", "information"), where),
        body=body.strip("\n"),
        max_segments=_positive(meta.get("max_segments", "2"), where),
        transliterate=_yes_no(meta.get("transliterate", "yes"), where),
        lengths=_lengths(meta.get("lengths", ""), where),
        description=meta.get("description", ""),
    )
    if not template.body.strip():
        raise TemplateError(f"{where}: the text is empty")
    template.params  # noqa: B018 - parse the placeholders now, so a bad file fails at load
    return template


def _severity(value: str, where: str) -> str:
    if value not in SEVERITIES:
        raise TemplateError(f"{where}: severity {value!r} is not one of {', '.join(SEVERITIES)}")
    return value


def _yes_no(value: str, where: str) -> bool:
    answer = value.strip().lower()
    if answer in ("yes", "true", "oui", "1"):
        return True
    if answer in ("no", "false", "non", "0"):
        return False
    raise TemplateError(f"{where}: transliterate {value!r} is not yes or no")


def _positive(value: str, where: str) -> int:
    if not value.isdecimal() or not value.isascii() or int(value) < 1:
        raise TemplateError(f"{where}: max_segments {value!r} is not a positive whole number")
    return int(value)


def _lengths(value: str, where: str) -> dict[str, int]:
    lengths = {}
    for item in filter(None, (i.strip() for i in value.split(","))):
        name, eq, number = item.partition("=")
        number = number.strip()
        if not eq or not name.strip().isidentifier() or not (number.isascii() and number.isdigit()):
            raise TemplateError(f"{where}: lengths item {item!r} is not name=number")
        lengths[name.strip()] = int(number)
    return lengths
