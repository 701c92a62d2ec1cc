from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from alertd.config import load_config
from alertd.errors import ConfigError
from tests.support.cli import alertd

TWILIO = """
[gateways.primary]
kind = "twilio"
priority = 1
rate = 100
window = 32
price_eur = 0.0725
account_sid = "AC123"
credentials_env = { auth_token = "PRIMARY_TOKEN" }

[gateways.backup]
kind = "fake"
priority = 2
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "alertd.toml"
    path.write_text(text)
    return path


def test_gateways_by_priority_with_secrets_from_the_environment(tmp_path: Path) -> None:
    config = load_config({"PRIMARY_TOKEN": "s3cr3t"}, write(tmp_path, TWILIO))
    assert [g.name for g in config.gateways] == ["primary", "backup"]
    primary = config.gateways[0]
    assert (primary.kind, primary.rate, primary.window) == ("twilio", 100.0, 32)
    assert primary.price_eur == Decimal("0.0725")
    assert primary.options == {"account_sid": "AC123"}
    assert primary.secrets["auth_token"] == "s3cr3t"
    assert "s3cr3t" not in repr(primary) and "s3cr3t" not in str(primary.secrets)


def test_secret_variables_may_use_the_alertd_prefix(tmp_path: Path) -> None:
    text = TWILIO.replace('"PRIMARY_TOKEN"', '"ALERTD_PRIMARY_TOKEN"')
    config = load_config({"ALERTD_PRIMARY_TOKEN": "t"}, write(tmp_path, text))
    assert config.gateways[0].secrets["auth_token"] == "t"


def test_secrets_from_a_private_file(tmp_path: Path) -> None:
    secrets = tmp_path / "smsc.secrets"
    secrets.write_text('password = "hunter2"\n')
    secrets.chmod(0o600)
    text = f'[gateways.smsc]\nkind = "smpp"\nhost = "127.0.0.1"\ncredentials_file = "{secrets}"\n'
    config = load_config({}, write(tmp_path, text))
    assert config.gateways[0].secrets["password"] == "hunter2"
    secrets.chmod(0o644)
    with pytest.raises(ConfigError, match="readable by others: chmod 600"):
        load_config({}, write(tmp_path, text))


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('[gateways.a]\nkind = "twilio"\nauth_token = "x"\n', "auth_token looks like a secret"),
        ('[gateways.a]\nkind = "carrier-pigeon"\n', "kind must be one of"),
        ('[gateways.a]\nkind = "fake"\nspeed = 3\n', "unknown key speed"),
        ('[gateways.a]\nkind = "fake"\nrate = -1\n', "rate must be between"),
        ('[gateways.a]\nkind = "fake"\nwindow = "big"\n', "window must be a number"),
        ('[gateways.a]\nkind = "fake"\nprice_eur = "cheap"\n', "price_eur is not a number"),
        ('[gateways.a]\nkind = "twilio"\n', "missing secret(s) auth_token"),
        (
            '[gateways.a]\nkind = "twilio"\ncredentials_env = { auth_token = "NOPE" }\n',
            "environment variable NOPE",
        ),
        ("gateways = 3\n", "one table per gateway"),
    ],
)
def test_bad_gateway_tables_name_the_problem(tmp_path: Path, text: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message.replace("(", r"\(").replace(")", r"\)")):
        load_config({}, write(tmp_path, text))


def test_config_show_masks_secrets(tmp_path: Path) -> None:
    result = alertd(
        "--config", str(write(tmp_path, TWILIO)), "config", "show", env={"PRIMARY_TOKEN": "s3cr3t"}
    )
    assert result.returncode == 0, result.stderr
    assert "gateways.primary = twilio, priority 1" in result.stdout
    assert "auth_token=***" in result.stdout and "s3cr3t" not in result.stdout


def test_gateways_check(tmp_path: Path) -> None:
    healthy = write(tmp_path, '[gateways.demo]\nkind = "fake"\nrate = 500\n')
    result = alertd("--config", str(healthy), "gateways", "check", "--json")
    assert result.returncode == 0, result.stderr
    assert '"state": "closed"' in result.stdout and '"ok": true' in result.stdout
    smsc = tmp_path / "smsc.toml"
    smsc.write_text(
        '[gateways.smsc]\nkind = "smpp"\nhost = "127.0.0.1"\n'
        'credentials_env = { password = "PW" }\n'
    )
    failing = alertd("--config", str(smsc), "gateways", "check", env={"PW": "x"})
    assert failing.returncode == 69
    assert "smsc" in failing.stdout and "FAILING" in failing.stdout
    none = alertd("gateways", "check")
    assert none.returncode == 65 and "no gateway is configured" in none.stderr


OVH = """
[gateways.ovh]
kind = "ovh"
service_name = "sms-xx00000-1"
poll_incoming_s = {poll}
credentials_env = {{ application_key = "K", application_secret = "S", consumer_key = "C", \
callback_token = "T" }}
"""
OVH_ENV = {"K": "k", "S": "s", "C": "c", "T": "dlr-secret"}


def test_ovh_reads_incoming_sms_and_checks_its_callback_token(tmp_path: Path) -> None:
    from alertd.delivery.gateway_factory import build
    from gateways.http_ovh import OvhGateway

    gateway = build(load_config(OVH_ENV, write(tmp_path, OVH.format(poll=15))).gateways[0])
    assert isinstance(gateway, OvhGateway)
    assert (gateway.poll_interval, gateway.callback_token) == (15.0, "dlr-secret")
    never = build(load_config(OVH_ENV, write(tmp_path, OVH.format(poll=0))).gateways[0])
    assert isinstance(never, OvhGateway) and never.poll_interval is None
    with pytest.raises(ConfigError, match="poll_incoming_s must be a number"):
        build(load_config(OVH_ENV, write(tmp_path, OVH.format(poll='"often"'))).gateways[0])


def test_an_ovh_gateway_without_a_callback_token_is_refused(tmp_path: Path) -> None:
    """Its delivery reports could not be authenticated: anyone could report a delivery."""
    toml = OVH.format(poll=15).replace(', callback_token = "T" }', " }")
    assert "callback_token" not in toml
    with pytest.raises(ConfigError, match="callback_token: OVH does not sign"):
        load_config(OVH_ENV, write(tmp_path, toml))
