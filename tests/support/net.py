"""Loopback ports for servers a test starts in a process of its own making."""

from __future__ import annotations

import asyncio
import socket


def free_port() -> int:
    """A loopback port the OS chose (bound to 0, then let go for the server to take)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def listening(port: int, tries: int = 400) -> None:
    """Until something accepts connections on the port (the daemon's API has started): nothing
    announces it, so connecting is the only way to know."""
    for _ in range(tries):
        try:
            _reader, writer = await asyncio.open_connection("127.0.0.1", port)
        except OSError:
            await asyncio.sleep(0.05)
        else:
            writer.close()
            return
    raise TimeoutError(f"nothing listens on 127.0.0.1:{port}")
