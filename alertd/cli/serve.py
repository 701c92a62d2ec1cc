"""``alertd serve``: the daemon."""

from __future__ import annotations

import argparse

from alertd.config import Config
from alertd.delivery import daemon


async def run_serve(args: argparse.Namespace, config: Config) -> int:
    return await daemon.run(config)


def register(parser: argparse.ArgumentParser) -> None:
    parser.set_defaults(handler=run_serve)
