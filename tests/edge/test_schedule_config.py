"""The schedule's configuration: semester schedules [B 10], rotating shifts [B 14] and vacation duty
rosters [J 29, U 22, B 29] — contradictions refused naming file and field, the shipped example
exercising each, and the model's answers on the example's days (sync.kernel.schedule)."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from edge.config import load
from sync.kernel.calendar import HallCalendar
from sync.kernel.schedule import Schedule, on_shift, weekdays_on
from tests.edge.test_config import CALENDAR, HALL, HALLS_DIR, error_of, write

# one xdist worker runs this file in order (its module-scoped fixtures are shared; `make test`)
pytestmark = pytest.mark.xdist_group("edge.test_schedule_config")

VACATION = """
[[vacations]]
start = 2027-01-18
end = 2027-02-26
duty_days = [2027-01-20, 2027-01-21]
"""

BASE = HALL + """
[[business.windows]]
id = "w02"
name = "2号窗口"
department = "academic"
kind = "periodic"
weekdays = [2, 4]

[[business.staff]]
id = "s2"
name = "李老师"
department = "academic"
windows = ["w02"]

[[business.staff]]
id = "s3"
name = "张老师"
department = "academic"
"""

SEMESTERS = """
[[business.windows.schedules]]
start = 2026-09-01
end = 2027-01-15
weekdays = [2, 4]

