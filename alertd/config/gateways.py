"""Gateway configuration: one TOML table per gateway, secrets kept out of the TOML.

    [gateways.primary]
    kind = "twilio"            # fake, twilio, ovh, smpp
    priority = 1               # lower goes first; failover walks up
    weight = 1                 # share among the gateways of the same priority (by free capacity)
    rate = 100                 # SMS segments per second, from the contract
    window = 32                # submissions awaiting an answer at once
    price_eur = 0.045          # per segment
    sender = "MAIRIE"
    account_sid = "AC…"
    credentials_env = { auth_token = "ALERTD_TWILIO_TOKEN" }   # or:
    credentials_file = "/etc/alertd/twilio.secrets"            # key = "value" lines, mode 0600

A secret written in the TOML itself is refused: configuration files get copied, pasted in tickets
and committed; tokens must not travel with them.
"""

from __future__ import annotations

import math
import stat
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from alertd.errors import ConfigError

KINDS = ("fake", "twilio", "ovh", "smpp")
COMMON = {
    "kind",
    "priority",
    "rate",
    "window",
    "price_eur",
    "sender",
    "credentials_env",
    "credentials_file",
    "timeout_s",
    "breaker_cooldown_s",
    "weight",
}
OPTIONS: dict[str, set[str]] = {
    "fake": {"latency", "error_rate", "throttle_rate", "receipt_delay"},
    "twilio": {"base_url", "account_sid", "messaging_service_sid", "status_callback"},
    "ovh": {"base_url", "service_name", "callback_url", "poll_incoming_s"},
    "smpp": {
        "host",
        "port",
        "system_id",
        "system_type",
        "bind",
        "binds",
        "enquire_link_s",
        "tls",
        "ca_file",
        "receipt_id_format",
        "status_overrides",
        "throttle_pause_s",
        "long_messages",
        "source_ton",
        "source_npi",
        "dest_ton",
        "dest_npi",
        "default_charset",
        "priority_flag",
    },
}
SECRETS: dict[str, tuple[str, ...]] = {
    "fake": (),
    "twilio": ("auth_token",),
    # OVH's delivery reports are not signed: the token in the callback URL authenticates them.
    "ovh": ("application_key", "application_secret", "consumer_key", "callback_token"),
    "smpp": ("password",),
}
_LOOKS_SECRET = ("password", "token", "secret", "api_key", "consumer_key", "application_key")


class Secrets(Mapping[str, str]):
    """Secret values; never shown by repr, str or logs."""

    def __init__(self, values: Mapping[str, str]) -> None:
        self._values = dict(values)

    def __getitem__(self, key: str) -> str:
        return self._values[key]

    def __iter__(self) -> Any:
        return iter(self._values)

    def __len__(self) -> int:
        return len(self._values)

    def __repr__(self) -> str:
        return f"Secrets({', '.join(f'{k}=***' for k in sorted(self._values))})"

    __str__ = __repr__


@dataclass(frozen=True, slots=True)
class GatewayConfig:
    name: str
    kind: str
    priority: int = 1
    rate: float = 0.0
    window: int = 10
    price_eur: Decimal = Decimal(0)
    sender: str | None = None
    timeout_s: float = 10.0
    breaker_cooldown_s: float = 30.0  # how long an open circuit stays open before a probe
    weight: float = 1.0  # share of first attempts among the gateways of the same priority
    options: Mapping[str, Any] = field(default_factory=dict)
    secrets: Secrets = field(default_factory=lambda: Secrets({}))
    secret_sources: tuple[str, ...] = ()  # the environment variables the secrets came from


def _fail(name: str, message: str) -> ConfigError:
    return ConfigError(f"config: gateways.{name}: {message}")


def _number(name: str, key: str, raw: object, low: float, high: float) -> float:
    if isinstance(raw, bool) or not isinstance(raw, int | float):
        raise _fail(name, f"{key} must be a number, got {raw!r}")
    value = float(raw)
    if not math.isfinite(value) or not low <= value <= high:
        raise _fail(name, f"{key} must be between {low:g} and {high:g}, got {raw!r}")
    return value


def _secrets(name: str, table: Mapping[str, Any], environ: Mapping[str, str]) -> Secrets:
    values: dict[str, str] = {}
    from_env = table.get("credentials_env", {})
    if not isinstance(from_env, dict):
        raise _fail(name, 'credentials_env must be a table { key = "ENV_VARIABLE" }')
    for key, variable in from_env.items():
        if str(variable) not in environ:
            raise _fail(name, f"environment variable {variable} (for {key}) is not set")
        values[key] = environ[str(variable)]
    if "credentials_file" in table:
        values.update(_read_secrets_file(name, Path(str(table["credentials_file"]))))
    return Secrets(values)


def _read_secrets_file(name: str, path: Path) -> dict[str, str]:
    try:
        mode = path.stat().st_mode
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise _fail(name, f"cannot read credentials_file {path}: {exc.strerror}") from None
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise _fail(name, f"credentials_file {path} is readable by others: chmod 600 {path}")
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise _fail(name, f'credentials_file {path} is not key = "value" lines: {exc}') from None
    return {str(k): str(v) for k, v in data.items()}


