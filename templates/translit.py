"""Transliteration to GSM-7, for texts that would otherwise go out in UCS-2.

French has several letters outside GSM-7 (ê â î ô û ç œ, the typographic apostrophe, « »): one of
them halves the room in every segment. Replacing them with their plain forms (ê by e, œ by oe,
the typographic apostrophe by a straight one, « » by ") saves segments and never changes the
meaning for a French reader. Each replacement costs at most two septets for one UCS-2 code unit,
so the result is never longer in segments than the original (153/67 > 2). Characters with no
faithful GSM-7 form (emoji, other scripts) are dropped and reported, so the person who previews
the message decides.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass

from templates.sms import septets

# Explicit forms first: typography and the French letters that NFKD alone would not get right.
_TABLE = {
    "\u2019": "'",
    "\u2018": "'",
    "\u02bc": "'",
    "\u201a": "'",
    "\u2032": "'",
    "\u201c": '"',
    "\u201d": '"',
    "\u201e": '"',
    "\u00ab": '"',
    "\u00bb": '"',
    "\u2033": '"',
    "\u2039": "'",
    "\u203a": "'",
    "\u00a0": " ",
    "\u202f": " ",
    "\u2007": " ",
    "\u2009": " ",
    "\u200a": " ",
    "\u2002": " ",
    "\u2003": " ",
    "\u3000": " ",
    "\u2010": "-",
    "\u2011": "-",
    "\u2012": "-",
    "\u2013": "-",
    "\u2014": "-",
    "\u2015": "-",
    "\u2212": "-",
    "\u2026": "..",  # two septets at most per replaced character (see the module docstring)
    "\u0153": "oe",
    "\u0152": "OE",
    "\u00e7": "c",
    "\u00b0": "o",
    "\u2022": "-",
    "\u00b7": ".",
    "\u2192": ">",
    "\u00d7": "x",
    "\u0009": " ",
}


@dataclass(frozen=True, slots=True)
class Transliteration:
    text: str  # GSM-7 only
    replaced: tuple[tuple[str, str], ...]  # (original, replacement), each once, in order
    dropped: tuple[str, ...]  # characters with no faithful GSM-7 form, each once

    @property
    def faithful(self) -> bool:
        """True when nothing was dropped: the text says the same thing."""
        return not self.dropped


def _plain(char: str) -> str | None:
    """A GSM-7 form of the character, or None when it has none."""
    if septets(char):
        return char
    if char in _TABLE:
        return _TABLE[char]
    base = "".join(c for c in unicodedata.normalize("NFKD", char) if not unicodedata.combining(c))
    if base and len(base) <= 2 and all(septets(c) == 1 for c in base):
        return base
    return None


def transliterate(text: str) -> Transliteration:
    out: list[str] = []
    replaced: dict[str, str] = {}
    dropped: dict[str, None] = {}
    for char in text:
        plain = _plain(char)
        if plain is None:
            dropped[char] = None
            continue
        if plain != char:
            replaced.setdefault(char, plain)
        out.append(plain)
    return Transliteration("".join(out), tuple(replaced.items()), tuple(dropped))
