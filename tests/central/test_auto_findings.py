"""Electronic supervision (电子监察, central.supervision.auto) raised from one hall's own events,
shown with the patrol findings, counted in the monthly bulletin and its written notice [C 20],
and the monthly red and black lists (红黑榜 [C 21], central.redblack); both databases (`store`).

Hall h-a (tests/central/data.py; weekends off, W4 periodic Tue/Thu), as of Tuesday 2026-11-10:
open days before it: Mon 11-02 … Fri 11-06, Mon 11-09 (6).
- s-li (W1): punches every day, late on 11-03 and 11-04 (2 < late_min 3: no finding); one
  step-away over the limit on 11-05 (step_away_min 1: a finding) [C 9(4)].
- s-wang (W2): punches every day, late on 11-02, 11-03, 11-05 (3: a finding) [J 27, B 28], early
  once (< early_min 3).
- s-qian (W3): never punches: absent 6 days (a finding of 6).
- s-sun (W4, periodic Tue/Thu): punches on 11-03 only: absent 1 day (11-05), never on the days
  the window is closed [B 10].
- Cases: C1 (s-wang, promised, due 11-04, finished 11-05: a finding dated 11-05); C2 (s-li, due
  11-06, finished 11-06: none); C3 (s-li, joint, due 11-05, never finished: dated 11-06)
  [B 25(2), H 8]; C4 (s-wang, 容缺, supply by 11-04, m1 supplied 11-03, m2 never: dated 11-05)
  [C 11(4)]; C5 (s-li, 容缺, supply by 11-04, all supplied 11-04, finished 11-05: none).
- Bad ratings on Mon 11-02, fixed by 5 open days → 11-09: T6 at W1 never followed up (a
  finding on 11-10 about W1); T7 at W2 closed at the hall by the manager on 11-05 (none); T8 at
  W3 closed by the rated s-qian herself (not honoured: a finding about W3).
"""

from __future__ import annotations

from datetime import date

import msgspec
import pytest

from central.app import create_app
from central.auth import Auth
from central.config import ConfigError, RedBlackLists, Supervision, SupervisionAuto, load
from central.projections import Directory
from central.reports import attendance
from central.supervision import auto as au
from central.supervision import notice_pdf
from central.scope import ADMIN as ADMIN_SCOPE, Scope
from sync.contract import events as ev
from sync.contract import wire
from tests.central.data import Browser, HallLog, at, write_config

ADMIN = ("admin", "admin123")
FINANCE = ("finance-head", "finance123")
HB = ("hb-manager", "hall123")
AS_OF = "2026-11-10"
DAYS = ["2026-11-02", "2026-11-03", "2026-11-04", "2026-11-05", "2026-11-06", "2026-11-09"]


