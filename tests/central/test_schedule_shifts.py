"""Semester schedules, rotating shifts and vacation duty rosters (sync.kernel.schedule) drive who is
expected, at the hall and at central alike: two weeks of a real hall (a term week, then a vacation
with two duty days), its log ingested at central (SQLite and PostgreSQL), both sides' figures
compared day by day.

The test hall (tests.conftest.HALL_TOML, changed):
- W4 (periodic, Tuesdays and Thursdays) has a semester schedule for the exam week 2027-01-11..15
  that opens it on Monday and Friday instead [B 10]; s-sun is its A-role.
- W2 has two A-role staff, s-wang and s-zhou, on a daily rotation from 2027-01-11 [B 14]:
  Mon s-wang, Tue s-zhou, Wed s-wang, Thu s-zhou, Fri s-wang.
- The winter vacation 2027-01-18..02-26 has duty days 01-20 (Wed) and 01-21 (Thu); the hall's
  roster names s-duty (academic, neither A nor B role) at W1 on both days and s-qian (finance) at
  W3 on 01-20 only [J 29, U 22, B 29].
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from pathlib import Path

import pytest

from central.config import load as load_central
from central.facts.sources import Raw, source
from central.projections import Directory
from edge import attendance, presence
from edge.pages.console import signon_options
from edge.workflow import Forbidden, Refused
from sync.contract import wire
from tests.central.data import USERS_TOML
from tests.central.test_schedule import batch_of
from tests.conftest import HALL_TOML, SH

TERM = [date(2027, 1, 11) + timedelta(days=i) for i in range(5)]  # Mon..Fri, the exam week
DUTY = [date(2027, 1, 20), date(2027, 1, 21)]  # Wed, Thu in the winter vacation
DAYS = [date(2027, 1, 11) + timedelta(days=i) for i in range(11)]  # 01-11 .. 01-21
TODAY = date(2027, 1, 22)

CARDS = {"s-li": "0A00C3D2F1", "s-wang": "0B00000001", "s-qian": "0B00000002", "s-sun": "0B00000003",
         "s-zhou": "0B00000006", "s-duty": "0B00000007", "s-zhao": "0B00000005"}

EXTRA_STAFF = """
[[business.staff]]
id = "s-zhou"
name = "周敏"
department = "academic"
windows = ["W2"]

[[business.staff]]
id = "s-duty"
name = "曲文博"
department = "academic"

[[business.duty]]
days = [2027-01-20, 2027-01-21]
department = "academic"
staff = ["s-duty"]
windows = ["W1"]

