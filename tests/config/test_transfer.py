"""The configuration handed to a page process: plain JSON, the same typed object back, never a
pickle (a pickle is refused, not run), never the gateways."""

from __future__ import annotations

import pickle
from pathlib import Path

import pytest

from alertd.config import Config, transfer, with_overrides
from alertd.config.gateways import GatewayConfig
from alertd.errors import ConfigError


def test_every_section_comes_back_typed_as_it_went() -> None:
    config = with_overrides(
        Config(),
        database={"url": "postgresql://a@h/db", "data_dir": Path("/srv/pg"), "pool_max": 7},
        log={"format": "json", "level": "debug"},
        zones={"extent": (1.0, 2.0, 3.0, 4.0)},
        templates={"directory": Path("/srv/templates")},
        serve={"signup_listen": "0.0.0.0:8090", "signup_workers": 3},
        signup={"trusted_proxies": ("10.0.0.1", "::1"), "code_ttl_s": 300.0},
    )
    back = transfer.loads(transfer.dumps(config))
    assert back == config
    assert isinstance(back.database.data_dir, Path)
    assert back.signup.trusted_proxies == ("10.0.0.1", "::1")


def test_gateways_are_never_handed_over() -> None:
    config = Config(gateways=(GatewayConfig(name="ovh", kind="fake"),))
    with pytest.raises(ConfigError, match="never handed"):
        transfer.dumps(config)


@pytest.mark.parametrize(
    "data",
    [b"", b"not json", b'{"serve": {"no_such_key": 1}}', b'{"nowhere": {}}', b"[1]"],
)
def test_what_is_not_a_configuration_is_refused(data: bytes) -> None:
    with pytest.raises(ConfigError, match="not one"):
        transfer.loads(data)


class _Runs:
    ran = False

    def __reduce__(self) -> tuple[object, tuple[()]]:
        return (_Runs.mark, ())

    @staticmethod
    def mark() -> None:
        _Runs.ran = True


def test_a_pickle_is_refused_and_not_run() -> None:
    with pytest.raises(ConfigError):
        transfer.loads(pickle.dumps(_Runs()))
    assert not _Runs.ran
