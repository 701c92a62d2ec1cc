"""Gateways built from their configuration, and a health check of each."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from alertd.errors import ConfigError
from alertd.gateway_config import GatewayConfig
from gateways.base import Gateway
from gateways.fake import FakeGateway


def build(config: GatewayConfig) -> Gateway:
    if config.kind == "fake":
        o = config.options
        return FakeGateway(
            config.name,
            rate=config.rate,
            window=config.window,
            latency=float(o.get("latency", 0.0)),
            error_rate=float(o.get("error_rate", 0.0)),
            throttle_rate=float(o.get("throttle_rate", 0.0)),
            receipt_delay=float(o.get("receipt_delay", 0.0)),
        )
    raise ConfigError(
        f"config: gateways.{config.name}: the {config.kind} adapter is not available in this "
        "version of alertd yet"
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
    except (OSError, ConnectionError) as exc:
        return Health(
            config.name, config.kind, False, "unreachable", str(exc) or type(exc).__name__
        )
    finally:
        await gateway.close()