[[business.duty]]
days = [2027-01-20]
department = "finance"
staff = ["s-qian"]
windows = ["W3"]
"""


def hall_toml() -> str:
    text = HALL_TOML
    for staff, card in CARDS.items():
        if staff in ("s-li", "s-zhou", "s-duty"):
            continue
        text = text.replace(f'id = "{staff}"\n', f'id = "{staff}"\ncard = "{card}"\n', 1)
    text = text.replace('workdays = [{date = 2026-10-10, name = "国庆调休"}]\n',
                        'workdays = [{date = 2026-10-10, name = "国庆调休"}]\n'
                        'vacations = [{start = 2027-01-18, end = 2027-02-26, name = "2027年寒假", '
                        'duty_days = [2027-01-20, 2027-01-21]}]\n', 1)
    text = text.replace('kind = "periodic"\nweekdays = [2, 4]\n',
                        'kind = "periodic"\nweekdays = [2, 4]\n'
                        'schedules = [{start = 2027-01-11, end = 2027-01-15, weekdays = [1, 5], name = "考试周"}]\n', 1)
    text = text.replace('id = "W2"\nname = "2号窗口"\ndepartment = "academic"\n',
                        'id = "W2"\nname = "2号窗口"\ndepartment = "academic"\n'
                        'rotation = {start = 2027-01-11, every_days = 1, staff = ["s-wang", "s-zhou"]}\n', 1)
    extra = EXTRA_STAFF.replace('windows = ["W2"]\n', f'windows = ["W2"]\ncard = "{CARDS["s-zhou"]}"\n', 1)
    extra = extra.replace('department = "academic"\n\n[[business.duty]]',
                          f'department = "academic"\ncard = "{CARDS["s-duty"]}"\n\n[[business.duty]]', 1)
    managers = text.index("[[business.managers]]")
    return text[:managers] + extra + "\n" + text[managers:]


def central_directory(tmp_path: Path) -> Directory:
    cfg = tmp_path / "cfg"
    (cfg / "halls").mkdir(parents=True)
    (cfg / "halls" / "test-hall.toml").write_text(hall_toml(), encoding="utf-8")
    admin_only = USERS_TOML.split("[[users]]")[0] + "[[users]]" + USERS_TOML.split("[[users]]")[1]
    (cfg / "central.toml").write_text(admin_only, encoding="utf-8")
    _c, halls = load_central(cfg / "central.toml")
    return Directory.of(halls)


def at(day: date, hh: int, mm: int = 0) -> datetime:
    return datetime(day.year, day.month, day.day, hh, mm, tzinfo=SH)


@pytest.fixture
def fortnight(tmp_path: Path, clock):
    """The hall after the two weeks: (day reports, facts seen on the way, its log as a wire batch,
    central's directory)."""
    from edge.config import load
    from edge.hall import Hall

    p = tmp_path / "hall.toml"
    p.write_text(hall_toml(), encoding="utf-8")
    clock.set(at(TERM[0], 7, 0))  # the hall's first records: central counts from this day on
    h = Hall(load(p), tmp_path / "data", clock)
    h.start()
    seen: dict = {}
    try:
        def punch(staff: str, day: date) -> None:
            clock.set(at(day, 7, 55))
            h.call(attendance.punch, "hall-reader", CARDS[staff])
            clock.set(at(day, 16, 35) if day.isoweekday() != 5 else at(day, 16, 5))
            h.call(attendance.punch, "hall-reader", CARDS[staff])

        for day in TERM:
            punch("s-li", day)
            punch("s-qian", day)
        punch("s-sun", TERM[0])  # Monday of the exam week; Friday he does not come: absent
        for day in (TERM[0], TERM[2]):  # s-wang's shifts are Mon, Wed, Fri: Friday absent
            punch("s-wang", day)
        for day in (TERM[1], TERM[3]):  # s-zhou's shifts are Tue and Thu
            punch("s-zhou", day)
        clock.set(at(TERM[1], 9, 0))
        with pytest.raises(Forbidden) as e:  # not on duty on a term day: neither A nor B of W1
            h.call(presence.sign_on, "W1", "s-duty")
        seen["term_refusal"] = e.value.code
        # the first duty day: s-duty and s-qian come; s-duty works W1 as duty staff
        punch("s-duty", DUTY[0])
        punch("s-qian", DUTY[0])
        clock.set(at(DUTY[0], 8, 0))
        seen["options"] = [(o["id"], o["role"]) for o in h.call(signon_options, "W1")]
        h.call(presence.sign_on, "W1", "s-duty")
        seen["duty_role"] = h.call(lambda ctx: ctx.store.window("W1").role)
        with pytest.raises(Refused) as e:  # W2 is not on the roster: closed on the duty day
            h.call(presence.sign_on, "W2", "s-wang")
        seen["w2_refusal"] = e.value.code
        clock.set(at(DUTY[0], 11, 30))
        h.call(presence.sign_off, "W1", "s-duty")
        # the second duty day: s-duty does not come (absent); s-qian is not on duty that day
        clock.set(at(TODAY, 9, 0))
        reports = {day: h.call(attendance.day_report, day) for day in DAYS}
        batch = batch_of(h)
    finally:
        h.stop()
    return reports, seen, batch, central_directory(tmp_path)


def hall_figures(reports: dict) -> dict[str, dict[str, int]]:
    out: dict[str, dict[str, int]] = {}
    for rep in reports.values():
        for s in rep["staff"]:
            f = out.setdefault(s["staff"], {"expected": 0, "absent": 0, "present": 0})
            if s["status"] in ("unscheduled", "closed", "leave"):
                continue
            f["expected"] += 1
            f["absent"] += s["status"] == "absent"
            f["present"] += s["punches"] > 0
    return out


def central_figures(store, d: Directory) -> dict[str, dict[str, int]]:
    rows = source(store, d, date(2027, 1, 1), date(2027, 1, 31), ["test-hall"]).attendance(TODAY)
    return {r.staff: {"expected": r.expected, "absent": r.absent, "present": r.present} for r in rows}


def status(reports: dict, staff: str) -> dict[date, str]:
    return {day: next(s for s in rep["staff"] if s["staff"] == staff)["status"] for day, rep in reports.items()}


NONE = {"expected": 0, "absent": 0, "present": 0}


def test_schedule_semester_schedule_decides_a_periodic_window_s_days(store, fortnight):
    """B 7, B 10: in the exam week W4 opens on Monday and Friday (its semester schedule), not on its
    usual Tuesday and Thursday: s-sun is expected Mon and Fri only, absent on Friday, never absent on
    the closed days — at the hall and at central with equal figures."""
    reports, _seen, batch, d = fortnight
    store.ingest("test-hall", wire.events_topic("test-hall"), batch, 1)
    st = status(reports, "s-sun")
    assert [st[x] for x in TERM] == ["normal", "unscheduled", "unscheduled", "unscheduled", "absent"]
    assert all(st[x] in ("closed", "unscheduled") for x in DAYS if x not in TERM)
    hall = hall_figures(reports)["s-sun"]
    assert hall == {"expected": 2, "absent": 1, "present": 1}
    for src in (store, Raw(store)):
        assert central_figures(src, d)["s-sun"] == hall, src
    assert [x for x in TERM if any(w["window"] == "W4" for w in reports[x]["windows"])] == [TERM[0], TERM[4]]


def test_schedule_rotation_only_the_staff_on_shift_is_expected(store, fortnight):
    """B 14: W2's two A-role staff rotate daily; each is expected on their shifts only. s-wang (Mon,
    Wed, Fri) missed Friday: absent once; s-zhou (Tue, Thu) came on both: never absent — the
    colleague off shift is not absent. Equal at the hall and at central."""
    reports, _seen, batch, d = fortnight
    store.ingest("test-hall", wire.events_topic("test-hall"), batch, 1)
    assert [status(reports, "s-wang")[x] for x in TERM] == ["normal", "unscheduled", "normal", "unscheduled",
                                                             "absent"]
    assert [status(reports, "s-zhou")[x] for x in TERM] == ["unscheduled", "normal", "unscheduled", "normal",
                                                             "unscheduled"]
    hall = hall_figures(reports)
    assert hall["s-wang"] == {"expected": 3, "absent": 1, "present": 2}
    assert hall["s-zhou"] == {"expected": 2, "absent": 0, "present": 2}
    for src in (store, Raw(store)):
        got = central_figures(src, d)
        assert (got["s-wang"], got["s-zhou"]) == (hall["s-wang"], hall["s-zhou"]), src


def test_schedule_duty_day_counts_the_duty_staff_and_nobody_else(store, fortnight):
    """J 29, U 22, B 29: on the vacation's duty days only the staff on the hall's roster are
    expected. s-duty (neither A nor B role) signs on at W1 as duty staff on 01-20 and is present,
    misses 01-21 and is absent; s-qian is on duty on 01-20 only; s-li, s-wang, s-zhou and s-sun are
    not absent on the duty days. The hall and central (fact tables and events, SQLite and
    PostgreSQL) give every staff member the same figures."""
    reports, seen, batch, d = fortnight
    store.ingest("test-hall", wire.events_topic("test-hall"), batch, 1)
    assert seen == {"term_refusal": "not-assigned", "duty_role": "duty", "w2_refusal": "window-not-in-service",
                    "options": [("s-li", "A岗"), ("s-zhao", "B岗"), ("s-duty", "值班")]}
    assert status(reports, "s-duty")[DUTY[0]] == "normal"
    assert status(reports, "s-duty")[DUTY[1]] == "absent"
    assert [status(reports, "s-qian")[x] for x in DUTY] == ["normal", "unscheduled"]
    for staff in ("s-li", "s-wang", "s-zhou", "s-sun", "s-zhao"):
        assert [status(reports, staff)[x] for x in DUTY] == ["unscheduled", "unscheduled"], staff
    # the duty day's coverage: W1 and W3 open (the roster's windows), W1 staffed by the duty staff
    cov = {w["window"]: w for w in reports[DUTY[0]]["windows"]}
    assert set(cov) == {"W1", "W3"}
    assert cov["W1"]["by_staff"] == {"s-duty": 12600}  # signed on 08:00-11:30
    hall = hall_figures(reports)
    assert hall["s-duty"] == {"expected": 2, "absent": 1, "present": 1}
    assert hall["s-qian"] == {"expected": 6, "absent": 0, "present": 6}
    assert hall["s-li"] == {"expected": 5, "absent": 0, "present": 5}
    for src in (store, Raw(store)):
        got = central_figures(src, d)
        for staff in CARDS:
            assert got.get(staff, NONE) == hall.get(staff, NONE), (staff, src)
    # the sign-on reached central with its role
    roles = [b["role"] for _h, _ts, b in _signed_on(store)]
    assert roles == ["duty"]


def _signed_on(store):
    from central.operations import _events

    return list(_events(store, ["window.signed_on"], ["test-hall"], 0))


def test_schedule_central_config_edit_refuses_a_roster_on_a_removed_duty_day():
    """J 29, U 22, B 29: an edit at central that removes a vacation duty day the hall's duty roster
    still uses is refused in Chinese naming the field (the edge's check); the example loads as is."""
    import msgspec

    from central.configedit import EditError, validate
    from edge.config import load
    from tests.edge.test_config import HALLS_DIR

    b = load(HALLS_DIR / "north-student.toml").business
    assert validate("north-student", b).duty == b.duty
    summer = b.calendar.vacations[0]
    cut = msgspec.structs.replace(summer, duty_days=[d for d in summer.duty_days if d != date(2026, 7, 14)])
    edited = msgspec.structs.replace(b, calendar=msgspec.structs.replace(
        b.calendar, vacations=[cut, *b.calendar.vacations[1:]]))
    with pytest.raises(EditError) as e:
        validate("north-student", edited)
    assert "2026-07-14 不是任何假期的值班日" in e.value.message and "$.duty[0].days[0]" in e.value.message
