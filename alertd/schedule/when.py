"""What a person types for "when" into a Rule, pure (``now`` is passed in).

``--at``: ``2026-12-02 06:30``, ``2026-12-02T06:30+01:00``, ``today 18:00``, ``tomorrow 06:30``;
read in the tenant's time zone unless it names its own offset. ``--every``: ``mon 19:00``,
``mon,thu 06:00``, ``day 07:00``; ``--cron``: a crontab line (minute hour day month weekday).
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, time, timedelta

from alertd.errors import InputError
from alertd.schedule.rules import zone

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_EVERY_RE = re.compile(r"^\s*([a-z,]+)\s+(\d{1,2}):(\d{2})\s*$")


def parse_at(raw: str, now: datetime, timezone: str) -> datetime:
    """An aware time in UTC; an ambiguous wall time is its first occurrence."""
    tz = zone(timezone)
    text = raw.strip().lower()
    local_now = now.astimezone(tz)
    for word, days in (("today", 0), ("tomorrow", 1)):
        if text.startswith(word + " "):
            day = local_now.date() + timedelta(days=days)
            wall = _time(text[len(word) :].strip(), raw)
            return _aware(datetime.combine(day, wall), timezone)
    try:
        parsed = datetime.fromisoformat(raw.strip())
    except ValueError as exc:
        raise InputError(
            f"--at {raw!r}: write a time as 'YYYY-MM-DD HH:MM' or 'tomorrow 06:30'"
        ) from exc
    if parsed.tzinfo is not None:
        return parsed.astimezone(UTC)
    return _aware(parsed, timezone)


def _time(text: str, raw: str) -> time:
    try:
        return time.fromisoformat(text)
    except ValueError as exc:
        raise InputError(f"--at {raw!r}: the time is HH:MM, e.g. tomorrow 06:30") from exc


def _aware(wall: datetime, timezone: str) -> datetime:
    tz = zone(timezone)
    local = wall.replace(tzinfo=tz, fold=0)
    # A wall time the clocks skip does not exist: say so rather than guess.
    if local.astimezone(UTC).astimezone(tz).replace(tzinfo=None) != wall:
        raise InputError(
            f"{wall:%Y-%m-%d %H:%M} does not exist in {timezone} (the clocks go forward then): "
            "choose another time"
        )
    return local.astimezone(UTC)


def every_to_cron(raw: str) -> str:
    """``mon,thu 19:00`` into the crontab ``0 19 * * mon,thu``; ``day`` is every day."""
    match = _EVERY_RE.match(raw.lower())
    if not match:
        raise InputError(
            f"--every {raw!r}: write the days and the time, e.g. 'mon 19:00', 'mon,thu 06:00', "
            "'day 07:00'"
        )
    days, hour, minute = match.group(1), int(match.group(2)), int(match.group(3))
    if hour > 23 or minute > 59:
        raise InputError(f"--every {raw!r}: {hour:02d}:{minute:02d} is not a time of day")
    names = days.split(",")
    if names == ["day"]:
        weekday = "*"
    elif all(n in DAYS for n in names):
        weekday = ",".join(names)
    else:
        raise InputError(f"--every {raw!r}: days are {', '.join(DAYS)} or 'day'")
    return f"{minute} {hour} * * {weekday}"


def parse_dates(raw: str) -> frozenset[date]:
    """``2026-12-25,2027-01-01`` into dates."""
    try:
        return frozenset(date.fromisoformat(d.strip()) for d in raw.split(",") if d.strip())
    except ValueError as exc:
        raise InputError(f"--except {raw!r}: dates are YYYY-MM-DD, separated by commas") from exc


def parse_duration(raw: str) -> float:
    """``90s``, ``30m``, ``2h`` (or seconds) into seconds."""
    match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([smh]?)\s*", raw)
    if not match:
        raise InputError(f"{raw!r} is not a duration: e.g. 30m, 2h, 90s")
    return float(match.group(1)) * {"": 1, "s": 1, "m": 60, "h": 3600}[match.group(2)]
