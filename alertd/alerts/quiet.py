"""A tenant's quiet hours: information (waste, roadworks…) is not sent in them; life-safety
alerts ignore them. Scheduled notices are moved out of them (``schedule.rules.release``); an
information notice sent by hand in them is refused with what to do instead."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time
from typing import Any
from zoneinfo import ZoneInfo

from alertd.errors import ConflictError


@dataclass(frozen=True, slots=True)
class Quiet:
    """A tenant's quiet hours for information notices, in its time zone; none when unset."""

    start: time | None = None
    end: time | None = None
    policy: str = "defer"

    @property
    def set(self) -> bool:
        return self.start is not None and self.end is not None and self.start != self.end

    def holds(self, at: time) -> bool:
        """Is the wall time ``at`` inside the quiet hours (start included, end not)?"""
        start, end = self.start, self.end
        if start is None or end is None or start == end:
            return False
        if start < end:
            return start <= at < end
        return at >= start or at < end  # across midnight, as 21:00-07:30


def check_send_now(alert: Any, now: datetime) -> None:
    """An information notice sent (or approved) by hand inside its tenant's quiet hours is
    refused: nobody is woken by a waste notice. ``alert``: a row of ``alerts.get`` (its tenant's
    quiet hours and time zone)."""
    if alert["severity"] != "information":
        return
    quiet = Quiet(alert["quiet_start"], alert["quiet_end"])
    local = now.astimezone(ZoneInfo(alert["timezone"]))
    if not quiet.holds(local.time()):
        return
    raise ConflictError(
        f"alert {alert['id']} is information and it is {local:%H:%M} in {alert['tenant_name']}, "
        f"inside its quiet hours ({quiet.start:%H:%M}-{quiet.end:%H:%M}): it is not sent now. "
        f"Send it after {quiet.end:%H:%M}, or schedule it then (alertd schedule create … --at "
        f'"tomorrow {quiet.end:%H:%M}"); a danger to people is a life-safety alert, never held'
    )
