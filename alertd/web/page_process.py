"""One sign-up page process, started by ``alertd serve`` (``alertd.web.workers``), never by
hand: ``python -m alertd.web.page_process INDEX LISTEN_FD LIFE_FD``, the configuration as JSON
on stdin (``alertd.config.transfer``).

It accepts on the daemon's listening socket (LISTEN_FD), logs as the daemon does (same format,
same level, same stderr), and stops on SIGTERM or SIGINT, or when the daemon is gone (LIFE_FD,
the read end of a pipe only the daemon writes to, ends)."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import sys

import structlog

from alertd.config import Config, transfer
from alertd.errors import AlertdError, ConfigError
from alertd.logs import configure_logging, get_logger
from alertd.web import server

log = get_logger(__name__)
EXIT_FAILED = 1


def main(argv: list[str]) -> int:
    index, listen_fd, life_fd = (int(a) for a in argv)
    try:
        config = transfer.loads(sys.stdin.buffer.read())
    except ConfigError as exc:  # not started by serve: said on stderr, logging is not set up
        print(f"alertd page process: {exc}", file=sys.stderr)
        return EXIT_FAILED
    configure_logging(config.log)
    structlog.contextvars.bind_contextvars(
        worker=f"{socket.gethostname()}:{os.getpid()}", page_worker=index
    )
    sock = socket.socket(fileno=listen_fd)
    try:
        asyncio.run(_serve(config, sock, life_fd))
    except AlertdError as exc:
        # One line, what to do about it: the daemon logs the exit and starts it again.
        log.error("signup.worker_failed", error=str(exc))  # noqa: TRY400
        return EXIT_FAILED
    except Exception:  # a bug: in the log as one JSON event, not raw on stderr
        log.exception("signup.worker_crashed")
        return EXIT_FAILED
    return 0


async def _serve(config: Config, sock: socket.socket, life_fd: int) -> None:
    if config.database.url is None:  # the daemon runs the pages in its own loop then
        raise AlertdError("a page process needs a DATABASE_URL")
    stop = asyncio.Event()
    why: list[str] = []

    def stopping(reason: str) -> None:
        why.append(reason)
        stop.set()

    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stopping, sig.name)
    # Readable only at its end (nothing is ever written to it): the daemon is gone.
    loop.add_reader(life_fd, stopping, "the daemon is gone")
    async with server.on_socket(config, sock, config.database.url):
        log.info("signup.worker_ready")
        await stop.wait()
        log.info("signup.worker_stopping", reason=why[0])


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
