"""Loading the configuration: value parsers, the TOML file, the environment, the command line.

Sources, later ones winning: built-in defaults, the TOML file (``--config``), environment
variables (``ALERTD_<SECTION>_<KEY>``, plus ``DATABASE_URL``), command-line flags. The loader is
handed the environment as a mapping (the CLI's ``main`` passes ``os.environ``, tests their own):
nothing in alertd reads ``os.environ`` for configuration but that one call.
"""

from __future__ import annotations

import ipaddress
import re
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import fields, replace
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import urlsplit

from alertd.config.gateways import GatewayConfig, parse_gateways
from alertd.config.model import (
    LOG_FORMATS,
    LOG_LEVELS,
    Config,
    DatabaseConfig,
    DispatchConfig,
    LogConfig,
    OperatorConfig,
    ServeConfig,
    SignupConfig,
    SubscribersConfig,
    TemplatesConfig,
    ZonesConfig,
)
from alertd.errors import ConfigError

# The TOML tables and their model ([gateways.*] are named tables, read by config.gateways).
_SECTIONS: dict[str, type[Any]] = {
    "database": DatabaseConfig,
    "log": LogConfig,
    "subscribers": SubscribersConfig,
    "zones": ZonesConfig,
    "templates": TemplatesConfig,
    "dispatch": DispatchConfig,
    "serve": ServeConfig,
    "operator": OperatorConfig,
    "signup": SignupConfig,
}


_N = TypeVar("_N", int, float)


def _parse_number(kind: type[_N], minimum: _N, maximum: _N) -> Callable[[object], _N]:
    name = "an integer" if kind is int else "a number"
    accepted = (int, str) if kind is int else (int, float, str)

    def parse(raw: object) -> _N:
        if isinstance(raw, bool) or not isinstance(raw, accepted):
            raise ValueError(f"expected {name}, got {raw!r}")  # noqa: TRY004 - a config error
        try:
            value = kind(raw)
        except ValueError:
            raise ValueError(f"expected {name}, got {raw!r}") from None
        if not minimum <= value <= maximum:
            raise ValueError(f"must be between {minimum} and {maximum}, got {value}")
        return value

    return parse


def _parse_bool(raw: object) -> bool:
    if isinstance(raw, bool):
        return raw
    text = str(raw).strip().lower()
    if text in ("1", "true", "yes", "on"):
        return True
    if text in ("0", "false", "no", "off"):
        return False
    raise ValueError(f"expected true or false, got {raw!r}")


def _parse_choice(choices: tuple[str, ...]) -> Callable[[object], str]:
    def parse(raw: object) -> str:
        text = str(raw).strip().lower()
        if text not in choices:
            raise ValueError(f"expected one of {', '.join(choices)}, got {raw!r}")
        return text

    return parse


def _parse_db_url(raw: object) -> str | None:
    text = str(raw).strip()
    if not text:
        return None
    parts = urlsplit(text)
    if parts.scheme not in ("postgres", "postgresql"):
        raise ValueError(
            "expected a postgresql:// URL (e.g. postgresql://alertd@db.example:5432/alertd)"
        )
    return text


def _parse_path(raw: object) -> Path:
    text = str(raw).strip()
    if not text:
        raise ValueError("must not be empty")
    return Path(text).expanduser()


def _moved_to_the_database(raw: object) -> str | None:
    """Postcode areas were read from each workstation's configuration, so two workstations could
    find different recipients: they are the tenant's data now, imported once."""
    del raw
    raise ValueError(
        "no longer read here: postcode areas are the tenant's data, imported once with "
        "`alertd tenants import-territory CODE --postcode-areas FILE`; remove this setting"
    )


def _parse_db_name(raw: object) -> str:
    text = str(raw).strip()
    if not re.fullmatch(r"[a-z_][a-z0-9_]{0,62}", text):
        raise ValueError(f"expected a database name such as alertd (a-z, 0-9, _), got {raw!r}")
    return text


def _parse_extent(raw: object) -> tuple[float, float, float, float]:
    parts = raw if isinstance(raw, list | tuple) else str(raw).split(",")
    try:
        values = tuple(float(p) for p in parts)
    except (TypeError, ValueError):
        raise ValueError(f"expected min_lon,min_lat,max_lon,max_lat, got {raw!r}") from None
    if len(values) != 4:
        raise ValueError(f"expected four numbers min_lon,min_lat,max_lon,max_lat, got {raw!r}")
    minx, miny, maxx, maxy = values
    if not (-180 <= minx < maxx <= 180 and -90 <= miny < maxy <= 90):
        raise ValueError(f"not a longitude/latitude box (min before max, in degrees): {raw!r}")
    return minx, miny, maxx, maxy


def _parse_folder(raw: object) -> Path | None:
    text = str(raw).strip()
    if not text:
        return None
    path = Path(text).expanduser()
    if not path.is_dir():
        raise ValueError(f"folder {path} does not exist")
    return path