[[business.windows.schedules]]
start = 2027-01-10
end = 2027-07-09
weekdays = [1, 3]
"""

ROTA = '\n[business.windows.rotation]\nstart = 2026-08-31\nstaff = ["s2", "s3"]\n'

DUTY = """
[[business.duty]]
days = [2027-01-20]
department = "academic"
staff = ["{staff}"]
windows = ["{window}"]
"""


def rota_before_staff(rota: str) -> str:
    """BASE with `rota` on w02 (written right after the window's table)."""
    return BASE.replace('weekdays = [2, 4]\n', 'weekdays = [2, 4]\n' + rota, 1)


def test_config_base_of_the_schedule_checks_loads(tmp_path):
    cfg = load(write(tmp_path, hall=BASE + DUTY.format(staff="s3", window="w01"), calendar=CALENDAR + VACATION))
    assert cfg.business.duty[0].staff == ["s3"]


@pytest.mark.parametrize(
    ("hall", "calendar", "field", "words"),
    [
        (BASE.replace('weekdays = [2, 4]\n', 'weekdays = [2, 4]\n' + SEMESTERS, 1),
         CALENDAR, "$.business.windows[1].schedules[1]", "overlaps schedules[0]"),
        (BASE.replace('weekdays = [2, 4]\n', 'weekdays = [2, 4]\n'
                      'schedules = [{start = 2027-03-01, end = 2027-02-01, weekdays = [1]}]\n', 1),
         CALENDAR, "$.business.windows[1].schedules[0].end", "before start"),
        (HALL.replace('department = "academic"\n\n[[business.staff]]',
                      'department = "academic"\nschedules = [{start = 2027-03-01, end = 2027-07-01, weekdays = [1]}]'
                      '\n\n[[business.staff]]', 1),
         CALENDAR, "$.business.windows[0].schedules", "only a periodic window"),
        (rota_before_staff(ROTA.replace('"s3"', '"s1"')), CALENDAR, "$.business.windows[1].rotation.staff[1]",
         "not an A-role staff member of window 'w02'"),
        (rota_before_staff(ROTA).replace('name = "张老师"\ndepartment = "academic"\n',
                                         'name = "张老师"\ndepartment = "academic"\nwindows = ["w02"]\n') +
         '\n[[business.staff]]\nid = "s4"\nname = "赵老师"\ndepartment = "academic"\nwindows = ["w02"]\n',
         CALENDAR, "$.business.windows[1].rotation.staff", "missing from the rotation: s4"),
        (BASE + DUTY.format(staff="s9", window="w01"), CALENDAR + VACATION, "$.business.duty[0].staff[0]",
         "unknown staff 's9'"),
        (BASE + DUTY.format(staff="s3", window="w01"), CALENDAR, "$.business.duty[0].days[0]",
         "not a duty day of any vacation"),
        (BASE + DUTY.format(staff="s3", window="w09"), CALENDAR + VACATION, "$.business.duty[0].windows[0]",
         "not a window of department 'academic'"),
        (BASE + DUTY.format(staff="s3", window="w01") + DUTY.format(staff="s3", window="w02"),
         CALENDAR + VACATION, "$.business.duty[1].staff[0]", "already on duty on 2027-01-20"),
    ],
    ids=["overlapping-semesters", "semester-end-before-start", "schedules-on-a-fixed-window",
         "rota-names-staff-not-of-the-window", "a-role-missing-from-rota", "duty-staff-unknown",
         "duty-on-a-day-that-is-no-duty-day", "duty-window-of-another-department", "duty-twice-a-day"],
)
def test_config_schedule_contradictions_name_file_and_field(tmp_path, hall, calendar, field, words):
    """B 10, B 14, J 29, U 22, B 29: a contradiction in the schedule is refused, naming the hall
    file and the field."""
    message = error_of(write(tmp_path, hall=hall, calendar=calendar))
    assert str(tmp_path / "hall.toml") in message, message
    assert field in message and words in message, message


# ------------------------------------------------------------------ the shipped example


@pytest.fixture(scope="module")
def north():
    cfg = load(HALLS_DIR / "north-student.toml")
    return cfg.business, Schedule(cfg.business, HallCalendar(cfg.business.calendar))


def test_config_example_semester_schedule_b10(north):
    """B 10: the example's w05 opens Tue/Thu in the autumn semester and Mon-Thu in the spring
    semester; its A-role 孙晓燕 is expected on exactly those days, never on the others."""
    b, sched = north
    w05 = next(w for w in b.windows if w.id == "w05")
    assert len(w05.schedules) == 2
    assert weekdays_on(w05, date(2026, 11, 24)) == [2, 4]
    assert weekdays_on(w05, date(2027, 3, 8)) == [1, 2, 3, 4]
    spring = [date(2027, 3, 8) + timedelta(days=i) for i in range(5)]  # Mon..Fri
    assert [sched.expected("20160508", d) for d in spring] == [True, True, True, True, False]
    autumn = [date(2026, 11, 23) + timedelta(days=i) for i in range(5)]
    assert [sched.expected("20160508", d) for d in autumn] == [False, True, False, True, False]


def test_config_example_rotation_b14(north):
    """B 14: the example's w09 student workers take weekly shifts from 2026-08-31; in the welcome
    peak (w09 open) the one off shift is not expected."""
    b, sched = north
    w09 = next(w for w in b.windows if w.id == "w09")
    assert w09.rotation is not None and w09.rotation.every_days == 7
    first, second = w09.rotation.staff
    week1, week2 = date(2026, 9, 1), date(2026, 9, 8)  # Tuesdays in the 迎新季 peak
    assert on_shift(w09, first, week1) and not on_shift(w09, second, week1)
    assert (sched.expected(first, week1), sched.expected(second, week1)) == (True, False)
    assert (sched.expected(first, week2), sched.expected(second, week2)) == (False, True)


def test_config_example_duty_roster_j29_u22_b29(north):
    """J 29, U 22, B 29: on the summer duty day 2026-07-14 the example's roster opens w01 and w04
    only and expects only its duty staff (曲文博, on no window's A/B roles, and 何佳琪); on the
    unrostered duty day 2026-08-27 the windows' own schedules apply."""
    b, sched = north
    day = date(2026, 7, 14)
    assert sorted(w.id for w in b.windows if sched.window_open(w.id, day)) == ["w01", "w04"]
    assert sched.expected_staff(day) == {"20220301", "20200904"}
    assert not any("w01" in s.windows + s.backup_for for s in b.staff if s.id == "20220301")
    assert sched.duty_at("20220301", "w02", day) and not sched.duty_at("20220301", "w04", day)
    unrostered = date(2026, 8, 27)
    assert sched.window_open("w06", unrostered) and "20100126" in sched.expected_staff(unrostered)
