"""A live progress line for an alert: queued, submitted, delivered, failed, in doubt, rate, ETA.

Pure: the caller fetches the counts and writes the line (``\\r`` on a terminal, one line a few
seconds apart in a log).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass, field

PENDING = ("queued", "sending")
FINAL = ("delivered", "failed", "expired", "cancelled")


@dataclass(frozen=True, slots=True)
class Progress:
    total: int
    queued: int
    submitted: int  # handed to a gateway, no final receipt yet
    delivered: int
    failed: int  # failed or expired: no more attempt
    in_doubt: int
    rerouted: int
    per_second: float | None  # None: not measured (a single look)
    # Stopped on purpose (a cancel, an all-clear given before they went): not a failure.
    cancelled: int = 0

    @property
    def done(self) -> bool:
        return self.queued == 0

    @property
    def settled(self) -> bool:
        """Every delivery has its final state: receipts included."""
        return self.queued == 0 and self.submitted == 0

    @property
    def handed(self) -> int:
        """Handed to a gateway so far, whatever became of them."""
        return self.total - self.queued

    @property
    def eta_s(self) -> float | None:
        if self.done:
            return 0.0
        return self.queued / self.per_second if self.per_second else None


@dataclass
class Pace:
    """Messages per second over the last ``window_s`` seconds, from successive looks at the
    counters (the clock is passed in)."""

    window_s: float = 10.0
    _samples: deque[tuple[float, int]] = field(default_factory=deque)

    def update(self, now: float, handed: int) -> float | None:
        self._samples.append((now, handed))
        while len(self._samples) > 2 and now - self._samples[1][0] >= self.window_s:
            self._samples.popleft()
        first_at, first = self._samples[0]
        if now <= first_at:
            return None
        return (handed - first) / (now - first_at)


def from_counts(counts: Mapping[str, int], per_second: float | None = None) -> Progress:
    return Progress(
        total=sum(v for k, v in counts.items() if k not in ("in_doubt", "rerouted")),
        queued=sum(counts.get(k, 0) for k in PENDING),
        submitted=counts.get("submitted", 0),
        delivered=counts.get("delivered", 0),
        failed=counts.get("failed", 0) + counts.get("expired", 0),
        in_doubt=counts.get("in_doubt", 0),
        rerouted=counts.get("rerouted", 0),
        per_second=per_second,
        cancelled=counts.get("cancelled", 0),
    )


def bar(p: Progress, width: int = 30) -> str:
    """[#####+++....] : delivered (#), submitted, failed or cancelled (+), still to send (.)."""
    if p.total == 0:
        return "[" + " " * width + "]"
    full = round(width * p.delivered / p.total)
    sent = round(width * (p.delivered + p.submitted + p.failed + p.cancelled) / p.total) - full
    return "[" + "#" * full + "+" * sent + "." * (width - full - sent) + "]"


def line(p: Progress, width: int = 30) -> str:
    eta = p.eta_s
    eta_text = "done" if p.done else "ETA ?" if eta is None else f"ETA {duration(eta)}"
    share = f"{100 * (p.total - p.queued) / p.total:5.1f} %" if p.total else "  -  "
    return (
        f"{bar(p, width)} {share}  queued {p.queued}  submitted {p.submitted}  "
        f"delivered {p.delivered}  failed {p.failed}  cancelled {p.cancelled}  "
        f"in doubt {p.in_doubt}  "
        + ("-/s" if p.per_second is None else f"{p.per_second:,.0f}/s")
        + f"  {eta_text}"
    )


def duration(seconds: float) -> str:
    s = round(seconds)
    if s < 60:
        return f"{s} s"
    if s < 3600:
        return f"{s // 60} min {s % 60:02d} s"
    return f"{s // 3600} h {s % 3600 // 60:02d} min"
