"""The deployment's address file (BAN CSV) and locate(): what residents write ("12 av. Foch",
"r. de la republique") finds the point; a bad file changes nothing."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

import asyncpg
import pytest

from alertd.errors import InputError
from alertd.subscribers import addresses
from alertd.subscribers.enrol import locate
from alertd.subscribers.streets import street_key
from tests.support.cli import alertd

BAN = Path(str(resources.files("alertd").joinpath("data", "cud_ban_synthetic.csv")))
HEADER = "numero;rep;nom_voie;code_postal;code_insee;nom_commune;lon;lat\n"


@pytest.fixture
async def imported(loaded: asyncpg.Pool) -> asyncpg.Pool:
    done = await addresses.import_ban(loaded, BAN, "test")
    assert done.imported == 1840
    assert done.bad_lines == []
    return loaded


async def _point(
    pool: asyncpg.Pool, street: str, number: int, rep: str = ""
) -> tuple[float, float]:
    row = await pool.fetchrow(
        "SELECT lon, lat FROM addresses WHERE postcode = '59140' AND street = $1 AND number = $2 "
        "AND rep = $3",
        street,
        number,
        rep,
    )
    assert row is not None
    return row["lon"], row["lat"]


def test_street_keys_forgive_accents_case_and_abbreviations() -> None:
    assert street_key("av. Foch") == street_key("AVENUE FOCH") == "avenue foch"
    assert street_key("r. de la République") == street_key("Rue Republique") == "rue republique"
    assert street_key("Bd Ste-Barbe") == street_key("boulevard sainte barbe")
    assert street_key("Pl. de l'Église") == street_key("place eglise")
    assert street_key("Rue du Gal de Gaulle") == street_key("rue du général de gaulle")


@pytest.mark.parametrize(
    ("street", "number"),
    [
        ("Rue Jean Jaurès", "7"),
        ("rue jean jaures", "7"),
        ("R. Jean-Jaurès", "7"),
        ("RUE JEAN JAURES", " 7 "),
        ("Jean Jaurès", "7"),  # the type left out
        ("Avenue Jean Jaurès", "7"),  # another type: the one street of that name
    ],
)
async def test_locate_finds_the_address_as_residents_write_it(
    imported: asyncpg.Pool, street: str, number: str
) -> None:
    assert await locate(imported, "59140", street, number) == await _point(
        imported, "Rue Jean Jaurès", 7
    )


async def test_bis_a_missing_number_and_no_number(imported: asyncpg.Pool) -> None:
    assert await locate(imported, "59140", "rue jean jaures", "4 bis") == await _point(
        imported, "Rue Jean Jaurès", 4, "bis"
    )
    # 30 does not exist: the nearest on the same side of the street (20).
    assert await locate(imported, "59140", "rue jean jaures", "30") == await _point(
        imported, "Rue Jean Jaurès", 20
    )
    middle = await locate(imported, "59140", "rue jean jaures", None)
    assert middle is not None
    ends = [await _point(imported, "Rue Jean Jaurès", n) for n in (1, 20)]
    assert min(p[0] for p in ends) <= middle[0] <= max(p[0] for p in ends)


async def test_locate_gives_none_for_an_unknown_street_or_postcode(imported: asyncpg.Pool) -> None:
    assert await locate(imported, "59140", "rue des Inconnus", "3") is None
    assert await locate(imported, "75001", "rue Jean Jaurès", "3") is None
    assert await locate(imported, "59140", "", "3") is None


async def test_without_an_address_file_locate_gives_none(loaded: asyncpg.Pool) -> None:
    assert await locate(loaded, "59140", "Rue Jean Jaurès", "7") is None


async def test_bad_lines_are_reported_and_skipped(loaded: asyncpg.Pool, tmp_path: Path) -> None:
    path = tmp_path / "ban.csv"
    path.write_text(
        HEADER
        + "1;;Rue Neuve;59140;59183;Dunkerque;2.37;51.03\n"
        + "2;;Rue Neuve;5914;59183;Dunkerque;2.37;51.03\n"
        + "3;;Rue Neuve;59140;59183;Dunkerque;east;51.03\n"
        + "4;;Rue Neuve;59140;59183;Dunkerque;2.37\n",
        encoding="utf-8",
    )
    done = await addresses.import_ban(loaded, path, "test")
    assert done.imported == 1
    assert [line for line, _ in done.bad_lines] == [3, 4, 5]


@pytest.mark.parametrize(
    "content",
    [
        "nom;prenom\nDupont;Jean\n",  # not a BAN file
        HEADER + "1;;Rue Neuve;5914;59183;Dunkerque;2.37;51.03\n",  # no good line
        "",
    ],
)
async def test_a_file_that_is_no_address_file_changes_nothing(
    imported: asyncpg.Pool, tmp_path: Path, content: str
) -> None:
    path = tmp_path / "bad.csv"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(InputError):
        await addresses.import_ban(imported, path, "test")
    assert await imported.fetchval("SELECT count(*) FROM addresses") == 1840


async def test_an_import_replaces_the_postcodes_it_covers(
    imported: asyncpg.Pool, tmp_path: Path
) -> None:
    path = tmp_path / "ban.csv"
    path.write_text(HEADER + "1;;Rue Neuve;59140;59183;Dunkerque;2.37;51.03\n", encoding="utf-8")
    await addresses.import_ban(imported, path, "test")
    counts = await imported.fetch(
        "SELECT postcode, count(*) AS n FROM addresses GROUP BY 1 ORDER BY 1"
    )
    by_postcode = {r["postcode"]: r["n"] for r in counts}
    assert by_postcode["59140"] == 1
    assert by_postcode["59760"] == 80


def test_the_cli_imports_the_demo_extract(db_dsn: str, tmp_path: Path) -> None:
    assert alertd("tenants", "load-sample", dsn=db_dsn).returncode == 0
    done = alertd("tenants", "import-addresses", str(BAN), dsn=db_dsn)
    assert done.returncode == 0, done.stderr
    assert "1840 addresses imported for 17 postcodes" in done.stdout
    missing = alertd("tenants", "import-addresses", str(tmp_path / "none.csv"), dsn=db_dsn)
    assert missing.returncode == 65
    assert "cannot read" in missing.stderr
    assert "Traceback" not in missing.stderr
