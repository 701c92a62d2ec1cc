"""Per-token rate limits: a token bucket per token, in this daemon's memory.

In memory, so several daemons behind a load balancer each allow the rate (a client may get N times
it); good enough against a runaway script, which is what it is for. Pure: the clock is passed in.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field


@dataclass(slots=True)
class _Bucket:
    tokens: float
    at: float


@dataclass(slots=True)
class RateLimiter:
    rate: float  # requests per second, sustained
    burst: int  # requests at once after a quiet time
    _buckets: dict[bytes, _Bucket] = field(default_factory=dict)

    def take(self, key: bytes, now: float) -> float:
        """0 when the request may go; else the seconds to wait before the next one will."""
        bucket = self._buckets.get(key)
        if bucket is None:
            bucket = self._buckets[key] = _Bucket(float(self.burst), now)
            self._forget_idle(now)
        bucket.tokens = min(float(self.burst), bucket.tokens + (now - bucket.at) * self.rate)
        bucket.at = now
        if bucket.tokens >= 1:
            bucket.tokens -= 1
            return 0.0
        return (1 - bucket.tokens) / self.rate

    def _forget_idle(self, now: float) -> None:
        # A full bucket holds no information: drop those, so memory follows the active tokens.
        if len(self._buckets) < 10_000:
            return
        full = self.burst / self.rate
        for key in [k for k, b in self._buckets.items() if now - b.at > full]:
            del self._buckets[key]


def retry_after(wait_s: float) -> str:
    """Retry-After counts whole seconds: rounded up, at least 1."""
    return str(max(1, math.ceil(wait_s)))
