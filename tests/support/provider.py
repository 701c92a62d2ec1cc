"""`alertd fake-provider` as its own process, for tests that need an outside witness."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from alertd.tools.bench_gateway import listening_port, provider_command


@contextmanager
def provider_process(log: Path) -> Iterator[int]:
    """Start the provider (account ACtest, token tok) logging every message it accepts to
    ``log``; yields its port."""
    proc = subprocess.Popen(
        provider_command(log, "ACtest", "tok"),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        env={k: v for k, v in os.environ.items() if not k.startswith("ALERTD_")},
    )
    try:
        assert proc.stderr is not None
        for line in proc.stderr:  # the server says when it listens: no sleeping
            if (port := listening_port(line)) is not None:
                yield port
                break
        else:
            pytest.fail("the fake provider did not start")
    finally:
        proc.terminate()
        proc.communicate(timeout=10)
