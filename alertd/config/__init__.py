"""Configuration: one frozen object built once at start, then passed down.

The typed model is in ``alertd.config.model``, its loader (TOML, environment, command line) in
``alertd.config.load``, the ``[gateways.*]`` tables in ``alertd.config.gateways``; the names the
rest of alertd uses are re-exported here, so ``from alertd.config import Config, load_config``.
"""

from alertd.config.gateways import GatewayConfig
from alertd.config.load import describe_keys, env_name, load_config, with_overrides
from alertd.config.model import (
    LOG_FORMATS,
    LOG_LEVELS,
    METROPOLE_EXTENT,
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
    default_data_dir,
)

__all__ = [
    "LOG_FORMATS",
    "LOG_LEVELS",
    "METROPOLE_EXTENT",
    "Config",
    "DatabaseConfig",
    "DispatchConfig",
    "GatewayConfig",
    "LogConfig",
    "OperatorConfig",
    "ServeConfig",
    "SignupConfig",
    "SubscribersConfig",
    "TemplatesConfig",
    "ZonesConfig",
    "default_data_dir",
    "describe_keys",
    "env_name",
    "load_config",
    "with_overrides",
]
