"""``alertd serve`` as a real process, and the fake provider's log read from outside: for the
tests that kill daemons and count what the provider received."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path


def serve_process(config: Path, dsn: str, log: Path | None = None) -> subprocess.Popen[bytes]:
    """A daemon on ``dsn`` with ``config`` (its gateways' token in TOKEN), no ALERTD_ variable
    of the test's own environment leaking in; its log (JSON lines) to ``log`` when given."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("ALERTD_")}
    env.update(DATABASE_URL=dsn, TOKEN="tok")
    command = [sys.executable, "-m", "alertd", "--log-format", "json", "--config", str(config)]
    if log is None:
        return subprocess.Popen(
            [*command, "serve"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
    with log.open("ab") as stderr:
        return subprocess.Popen(
            [*command, "serve"], env=env, stdout=subprocess.DEVNULL, stderr=stderr
        )


def logged(log: Path, event: str) -> list[dict[str, object]]:
    """The events of that name in a daemon's log so far (a line still being written aside)."""
    if not log.exists():
        return []
    lines = log.read_text().split("\n")[:-1]
    events = [json.loads(line) for line in lines if line.startswith("{")]
    return [e for e in events if e.get("event") == event]


def sent_numbers(log: Path) -> list[str]:
    """The numbers in the provider's log; a line it is still writing is not read yet."""
    if not log.exists():
        return []
    complete = log.read_text().split("\n")[:-1]
    return [json.loads(line)["to"] for line in complete if line.strip()]
