"""Issue 13, cases 7 (gateways check), 8 (the configuration check) and 9 (breaker cooldown per
gateway): SMPP gateways built from their [gateways.X] table."""

from __future__ import annotations

import json
from argparse import Namespace
from typing import Any

import pytest

from alertd.cli.gateways import gateways_list
from alertd.config import Config
from alertd.config.gateways import parse_gateway
from alertd.delivery.gateway_factory import build, check
from alertd.errors import ConfigError
from gateways.base import Limits
from gateways.smpp import SmppGateway
from tests.gateways.test_smpp_sim import running

ENV = {"PW": "secret"}


def smpp(**table: Any) -> dict[str, Any]:
    return {
        "kind": "smpp", "host": "127.0.0.1", "system_id": "alertd",
        "credentials_env": {"password": "PW"}, **table,
    }  # fmt: skip


def test_a_transmitter_alone_is_refused_with_the_reason() -> None:
    with pytest.raises(ConfigError, match=r'bind = "transmitter" cannot be used: .*receipts'):
        parse_gateway("op", smpp(bind="transmitter"), ENV)
    config = parse_gateway("op", smpp(bind="transmitter+receiver"), ENV)
    gateway = build(config)
    assert isinstance(gateway, SmppGateway)
    assert [b.receiver is not None for b in gateway.pool.binds] == [True]


@pytest.mark.parametrize(
    ("table", "message"),
    [
        ({"receipt_id_format": "octal"}, "receipt_id_format must be one of auto, as_is"),
        ({"status_overrides": {"0x400": "sometimes"}}, "status_overrides: status 0x400"),
        ({"status_overrides": {"x": "temporary"}}, "is not a number"),
        ({"binds": 0}, "binds must be between 1 and 64"),
        ({"long_messages": "split"}, "long_messages must be one of udh, sar, payload"),
        ({"default_charset": "ascii"}, "default_charset must be one of gsm7, latin1"),
        ({"ca_file": "/nonexistent.pem", "tls": True}, "ca_file /nonexistent.pem is not"),
    ],
)
def test_smpp_options_are_checked_at_start(table: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        parse_gateway("op", smpp(**table), ENV)


def test_the_options_reach_the_gateway_and_rate_and_window_are_per_bind() -> None:
    table = smpp(
        binds=4, rate=50, window=20, receipt_id_format="hex/dec", long_messages="payload",
        status_overrides={"0x00000400": "temporary"}, source_ton=5, source_npi=0,
        default_charset="latin1", throttle_pause_s=2.5, breaker_cooldown_s=7,
    )  # fmt: skip
    gateway = build(parse_gateway("op", table, ENV))
    assert isinstance(gateway, SmppGateway)
    assert gateway.limits == Limits(rate=200, window=80)  # 4 binds
    assert len(gateway.pool.binds) == 4
    assert (gateway.receipt_id_format, gateway.long_messages) == ("hex/dec", "payload")
    assert gateway.status_overrides == {0x400: "temporary"}
    assert (gateway.source_ton, gateway.source_npi, gateway.charset) == (5, 0, "latin1")
    assert gateway.throttle_pause_s == 2.5
    assert gateway.breaker.cooldown == 7


def test_breaker_cooldown_is_per_gateway_for_every_kind() -> None:
    fake = build(parse_gateway("f", {"kind": "fake", "breaker_cooldown_s": 3}, {}))
    assert fake.breaker.cooldown == 3  # type: ignore[attr-defined]
    default = build(parse_gateway("g", {"kind": "fake"}, {}))
    assert default.breaker.cooldown == 30  # type: ignore[attr-defined]


async def test_gateways_check_says_refused_and_why() -> None:
    async with running(password="right") as (_smsc, port):
        health = await check(parse_gateway("op", smpp(port=port), ENV))
        assert (health.ok, health.state) == (False, "refused")
        assert "refused: ESME_RINVPASWD" in health.detail
        good = await check(parse_gateway("op", smpp(port=port), {"PW": "right"}))
        assert (good.ok, good.state) == (True, "closed")


async def test_gateways_list_shows_the_whole_of_an_smpp_gateway_and_its_binds(
    capsys: pytest.CaptureFixture[str],
) -> None:
    smsc = parse_gateway("op", smpp(binds=4, rate=50, window=20), ENV)
    assert await gateways_list(Namespace(json=True), Config(gateways=(smsc,))) == 0
    [row] = json.loads(capsys.readouterr().out)
    assert (row["rate"], row["window"], row["binds"]) == ("200", "80", "4")