def hall_log(october_step_away: bool = False) -> HallLog:
    a = HallLog("h-a")
    if october_step_away:  # s-li named in October's bulletin too (by electronic supervision alone)
        a.add(ev.WindowPaused(window="W1", staff="s-li"), at("2026-10-20", "10:00"))
        a.add(ev.StepAwayViolation(window="W1", staff="s-li", paused_at=at("2026-10-20", "10:00"), limit_minutes=15),
              at("2026-10-20", "10:15"))
    late = {"s-li": {"2026-11-03", "2026-11-04"}, "s-wang": {"2026-11-02", "2026-11-03", "2026-11-05"}}
    for day in DAYS:
        for staff in ("s-li", "s-wang"):
            cls = "late" if day in late[staff] else "on_time"
            a.punch(staff, day, "08:10" if cls == "late" else "07:55", "in", cls, 0)
            early = staff == "s-wang" and day == "2026-11-06"
            a.punch(staff, day, "15:30" if early else "16:35", "out", "early" if early else "on_time", 1)
    a.punch("s-sun", "2026-11-03", "07:55", "in", "on_time", 0)
    a.punch("s-sun", "2026-11-03", "16:35", "out", "on_time", 1)
    a.add(ev.WindowPaused(window="W1", staff="s-li"), at("2026-11-05", "10:00"))
    a.add(ev.StepAwayViolation(window="W1", staff="s-li", paused_at=at("2026-11-05", "10:00"), limit_minutes=15),
          at("2026-11-05", "10:15"))
    a.visit("T1", "2026-11-02", "academic", "09:00", "09:01", "09:02", "09:10", "W2", "s-wang",
            outcome="promised", case="C1", deadline="2026-11-04")
    a.visit("T2", "2026-11-02", "academic", "09:20", "09:21", "09:22", "09:30", "W1", "s-li",
            outcome="promised", case="C2", deadline="2026-11-06")
    a.visit("T3", "2026-11-02", "academic", "09:40", "09:41", "09:42", "09:50", "W1", "s-li",
            outcome="joint", case="C3", deadline="2026-11-05")
    for ticket, case, window, staff in (("T4", "C4", "W2", "s-wang"), ("T5", "C5", "W1", "s-li")):
        a.add(ev.TicketIssued(ticket=ticket, number=ticket, department="academic", service_date="2026-11-02"),
              at("2026-11-02", "10:00"))
        a.add(ev.TicketCompleted(ticket=ticket, window=window, staff=staff, item="transcript", outcome="gaps",
                                 case=case, deadline="2026-11-09", supply_by="2026-11-04",
                                 missing=["m1", "m2"] if case == "C4" else ["m1"]), at("2026-11-02", "10:10"))
    a.add(ev.CaseSupplied(case="C4", materials=["m1"], by="s-wang"), at("2026-11-03", "09:00"))
    a.add(ev.CaseSupplied(case="C5", materials=["m1"], by="s-li"), at("2026-11-04", "09:00"))
    a.add(ev.CaseFinished(case="C1", by="s-wang"), at("2026-11-05", "10:00"))
    a.add(ev.CaseFinished(case="C2", by="s-li"), at("2026-11-06", "10:00"))
    a.add(ev.CaseFinished(case="C4", by="s-wang"), at("2026-11-06", "11:00"))
    a.add(ev.CaseFinished(case="C5", by="s-li"), at("2026-11-05", "11:00"))
    for ticket, window, staff, dept, level in (("T6", "W1", "s-li", "academic", 1), ("T7", "W2", "s-wang", "academic", 2),
                                               ("T8", "W3", "s-qian", "finance", 2)):
        a.add(ev.RatingGiven(window=window, ticket=ticket, level=level, staff=staff, department=dept),
              at("2026-11-02", "11:00"))
        a.add(ev.FollowupOpened(followup=f"F{ticket}", ticket=ticket, window=window, level=level, due="2026-11-09",
                                staff=staff, department=dept), at("2026-11-02", "11:01"))
    a.add(ev.FollowupClosed(followup="FT7", by="manager"), at("2026-11-05", "15:00"))
    a.add(ev.FollowupClosed(followup="FT8", by="s-qian"), at("2026-11-05", "15:00"))
    for day, ticket in (("2026-11-03", "G1"), ("2026-11-05", "G2"), ("2026-11-05", "G3")):
        a.add(ev.RatingGiven(window="W4", ticket=ticket, level=5, staff="s-sun", department="security"),
              at(day, "10:30"))
    return a


def setup(store, tmp_path, october_step_away: bool = False):
    cfg, halls = load(write_config(tmp_path))
    a = hall_log(october_step_away)
    store.ingest("h-a", wire.events_topic("h-a"), a.payload(1, 10 ** 6), 1)
    d = Directory.of(halls)
    app = create_app(store, None, d, Auth(cfg.users))
    app.state.supervision = Supervision(lists=RedBlackLists(min_ratings=2, red_max_problems=1, black_min=2))
    return d, app


def run(**rules) -> au.AutoRun:
    return au.AutoRun(SupervisionAuto(**rules), date.fromisoformat(AS_OF))


def summary(findings: list[dict]) -> set[tuple]:
    return {(f["rule"], f["day"], f["staff"], f["window"], f["count"]) for f in findings}


