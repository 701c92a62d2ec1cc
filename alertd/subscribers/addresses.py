"""The deployment's address file: the BAN (Base Adresse Nationale, adresse.data.gouv.fr) CSV
imported into the ``addresses`` table, and the look-up that turns what a resident wrote into a
point ("12 av. Foch" in 59140).

The BAN's CSV is ``;``-separated, UTF-8, one line per numbered address, with the columns
``numero``, ``rep``, ``nom_voie``, ``code_postal``, ``code_insee``, ``nom_commune``, ``lon``,
``lat`` among others (their order varies between exports: columns are found by name). An import
replaces the addresses of the postcodes it covers, in one transaction: a file that cannot be read
leaves what was stored as it was; bad lines are counted and reported, never half-stored.
"""

from __future__ import annotations

import asyncio
import csv
import io
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import asyncpg

from alertd import audit
from alertd.errors import InputError
from alertd.store.queries import queries
from alertd.store.types import Queryable
from alertd.subscribers.streets import TYPES, parse_number, street_key

REQUIRED = ("numero", "nom_voie", "code_postal", "lon", "lat")
OPTIONAL = ("rep", "code_insee", "nom_commune")
MAX_BAD_SHOWN = 5
_COLUMNS = ("postcode", "insee", "commune", "street", "street_key", "number", "rep", "lon", "lat")


@dataclass(slots=True)
class AddressImport:
    """What an import did."""

    imported: int = 0
    postcodes: tuple[str, ...] = ()
    bad_lines: list[tuple[int, str]] = field(default_factory=list)  # (line, why)
    total_in_store: int = 0


Row = tuple[str, str | None, str | None, str, str, int | None, str, float, float]


def read_ban(text: str) -> tuple[list[Row], list[tuple[int, str]]]:
    """The rows of a BAN CSV and its bad lines (line number, why). Raises InputError when the
    file is not a BAN CSV at all (no header with the columns needed)."""
    reader = csv.reader(io.StringIO(text), delimiter=";")
    header = [h.strip().lower().lstrip("\ufeff") for h in next(reader, [])]
    missing = [c for c in REQUIRED if c not in header]
    if missing:
        raise InputError(
            f"not a BAN address file: column {', '.join(missing)} missing "
            f"(expected a ';'-separated CSV with {', '.join(REQUIRED)})"
        )
    at = {name: header.index(name) for name in (*REQUIRED, *OPTIONAL) if name in header}
    rows: list[Row] = []
    bad: list[tuple[int, str]] = []
    for line, fields in enumerate(reader, start=2):
        if not fields or all(not f.strip() for f in fields):
            continue
        try:
            rows.append(_row(fields, at))
        except (InputError, IndexError, ValueError) as exc:
            bad.append((line, str(exc) if isinstance(exc, InputError) else "malformed line"))
    return rows, bad


def _row(fields: Sequence[str], at: dict[str, int]) -> Row:
    def get(name: str) -> str:
        return fields[at[name]].strip() if name in at else ""

    postcode = get("code_postal")
    if len(postcode) != 5 or not postcode.isdigit():
        raise InputError(f"postcode {postcode!r} is not five digits")
    street = get("nom_voie")
    if not street or len(street) > 200:
        raise InputError("street name missing or longer than 200 characters")
    lon, lat = float(get("lon")), float(get("lat"))
    if not (-180 <= lon <= 180 and -90 <= lat <= 90):
        raise InputError(f"point {lon}, {lat} is not a longitude and a latitude")
    number, rep = parse_number(get("numero"))
    rep = parse_number(f"0{get('rep')}")[1] if get("rep") else rep
    # 99999 is the BAN's number for a named place without a number (lieu-dit).
    number = None if number == 99999 else number
    insee = get("code_insee") or None
    commune = get("nom_commune") or None
    return (postcode, insee, commune, street, street_key(street), number, rep, lon, lat)


async def import_ban(pool: asyncpg.Pool, path: Path, actor: str) -> AddressImport:
    """Import a BAN CSV (see the module's doc); all or nothing."""
    try:
        raw = await asyncio.to_thread(path.read_bytes)
    except OSError as exc:
        raise InputError(f"cannot read {path}: {exc.strerror}") from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        text = raw.decode("cp1252", "replace")  # what French spreadsheet software writes
    rows, bad = read_ban(text)
    if not rows:
        raise InputError(f"{path.name}: no address could be read ({len(bad)} bad lines)")
    postcodes = tuple(sorted({r[0] for r in rows}))
    q = queries("addresses")
    async with pool.acquire() as conn, conn.transaction():
        await conn.execute(q["clear_postcodes"], list(postcodes))
        await conn.copy_records_to_table("addresses", records=rows, columns=_COLUMNS)
        total = await conn.fetchval(q["count_addresses"])
        await audit.record(
            conn,
            actor=actor,
            action="addresses.import",
            details={
                "file": path.name,
                "imported": len(rows),
                "bad_lines": len(bad),
                "postcodes": list(postcodes),
            },
        )
    return AddressImport(len(rows), postcodes, bad, int(total))


async def lookup(
    conn: Queryable, postcode: str, street: str, number: str | None
) -> tuple[float, float] | None:
    """The point of '<number> <street>' in this postcode: the address itself; else the nearest
    number on the same side of the street; else the street's middle. None when no address file
    covers the postcode or no street matches (the postcode is then the match)."""
    q = queries("addresses")
    key = street_key(street)
    if not key:
        return None
    points = await conn.fetch(q["street_points"], postcode, key)
    if not points:
        keys = [r[0] for r in await conn.fetch(q["street_keys"], postcode)]
        closest = _closest_street(key, keys)
        if closest is None:
            return None
        points = await conn.fetch(q["street_points"], postcode, closest)
    return _point(points, *parse_number(number))


def _closest_street(key: str, keys: list[str]) -> str | None:
    """A street written without its type ("Foch" for "avenue Foch") or with another one ("rue
    Foch" for "avenue Foch"): the one street whose name, type aside, is the same."""
    kinds = set(TYPES.values()) | {
        "rue",
        "avenue",
        "boulevard",
        "place",
        "chemin",
        "route",
        "impasse",
        "allee",
        "quai",
        "square",
        "residence",
        "cite",
    }

    def bare(k: str) -> str:
        return " ".join(w for w in k.split() if w not in kinds)

    wanted = bare(key)
    found = {k for k in keys if bare(k) == wanted and wanted}
    return found.pop() if len(found) == 1 else None


def _point(
    points: Sequence[asyncpg.Record], number: int | None, rep: str
) -> tuple[float, float] | None:
    if not points:
        return None
    numbered = [p for p in points if p["number"] is not None]
    if number is not None and numbered:
        exact = [p for p in numbered if p["number"] == number]
        if exact:
            best = next((p for p in exact if p["rep"] == rep), exact[0])
            return float(best["lon"]), float(best["lat"])
        side = [p for p in numbered if p["number"] % 2 == number % 2] or numbered
        near = min(side, key=lambda p: abs(p["number"] - number))
        return float(near["lon"]), float(near["lat"])
    lons = sorted(float(p["lon"]) for p in points)
    lats = sorted(float(p["lat"]) for p in points)
    return lons[len(lons) // 2], lats[len(lats) // 2]
