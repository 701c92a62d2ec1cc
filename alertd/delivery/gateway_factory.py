"""Gateways built from their configuration, and a health check of each."""

from __future__ import annotations

import asyncio
import ssl
from dataclasses import dataclass

import aiohttp

from alertd.config.gateways import GatewayConfig
from alertd.errors import ConfigError
from gateways.base import Gateway, GatewayError
from gateways.breaker import CircuitBreaker
from gateways.fake import FakeGateway
from gateways.http_ovh import OvhGateway
from gateways.http_twilio import TwilioGateway
from gateways.smpp import SmppGateway


def build(config: GatewayConfig) -> Gateway:
    try:
        gateway = _build(config)
    except ValueError as exc:  # an adapter refusing its settings: a configuration error
        raise ConfigError(f"config: gateways.{config.name}: {exc}") from None
    breaker = getattr(gateway, "breaker", None)
    if isinstance(breaker, CircuitBreaker):
        breaker.cooldown = config.breaker_cooldown_s  # per gateway: [gateways.X] breaker_cooldown_s
    return gateway


def _build(config: GatewayConfig) -> Gateway:
    if config.kind == "fake":
        return FakeGateway(
            config.name,
            rate=config.rate,
            window=config.window,
            latency=_number(config, "latency", 0.0),
            error_rate=_number(config, "error_rate", 0.0),
            throttle_rate=_number(config, "throttle_rate", 0.0),
            receipt_delay=_number(config, "receipt_delay", 0.0),
        )
    if config.kind == "twilio":
        return _twilio(config)
    if config.kind == "ovh":
        return _ovh(config)
    if config.kind == "smpp":
        return _smpp(config)
    raise ConfigError(
        f"config: gateways.{config.name}: the {config.kind} adapter is not available in this "
        "version of alertd yet"
    )


def _required(config: GatewayConfig, key: str) -> str:
    value = config.options.get(key)
    if not value:
        raise ConfigError(
            f"config: gateways.{config.name}: {key} is required for a {config.kind} gateway"
        )
    return str(value)


def _number(config: GatewayConfig, key: str, default: float) -> float:
    value = config.options.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
        raise ConfigError(
            f"config: gateways.{config.name}: {key} must be a number of at least 0, not {value!r}"
        )
    return float(value)


def _twilio(config: GatewayConfig) -> Gateway:
    o = config.options
    return TwilioGateway(
        config.name,
        account_sid=_required(config, "account_sid"),
        auth_token=config.secrets["auth_token"],
        from_number=config.sender,
        messaging_service_sid=o.get("messaging_service_sid"),
        status_callback=o.get("status_callback"),
        base_url=str(o.get("base_url", "https://api.twilio.com")),
        rate=config.rate,
        window=config.window,
        timeout=config.timeout_s,
    )


def _tls(config: GatewayConfig) -> ssl.SSLContext | None:
    o = config.options
    if not o.get("tls", False):
        return None
    try:
        return ssl.create_default_context(cafile=o.get("ca_file"))
    except (OSError, ssl.SSLError) as exc:
        raise ConfigError(
            f"config: gateways.{config.name}: ca_file {o.get('ca_file')} is not a PEM CA "
            f"certificate ({exc})"
        ) from None


def _smpp(config: GatewayConfig) -> Gateway:
    """rate and window are per bind, as operators sell them (the gateway's whole is N times)."""
    o = config.options
    optional = {
        k: o[k]
        for k in ("source_ton", "source_npi", "dest_ton", "dest_npi", "throttle_pause_s")
        if k in o
    }
    return SmppGateway(
        config.name,
        host=_required(config, "host"),
        port=int(o.get("port", 2775)),
        system_id=_required(config, "system_id"),
        password=config.secrets["password"],
        system_type=str(o.get("system_type", "")),
        sender=config.sender,
        rate=config.rate,
        window=config.window,
        binds=int(o.get("binds", 1)),
        bind=str(o.get("bind", "transceiver")),
        tls=_tls(config),
        timeout=config.timeout_s,
        enquire_link_s=_number(config, "enquire_link_s", 30.0),
        receipt_id_format=str(o.get("receipt_id_format", "auto")),
        status_overrides=o.get("status_overrides", {}),
        long_messages=str(o.get("long_messages", "udh")),
        default_charset=str(o.get("default_charset", "gsm7")),
        urgent_priority=int(o.get("priority_flag", 1)),
        **optional,
    )


def _ovh(config: GatewayConfig) -> Gateway:
    o = config.options
    return OvhGateway(
        config.name,
        application_key=config.secrets["application_key"],
        application_secret=config.secrets["application_secret"],
        consumer_key=config.secrets["consumer_key"],
        service_name=_required(config, "service_name"),
        sender=config.sender,
        base_url=str(o.get("base_url", "https://eu.api.ovh.com")),
        rate=config.rate,
        window=config.window,
        timeout=config.timeout_s,
        # The DLR callback is not signed: a secret token in its URL (?token=…) stands for it.
        callback_token=config.secrets.get("callback_token"),
        # OVH has no webhook for incoming SMS: the daemon reads them (STOP within this delay).
        poll_interval=_number(config, "poll_incoming_s", 30.0) or None,
    )


@dataclass(frozen=True, slots=True)
class Health:
    name: str
    kind: str
    ok: bool
    state: str
    detail: str


async def check(config: GatewayConfig) -> Health:
    """Connect (bind, or an authenticated no-op where the adapter has one) and report."""
    try:
        gateway = build(config)
    except ConfigError as exc:
        return Health(config.name, config.kind, False, "unavailable", exc.message)
    try:
        await asyncio.wait_for(gateway.start(), config.timeout_s)
        probe = getattr(gateway, "check", None)
        detail = str(await asyncio.wait_for(probe(), config.timeout_s)) if probe else "started"
        state = gateway.health()
        return Health(config.name, config.kind, state == "closed", state, detail)
    except TimeoutError:
        return Health(
            config.name,
            config.kind,
            False,
            "unreachable",
            f"no answer within {config.timeout_s:g} s",
        )
    except GatewayError as exc:
        return Health(config.name, config.kind, False, "refused", str(exc))
    except (OSError, ConnectionError, aiohttp.ClientError) as exc:
        return Health(
            config.name, config.kind, False, "unreachable", str(exc) or type(exc).__name__
        )
    finally:
        await gateway.close()