def parse_gateway(
    name: str, table: Any, environ: Mapping[str, str], *, secrets_needed: bool = True
) -> GatewayConfig:
    """One gateway's table. ``secrets_needed`` False (commands that never reach a gateway: a
    duty officer's): the secrets are not read, so a missing variable or file is no error."""
    if not isinstance(table, dict):
        raise ConfigError(f"config: gateways.{name} must be a table ([gateways.{name}])")
    kind = table.get("kind")
    if kind not in KINDS:
        raise _fail(name, f"kind must be one of {', '.join(KINDS)}, got {kind!r}")
    for key in table:
        if any(word in key for word in _LOOKS_SECRET) and key not in ("credentials_env",):
            raise _fail(
                name,
                f"{key} looks like a secret: secrets never go in the TOML; "
                "use credentials_env or credentials_file",
            )
        if key not in COMMON | OPTIONS[kind]:
            known = ", ".join(sorted(COMMON | OPTIONS[kind]))
            raise _fail(name, f"unknown key {key} for a {kind} gateway (known: {known})")
    secrets = _secrets(name, table, environ) if secrets_needed else Secrets({})
    missing = [s for s in SECRETS[kind] if s not in secrets] if secrets_needed else []
    if kind == "ovh" and "callback_token" in missing:
        raise _fail(
            name,
            "missing secret callback_token: OVH does not sign its delivery reports, so the "
            "secret ?token=… of the callback URL is what authenticates them (without it anyone "
            "could report a delivery); give it through credentials_env or credentials_file",
        )
    if missing:
        raise _fail(
            name,
            f"missing secret(s) {', '.join(missing)}: give them through "
            "credentials_env or credentials_file",
        )
    try:
        price = Decimal(str(table.get("price_eur", 0)))
    except InvalidOperation:
        raise _fail(name, f"price_eur is not a number: {table['price_eur']!r}") from None
    if not price.is_finite() or not Decimal(0) <= price <= Decimal(10):
        raise _fail(name, f"price_eur must be between 0 and 10, got {table['price_eur']!r}")
    return GatewayConfig(
        name=name,
        kind=kind,
        priority=int(_number(name, "priority", table.get("priority", 1), 0, 1000)),
        rate=_number(name, "rate", table.get("rate", 0), 0, 100_000),
        window=int(_number(name, "window", table.get("window", 10), 1, 10_000)),
        price_eur=price,
        sender=str(table["sender"]) if "sender" in table else None,
        timeout_s=_number(name, "timeout_s", table.get("timeout_s", 10.0), 0.1, 300),
        breaker_cooldown_s=_number(
            name, "breaker_cooldown_s", table.get("breaker_cooldown_s", 30.0), 0.1, 3600
        ),
        weight=_number(name, "weight", table.get("weight", 1), 0.01, 1000),
        options=_smpp_options(name, table) if kind == "smpp" else _options(kind, table),
        secrets=secrets,
        secret_sources=tuple(str(v) for v in table.get("credentials_env", {}).values()),
    )


def _options(kind: str, table: Mapping[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in table.items() if k in OPTIONS[kind]}


def _smpp_options(name: str, table: Mapping[str, Any]) -> dict[str, Any]:
    """The SMPP options, checked here so that a wrong one stops the start with its reason."""
    # Imported here: only a configuration with an SMPP gateway pays for the SMPP package.
    from gateways.smpp import ids  # noqa: PLC0415
    from gateways.smpp.gateway import BIND_MODES, LONG_MESSAGES  # noqa: PLC0415
    from gateways.smpp.statuses import parse_overrides  # noqa: PLC0415
    from gateways.smpp.text import CHARSETS  # noqa: PLC0415

    choices_of: dict[str, tuple[str, ...]] = {
        "receipt_id_format": ids.FORMATS,
        "long_messages": LONG_MESSAGES,
        "default_charset": tuple(CHARSETS),
    }
    options = _options("smpp", table)
    bind = options.get("bind", "transceiver")
    if bind not in BIND_MODES:
        raise _fail(
            name,
            f'bind = "{bind}" cannot be used: a transmitter alone never receives delivery '
            'receipts nor residents\' STOP; write bind = "transceiver" (one connection) or '
            '"transmitter+receiver" (a receiver bound beside each transmitter)',
        )
    for key, choices in choices_of.items():
        if key in options and options[key] not in choices:
            raise _fail(name, f"{key} must be one of {', '.join(choices)}, got {options[key]!r}")
    options["binds"] = int(_number(name, "binds", options.get("binds", 1), 1, 64))
    for key in ("source_ton", "source_npi", "dest_ton", "dest_npi", "priority_flag"):
        if key in options:
            options[key] = int(_number(name, key, options[key], 0, 255))
    if "throttle_pause_s" in options:
        options["throttle_pause_s"] = _number(
            name, "throttle_pause_s", options["throttle_pause_s"], 0.01, 600
        )
    if not isinstance(options.get("tls", False), bool):
        raise _fail(name, f"tls must be true or false, got {options['tls']!r}")
    if "ca_file" in options and not Path(str(options["ca_file"])).is_file():
        raise _fail(name, f"ca_file {options['ca_file']} is not a readable file")
    overrides = options.get("status_overrides", {})
    if not isinstance(overrides, dict):
        raise _fail(name, 'status_overrides must be a table { "0x00000400" = "temporary" }')
    try:
        options["status_overrides"] = parse_overrides(overrides)
    except ValueError as exc:
        raise _fail(name, f"status_overrides: {exc}") from None
    return options


def parse_gateways(
    tables: Any, environ: Mapping[str, str], *, secrets_needed: bool = True
) -> tuple[GatewayConfig, ...]:
    if not isinstance(tables, dict):
        raise ConfigError("config: [gateways] must hold one table per gateway ([gateways.NAME])")
    gateways = [
        parse_gateway(str(name), table, environ, secrets_needed=secrets_needed)
        for name, table in tables.items()
    ]
    return tuple(sorted(gateways, key=lambda g: (g.priority, g.name)))
