"""``alertd config show``: the effective configuration."""

from __future__ import annotations

import argparse

from alertd.cli.util import command, out, subcommands
from alertd.config import Config, describe_keys
from alertd.store.database import redact_url


async def config_show(args: argparse.Namespace, config: Config) -> int:
    for key, env, default in describe_keys():
        section, name = key.split(".")
        value = getattr(getattr(config, section), name)
        if key == "database.url" and value is not None:
            value = redact_url(value)
        if key == "operator.token" and value:
            # Enough to recognise, far too little to use; a short (malformed) one not at all.
            value = value[:11] + "…" if len(value) >= 40 else "*** (not a token of alertd's form)"
        out(f"{key} = {value}    ({env}; default {default})")
    for g in config.gateways:
        out(
            f"gateways.{g.name} = {g.kind}, priority {g.priority}, rate {g.rate:g}/s, "
            f"window {g.window}, {g.price_eur} EUR/segment, secrets {g.secrets}"
        )
    return 0


def register(parser: argparse.ArgumentParser) -> None:
    cfg = subcommands(parser)
    command(
        cfg,
        "show",
        config_show,
        "print the effective configuration, each key with its variable and default",
    )
