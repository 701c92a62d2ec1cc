"""``alertd serve`` as a real process, and the fake provider's log read from outside: for the
tests that kill daemons and count what the provider received."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path


def serve_process(config: Path, dsn: str) -> subprocess.Popen[bytes]:
    """A daemon on ``dsn`` with ``config`` (its gateways' token in TOKEN), no ALERTD_ variable
    of the test's own environment leaking in."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("ALERTD_")}
    env.update(DATABASE_URL=dsn, TOKEN="tok")
    command = [sys.executable, "-m", "alertd", "--log-format", "json", "--config", str(config)]
    return subprocess.Popen(
        [*command, "serve"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )


def sent_numbers(log: Path) -> list[str]:
    """The numbers in the provider's log; a line it is still writing is not read yet."""
    if not log.exists():
        return []
    complete = log.read_text().split("\n")[:-1]
    return [json.loads(line)["to"] for line in complete if line.strip()]
