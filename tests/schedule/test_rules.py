"""When schedules fire, on a driven clock: pure functions of ``now``."""

from __future__ import annotations

from datetime import UTC, date, datetime, time

import pytest

from alertd.alerts.quiet import Quiet
from alertd.errors import InputError
from alertd.schedule import holidays, when
from alertd.schedule.rules import Rule, check_quiet, fire_times, firings, release

PARIS = "Europe/Paris"


def utc(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=UTC)


def test_easter_and_the_holidays_that_follow_it() -> None:
    assert holidays.easter(2026) == date(2026, 4, 5)
    assert holidays.easter(2027) == date(2027, 3, 28)
    assert holidays.easter(2038) == date(2038, 4, 25)
    days = holidays.public_holidays(2027)
    assert len(days) == 11
    assert days[date(2027, 3, 29)] == "Lundi de Pâques"
    assert days[date(2027, 5, 6)] == "Ascension"
    assert days[date(2027, 5, 17)] == "Lundi de Pentecôte"
    assert holidays.is_public_holiday(date(2027, 7, 14))
    assert not holidays.is_public_holiday(date(2027, 7, 15))


def test_a_one_off_notice_fires_once_at_its_time() -> None:
    rule = Rule(run_at=when.parse_at("tomorrow 06:30", utc(2026, 12, 1, 15), PARIS))
    assert rule.run_at == utc(2026, 12, 2, 5, 30)  # 06:30 in Paris, winter time
    assert fire_times(rule, utc(2026, 12, 1, 15)) == [utc(2026, 12, 2, 5, 30)]
    assert fire_times(rule, utc(2026, 12, 2, 5, 30)) == []  # after it: never again


def test_a_weekly_rule_over_a_year_skips_holidays_and_the_dates_excepted() -> None:
    rule = Rule(
        cron=when.every_to_cron("mon 19:00"),
        skip_holidays=True,
        except_dates=when.parse_dates("2027-08-16,2027-08-23"),
    )
    year = fire_times(rule, utc(2027, 1, 1), until=utc(2028, 1, 1), limit=100)
    mondays = [d.astimezone(UTC).date() for d in year]
    # 52 Mondays in 2027, less Easter Monday, Whit Monday, All Saints' (a Monday in 2027) and
    # the two dates excepted.
    assert len(year) == 47
    assert date(2027, 3, 29) not in mondays and date(2027, 5, 17) not in mondays
    assert date(2027, 11, 1) not in mondays
    assert date(2027, 8, 16) not in mondays and date(2027, 8, 23) not in mondays
    assert date(2027, 8, 30) in mondays
    # 19:00 in Paris all year: 18:00 UTC in winter, 17:00 UTC in summer.
    assert year[0] == utc(2027, 1, 4, 18) and year[20].hour == 17


def test_spring_forward_a_skipped_wall_time_fires_once_an_hour_later() -> None:
    rule = Rule(cron="30 2 * * *")
    got = fire_times(rule, utc(2027, 3, 27, 12), limit=2)
    # 2027-03-28: 02:30 does not exist in Paris; it fires at 03:30 summer time (01:30 UTC).
    assert got == [utc(2027, 3, 28, 1, 30), utc(2027, 3, 29, 0, 30)]


def test_fall_back_a_repeated_wall_time_fires_once_at_its_first_occurrence() -> None:
    rule = Rule(cron="30 2 * * *")
    got = fire_times(rule, utc(2027, 10, 30, 12), limit=2)
    # 2027-10-31: 02:30 happens at 00:30 UTC and again at 01:30 UTC: only the first.
    assert got == [utc(2027, 10, 31, 0, 30), utc(2027, 11, 1, 1, 30)]
    # Asked from between the two occurrences (a restart at 01:00 UTC): not again.
    assert fire_times(rule, utc(2027, 10, 31, 1, 0), limit=1) == [utc(2027, 11, 1, 1, 30)]


def test_a_wall_time_that_does_not_exist_is_refused_for_a_one_off() -> None:
    with pytest.raises(InputError, match="does not exist"):
        when.parse_at("2027-03-28 02:30", utc(2027, 3, 1), PARIS)


def test_quiet_hours_hold_an_information_notice_until_the_morning() -> None:
    quiet = Quiet(time(21), time(7, 30))
    late = Rule(run_at=utc(2027, 1, 5, 21, 30))  # 22:30 in Paris
    (one,) = firings(late, utc(2027, 1, 1), severity="information", quiet=quiet)
    assert one.fire_time == utc(2027, 1, 5, 21, 30)
    assert one.due_at == utc(2027, 1, 6, 6, 30)  # 07:30 in Paris, the next morning
    (safety,) = firings(late, utc(2027, 1, 1), severity="life_safety", quiet=quiet)
    assert not safety.deferred
    early = utc(2027, 1, 6, 5)  # 06:00 in Paris, still quiet: the same morning
    assert release(early, quiet, PARIS) == utc(2027, 1, 6, 6, 30)
    day = utc(2027, 1, 6, 9)
    assert release(day, quiet, PARIS) == day


def test_a_tenant_that_refuses_quiet_hours_refuses_the_schedule() -> None:
    quiet = Quiet(time(21), time(7, 30), "refuse")
    with pytest.raises(InputError, match="quiet hours 21:00-07:30"):
        check_quiet(Rule(cron="0 22 * * mon"), utc(2027, 1, 1), severity="information", quiet=quiet)
    check_quiet(Rule(cron="0 19 * * mon"), utc(2027, 1, 1), severity="information", quiet=quiet)
    check_quiet(Rule(cron="0 22 * * mon"), utc(2027, 1, 1), severity="life_safety", quiet=quiet)


@pytest.mark.parametrize(
    ("raw", "cron"),
    [
        ("mon 19:00", "0 19 * * mon"),
        ("mon,thu 6:05", "5 6 * * mon,thu"),
        ("day 07:00", "0 7 * * *"),
    ],
)
def test_every_reads_days_and_a_time(raw: str, cron: str) -> None:
    assert when.every_to_cron(raw) == cron


@pytest.mark.parametrize("raw", ["monday 19:00", "mon 25:00", "mon", ""])
def test_every_refuses_what_it_cannot_read(raw: str) -> None:
    with pytest.raises(InputError):
        when.every_to_cron(raw)


def test_a_bad_crontab_or_zone_is_a_clear_error() -> None:
    with pytest.raises(InputError, match="bad calendar rule"):
        Rule(cron="61 * * * *")
    with pytest.raises(InputError, match="unknown time zone"):
        Rule(cron="0 19 * * mon", timezone="Europe/Dunkerque")