def _parse_listen(raw: object) -> str:
    text = str(raw).strip()
    if not text:
        return ""
    host, colon, port = text.rpartition(":")
    if not colon or not host or not port.isdigit() or not 0 <= int(port) <= 65535:
        raise ValueError(f"expected host:port such as 127.0.0.1:8088, got {raw!r}")
    return text


def _parse_addresses(raw: object) -> tuple[str, ...]:
    """IP addresses, as a TOML list or a comma-separated string (environment)."""
    items = raw if isinstance(raw, list) else str(raw).split(",")
    out = []
    for item in items:
        text = str(item).strip()
        if not text:
            continue
        try:
            ipaddress.ip_address(text)
        except ValueError:
            raise ValueError(f"expected IP addresses such as 127.0.0.1, got {item!r}") from None
        out.append(text)
    return tuple(out)


def _parse_url(raw: object) -> str:
    text = str(raw).strip().rstrip("/")
    if text and not text.startswith(("http://", "https://")):
        raise ValueError(f"expected an http(s):// URL, got {raw!r}")
    return text


def _parse_token(raw: object) -> str:
    # Not checked here: a malformed token is an unknown operator (exit 77, said by the commands
    # that use it), not a configuration error, and the commands that need none must still run.
    return str(raw).strip()


def _parse_region(raw: object) -> str:
    text = str(raw).strip().upper()
    if len(text) != 2 or not text.isalpha():
        raise ValueError(f"expected a two-letter ISO 3166 country code such as FR, got {raw!r}")
    return text


_PARSERS: dict[tuple[str, str], Callable[[object], object]] = {
    ("database", "url"): _parse_db_url,
    ("database", "data_dir"): _parse_path,
    ("database", "name"): _parse_db_name,
    ("database", "pool_min"): _parse_number(int, 1, 100),
    ("database", "pool_max"): _parse_number(int, 1, 500),
    ("database", "connect_timeout_s"): _parse_number(float, 0.5, 300),
    ("database", "migrate_on_start"): _parse_bool,
    ("log", "level"): _parse_choice(LOG_LEVELS),
    ("log", "format"): _parse_choice(LOG_FORMATS),
    ("subscribers", "default_region"): _parse_region,
    ("subscribers", "import_batch_rows"): _parse_number(int, 100, 1_000_000),
    ("subscribers", "import_workers"): _parse_number(int, 0, 64),
    ("subscribers", "keyword_replies_per_number"): _parse_number(int, 0, 1000),
    ("subscribers", "keyword_replies_per_tenant"): _parse_number(int, 0, 10_000_000),
    ("zones", "postcode_areas"): _moved_to_the_database,
    ("zones", "extent"): _parse_extent,
    ("templates", "directory"): _parse_folder,
    ("dispatch", "batch"): _parse_number(int, 1, 100_000),
    ("dispatch", "lease_s"): _parse_number(float, 0.5, 3600),
    ("dispatch", "concurrency"): _parse_number(int, 1, 64),
    ("dispatch", "retries_per_gateway"): _parse_number(int, 1, 100),
    ("dispatch", "backoff_base_s"): _parse_number(float, 0, 3600),
    ("dispatch", "backoff_max_s"): _parse_number(float, 0, 86_400),
    ("dispatch", "receipt_timeout_s"): _parse_number(float, 0, 7 * 86_400),
    ("serve", "webhook_listen"): _parse_listen,
    ("serve", "metrics_listen"): _parse_listen,
    ("serve", "api_listen"): _parse_listen,
    ("serve", "api_rate"): _parse_number(float, 0.1, 100_000),
    ("serve", "public_url"): _parse_url,
    ("serve", "signup_listen"): _parse_listen,
    ("serve", "signup_workers"): _parse_number(int, 0, 16),
    ("signup", "code_ttl_s"): _parse_number(float, 60, 3600),
    ("signup", "code_tries"): _parse_number(int, 1, 20),
    ("signup", "per_number_hour"): _parse_number(int, 1, 1000),
    ("signup", "per_ip_hour"): _parse_number(int, 1, 10_000_000),
    ("signup", "per_tenant_hour"): _parse_number(int, 1, 10_000_000),
    ("signup", "session_s"): _parse_number(float, 60, 86_400),
    ("signup", "trusted_proxies"): _parse_addresses,
    ("serve", "share_lease_s"): _parse_number(float, 0.5, 600),
    ("operator", "token"): _parse_token,
    ("operator", "url"): _parse_url,
}


def env_name(section: str, key: str) -> str:
    return f"ALERTD_{section}_{key}".upper()


def _known_env_names() -> dict[str, tuple[str, str]]:
    return {env_name(s, k): (s, k) for (s, k) in _PARSERS}


