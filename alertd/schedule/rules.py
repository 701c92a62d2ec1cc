"""When a schedule fires, pure: APScheduler 3's triggers read in the schedule's time zone, less
public holidays and the dates excepted, each firing moved out of the tenant's quiet hours.

Daylight-saving time, in Europe/Paris: a wall time the clocks skip (02:30 on the last Sunday of
March) fires once, at the same distance after the change, i.e. 03:30 summer time (01:30 UTC); a
wall time that happens twice (02:30 on the last Sunday of October) fires once, at its first
occurrence (02:30 summer time, 00:30 UTC). Every time returned is aware and in UTC.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.date import DateTrigger

from alertd.alerts.quiet import Quiet
from alertd.errors import InputError
from alertd.schedule.holidays import is_public_holiday

QUIET_POLICIES = ("defer", "refuse")
NO_QUIET = Quiet()
_MAX_STEPS = 5000  # trigger steps looked at for one answer: a rule that never fires ends


@dataclass(frozen=True, slots=True)
class Rule:
    """Once at ``run_at``, or on the crontab ``cron`` read in ``timezone``."""

    timezone: str = "Europe/Paris"
    run_at: datetime | None = None
    cron: str | None = None
    skip_holidays: bool = False
    except_dates: frozenset[date] = field(default_factory=frozenset)

    def __post_init__(self) -> None:
        if (self.run_at is None) == (self.cron is None):
            raise InputError("a schedule runs either once (--at) or on a rule (--every/--cron)")
        if self.run_at is not None and self.run_at.tzinfo is None:
            raise InputError("a schedule's time must say its time zone")
        zone(self.timezone)
        if self.cron is not None:
            trigger(self)

    @property
    def recurring(self) -> bool:
        return self.cron is not None


@dataclass(frozen=True, slots=True)
class Firing:
    fire_time: datetime  # UTC: with the schedule, the firing's unique key
    due_at: datetime  # UTC: when it is sent (later than fire_time when quiet hours hold it)

    @property
    def deferred(self) -> bool:
        return self.due_at != self.fire_time


def zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise InputError(f"unknown time zone {name!r} (e.g. Europe/Paris)") from exc


def trigger(rule: Rule) -> CronTrigger | DateTrigger:
    tz = zone(rule.timezone)
    if rule.run_at is not None:
        return DateTrigger(run_date=rule.run_at, timezone=tz)
    assert rule.cron is not None  # noqa: S101 - one of the two, checked by Rule
    try:
        return CronTrigger.from_crontab(rule.cron, timezone=tz)
    except ValueError as exc:
        raise InputError(
            f"bad calendar rule {rule.cron!r}: {exc} (crontab: minute hour day month weekday, "
            "e.g. '0 19 * * mon')"
        ) from exc


def _raw(rule: Rule, after: datetime) -> Iterator[datetime]:
    """The trigger's times strictly after ``after``, as APScheduler gives them."""
    made = trigger(rule)
    if isinstance(made, DateTrigger):
        when = made.get_next_fire_time(None, after)
        if when is not None and when > after:
            yield when
        return
    previous: datetime | None = None
    now = after
    for _ in range(_MAX_STEPS):
        when = made.get_next_fire_time(previous, now)
        if when is None:
            return
        if when > after:
            yield when
        previous = now = when


def _repeated(when: datetime) -> bool:
    """The second occurrence of a wall time the clocks went back over."""
    if not when.fold:
        return False
    return when.replace(fold=0).utcoffset() != when.utcoffset()


def fire_times(
    rule: Rule, after: datetime, *, until: datetime | None = None, limit: int = 10
) -> list[datetime]:
    """Up to ``limit`` fire times strictly after ``after`` (and at most ``until``), in UTC."""
    tz = zone(rule.timezone)
    found: list[datetime] = []
    for raw in _raw(rule, after):
        when = raw.astimezone(UTC)
        if until is not None and when > until:
            break
        local = when.astimezone(tz)
        if rule.recurring and (
            _repeated(local)
            or local.date() in rule.except_dates
            or (rule.skip_holidays and is_public_holiday(local.date()))
        ):
            continue
        if found and when <= found[-1]:
            continue  # a skipped wall time may land on the next one's instant: once
        found.append(when)
        if len(found) >= limit:
            break
    return found


def release(when: datetime, quiet: Quiet, timezone: str) -> datetime:
    """When a notice due at ``when`` may go: at once, or at the end of the quiet hours."""
    tz = zone(timezone)
    local = when.astimezone(tz)
    if not quiet.holds(local.time()) or quiet.end is None:
        return when
    day = local.date() if local.time() < quiet.end else local.date() + timedelta(days=1)
    return datetime.combine(day, quiet.end, tzinfo=tz).astimezone(UTC)


def firings(
    rule: Rule,
    after: datetime,
    *,
    severity: str,
    quiet: Quiet = NO_QUIET,
    until: datetime | None = None,
    limit: int = 10,
) -> list[Firing]:
    """The firings after ``after``; life-safety ignores quiet hours."""
    held = quiet if severity == "information" else NO_QUIET
    return [
        Firing(t, release(t, held, rule.timezone))
        for t in fire_times(rule, after, until=until, limit=limit)
    ]


def check_quiet(rule: Rule, now: datetime, *, severity: str, quiet: Quiet) -> None:
    """Refused at creation when the tenant refuses information notices in quiet hours and one
    of the next firings falls in them."""
    if severity != "information" or quiet.policy != "refuse" or not quiet.set:
        return
    for t in fire_times(rule, now, limit=20):
        local = t.astimezone(zone(rule.timezone))
        if quiet.holds(local.time()):
            raise InputError(
                f"this notice would go at {local:%Y-%m-%d %H:%M} ({rule.timezone}), in the "
                f"quiet hours {quiet.start:%H:%M}-{quiet.end:%H:%M} when this tenant refuses "
                "information notices: choose another time"
            )


def parse_quiet(raw: str) -> tuple[time, time]:
    """``21:00-07:30`` into its two wall times."""
    try:
        start, end = (time.fromisoformat(part.strip()) for part in raw.split("-"))
    except ValueError as exc:
        raise InputError(
            f"quiet hours {raw!r}: write them as HH:MM-HH:MM, e.g. 21:00-07:30"
        ) from exc
    if start == end:
        raise InputError("quiet hours must start and end at different times")
    return start, end
