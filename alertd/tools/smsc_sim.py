"""A loopback SMSC for benchmarks: accepts every submit_sm (the third-party smpp34 server).

Run as ``python -m alertd.tools.smsc_sim --port 0``; it prints ``listening PORT`` once bound.
smpp34 is a test dependency (``pip install -e '.[test]'``), as this peer is only for measuring.
"""

from __future__ import annotations

import argparse
import asyncio
import socket
import sys


async def serve(port: int, latency: float = 0.0) -> None:
    try:
        import smpp34  # noqa: PLC0415 - optional: only this benchmark peer needs it
    except ImportError:
        sys.stderr.write("smsc_sim needs smpp34: pip install -e '.[test]'\n")
        raise SystemExit(2) from None
    if port == 0:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = int(s.getsockname()[1])
    server = smpp34.Server("127.0.0.1", port, system_id="ALERTDSIM")
    await server.start()
    sys.stdout.write(f"listening {port}\n")
    sys.stdout.flush()
    count = 0
    loop = asyncio.get_running_loop()
    while True:
        event = await server.next()
        if isinstance(event, smpp34.SubmitSmEvent):
            count += 1
            if latency:  # an SMSC across a network answers after a round trip, not at once
                loop.call_later(latency, event.accept, f"SIM{count:08d}")
            else:
                event.accept(f"SIM{count:08d}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--latency-ms", type=float, default=0.0)
    args = parser.parse_args()
    asyncio.run(serve(args.port, args.latency_ms / 1000))


if __name__ == "__main__":
    main()
