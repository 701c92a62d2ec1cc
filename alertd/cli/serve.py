"""``alertd serve``: the daemon."""

from __future__ import annotations

import argparse
import sys

from alertd.config import Config
from alertd.delivery import daemon


async def run_serve(args: argparse.Namespace, config: Config) -> int:
    died = await daemon.serve(config)
    if died is None:
        return 0
    print(f"alertd serve: stopped because {died}; see the log (serve.task_died)", file=sys.stderr)
    return daemon.EXIT_TASK_DIED


def register(parser: argparse.ArgumentParser) -> None:
    parser.set_defaults(handler=run_serve)