EXPECTED = {
    ("step_away", AS_OF, "s-li", "", 1),  # C 9(4)
    ("late", AS_OF, "s-wang", "", 3),  # J 27, B 28
    ("absent", AS_OF, "s-qian", "", 6),
    ("absent", AS_OF, "s-sun", "", 1),  # periodic W4: Tue/Thu only [B 10]
    ("overdue_case", "2026-11-05", "s-wang", "W2", 1),  # C1 finished a day late [B 25(2), H 8]
    ("overdue_case", "2026-11-06", "s-li", "W1", 1),  # C3 never finished
    ("overdue_supply", "2026-11-05", "s-wang", "W2", 1),  # C4: m2 still missing [C 11(4)]
    ("followup", AS_OF, "", "W1", 1),  # T6 never followed up
    ("followup", AS_OF, "", "W3", 1),  # T8 closed by the rated staff member: not honoured
}


def test_auto_findings_c20_each_rule_from_the_halls_events_deterministic(store, tmp_path):
    """C 20 电子监察: each rule raises its findings from h-a's events; asking again gives the same
    findings (nothing stored, stable ids, no duplicates); the attendance counts are those of
    central's attendance report (the hall's classification) [J 27, B 28, C 9(4)]."""
    d, _app = setup(store, tmp_path)
    nov = (date(2026, 11, 1), date(2026, 11, 30))
    first = au.auto_findings(store, d, ADMIN_SCOPE, *nov, run())
    assert summary(first) == EXPECTED
    again = au.auto_findings(store, d, ADMIN_SCOPE, *nov, run())
    assert again == first and len({f["id"] for f in first}) == len(first) == len(EXPECTED)
    assert all(f["kind"] == "电子监察" and f["auto"] for f in first)
    report = {r["staff"]: r for r in attendance(store, d, "2026-11", "h-a", today=date.fromisoformat(AS_OF))["rows"]}
    assert (report["s-wang"]["late"], report["s-qian"]["absent"], report["s-sun"]["absent"],
            report["s-li"]["violations"]) == (3, 6, 1, 1)
    # thresholds and switches: late_min 2 adds s-li's two late days; step_away off drops hers
    got = summary(au.auto_findings(store, d, ADMIN_SCOPE, *nov, run(late_min=2, step_away=False)))
    assert got == EXPECTED - {("step_away", AS_OF, "s-li", "", 1)} | {("late", AS_OF, "s-li", "", 2)}
    off = run(step_away=False, late=False, early=False, absent=False, overdue_cases=False, overdue_supply=False,
              followups=False)
    assert au.auto_findings(store, d, ADMIN_SCOPE, *nov, off) == []
    # tolerances: a day of grace moves C1's finding away (finished within it), C3's to 11-07
    got = summary(au.auto_findings(store, d, ADMIN_SCOPE, *nov, run(overdue_case_days=1)))
    assert {x for x in got if x[0] == "overdue_case"} == {("overdue_case", "2026-11-07", "s-li", "W1", 1)}
    # a finding exists once its day has come: as of 11-05, C3 (11-06) and the follow-ups are not yet due
    early = au.AutoRun(SupervisionAuto(), date(2026, 11, 5))
    rules = {(f["rule"], f["day"]) for f in au.auto_findings(store, d, ADMIN_SCOPE, *nov, early)}
    assert ("overdue_case", "2026-11-05") in rules and ("overdue_case", "2026-11-06") not in rules
    assert not any(r == "followup" for r, _ in rules)
    # scope: the finance head sees the finance findings only
    fin = au.auto_findings(store, d, Scope(role="department", department="finance"), *nov, run())
    assert summary(fin) == {("absent", AS_OF, "s-qian", "", 6), ("followup", AS_OF, "", "W3", 1)}


