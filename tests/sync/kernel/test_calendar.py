"""Tests for sync.kernel.calendar.HallCalendar (opening hours, open days, working-day arithmetic)."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from freezegun import freeze_time

from sync.kernel.business import Calendar, Closure, Holiday, Period, Vacation, Workday
from sync.kernel.calendar import HallCalendar

SH = ZoneInfo("Asia/Shanghai")
UTC = timezone.utc

LAST_WED_AFTERNOON = Closure(kind="last-weekday-of-month", weekday=3, start="13:00", name="staff study")
FRIDAY_FROM_1600 = Closure(kind="weekly", weekday=5, start="16:00")

NATIONAL_DAY = Holiday(start=date(2026, 10, 1), end=date(2026, 10, 7), name="国庆节")
MAKEUP_SUNDAY = Workday(date=date(2026, 9, 27), name="国庆调休")
MAKEUP_SATURDAY = Workday(date=date(2026, 10, 10), name="国庆调休")


def sh(y: int, mo: int, d: int, h: int = 0, mi: int = 0, s: int = 0, us: int = 0) -> datetime:
    return datetime(y, mo, d, h, mi, s, us, tzinfo=SH)


def hall(**kwargs) -> HallCalendar:
    """The usual hall: default periods, last-Wednesday-afternoon and Friday-16:00 closures."""
    kwargs.setdefault("closures", [LAST_WED_AFTERNOON, FRIDAY_FROM_1600])
    return HallCalendar(Calendar(**kwargs))


def holiday_hall() -> HallCalendar:
    return hall(holidays=[NATIONAL_DAY], workdays=[MAKEUP_SUNDAY, MAKEUP_SATURDAY])


def hm(intervals: list[tuple[datetime, datetime]]) -> list[tuple[str, str]]:
    return [(s.strftime("%H:%M"), e.strftime("%H:%M")) for s, e in intervals]


# ------------------------------------------------------------ periods of a day


def test_calendar_plain_weekday_periods():
    cal = hall()
    monday = date(2026, 11, 23)
    assert cal.is_working_day(monday) and cal.is_open_day(monday)
    assert cal.periods_on(monday) == [
        (sh(2026, 11, 23, 8, 0), sh(2026, 11, 23, 11, 30)),
        (sh(2026, 11, 23, 13, 0), sh(2026, 11, 23, 16, 30)),
    ]
    assert all(s.tzinfo == SH and e.tzinfo == SH for s, e in cal.periods_on(monday))
    assert cal.opening_time(monday) == sh(2026, 11, 23, 8, 0)
    assert cal.closing_time(monday) == sh(2026, 11, 23, 16, 30)
    assert cal.open_minutes(monday) == 420
    assert cal.tz == SH


def test_calendar_weekend_closed():
    cal = hall()
    for d in (date(2026, 11, 21), date(2026, 11, 22)):  # Saturday, Sunday
        assert not cal.is_working_day(d)
        assert not cal.is_open_day(d)
        assert cal.periods_on(d) == []
        assert cal.opening_time(d) is None and cal.closing_time(d) is None
        assert cal.open_minutes(d) == 0
    assert not cal.is_open(sh(2026, 11, 21, 10, 0))
    # a hall that only rests on Sunday serves on Saturday
    six_days = hall(weekend=[7])
    assert six_days.is_open_day(date(2026, 11, 21))
    assert not six_days.is_open_day(date(2026, 11, 22))
    assert six_days.open_minutes(date(2026, 11, 21)) == 420


def test_calendar_last_wednesday_afternoon_closure():
    cal = hall()
    # November 2026: Wednesdays are 4, 11, 18, 25 -> only the 25th closes in the afternoon.
    assert hm(cal.periods_on(date(2026, 11, 25))) == [("08:00", "11:30")]
    assert cal.closing_time(date(2026, 11, 25)) == sh(2026, 11, 25, 11, 30)
    assert cal.open_minutes(date(2026, 11, 25)) == 210
    assert not cal.is_open(sh(2026, 11, 25, 14, 0))
    for day in (4, 11, 18):
        assert hm(cal.periods_on(date(2026, 11, day))) == [("08:00", "11:30"), ("13:00", "16:30")]
    assert cal.is_open(sh(2026, 11, 18, 14, 0))
    # March 2027: the last Wednesday is the 31st, the 24th is an ordinary Wednesday.
    assert hm(cal.periods_on(date(2027, 3, 31))) == [("08:00", "11:30")]
    assert hm(cal.periods_on(date(2027, 3, 24))) == [("08:00", "11:30"), ("13:00", "16:30")]
    # December 2025 → the month check must survive the year change (31st is the last Wednesday).
    assert hm(cal.periods_on(date(2025, 12, 31))) == [("08:00", "11:30")]
    assert hm(cal.periods_on(date(2025, 12, 24))) == [("08:00", "11:30"), ("13:00", "16:30")]
    # the closure names itself on the days it applies to, and only then
    assert cal.closures_on(date(2026, 11, 25)) == [LAST_WED_AFTERNOON]
    assert cal.closures_on(date(2026, 11, 18)) == []


def test_calendar_friday_from_1600_closure():
    cal = hall()
    friday = date(2026, 11, 27)
    assert cal.periods_on(friday) == [
        (sh(2026, 11, 27, 8, 0), sh(2026, 11, 27, 11, 30)),
        (sh(2026, 11, 27, 13, 0), sh(2026, 11, 27, 16, 0)),
    ]
    assert cal.closing_time(friday) == sh(2026, 11, 27, 16, 0)
    assert cal.open_minutes(friday) == 390
    assert cal.is_open(sh(2026, 11, 27, 15, 59, 59))
    assert not cal.is_open(sh(2026, 11, 27, 16, 0))
    assert not cal.is_open(sh(2026, 11, 27, 16, 15))
    # Thursday keeps the full afternoon
    assert cal.closing_time(date(2026, 11, 26)) == sh(2026, 11, 26, 16, 30)


def test_calendar_closure_splits_period():
    cal = HallCalendar(
        Calendar(
            periods=[Period(start="08:00", end="17:00")],
            closures=[
                Closure(kind="weekly", weekday=2, start="12:00", end="13:30"),  # Tuesday lunch
                Closure(kind="weekly", weekday=4, start="07:00", end="09:00"),  # Thursday late start
            ],
        )
    )
    tuesday, wednesday, thursday = date(2026, 11, 24), date(2026, 11, 25), date(2026, 11, 26)
    assert hm(cal.periods_on(tuesday)) == [("08:00", "12:00"), ("13:30", "17:00")]
    assert cal.open_minutes(tuesday) == 540 - 90
    assert cal.is_open(sh(2026, 11, 24, 11, 59))
    assert not cal.is_open(sh(2026, 11, 24, 12, 0))
    assert not cal.is_open(sh(2026, 11, 24, 13, 29))
    assert cal.is_open(sh(2026, 11, 24, 13, 30))
    assert cal.next_open(sh(2026, 11, 24, 12, 10)) == sh(2026, 11, 24, 13, 30)
    assert hm(cal.periods_on(wednesday)) == [("08:00", "17:00")]
    assert hm(cal.periods_on(thursday)) == [("09:00", "17:00")]
    assert cal.opening_time(thursday) == sh(2026, 11, 26, 9, 0)


def test_calendar_whole_day_closure_removes_the_day():
    # a closure with the default 00:00–24:00 span closes the hall every Monday
    cal = hall(closures=[Closure(kind="weekly", weekday=1)])
    monday = date(2026, 11, 23)
    assert cal.is_working_day(monday)  # statutory working day …
    assert cal.is_service_day(monday)
    assert not cal.is_open_day(monday)  # … but the hall does not serve
    assert cal.periods_on(monday) == []
    # Friday 2026-11-20 + 1 open day skips the closed Monday
    assert cal.add_working_days(date(2026, 11, 20), 1) == date(2026, 11, 24)
    # a closure removing one whole period leaves the other
    cal2 = hall(closures=[Closure(kind="weekly", weekday=2, start="11:00", end="13:30")])
    assert hm(cal2.periods_on(date(2026, 11, 24))) == [("08:00", "11:00"), ("13:30", "16:30")]
    cal3 = hall(closures=[Closure(kind="weekly", weekday=2, start="07:00", end="12:00")])
    assert hm(cal3.periods_on(date(2026, 11, 24))) == [("13:00", "16:30")]


# ------------------------------------------------------------ holidays, make-up days, vacations


def test_calendar_national_day_holidays_and_makeup_days():
    cal = holiday_hall()
    for day in range(1, 8):
        d = date(2026, 10, day)
        assert not cal.is_working_day(d), d
        assert not cal.is_open_day(d), d
        assert cal.periods_on(d) == [], d
    assert not cal.is_open(sh(2026, 10, 5, 10, 0))  # a Monday inside the holiday
    assert cal.is_open_day(date(2026, 9, 30)) and cal.is_open_day(date(2026, 10, 8))
    # 调休: the make-up Sunday and Saturday are working days with the normal periods
    for d in (date(2026, 9, 27), date(2026, 10, 10)):
        assert cal.is_working_day(d) and cal.is_open_day(d)
        assert hm(cal.periods_on(d)) == [("08:00", "11:30"), ("13:00", "16:30")]
    assert cal.is_open(sh(2026, 9, 27, 9, 0))
    # ordinary weekend days around them stay closed
    assert not cal.is_open_day(date(2026, 9, 26)) and not cal.is_open_day(date(2026, 10, 11))
    # without the make-up days the Sunday is an ordinary Sunday
    assert not hall(holidays=[NATIONAL_DAY]).is_open_day(date(2026, 9, 27))


def test_calendar_makeup_day_wins_over_holiday_range():
    cal = hall(holidays=[NATIONAL_DAY], workdays=[Workday(date=date(2026, 10, 7))])
    assert cal.is_working_day(date(2026, 10, 7))
    assert not cal.is_working_day(date(2026, 10, 6))


def test_calendar_vacation_closed_except_duty_days():
    summer = Vacation(
        start=date(2026, 7, 13),
        end=date(2026, 8, 30),
        name="暑假",
        duty_days=[date(2026, 7, 20), date(2026, 7, 24), date(2026, 7, 25)],  # Mon, Fri, Sat
    )
    winter = Vacation(
        start=date(2027, 1, 18),
        end=date(2027, 2, 28),
        name="寒假",
        duty_days=[date(2027, 1, 20)],  # a Wednesday
        duty_periods=[Period(start="09:00", end="11:00"), Period(start="14:00", end="16:00")],
    )
    cal = hall(vacations=[summer, winter])
    # ordinary weekdays in the vacation: statutory working days, but the hall is closed
    tuesday = date(2026, 7, 21)
    assert cal.is_working_day(tuesday)
    assert cal.is_vacation_day(tuesday)
    assert not cal.is_open_day(tuesday)
    assert cal.periods_on(tuesday) == []
    assert not cal.is_open(sh(2026, 7, 21, 9, 0))
    # duty day without duty_periods: the normal periods
    assert cal.is_duty_day(date(2026, 7, 20))
    assert hm(cal.periods_on(date(2026, 7, 20))) == [("08:00", "11:30"), ("13:00", "16:30")]
    # a duty Friday still closes at 16:00
    assert hm(cal.periods_on(date(2026, 7, 24))) == [("08:00", "11:30"), ("13:00", "16:00")]
    # a listed duty Saturday is open whatever the weekday
    assert not cal.is_working_day(date(2026, 7, 25))
    assert cal.is_open_day(date(2026, 7, 25))
    assert cal.open_minutes(date(2026, 7, 25)) == 420
    # duty day with duty_periods
    assert hm(cal.periods_on(date(2027, 1, 20))) == [("09:00", "11:00"), ("14:00", "16:00")]
    assert cal.open_minutes(date(2027, 1, 20)) == 240
    assert not cal.is_open(sh(2027, 1, 20, 8, 30))
    assert cal.is_open(sh(2027, 1, 20, 9, 0))
    assert not cal.is_open_day(date(2027, 1, 21))
    # outside the vacations the hall is back to normal
    assert cal.is_open_day(date(2026, 7, 10)) and cal.is_open_day(date(2026, 8, 31))
    assert not cal.is_open_day(date(2026, 8, 28))
    # next_open inside the vacation jumps to the next duty day
    assert cal.next_open(sh(2026, 7, 21, 9, 0)) == sh(2026, 7, 24, 8, 0)
    assert cal.next_open(sh(2027, 1, 18, 9, 0)) == sh(2027, 1, 20, 9, 0)
    # promised deadlines count duty days only inside the vacation
    assert cal.add_working_days(date(2026, 7, 17), 1) == date(2026, 7, 20)
    assert cal.add_working_days(date(2026, 7, 17), 3) == date(2026, 7, 25)
    assert cal.add_working_days(date(2026, 7, 17), 4) == date(2026, 8, 31)


# ------------------------------------------------------------ instants


def test_calendar_is_open_boundaries():
    cal = hall()
    assert not cal.is_open(sh(2026, 11, 23, 7, 59, 59, 999999))
    assert cal.is_open(sh(2026, 11, 23, 8, 0))  # start inclusive
    assert cal.is_open(sh(2026, 11, 23, 11, 29, 59, 999999))
    assert not cal.is_open(sh(2026, 11, 23, 11, 30))  # end exclusive
    assert not cal.is_open(sh(2026, 11, 23, 12, 30))  # lunch
    assert cal.is_open(sh(2026, 11, 23, 13, 0))
    assert not cal.is_open(sh(2026, 11, 23, 16, 30))


def test_calendar_is_open_converts_other_zones():
    cal = hall()
    # 2026-11-23T00:30Z is 08:30 on Monday in Asia/Shanghai
    at = datetime(2026, 11, 23, 0, 30, tzinfo=UTC)
    assert cal.local(at) == sh(2026, 11, 23, 8, 30)
    assert cal.local(at).tzinfo == SH
    assert cal.local_date(at) == date(2026, 11, 23)
    assert cal.is_open(at)
    assert cal.is_open(datetime(2026, 11, 23, 0, 0, tzinfo=UTC))  # 08:00 local
    assert not cal.is_open(datetime(2026, 11, 22, 23, 59, tzinfo=UTC))  # 07:59 local
    assert not cal.is_open(datetime(2026, 11, 23, 3, 30, tzinfo=UTC))  # 11:30 local
    # a UTC evening is already the next local day
    assert cal.local_date(datetime(2026, 11, 22, 16, 30, tzinfo=UTC)) == date(2026, 11, 23)
    # any zone: 2026-11-22 19:30 in New York (UTC-5) is Monday 08:30 in Shanghai
    ny = datetime(2026, 11, 22, 19, 30, tzinfo=ZoneInfo("America/New_York"))
    assert cal.is_open(ny)
    assert cal.local_date(ny) == date(2026, 11, 23)
    # a fixed offset works as well
    assert cal.is_open(datetime(2026, 11, 23, 9, 30, tzinfo=timezone(timedelta(hours=9))))  # 08:30 local
    with pytest.raises(ValueError):
        cal.is_open(datetime(2026, 11, 23, 9, 0))  # naive: refused


def test_calendar_next_open():
    cal = holiday_hall()
    # open now → the instant itself, in the hall's zone
    at = datetime(2026, 11, 23, 2, 0, tzinfo=UTC)  # 10:00 local
    assert cal.next_open(at) == sh(2026, 11, 23, 10, 0)
    assert cal.next_open(at).tzinfo == SH
    # before opening → 08:00, over lunch → 13:00
    assert cal.next_open(sh(2026, 11, 23, 6, 0)) == sh(2026, 11, 23, 8, 0)
    assert cal.next_open(sh(2026, 11, 23, 11, 30)) == sh(2026, 11, 23, 13, 0)
    # Friday evening (and Friday 16:00, the closure) → Monday 08:00
    assert cal.next_open(sh(2026, 11, 27, 18, 0)) == sh(2026, 11, 30, 8, 0)
    assert cal.next_open(sh(2026, 11, 27, 16, 0)) == sh(2026, 11, 30, 8, 0)
    assert cal.next_open(datetime(2026, 11, 27, 10, 0, tzinfo=UTC)) == sh(2026, 11, 30, 8, 0)
    # last Wednesday noon → Thursday morning
    assert cal.next_open(sh(2026, 11, 25, 12, 0)) == sh(2026, 11, 26, 8, 0)
    # across the National Day week
    assert cal.next_open(sh(2026, 9, 30, 17, 0)) == sh(2026, 10, 8, 8, 0)
    assert cal.next_open(sh(2026, 10, 3, 10, 0)) == sh(2026, 10, 8, 8, 0)
    # Saturday → the make-up Sunday
    assert cal.next_open(sh(2026, 9, 26, 9, 0)) == sh(2026, 9, 27, 8, 0)


def test_calendar_next_open_none_when_never_open():
    long = Vacation(start=date(2026, 1, 1), end=date(2028, 12, 31))
    cal = hall(vacations=[long])
    assert cal.next_open(sh(2026, 3, 2, 9, 0)) is None
    with pytest.raises(ValueError):
        cal.add_working_days(date(2026, 3, 2), 1)


def test_calendar_midnight_end():
    cal = HallCalendar(Calendar(periods=[Period(start="20:00", end="24:00")], weekend=[]))
    d = date(2026, 11, 23)
    assert cal.periods_on(d) == [(sh(2026, 11, 23, 20, 0), sh(2026, 11, 24, 0, 0))]
    assert cal.open_minutes(d) == 240
    assert cal.is_open(sh(2026, 11, 23, 23, 59, 59))
    assert not cal.is_open(sh(2026, 11, 24, 0, 0))
    assert cal.next_open(sh(2026, 11, 23, 23, 59)) == sh(2026, 11, 23, 23, 59)
    assert cal.next_open(sh(2026, 11, 24, 0, 0)) == sh(2026, 11, 24, 20, 0)


def test_calendar_dst_zone():
    # Berlin has daylight saving time: the open time of a transition day is real elapsed time.
    cal = HallCalendar(Calendar(timezone="Europe/Berlin", periods=[Period(start="00:00", end="24:00")], weekend=[]))
    assert cal.open_minutes(date(2026, 3, 29)) == 23 * 60  # clocks go forward
    assert cal.open_minutes(date(2026, 10, 25)) == 25 * 60  # clocks go back
    assert cal.open_minutes(date(2026, 6, 1)) == 24 * 60
    office = HallCalendar(Calendar(timezone="Europe/Berlin"))
    assert office.is_open(datetime(2026, 7, 1, 6, 30, tzinfo=UTC))  # 08:30 CEST
    assert not office.is_open(datetime(2026, 1, 14, 6, 30, tzinfo=UTC))  # 07:30 CET
    assert office.is_open(datetime(2026, 1, 14, 7, 0, tzinfo=UTC))  # 08:00 CET
    assert office.opening_time(date(2026, 7, 1)) == datetime(2026, 7, 1, 6, 0, tzinfo=UTC)
    assert office.opening_time(date(2026, 1, 14)) == datetime(2026, 1, 14, 7, 0, tzinfo=UTC)


# ------------------------------------------------------------ working-day arithmetic


def test_calendar_add_working_days_across_weekend():
    cal = hall()
    friday = date(2026, 11, 20)
    assert cal.add_working_days(friday, 1) == date(2026, 11, 23)  # Monday
    assert cal.add_working_days(friday, 3) == date(2026, 11, 25)  # the following Wednesday
    assert cal.add_working_days(friday, 5) == date(2026, 11, 27)
    assert cal.add_working_days(friday, 6) == date(2026, 11, 30)
    assert cal.add_working_days(date(2026, 11, 21), 1) == date(2026, 11, 23)  # from a Saturday
    assert cal.add_working_days(date(2026, 11, 23), 1) == date(2026, 11, 24)
    # the last-Wednesday afternoon closure does not remove the day
    assert cal.add_working_days(date(2026, 11, 24), 1) == date(2026, 11, 25)


def test_calendar_add_working_days_zero_and_negative():
    cal = hall()
    assert cal.add_working_days(date(2026, 11, 23), 0) == date(2026, 11, 23)
    assert cal.add_working_days(date(2026, 11, 21), 0) == date(2026, 11, 21)  # even when closed
    with pytest.raises(ValueError):
        cal.add_working_days(date(2026, 11, 23), -1)


def test_calendar_add_working_days_across_holiday_week_with_makeup_days():
    cal = holiday_hall()
    friday = date(2026, 9, 25)
    expected = [
        date(2026, 9, 27),  # make-up Sunday
        date(2026, 9, 28),
        date(2026, 9, 29),
        date(2026, 9, 30),
        date(2026, 10, 8),  # the holiday week is skipped
        date(2026, 10, 9),
        date(2026, 10, 10),  # make-up Saturday
        date(2026, 10, 12),
    ]
    assert [cal.add_working_days(friday, n) for n in range(1, 9)] == expected
    assert cal.add_working_days(date(2026, 9, 30), 1) == date(2026, 10, 8)
    assert cal.add_working_days(date(2026, 10, 1), 3) == date(2026, 10, 10)
    # the same without make-up days
    plain = hall(holidays=[NATIONAL_DAY])
    assert plain.add_working_days(friday, 1) == date(2026, 9, 28)
    assert plain.add_working_days(date(2026, 9, 30), 3) == date(2026, 10, 12)


def test_calendar_working_days_between():
    cal = holiday_hall()
    assert cal.working_days_between(date(2026, 11, 20), date(2026, 11, 25)) == 3
    assert cal.working_days_between(date(2026, 9, 30), date(2026, 10, 8)) == 1
    assert cal.working_days_between(date(2026, 9, 25), date(2026, 10, 12)) == 8
    assert cal.working_days_between(date(2026, 11, 23), date(2026, 11, 23)) == 0
    assert cal.working_days_between(date(2026, 11, 25), date(2026, 11, 20)) == 0
    assert cal.working_days_between(date(2026, 11, 21), date(2026, 11, 22)) == 0  # weekend


def test_calendar_working_days_between_consistent_with_add_working_days():
    summer = Vacation(start=date(2026, 7, 13), end=date(2026, 8, 30), duty_days=[date(2026, 7, 25)])
    cal = hall(holidays=[NATIONAL_DAY], workdays=[MAKEUP_SUNDAY, MAKEUP_SATURDAY], vacations=[summer])
    start = date(2026, 7, 1)
    for offset in range(160):
        a = start + timedelta(days=offset)
        for n in range(0, 13):
            b = cal.add_working_days(a, n)
            assert cal.working_days_between(a, b) == n, (a, n, b)
            if n > 0:
                assert cal.is_open_day(b), (a, n, b)
                # b is the earliest such day
                assert cal.working_days_between(a, b - timedelta(days=1)) == n - 1, (a, n, b)


def test_calendar_open_minutes():
    summer = Vacation(
        start=date(2026, 7, 13),
        end=date(2026, 8, 30),
        duty_days=[date(2026, 7, 22), date(2026, 7, 31)],  # a Wednesday, the last Friday
        duty_periods=[Period(start="08:30", end="11:30"), Period(start="14:00", end="17:00")],
    )
    cal = hall(holidays=[NATIONAL_DAY], vacations=[summer])
    assert cal.open_minutes(date(2026, 11, 23)) == 210 + 210  # Monday
    assert cal.open_minutes(date(2026, 11, 25)) == 210  # last Wednesday
    assert cal.open_minutes(date(2026, 11, 27)) == 210 + 180  # Friday
    assert cal.open_minutes(date(2026, 11, 28)) == 0  # Saturday
    assert cal.open_minutes(date(2026, 10, 2)) == 0  # holiday
    assert cal.open_minutes(date(2026, 7, 21)) == 0  # vacation
    assert cal.open_minutes(date(2026, 7, 22)) == 180 + 180  # duty day with its own periods
    assert cal.open_minutes(date(2026, 7, 31)) == 180 + 120  # … cut at 16:00 on a Friday


def test_calendar_periods_on_result_is_a_copy():
    cal = hall()
    d = date(2026, 11, 23)
    cal.periods_on(d).clear()
    assert len(cal.periods_on(d)) == 2


# ------------------------------------------------------------ frozen system clock


def test_calendar_with_frozen_clock():
    cal = hall()
    with freeze_time("2026-11-23 02:00:00"):  # UTC → Monday 10:00 in Shanghai
        now = datetime.now(timezone.utc)
        assert now == datetime(2026, 11, 23, 2, 0, tzinfo=UTC)
        assert cal.is_open(now)
        assert cal.local_date(now) == date(2026, 11, 23)
    with freeze_time("2026-11-23 04:00:00"):  # 12:00 local, lunch break
        now = datetime.now(timezone.utc)
        assert not cal.is_open(now)
        assert cal.next_open(now) == sh(2026, 11, 23, 13, 0)
    with freeze_time("2026-11-27 08:30:00"):  # Friday 16:30 local, after the 16:00 closure
        now = datetime.now(timezone.utc)
        assert not cal.is_open(now)
        assert cal.next_open(now) == sh(2026, 11, 30, 8, 0)
        assert cal.add_working_days(cal.local_date(now), 3) == date(2026, 12, 2)
