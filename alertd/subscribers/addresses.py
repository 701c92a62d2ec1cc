"""The deployment's address file: the BAN (Base Adresse Nationale, adresse.data.gouv.fr) CSV
imported into the ``addresses`` table, and the look-up that turns what a resident wrote into a
point ("12 av. Foch" in 59140).

The BAN's CSV is ``;``-separated, UTF-8, one line per numbered address, with the columns
``numero``, ``rep``, ``nom_voie``, ``code_postal``, ``code_insee``, ``nom_commune``, ``lon``,
``lat`` among others (their order varies between exports: columns are found by name). An import
replaces the addresses of the postcodes it covers, in one transaction: a file that cannot be read
leaves what was stored as it was; bad lines are counted and reported, never half-stored. The
file is read a chunk at a time: a department's million lines never sit in memory at once.
"""

from __future__ import annotations

import asyncio
import csv
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TextIO

import asyncpg

from alertd import audit
from alertd.errors import InputError
from alertd.store.queries import queries
from alertd.store.types import Queryable
from alertd.subscribers.streets import TYPES, parse_number, street_key

REQUIRED = ("numero", "nom_voie", "code_postal", "lon", "lat")
OPTIONAL = ("rep", "code_insee", "nom_commune")
MAX_BAD_SHOWN = 5
MAX_BAD_KEPT = 1000  # bad lines kept with their reason; beyond, only counted
CHUNK_ROWS = 20_000
_COLUMNS = ("postcode", "insee", "commune", "street", "street_key", "number", "rep", "lon", "lat")


@dataclass(slots=True)
class AddressImport:
    """What an import did."""

    imported: int = 0
    postcodes: tuple[str, ...] = ()
    bad_lines: list[tuple[int, str]] = field(default_factory=list)  # (line, why): the first
    total_in_store: int = 0
    bad_count: int = 0  # every bad line, kept or not


Row = tuple[str, str | None, str | None, str, str, int | None, str, float, float]


class BanReader:
    """A BAN CSV read a chunk at a time (a department's file is a million lines: never held
    whole), with its bad lines (line number, why). Raises InputError when the file is not a BAN
    CSV at all (no header with the columns needed)."""

    def __init__(self, stream: TextIO) -> None:
        self._reader = csv.reader(stream, delimiter=";")
        header = [h.strip().lower().lstrip("\ufeff") for h in next(self._reader, [])]
        missing = [c for c in REQUIRED if c not in header]
        if missing:
            raise InputError(
                f"not a BAN address file: column {', '.join(missing)} missing "
                f"(expected a ';'-separated CSV with {', '.join(REQUIRED)})"
            )
        self._at = {name: header.index(name) for name in (*REQUIRED, *OPTIONAL) if name in header}
        self.bad: list[tuple[int, str]] = []  # the first MAX_BAD_KEPT
        self.bad_count = 0

    def chunk(self, size: int = CHUNK_ROWS) -> list[Row]:
        """Up to ``size`` good rows; an empty list at the end of the file."""
        rows: list[Row] = []
        for fields in self._reader:
            if not fields or all(not f.strip() for f in fields):
                continue
            try:
                rows.append(_row(fields, self._at))
            except (InputError, IndexError, ValueError) as exc:
                self.bad_count += 1
                if len(self.bad) < MAX_BAD_KEPT:
                    why = str(exc) if isinstance(exc, InputError) else "malformed line"
                    self.bad.append((self._reader.line_num, why))
            if len(rows) >= size:
                break
        return rows


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
    """Import a BAN CSV (see the module's doc), a chunk at a time, in one transaction: all or
    nothing. A file that is not UTF-8 is read again as Windows-1252 (what French spreadsheet
    software writes)."""
    for encoding in ("utf-8", "cp1252"):
        try:
            return await _import(pool, path, actor, encoding)
        except UnicodeDecodeError:
            continue
    raise InputError(f"{path.name}: neither UTF-8 nor Windows-1252 text")  # pragma: no cover


async def _import(pool: asyncpg.Pool, path: Path, actor: str, encoding: str) -> AddressImport:
    try:
        stream = await asyncio.to_thread(path.open, encoding=encoding, newline="")
    except OSError as exc:
        raise InputError(f"cannot read {path}: {exc.strerror}") from None
    q = queries("addresses")
    with stream:
        reader = await asyncio.to_thread(BanReader, stream)
        imported = 0
        postcodes: set[str] = set()
        async with pool.acquire() as conn, conn.transaction():
            while rows := await asyncio.to_thread(reader.chunk):
                # A postcode's stored addresses go when the file first names it, before any of
                # its new rows is written.
                new = sorted({r[0] for r in rows} - postcodes)
                if new:
                    await conn.execute(q["clear_postcodes"], new)
                    postcodes.update(new)
                await conn.copy_records_to_table("addresses", records=rows, columns=_COLUMNS)
                imported += len(rows)
            if not imported:
                raise InputError(
                    f"{path.name}: no address could be read ({reader.bad_count} bad lines)"
                )
            total = await conn.fetchval(q["count_addresses"])
            await audit.record(
                conn,
                actor=actor,
                action="addresses.import",
                details={
                    "file": path.name,
                    "imported": imported,
                    "bad_lines": reader.bad_count,
                    "postcodes": sorted(postcodes),
                },
            )
    return AddressImport(
        imported, tuple(sorted(postcodes)), reader.bad, int(total), reader.bad_count
    )


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
