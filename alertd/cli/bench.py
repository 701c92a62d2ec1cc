"""``alertd bench …``: the benchmarks, one JSON line each."""

from __future__ import annotations

import argparse
from typing import Any

from alertd.cli.util import command, finite_float, out_json, positive_int, subcommands
from alertd.config import Config
from alertd.errors import InputError
from alertd.tools import (
    bench_api,
    bench_gateway,
    bench_import,
    bench_index,
    bench_shared_rate,
    bench_signup,
    bench_smpp,
)
from alertd.tools import bench_dispatch as bench_dispatch_module
from alertd.tools import bench_match as bench_match_module

MAX_PAGE_WORKERS = 16  # as [serve] signup_workers


async def bench_match(args: argparse.Namespace, config: Config) -> int:
    out_json(await bench_match_module.match_benchmark(args.points, args.postgis_dsn))
    return 0


async def bench_ratelimit(args: argparse.Namespace, config: Config) -> int:
    out_json(await bench_gateway.ratelimit_benchmark(args.messages, args.rate, args.senders))
    return 0


async def bench_gateway_cmd(args: argparse.Namespace, config: Config) -> int:
    if args.kind == "smpp":
        out_json(await bench_gateway.smpp_benchmark(args.messages, latency_ms=args.latency_ms))
    else:
        out_json(await bench_gateway.http_benchmark(args.messages))
    return 0


async def bench_dispatch(args: argparse.Namespace, config: Config) -> int:
    out_json(await bench_dispatch_module.dispatch_benchmark(config, args.deliveries, args.rate))
    return 0


async def bench_smpp_cmd(args: argparse.Namespace, config: Config) -> int:
    result = await bench_smpp.smpp_benchmark(
        config,
        args.deliveries,
        binds=args.binds,
        window=args.window,
        latency_ms=args.latency_ms,
        baseline_deliveries=args.baseline_deliveries,
    )
    out_json(result)
    return 0


async def bench_import_cmd(args: argparse.Namespace, config: Config) -> int:
    result = await bench_import.import_benchmark(config, rows=args.rows, keep=args.keep)
    out_json(result)
    return 0


async def bench_index_cmd(args: argparse.Namespace, config: Config) -> int:
    out_json(await bench_index.index_benchmark(config, args.subscribers, args.previews))
    return 0


async def bench_schedule_cmd(args: argparse.Namespace, config: Config) -> int:
    from alertd.tools import bench_schedule  # noqa: PLC0415 - only for this benchmark

    out_json(
        await bench_schedule.schedule_benchmark(
            config, firings=args.firings, subscribers=args.subscribers
        )
    )
    return 0


async def bench_api_cmd(args: argparse.Namespace, config: Config) -> int:
    out_json(await bench_api.api_benchmark(config, args.subscribers, args.previews))
    return 0


async def bench_signup_cmd(args: argparse.Namespace, config: Config) -> int:
    if args.workers is not None and args.workers > MAX_PAGE_WORKERS:
        raise InputError(
            f"--workers: at most {MAX_PAGE_WORKERS} page processes, got {args.workers}"
        )
    out_json(await bench_signup.signup_benchmark(config, args.signups, args.rate, args.workers))
    return 0


def _counts(text: str) -> list[int]:
    try:
        counts = [int(n) for n in text.split(",")]
    except ValueError:
        counts = []
    if not counts or any(n < 1 or n > 16 for n in counts):
        raise argparse.ArgumentTypeError(
            f"--daemons takes daemon counts from 1 to 16 separated by commas (1,2,3), not {text!r}"
        )
    return counts


async def bench_shared_rate_cmd(args: argparse.Namespace, config: Config) -> int:
    if args.window_s < 5:
        raise InputError("--window-s must be 5 seconds or more: a rate is measured over it")
    setting = bench_shared_rate.Setting(args.rate, args.window_s, args.lease_s)
    result = await bench_shared_rate.shared_rate_benchmark(
        config, args.daemons, setting, kill=not args.no_kill
    )
    out_json(result)
    return 0


