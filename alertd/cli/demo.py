"""``alertd demo``: the README's main command."""

from __future__ import annotations

import argparse

from alertd.cli.util import finite_float, positive_int
from alertd.config import Config
from alertd.tools import demo, demo_signup


def share(text: str) -> float:
    value = finite_float(text)
    if not 0 <= value <= 0.5:
        raise argparse.ArgumentTypeError(f"expected a share between 0 and 0.5, got {text}")
    return value


async def run_demo(args: argparse.Namespace, config: Config) -> int:
    if args.signup:
        return await demo_signup.run(config, as_json=args.json)
    if args.waste:
        from alertd.tools import demo_waste  # noqa: PLC0415 - only for this option

        return await demo_waste.run(config, subscribers_count=args.subscribers, as_json=args.json)
    return await demo.run(
        config, subscribers_count=args.subscribers, error_rate=args.error_rate, as_json=args.json
    )


def register(parser: argparse.ArgumentParser) -> None:
    parser.set_defaults(handler=run_demo)
    parser.add_argument(
        "--subscribers",
        type=positive_int,
        default=50_000,
        help="synthetic subscribers to import (default 50000)",
    )
    parser.add_argument(
        "--error-rate",
        type=share,
        default=0.0,
        help="share of submissions the primary gateway fails, 0 to 0.5 (shows retries and "
        "failover)",
    )
    parser.add_argument("--json", action="store_true", help="print the summary as one JSON line")
    parser.add_argument(
        "--signup",
        action="store_true",
        help="instead: two residents sign themselves up, one by SMS keyword, one on the pages",
    )
    parser.add_argument(
        "--waste",
        action="store_true",
        help="the waste service instead: synthetic sectors, a weekly reminder, a notice "
        "scheduled a few seconds ahead and fired by the real scheduler, quiet hours",
    )
