"""``python -m alertd.tools.smsc_sim``: the simulator in its own process (see the package)."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import signal
import sys
import time
from pathlib import Path

from alertd.tools.smsc_sim.faults import Faults
from alertd.tools.smsc_sim.server import Smsc

STATS_EVERY_S = 0.5


def write_stats(smsc: Smsc, path: Path) -> None:
    """Replace the file at once (written beside it, then renamed): a reader never sees half."""
    partial = path.with_name(path.name + ".partial")
    # "at": when these counts held (wall clock), so that a reader measures a rate over a window.
    figures = {**smsc.stats, "at": time.time()}
    partial.write_text(json.dumps(figures, sort_keys=True) + "\n", encoding="utf-8")
    partial.replace(path)


async def run(args: argparse.Namespace) -> None:
    faults = Faults(
        latency=args.latency_ms / 1000,
        max_binds=args.max_binds,
        throttle_per_s=args.throttle_per_s,
        receipts=args.receipts,
        resp_id_base=args.resp_id_base,
        receipt_id_base=args.receipt_id_base,
    )
    smsc = Smsc(faults, keep_submits=False)  # a benchmark's millions are counted, not kept
    port = await smsc.start(args.host, args.port)
    sys.stdout.write(f"listening {port}\n")
    sys.stdout.flush()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    try:
        while not stop.is_set():
            if args.stats:
                write_stats(smsc, args.stats)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), STATS_EVERY_S)
    finally:
        if args.stats:
            write_stats(smsc, args.stats)
        await smsc.stop()


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m alertd.tools.smsc_sim", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--latency-ms", type=float, default=0.0)
    parser.add_argument("--stats", type=Path, metavar="PATH", help="counters as JSON, kept fresh")
    parser.add_argument("--max-binds", type=int, default=0, help="0: no limit")
    parser.add_argument("--throttle-per-s", type=float, default=0.0, help="per bind; 0: none")
    parser.add_argument("--receipts", action="store_true", help="a receipt for each submit_sm")
    parser.add_argument("--resp-id-base", choices=("dec", "hex", "HEX"), default="dec")
    parser.add_argument("--receipt-id-base", choices=("dec", "hex", "HEX"), default="dec")
    asyncio.run(run(parser.parse_args()))


if __name__ == "__main__":
    main()