def register(parser: argparse.ArgumentParser) -> None:
    ben = subcommands(parser)
    p = command(ben, "import", bench_import_cmd, "subscriber CSV import against plain COPY")
    p.add_argument("--rows", type=positive_int, default=1_000_000)
    p.add_argument("--keep", action="store_true", help="keep the generated CSV")
    p.add_argument("--json", action="store_true", help="accepted for symmetry: output is JSON")
    p = command(
        ben,
        "dispatch",
        bench_dispatch,
        "deliveries per second over the durable path, against plain batched SQL",
    )
    p.add_argument("--deliveries", type=positive_int, default=200_000)
    p.add_argument(
        "--rate",
        type=finite_float,
        default=0.0,
        help="limit the fake gateway to this many segments a second (0: none)",
    )
    p.add_argument("--json", action="store_true", help="accepted for symmetry: output is JSON")
    p = command(
        ben,
        "smpp",
        bench_smpp_cmd,
        "submit_sm per second through the durable path into the SMSC simulator, against one "
        "bind at window 1",
    )
    p.add_argument("--deliveries", type=positive_int, default=20_000)
    p.add_argument("--binds", type=positive_int, default=4)
    p.add_argument("--window", type=positive_int, default=50, help="per bind")
    p.add_argument("--latency-ms", type=finite_float, default=20.0, help="the SMSC's answer delay")
    p.add_argument(
        "--baseline-deliveries",
        type=positive_int,
        default=bench_smpp.BASELINE_DELIVERIES,
        help="for the baseline (one bind, window 1)",
    )
    p.add_argument("--json", action="store_true", help="accepted for symmetry: output is JSON")
    p = command(
        ben,
        "gateway",
        bench_gateway_cmd,
        "submissions per second through a loopback peer, window 1 against window 64",
    )
    p.add_argument("--kind", choices=("http", "smpp"), default="http")
    p.add_argument(
        "--latency-ms",
        type=finite_float,
        default=0.0,
        help="SMPP: the simulator answers each submit_sm after this delay",
    )
    p.add_argument("--messages", type=positive_int, default=50_000)
    p.add_argument("--json", action="store_true", help="accepted for symmetry: output is JSON")
    p = command(
        ben,
        "ratelimit",
        bench_ratelimit,
        "the rate limiter against the wall clock, through the fake gateway",
    )
    p.add_argument("--messages", type=positive_int, default=10_000)
    p.add_argument("--rate", type=finite_float, default=500.0, help="segments per second")
    p.add_argument("--senders", type=positive_int, default=4, help="concurrent senders")
    p.add_argument("--json", action="store_true", help="accepted for symmetry: output is JSON")
    _register_daemon_benches(ben)


def _register_daemon_benches(ben: Any) -> None:
    """The benchmarks of matching, the daemon's index and what the daemon serves."""
    p = command(
        ben,
        "match",
        bench_match,
        "zone matching against shapely.contains_xy (and PostGIS ST_Contains when given)",
    )
    p.add_argument("--points", type=positive_int, default=1_000_000)
    p.add_argument(
        "--postgis-dsn",
        metavar="DSN",
        help="a database where the PostGIS extension exists or can be created",
    )
    p.add_argument("--json", action="store_true", help="accepted for symmetry: output is JSON")
    p = command(
        ben,
        "index",
        bench_index_cmd,
        "previews from the daemon's in-memory subscriber index against loading it per call",
    )
    p.add_argument("--subscribers", type=positive_int, default=1_000_000)
    p.add_argument("--previews", type=positive_int, default=100)
    p.add_argument("--json", action="store_true", help="accepted for symmetry: output is JSON")
    p = command(
        ben,
        "shared-rate",
        bench_shared_rate_cmd,
        "the rate one gateway's provider receives from 1, 2, 3 daemons sharing its contract, "
        "and the takeover of a killed daemon's share",
    )
    p.add_argument("--daemons", type=_counts, default=[1, 2, 3], help="e.g. 1,2,3")
    p.add_argument("--rate", type=finite_float, default=500.0, help="the contract, segments/s")
    p.add_argument("--window-s", type=finite_float, default=30.0, help="measured over this")
    p.add_argument("--lease-s", type=finite_float, default=3.0, help="[serve] share_lease_s")
    p.add_argument("--no-kill", action="store_true", help="skip the takeover measurement")
    p.add_argument("--json", action="store_true", help="accepted for symmetry: output is JSON")
    p = command(
        ben,
        "api",
        bench_api_cmd,
        "previews, send to first submission and status polling over the daemon's HTTP API, "
        "against the CLI's per-call preview",
    )
    p.add_argument("--subscribers", type=positive_int, default=1_000_000)
    p.add_argument("--previews", type=positive_int, default=100)
    p.add_argument("--json", action="store_true", help="accepted for symmetry: output is JSON")
    p = command(
        ben,
        "signup",
        bench_signup_cmd,
        "residents signing up on the pages (form, code by SMS, code typed) at a target rate",
    )
    p.add_argument("--signups", type=positive_int, default=2000)
    p.add_argument("--rate", type=finite_float, default=200.0, help="sign-ups started per second")
    p.add_argument(
        "--workers",
        type=positive_int,
        help="page processes, as serve runs them ([serve] signup_workers by default); 0: the "
        "pages in the benchmark's own loop, codes handed to the gateway directly (as before)",
    )
    p.add_argument("--json", action="store_true", help="accepted for symmetry: output is JSON")
    p = command(
        ben,
        "schedule",
        bench_schedule_cmd,
        "scheduled notices: due time to first submission, on the real scheduler, vs alert send",
    )
    p.add_argument("--firings", type=positive_int, default=20)
    p.add_argument("--subscribers", type=positive_int, default=20_000)
