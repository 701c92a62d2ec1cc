"""How residents' words are compared: without accents, case or punctuation ("Saint-Georges-sur-
l'Aa", "st georges sur l aa" and "SAINT GEORGES SUR L'AA" meet). Pure."""

from __future__ import annotations

import re
import unicodedata

_NOT_WORD = re.compile(r"[^0-9a-z]+")


def fold(text: str) -> str:
    """Lower case, accents dropped, every run of other characters one space, trimmed."""
    bare = "".join(
        c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c)
    ).lower()
    return _NOT_WORD.sub(" ", bare.replace("œ", "oe").replace("æ", "ae")).strip()


def words(text: str) -> list[str]:
    return fold(text).split()
