"""SMS text rules: GSM-7 or UCS-2, septets, segments, and the split into segments.

A message is GSM-7 when every character is in the GSM 03.38 default alphabet or its extension
table (the extension characters ^ { } \\ [ ] ~ | € cost two septets: an escape and the character).
One character outside turns the whole message into UCS-2. A single message holds 160 septets
(GSM-7) or 70 UTF-16 code units (UCS-2); a concatenated one carries a header, leaving 153 septets
or 67 code units a segment. An escape sequence or a surrogate pair is never split across segments:
the segment ends one unit early instead. The ``gsm0338`` codec is the reference for the alphabet.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import gsm0338  # noqa: F401 - registers the "gsm03.38" codec

GSM7 = "GSM-7"
UCS2 = "UCS-2"
SINGLE = {GSM7: 160, UCS2: 70}
PART = {GSM7: 153, UCS2: 67}


@lru_cache(maxsize=4096)
def septets(char: str) -> int:
    """Septets the character costs in GSM-7 (1 or 2), or 0 when it is not in GSM-7."""
    try:
        return len(char.encode("gsm03.38"))
    except UnicodeEncodeError:
        return 0


def _units(char: str, encoding: str) -> int:
    if encoding == GSM7:
        return septets(char)
    return 2 if ord(char) > 0xFFFF else 1  # UTF-16 code units


@dataclass(frozen=True, slots=True)
class TextInfo:
    encoding: str  # GSM-7 or UCS-2
    units: int  # septets (GSM-7) or UTF-16 code units (UCS-2)
    segments: int
    ucs2_chars: tuple[str, ...]  # the characters that forced UCS-2, each once, in order
    extension_chars: tuple[str, ...]  # GSM-7 characters that cost two septets

    @property
    def characters(self) -> int:
        return self.units


def ucs2_chars(text: str) -> tuple[str, ...]:
    return tuple(dict.fromkeys(c for c in text if septets(c) == 0))


def encoding_of(text: str) -> str:
    return UCS2 if ucs2_chars(text) else GSM7


def split(text: str) -> list[str]:
    """The text as it will be cut into segments (the SMPP client sends exactly these)."""
    encoding = encoding_of(text)
    total = sum(_units(c, encoding) for c in text)
    if total <= SINGLE[encoding]:
        return [text] if text else []
    parts: list[str] = []
    current: list[str] = []
    used = 0
    for char in text:
        cost = _units(char, encoding)
        if used + cost > PART[encoding]:  # never split an escape or a surrogate pair
            parts.append("".join(current))
            current, used = [], 0
        current.append(char)
        used += cost
    parts.append("".join(current))
    return parts


def analyse(text: str) -> TextInfo:
    forced = ucs2_chars(text)
    encoding = UCS2 if forced else GSM7
    units = sum(_units(c, encoding) for c in text)
    extension = () if forced else tuple(dict.fromkeys(c for c in text if septets(c) == 2))
    return TextInfo(encoding, units, len(split(text)), forced, extension)


def segments(text: str) -> int:
    return analyse(text).segments