def test_auto_findings_shown_with_patrols_and_counted_in_the_bulletin_c20(store, tmp_path):
    """C 20: the patrol list shows automatic findings (电子监察（系统）) next to the ones entered
    (现场巡查); the monthly bulletin counts both per staff member."""
    d, app = setup(store, tmp_path)
    with Browser(app) as c:
        r = c.post("/api/patrols", json={"day": "2026-11-04", "hall": "h-a", "window": "W1", "staff": "s-li",
                                         "category": "态度", "kind": "现场巡查", "note": "语气生硬"}, auth=ADMIN)
        assert r.status_code == 201
        rows = c.get(f"/api/patrols?month=2026-11&as_of={AS_OF}", auth=ADMIN).json()
        assert len(rows) == len(EXPECTED) + 1 and sum(not p["auto"] for p in rows) == 1
        assert [p["day"] for p in rows] == sorted((p["day"] for p in rows), reverse=True)
        b = c.get(f"/api/patrols/bulletin?month=2026-11&as_of={AS_OF}", auth=ADMIN).json()
        per = {r["staff"]: (r["findings"], r["auto_findings"]) for r in b["staff"]}
        assert per == {"s-li": (3, 2), "s-wang": (3, 3), "s-qian": (1, 1), "s-sun": (1, 1)}
        assert b["auto_findings"] == len(EXPECTED) and len(b["findings"]) == len(EXPECTED) + 1
        assert b["notices"] == []  # nobody was named in October
        c.post("/login", data={"username": "admin", "password": "admin123"})
        page = c.get(f"/patrols?month=2026-11&as_of={AS_OF}")
        assert page.status_code == 200 and "电子监察（系统）" in page.text and "现场巡查" in page.text
        assert "逾期仍缺 1 项材料（m2）" in page.text
        assert "2026年11月缺勤 6 天（达到 1 天即通报）" in page.text and "2026年11月迟到 3 次" in page.text
        page = c.get(f"/patrols/bulletin?month=2026-11&as_of={AS_OF}")
        assert page.status_code == 200 and f"其中电子监察自动发现 {len(EXPECTED)} 条" in page.text


def test_bulletin_written_notice_named_twice_running_by_electronic_supervision_c20(store, tmp_path):
    """C 20 连续 2 次以上: s-li, named in October's and November's bulletins by automatic findings
    alone, gets the written notice in November (the PDF's data lists both months' findings); the
    others were named in November only."""
    d, app = setup(store, tmp_path, october_step_away=True)
    app.state.supervision = msgspec.structs.replace(app.state.supervision,
                                                    auto=SupervisionAuto(absent=False))
    with Browser(app) as c:
        oct_ = c.get(f"/api/patrols/bulletin?month=2026-10&as_of={AS_OF}", auth=ADMIN).json()
        assert [(r["staff"], r["auto_findings"], r["notice"]) for r in oct_["staff"]] == [("s-li", 1, False)]
        b = c.get(f"/api/patrols/bulletin?month=2026-11&as_of={AS_OF}", auth=ADMIN).json()
        assert [(r["hall"], r["staff"]) for r in b["notices"]] == [("h-a", "s-li")]
        assert {r["staff"]: r["notice"] for r in b["staff"]} == {"s-li": True, "s-wang": False}
    data = notice_pdf.notice_data(store, d, ADMIN_SCOPE, "2026-11", 2,
                                  au.AutoRun(SupervisionAuto(absent=False), date.fromisoformat(AS_OF)))
    [n] = data["notices"]
    assert n["months"] == ["2026-10", "2026-11"]
    assert [(p["day"], p["rule"]) for p in n["items"]] == [
        ("2026-10-31", "step_away"), ("2026-11-06", "overdue_case"), (AS_OF, "step_away")]


