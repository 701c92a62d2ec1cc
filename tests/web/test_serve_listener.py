"""`alertd serve` answers the sign-up pages on [serve] signup_listen, and only then."""

from __future__ import annotations

import aiohttp
import asyncpg
import pytest
from structlog.testing import capture_logs

from alertd.cli.serve import listeners
from alertd.config import Config, with_overrides
from alertd.delivery.live_index import LiveIndex
from gateways.fake import FakeGateway


# 0: in the daemon's loop; 2: in two page processes on the socket the daemon bound.
@pytest.mark.parametrize("workers", [0, 2])
async def test_serve_answers_the_pages_on_their_own_listener(
    config: Config, loaded: asyncpg.Pool, workers: int
) -> None:
    # Not set: no pages (the training gateway and API, the scheduler); set: one listener more.
    without = listeners(config)
    pages = {"signup_listen": "127.0.0.1:0", "signup_workers": workers}
    served = listeners(with_overrides(config, serve=pages))
    assert len(served) == len(without) + 1
    gateway = FakeGateway(receipts=False)
    with capture_logs() as logs:
        async with served[len(without)](loaded, [gateway], LiveIndex(loaded)):
            [started] = [e for e in logs if e["event"] == "serve.signup"]
            async with (
                aiohttp.ClientSession() as client,
                client.get(f"http://{started['listen']}/en/") as response,
            ):
                body = await response.text()
    assert response.status == 200
    assert '<html lang="en">' in body and "Sign up" in body
