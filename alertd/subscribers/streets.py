"""Street names as residents and the address file write them, brought to one key: "av. Foch",
"Avenue FOCH" and "AV FOCH" give "avenue foch"; "r. de la Paix" and "Rue de la Paix" give
"rue paix" (articles and "de" left out, since they are written or not at random). Pure."""

from __future__ import annotations

import re

from alertd.subscribers.folding import words

# The abbreviations of street types in French addresses (those of La Poste's norm NF Z 10-011
# that residents actually write, and the common shorthands).
TYPES = {
    "all": "allee",
    "av": "avenue",
    "ave": "avenue",
    "bd": "boulevard",
    "bld": "boulevard",
    "boul": "boulevard",
    "bvd": "boulevard",
    "ch": "chemin",
    "che": "chemin",
    "chem": "chemin",
    "cit": "cite",
    "crs": "cours",
    "fbg": "faubourg",
    "fg": "faubourg",
    "imp": "impasse",
    "lot": "lotissement",
    "pl": "place",
    "plc": "place",
    "pt": "pont",
    "qu": "quai",
    "r": "rue",
    "res": "residence",
    "rle": "ruelle",
    "rte": "route",
    "sq": "square",
    "sen": "sentier",
    "st": "saint",
    "ste": "sainte",
    "ter": "terrasse",
    "trav": "traverse",
    "vla": "villa",
    "gen": "general",
    "gal": "general",
    "mal": "marechal",
    "pdt": "president",
    "prof": "professeur",
    "dr": "docteur",
}
LINKS = frozenset({"de", "du", "des", "la", "le", "les", "l", "d", "a", "au", "aux", "et"})
_NUMBER = re.compile(r"^\s*(\d{1,5})\s*([a-zA-Z]*)\b\s*,?\s*(.*)$")
REPS = {"b": "bis", "t": "ter", "q": "quater"}


def street_key(street: str) -> str:
    """The key a street is looked up by."""
    return " ".join(TYPES.get(w, w) for w in words(street) if w not in LINKS)


def split_number(text: str) -> tuple[int | None, str, str]:
    """'12 bis rue X' gives (12, 'bis', 'rue X'); 'rue X' gives (None, '', 'rue X')."""
    match = _NUMBER.match(text)
    if match is None or not match[3]:
        return None, "", text.strip()
    rep = match[2].lower()
    return int(match[1]), REPS.get(rep, rep), match[3].strip()


def parse_number(number: str | None) -> tuple[int | None, str]:
    """'12', '12 bis', '12B' give (12, ''), (12, 'bis'), (12, 'bis'); '' or None give (None, '')."""
    if number is None or not number.strip():
        return None, ""
    match = re.fullmatch(r"\s*(\d{1,5})\s*([a-zA-Z]*)\s*", number)
    if match is None:
        return None, ""
    rep = match[2].lower()
    return int(match[1]), REPS.get(rep, rep)