def test_red_black_lists_c21_monthly_with_scope_and_csv(store, tmp_path):
    """C 21 红黑榜: W4 / s-sun (3 ratings, all 非常满意, 1 problem ≤ red_max_problems 1) on the red
    list; on the black list (≥ black_min 2 problems) W2 (3 findings + 1 upheld complaint), W1
    (step-away, C3, T6 not followed up), W3 (absence, T8), and s-wang (4), s-li (2)."""
    d, app = setup(store, tmp_path)
    with Browser(app) as c:
        r = c.post("/api/complaints", json={"received": "2026-11-03", "channel": "电话", "hall": "h-a",
                                            "staff": "s-wang", "complexity": "一般", "content": "推诿"}, auth=ADMIN)
        assert r.status_code == 201
        r = c.post(f"/api/complaints/{r.json()['id']}", json={"action": "reply", "reply": "已核实",
                                                                "outcome": "属实"}, auth=ADMIN)
        assert r.status_code == 200, r.text
        lists = c.get(f"/api/redblack?month=2026-11&as_of={AS_OF}", auth=ADMIN).json()
        got = [(x["list"], x["level"], x.get("window") or x.get("staff"), x["rank"], x["problems"]) for x in lists["rows"]]
        assert got == [("red", "window", "W4", 1, 1), ("black", "window", "W2", 1, 4), ("black", "window", "W1", 2, 3),
                       ("black", "window", "W3", 3, 2), ("red", "staff", "s-sun", 1, 1),
                       ("black", "staff", "s-wang", 1, 4), ("black", "staff", "s-li", 2, 2)]
        w2 = next(x for x in lists["rows"] if x.get("window") == "W2")
        assert (w2["complaints"], w2["patrol_findings"], w2["auto_findings"]) == (1, 0, 3)
        # scope: the finance head sees W3 only; the h-b manager no window of h-a
        fin = c.get(f"/api/redblack?month=2026-11&as_of={AS_OF}", auth=FINANCE).json()["rows"]
        assert [(x["list"], x.get("window") or x.get("staff")) for x in fin] == [("black", "W3")]
        hb = c.get(f"/api/redblack?month=2026-11&as_of={AS_OF}", auth=HB).json()["rows"]
        assert not [x for x in hb if x["level"] == "window"]
        csv = c.get(f"/api/redblack?month=2026-11&as_of={AS_OF}&format=csv", auth=ADMIN)
        assert csv.status_code == 200 and csv.headers["content-type"].startswith("text/csv")
        lines = csv.content.decode("utf-8-sig").splitlines()
        assert lines[0].startswith("榜单,对象,名次") and len(lines) == 1 + len(got)
        assert c.get("/api/redblack?month=2026-13", auth=ADMIN).status_code == 400
        assert c.get("/api/redblack?month=2026-11").status_code == 401
        assert c.get("/redblack", follow_redirects=False).status_code in (302, 303)
        c.post("/login", data={"username": "admin", "password": "admin123"})
        page = c.get(f"/redblack?month=2026-11&as_of={AS_OF}")
        assert page.status_code == 200 and "红榜" in page.text and "4号窗口" in page.text
        assert c.get("/redblack?month=bad").status_code == 400


def test_supervision_config_refuses_contradictions(tmp_path):
    """Config check: a red list tolerating as many problems as the black list needs [C 21]; a
    harder complaint with less reply time than a simpler one [H 限时办结-3]; late + early grace
    not below the shortest work period [J 27, B 28]. Each names the file and field."""
    path = write_config(tmp_path)
    base = path.read_text(encoding="utf-8")
    path.write_text(base + "\n[supervision.lists]\nred_max_problems = 2\nblack_min = 2\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"central\.toml: field \$\.supervision\.lists\.red_max_problems"):
        load(path)
    path.write_text(base + '\n[supervision]\nreply_days = { "一般" = 0, "需调查" = 15, "复杂" = 10 }\n', encoding="utf-8")
    with pytest.raises(ConfigError, match=r"field \$\.supervision\.reply_days\.复杂"):
        load(path)
    path.write_text(base, encoding="utf-8")
    hall = path.parent / "halls" / "h-a.toml"
    hall.write_text(hall.read_text(encoding="utf-8")
                    + "\n[business.rules.attendance]\nlate_grace_minutes = 120\nearly_grace_minutes = 90\n",
                    encoding="utf-8")
    with pytest.raises(ConfigError, match=r"h-a\.toml: field \$\.business\.rules\.attendance\.late_grace_minutes"):
        load(path)
