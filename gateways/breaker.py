"""A circuit breaker per gateway: stop sending through a gateway that keeps failing.

Closed: everything goes through; after ``threshold`` failures in a row it opens. Open: nothing
goes through (the dispatcher fails over to the next gateway) for ``cooldown`` seconds. Half-open:
one probe goes through; success closes the breaker, failure opens it again. Rejections for good
(a wrong number) are not failures of the gateway and are not recorded here.
"""

from __future__ import annotations

import structlog

from gateways.limits import Clock, SystemClock

log = structlog.get_logger("gateways.breaker")

CLOSED, OPEN, HALF_OPEN = "closed", "open", "half_open"


class CircuitBreaker:
    def __init__(
        self, threshold: int = 5, cooldown: float = 30.0, clock: Clock | None = None
    ) -> None:
        self.threshold = threshold
        self.cooldown = cooldown
        self.clock = clock or SystemClock()
        self._failures = 0
        self._opened_at: float | None = None
        self._probing = False

    @property
    def state(self) -> str:
        if self._opened_at is None:
            return CLOSED
        if self.clock.now() - self._opened_at >= self.cooldown:
            return HALF_OPEN
        return OPEN

    def allow(self) -> bool:
        """May a submission go through now? In half-open, only one probe at a time."""
        state = self.state
        if state == CLOSED:
            return True
        if state == HALF_OPEN and not self._probing:
            self._probing = True
            return True
        return False

    def success(self) -> None:
        self._failures = 0
        self._opened_at = None
        self._probing = False

    def failure(self) -> None:
        self._probing = False
        self._failures += 1
        if self._opened_at is not None or self._failures >= self.threshold:
            self._opened_at = self.clock.now()

    def record(self, healthy: bool, *, gateway: str, ref: str, reason: str | None) -> None:
        """Count one answer; a fault is logged with the breaker's new state (never a number)."""
        if healthy:
            self.success()
            return
        self.failure()
        log.warning("gateway_fault", gateway=gateway, ref=ref, reason=reason, breaker=self.state)
