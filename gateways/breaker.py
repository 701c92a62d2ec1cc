"""A circuit breaker per gateway: stop sending through a gateway that keeps failing.

Closed: everything goes through; after ``threshold`` failures in a row it opens. Open: nothing
goes through (the dispatcher fails over to the next gateway) for ``cooldown`` seconds. Half-open:
one probe goes through; success closes the breaker, failure opens it again. Rejections for good
(a wrong number) are not failures of the gateway and are not recorded here.

Tripped (``trip``): open, with no probe, until ``success`` — for a gateway that could not even
start: whoever keeps trying to start it closes the breaker once it has.

An adapter turns each message's answer into an `Answer`: the result and whether it shows the
gateway healthy (it answered properly, even to refuse a number or to throttle) or at fault (a
timeout, a lost connection, a server error: `fault`). Every answer is recorded: a half-open
breaker's probe must end either way.
"""

from __future__ import annotations

from dataclasses import dataclass

import structlog

from gateways.base import SubmitResult
from gateways.limits import Clock, SystemClock

log = structlog.get_logger("gateways.breaker")

CLOSED, OPEN, HALF_OPEN = "closed", "open", "half_open"
FAULT_RETRY_AFTER = 5.0  # seconds, after a gateway's fault when it does not say how long to wait


@dataclass(frozen=True, slots=True)
class Answer:
    """One message's result and what it says of the gateway's health (False: its fault; None:
    nothing, the fault was counted once elsewhere, e.g. the lost connection it went down with)."""

    result: SubmitResult
    healthy: bool | None


def fault(ref: str, reason: str, after: float = FAULT_RETRY_AFTER) -> Answer:
    """The gateway's fault: RETRY, and the breaker counts it."""
    return Answer(SubmitResult.retry(ref, reason, after), False)


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
        self._tripped = False

    @property
    def state(self) -> str:
        if self._tripped:
            return OPEN
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
        self._tripped = False

    def trip(self) -> None:
        """Open now and stay open, without a half-open probe, until ``success``."""
        self._tripped = True
        self._probing = False
        self._failures = max(self._failures, self.threshold)
        self._opened_at = self.clock.now()

    def open_now(self) -> None:
        """Open at once (a configuration error: every message would get the same answer); a
        probe goes through after the cooldown, as after ``threshold`` failures."""
        self._probing = False
        self._failures = max(self._failures, self.threshold)
        self._opened_at = self.clock.now()

    def failure(self) -> None:
        self._probing = False
        self._failures += 1
        if self._opened_at is not None or self._failures >= self.threshold:
            self._opened_at = self.clock.now()

    def refusal(self, gateway: str, ref: str) -> SubmitResult | None:
        """None when a submission may go through now (see allow), else the RETRY to answer."""
        if self.allow():
            return None
        return SubmitResult.retry(ref, f"gateway {gateway}: circuit open", self.cooldown)

    def record(self, answer: Answer, *, gateway: str, ref: str) -> SubmitResult:
        """Count one answer and pass its result on; a fault is logged with the breaker's new
        state (never a number)."""
        if answer.healthy is None:
            self._probing = False  # a probe that proved nothing: the next one may go
            return answer.result
        if answer.healthy:
            self.success()
            return answer.result
        self.failure()
        reason = answer.result.reason
        log.warning("gateway_fault", gateway=gateway, ref=ref, reason=reason, breaker=self.state)
        return answer.result
