from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from alertd.config import describe_keys, load_config
from alertd.errors import ConfigError


def test_defaults_use_the_embedded_database() -> None:
    config = load_config({})
    assert config.embedded
    assert config.database.url is None
    assert config.database.data_dir.name == "postgres"
    assert config.log.level == "info"


def test_database_url_from_environment() -> None:
    config = load_config({"DATABASE_URL": "postgresql://u@db.example:5432/alertd"})
    assert not config.embedded
    assert config.database.url == "postgresql://u@db.example:5432/alertd"


def test_alertd_variable_wins_over_database_url() -> None:
    config = load_config(
        {"DATABASE_URL": "postgresql://a@x/a", "ALERTD_DATABASE_URL": "postgresql://b@x/b"}
    )
    assert config.database.url == "postgresql://b@x/b"


def test_config_is_immutable() -> None:
    config = load_config({})
    with pytest.raises(dataclasses.FrozenInstanceError):
        config.log.level = "debug"  # type: ignore[misc]


def test_toml_then_environment_then_overrides(tmp_path: Path) -> None:
    path = tmp_path / "alertd.toml"
    path.write_text('[log]\nlevel = "debug"\nformat = "json"\n[database]\npool_max = 20\n')
    config = load_config(
        {"ALERTD_LOG_LEVEL": "warning"}, path, overrides={("log", "format"): "console"}
    )
    assert config.log.level == "warning"  # env beats the file
    assert config.log.format == "console"  # the command line beats both
    assert config.database.pool_max == 20  # the file beats the default


@pytest.mark.parametrize(
    ("environ", "message"),
    [
        ({"ALERTD_DATABASE_POOL_MAX": "lots"}, "database.pool_max (ALERTD_DATABASE_POOL_MAX)"),
        ({"ALERTD_DATABASE_POOL_MAX": "0"}, "must be between 1 and 500"),
        ({"ALERTD_LOG_LEVEL": "loud"}, "expected one of debug, info"),
        ({"ALERTD_LOG_LEVL": "debug"}, "unknown environment variable ALERTD_LOG_LEVL"),
        ({"DATABASE_URL": "mysql://x@y/z"}, "expected a postgresql:// URL"),
        ({"ALERTD_SUBSCRIBERS_DEFAULT_REGION": "France"}, "two-letter ISO 3166"),
        (
            {"ALERTD_DATABASE_POOL_MIN": "20", "ALERTD_DATABASE_POOL_MAX": "5"},
            "pool_min (20) is above database.pool_max (5)",
        ),
        ({"ALERTD_DATABASE_MIGRATE_ON_START": "maybe"}, "expected true or false"),
        ({"ALERTD_SERVE_SIGNUP_WORKERS": "17"}, "serve.signup_workers"),
        ({"ALERTD_SERVE_SIGNUP_WORKERS": "-1"}, "must be between 0 and 16"),
    ],
)
def test_bad_values_name_the_key(environ: dict[str, str], message: str) -> None:
    with pytest.raises(ConfigError) as err:
        load_config(environ)
    assert message in str(err.value)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[databse]\nurl = 'x'\n", "unknown section [databse]"),
        ("[database]\npool = 3\n", "unknown key database.pool"),
        ("[log]\nlevel = 3\n", "log.level"),
        ("[database\n", "is not valid TOML"),
        ("database = 3\n", "database must be a table"),
    ],
)
def test_bad_toml_names_the_problem(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "bad.toml"
    path.write_text(text)
    with pytest.raises(ConfigError) as err:
        load_config({}, path)
    assert message in str(err.value)


def test_missing_file_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="does not exist"):
        load_config({}, tmp_path / "nope.toml")


def test_example_file_documents_every_key_and_loads() -> None:
    example = Path(__file__).resolve().parents[2] / "ops" / "alertd.example.toml"
    text = example.read_text(encoding="utf-8")
    for key, env, _default in describe_keys():
        assert key.split(".")[1] in text, f"{key} is not documented in {example.name}"
        assert env in text, f"{env} is not named in {example.name}"
    config = load_config({}, example)
    assert config.embedded
