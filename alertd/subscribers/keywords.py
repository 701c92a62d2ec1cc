"""What a resident's SMS asks for, read the way residents write it: "ALERTE 59140",
"alerte 59 140", "Inscription:59140", "ALERTE 59279 Loon-Plage EN", "START", "aide",
"LANGUE EN", "language english". Accents, case and punctuation are forgiven. Pure.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from typing import Literal

from alertd.subscribers.folding import fold

Action = Literal["subscribe", "start", "help", "language"]
DEFAULT_SUBSCRIBE = ("ALERTE", "INSCRIPTION", "START")
DEFAULT_HELP = ("AIDE", "HELP", "INFO")
DEFAULT_LANGUAGE = ("LANGUE", "LANGUAGE")
LANGUAGE_NAMES = {
    "en": "en",
    "english": "en",
    "anglais": "en",
    "fr": "fr",
    "francais": "fr",
    "french": "fr",
}
# Words written in English: an unknown sender writing them is answered in English.
ENGLISH_WORDS = frozenset({"HELP", "LANGUAGE"})  # START is French usage too (STOP/START)
_LETTERS_DIGITS = re.compile(r"(?<=[a-z])(?=\d)|(?<=\d)(?=[a-z])")


@dataclass(frozen=True, slots=True)
class Words:
    """A tenant's keywords (upper case, without accents)."""

    subscribe: frozenset[str] = frozenset(DEFAULT_SUBSCRIBE)
    help: frozenset[str] = frozenset(DEFAULT_HELP)
    language: frozenset[str] = frozenset(DEFAULT_LANGUAGE)


@dataclass(frozen=True, slots=True)
class Command:
    action: Action
    word: str  # the keyword as matched (upper case)
    postcode: str | None = None
    commune: str | None = None  # what followed the postcode, when it named a commune
    language: str | None = None  # "en" or "fr", when the message said so
    rest: bool = False  # other words followed (a subscribe word alone means "come back")


def read(text: str, words: Words = Words()) -> Command | None:
    """The command in ``text``, or None when its first word is no keyword."""
    tokens = _LETTERS_DIGITS.sub(" ", fold(text)).split()
    if not tokens:
        return None
    word = tokens[0].upper()
    rest = tokens[1:]
    if word in words.language:
        chosen = LANGUAGE_NAMES.get(rest[0]) if rest else None
        return Command("language", word, language=chosen, rest=bool(rest))
    if word in words.help:
        return Command("help", word, rest=bool(rest))
    if word not in words.subscribe:
        return None
    postcode, rest = _postcode(rest)
    language = None
    if rest and rest[-1] in LANGUAGE_NAMES:
        language = LANGUAGE_NAMES[rest[-1]]
        rest = rest[:-1]
    if postcode is None:
        return Command("start", word, language=language, rest=bool(rest))
    commune = " ".join(rest) or None
    return Command("subscribe", word, postcode, commune, language)


def _postcode(tokens: list[str]) -> tuple[str | None, list[str]]:
    """Five digits at the start, written in one piece or in groups ('59 140')."""
    digits = ""
    taken = 0
    for token in tokens:
        if not token.isdigit() or len(digits) + len(token) > 5:
            break
        digits += token
        taken += 1
        if len(digits) == 5:
            return digits, tokens[taken:]
    # Digits that make no postcode ("5914"): kept, so that the answer names what is served.
    return (digits, tokens[taken:]) if digits else (None, tokens)


def parse_words(raw: str, *, required: bool = False, what: str = "keywords") -> tuple[str, ...]:
    """'Alerte, inscription' gives ('ALERTE', 'INSCRIPTION'): upper case, without accents, each
    once, sorted. Letters only. ``required``: at least one."""
    found = set()
    for part in raw.split(","):
        word = fold(part).upper().replace(" ", "")
        if not word:
            continue
        if not word.isalpha() or not word.isascii():
            raise ValueError(f"{what}: {part.strip()!r} is not a word of letters only")
        found.add(word)
    if required and not found:
        raise ValueError(f"{what}: at least one word is needed")
    return tuple(sorted(found))


def clashes(lists: Mapping[str, Collection[str]]) -> dict[str, list[str]]:
    """Each word found in more than one of the named lists, with the names of those lists: a
    word must mean one thing."""
    where: dict[str, list[str]] = {}
    for name, words in lists.items():
        for word in set(words):
            where.setdefault(word, []).append(name)
    return {word: names for word, names in sorted(where.items()) if len(names) > 1}
