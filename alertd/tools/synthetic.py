"""Synthetic subscribers for the demo and the benchmarks: plausible, reproducible, nobody real.

Phones: numbers from the 07 3… to 07 9… mobile blocks, which alertd only ever hands to the fake
gateway (the range ARCEP reserves for fiction, 06 39 98, is not a valid mobile for libphonenumber
and would be rejected like any other invalid number). Places:
scattered around each commune's centre in proportion to its population; a share of residents gave
only their postcode, a few speak English.
"""

from __future__ import annotations

import csv
import math
import random
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import Any

from alertd.tenants import TenantSpec

HEADER = ("phone", "postcode", "address", "lon", "lat", "language", "topics")
_STREETS = (
    "rue de la Digue",
    "quai des Hollandais",
    "avenue de Rosendaël",
    "rue du Canal",
    "boulevard de l'Europe",
    "place Jean Bart",
    "rue des Dunes",
    "chemin du Halage",
    "rue de la Mer",
    "avenue des Bains",
)
_STYLES = (
    "{a} {b} {c} {d} {e}",
    "{a}{b}{c}{d}{e}",
    "+33 {a1} {b} {c} {d} {e}",
    "{a}.{b}.{c}.{d}.{e}",
)


def synthetic_phone(i: int) -> str:
    """The i-th synthetic mobile number, written the many ways residents write them."""
    digits = f"07{3 + (i // 10**7) % 7}{i % 10**7:07d}"
    a, b, c, d, e = digits[0:2], digits[2:4], digits[4:6], digits[6:8], digits[8:10]
    return _STYLES[i % len(_STYLES)].format(a=a, a1=a[1], b=b, c=c, d=d, e=e)


def synthetic_rows(
    n: int,
    communes: list[TenantSpec],
    seed: int = 59183,
    postcode_only: float = 0.2,
    english: float = 0.05,
) -> Iterator[tuple[str, tuple[str, ...]]]:
    """(commune code, CSV row) for n residents spread over the communes by population."""
    rng = random.Random(seed)  # noqa: S311 - reproducible synthetic data, not secrets
    weights = [float(c.population or 1) for c in communes]
    for i in range(n):
        commune = rng.choices(communes, weights)[0]
        postcode = rng.choice(commune.postcodes) if commune.postcodes else ""
        lang = "en" if rng.random() < english else "fr"
        topics = "dechets" if rng.random() < 0.3 else ""
        if rng.random() < postcode_only or commune.lon is None or commune.lat is None:
            yield commune.code, (synthetic_phone(i), postcode, "", "", "", lang, topics)
            continue
        # ~1.5 km spread around the centre; metres to degrees at this latitude.
        dx, dy = rng.gauss(0, 1500), rng.gauss(0, 1500)
        lon = commune.lon + dx / (111_320 * math.cos(math.radians(commune.lat)))
        lat = commune.lat + dy / 110_540
        address = f"{rng.randint(1, 180)} {rng.choice(_STREETS)}, {commune.name}"
        yield (
            commune.code,
            (synthetic_phone(i), postcode, address, f"{lon:.6f}", f"{lat:.6f}", lang, topics),
        )


def write_csvs(folder: Path, rows: Iterator[tuple[str, tuple[str, ...]]]) -> dict[str, Path]:
    """One CSV per commune, as each town hall would hand its list over."""
    files: dict[str, Path] = {}
    with ExitStack() as stack:
        writers: dict[str, Any] = {}
        for code, row in rows:
            if code not in writers:
                files[code] = folder / f"subscribers-{code}.csv"
                fh = stack.enter_context(files[code].open("w", encoding="utf-8", newline=""))
                writers[code] = csv.writer(fh)
                writers[code].writerow(HEADER)
            writers[code].writerow(row)
    return files
