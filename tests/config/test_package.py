"""``alertd.config`` is the model and its loader behind one set of names."""

from __future__ import annotations

import alertd.config
from alertd.config import gateways, load, model


def test_every_exported_name_is_the_one_of_its_module() -> None:
    for name in alertd.config.__all__:
        value = getattr(alertd.config, name)
        assert any(getattr(m, name, None) is value for m in (model, load, gateways)), name


def test_the_model_builds_its_defaults_without_the_loader() -> None:
    config = model.Config()
    assert config.embedded
    assert config.log == model.LogConfig()
    assert load.load_config({}) == config