def _apply(
    values: dict[str, dict[str, object]], section: str, key: str, raw: object, origin: str
) -> None:
    try:
        values.setdefault(section, {})[key] = _PARSERS[(section, key)](raw)
    except ValueError as exc:
        raise ConfigError(f"config: {section}.{key} ({origin}): {exc}") from None


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as fh:
            return tomllib.load(fh)
    except FileNotFoundError:
        raise ConfigError(f"config: file {path} does not exist") from None
    except OSError as exc:
        raise ConfigError(f"config: cannot read {path}: {exc.strerror}") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"config: {path} is not valid TOML: {exc}") from None
    except UnicodeDecodeError as exc:
        raise ConfigError(
            f"config: {path} is not UTF-8 (byte {exc.start + 1}): TOML files are UTF-8; "
            "save it as UTF-8"
        ) from None
    except IsADirectoryError:
        raise ConfigError(f"config: {path} is a folder, not a TOML file") from None


def _toml_values(path: Path, doc: dict[str, Any], values: dict[str, dict[str, object]]) -> None:
    for section, table in doc.items():
        if section not in _SECTIONS:
            known = ", ".join(f"[{s}]" for s in _SECTIONS)
            raise ConfigError(f"config: {path}: unknown section [{section}] (known: {known})")
        if not isinstance(table, dict):
            raise ConfigError(f"config: {path}: {section} must be a table ([{section}])")
        for key, raw in table.items():
            if (section, key) not in _PARSERS:
                known = ", ".join(k for (s, k) in _PARSERS if s == section)
                raise ConfigError(
                    f"config: {path}: unknown key {section}.{key} (known in [{section}]: {known})"
                )
            _apply(values, section, key, raw, origin=str(path))


def _env_values(
    environ: Mapping[str, str],
    values: dict[str, dict[str, object]],
    secret_names: frozenset[str] = frozenset(),
) -> None:
    known = _known_env_names()
    for name, raw in environ.items():
        if not name.startswith("ALERTD_") or name in secret_names or name == "ALERTD_URL":
            continue
        if name not in known:
            raise ConfigError(
                f"config: unknown environment variable {name} "
                f"(see ops/alertd.example.toml for the keys; ALERTD_<SECTION>_<KEY>)"
            )
        section, key = known[name]
        _apply(values, section, key, raw, origin=name)
    # ALERTD_URL: the short name a workstation's set-up gives the API (ALERTD_OPERATOR_URL wins).
    if "ALERTD_URL" in environ and "ALERTD_OPERATOR_URL" not in environ:
        _apply(values, "operator", "url", environ["ALERTD_URL"], origin="ALERTD_URL")
    # DATABASE_URL is the de-facto standard name; an explicit ALERTD_DATABASE_URL wins over it.
    if "DATABASE_URL" in environ and "ALERTD_DATABASE_URL" not in environ:
        _apply(values, "database", "url", environ["DATABASE_URL"], origin="DATABASE_URL")


def load_config(
    environ: Mapping[str, str],
    config_file: Path | None = None,
    overrides: Mapping[tuple[str, str], object] | None = None,
    *,
    gateway_secrets: bool = True,
) -> Config:
    """Build the configuration; raise ConfigError naming the key and the problem.

    ``gateway_secrets`` False: the gateways' secrets are not read (the commands that never
    talk to a gateway must work where they are not set: a duty officer's shell)."""
    values: dict[str, dict[str, object]] = {}
    gateways: tuple[GatewayConfig, ...] = ()
    if config_file is not None:
        doc = _read_toml(config_file)
        # Gateways are named tables with secrets resolved from the environment: parsed apart.
        gateways = parse_gateways(doc.pop("gateways", {}), environ, secrets_needed=gateway_secrets)
        _toml_values(config_file, doc, values)
    _env_values(environ, values, frozenset(n for g in gateways for n in g.secret_sources))
    for (section, key), raw in (overrides or {}).items():
        if raw is not None:
            _apply(values, section, key, raw, origin="command line")
    config = Config(**{s: _SECTIONS[s](**v) for s, v in values.items()}, gateways=gateways)
    _check_consistency(config)
    return config


def _check_consistency(config: Config) -> None:
    db = config.database
    if db.pool_min > db.pool_max:
        raise ConfigError(
            f"config: database.pool_min ({db.pool_min}) is above database.pool_max ({db.pool_max})"
        )


def with_overrides(config: Config, **sections: Mapping[str, object]) -> Config:
    """A copy of config with some keys replaced (already-typed values, for tests and tools)."""
    changed = {
        name: replace(getattr(config, name), **dict(vals)) for name, vals in sections.items()
    }
    return replace(config, **changed)


def describe_keys() -> list[tuple[str, str, str]]:
    """(toml key, environment variable, default) for every key, for docs and `alertd config`."""
    rows = []
    defaults = Config()
    for section, cls in _SECTIONS.items():
        for f in fields(cls):
            default = getattr(getattr(defaults, section), f.name)
            rows.append((f"{section}.{f.name}", env_name(section, f.name), str(default)))
    return rows
