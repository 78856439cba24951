"""Case tracking (办件跟踪) and hall operations (闭厅与设备) at central, through the real HTTP
app on SQLite and PostgreSQL, against figures worked out by hand from the events below.

h-a (test hall: W1 s-li, W2 s-wang academic; W3 s-qian finance):
- K1 11-02 promised C1 at W1, deadline 11-05, finished 11-04 → 按时办结
- K2 11-02 joint C2 at W2 (academic), deadline 11-06; materials academic → finance 11-03,
  finance → academic 11-05; finished 11-09 → 超期办结, 2 hand-overs
- K3 11-03 容缺 C3 at W3 (finance), deadline 11-06, never finished → 已超期 on 11-10
- K5 11-04 instant: no case
- closing 11-02: fails (侧门 open), two alarms, then passes; 11-03 hall reader unplugged
  10:00, back 10:05; 11-04 a GPIO fault that never recovers
h-b: K4 11-04 promised C4 at W1, deadline 11-20 → 办理中 on 11-10
A/B coverage as time (h-a, open days 11-02 .. 11-06 before 11-07: four days of 7 h, Friday 6.5 h):
each sign-on 08:00–16:30; W1 A on 02, 03, B (s-zhao 赵强) on 04; W2 A on 02, 03 (B too on 03,
at the same time); W3 nobody; W4 periodic Tue/Thu: open 03, 05; W5 (flexible) never opened.
"""

from __future__ import annotations

import io
import time

import pytest
from litestar.testing import TestClient

from central.app import create_app
from central.auth import Auth
from central.config import load
from central.projections import Directory
from sync.contract import events as ev
from sync.contract import wire
from tests.central.data import Browser, HallLog, at, write_config

ADMIN = ("admin", "admin123")
FINANCE = ("finance-head", "finance123")
HB = ("hb-manager", "hall123")
Q = "/api/reports/cases?start=2026-11-01&end=2026-11-30&today=2026-11-10"
OPS = "/api/reports/operations?start=2026-11-01&end=2026-11-30"


def logs() -> dict[str, HallLog]:
    a, b = HallLog("h-a"), HallLog("h-b")
    a.visit("K1", "2026-11-02", "academic", "09:00", "09:01", "09:02", "09:10", "W1", "s-li", "promised", "C1",
            "2026-11-05")
    a.visit("K2", "2026-11-02", "academic", "09:05", "09:11", "09:12", "09:30", "W2", "s-wang", "joint", "C2",
            "2026-11-06")
    a.add(ev.ClosingChecked(service_date="2026-11-02", ok=False, failed=[
        ev.FailedInput(name="door-side", role="door", label="侧门", state="open")]), at("2026-11-02", "17:00"))
    a.add(ev.ClosingAlarm(service_date="2026-11-02", failed=[
        ev.FailedInput(name="door-side", role="door", label="侧门", state="open")], repeat=1), at("2026-11-02", "17:00"))
    a.add(ev.ClosingAlarm(service_date="2026-11-02", failed=[
        ev.FailedInput(name="door-side", role="door", label="侧门", state="open")], repeat=2), at("2026-11-02", "17:05"))
    a.add(ev.ClosingChecked(service_date="2026-11-02", ok=True), at("2026-11-02", "17:07"))
    a.add(ev.CaseHandoff(case="C2", from_department="academic", to_department="finance",
                         materials=["成绩单", "申请表"], by="s-wang"), at("2026-11-03", "10:00"))
    a.add(ev.DeviceFault(device="hall-reader", device_kind="reader", message="串口断开"), at("2026-11-03", "10:00"))
    a.add(ev.DeviceRecovered(device="hall-reader", device_kind="reader", down_seconds=300), at("2026-11-03", "10:05"))
    a.visit("K3", "2026-11-03", "finance", "11:00", "11:01", "11:02", "11:20", "W3", "s-qian", "gaps", "C3",
            "2026-11-06")
    a.add(ev.CaseFinished(case="C1", by="s-li"), at("2026-11-04", "15:00"))
    a.visit("K5", "2026-11-04", "academic", "09:00", "09:01", "09:02", "09:05", "W1", "s-li")
    a.add(ev.DeviceFault(device="lamp-w1", device_kind="gpio", message="GPIO 写入失败"), at("2026-11-04", "12:00"))
    a.add(ev.CaseHandoff(case="C2", from_department="finance", to_department="academic", materials=["审核意见"],
                         by="s-qian"), at("2026-11-05", "10:00"))
    a.add(ev.CaseFinished(case="C2", by="s-wang"), at("2026-11-09", "10:00"))
    for day, window, staff, role in (("2026-11-02", "W1", "s-li", "A"), ("2026-11-03", "W1", "s-li", "A"),
                                      ("2026-11-04", "W1", "s-zhao", "B"), ("2026-11-02", "W2", "s-wang", "A"),
                                      ("2026-11-03", "W2", "s-zhao", "B"), ("2026-11-03", "W2", "s-wang", "A")):
        a.add(ev.WindowSignedOn(window=window, staff=staff, role=role), at(day, "08:00"))
        a.add(ev.WindowSignedOff(window=window, staff=staff), at(day, "16:30"))
    b.visit("K4", "2026-11-04", "academic", "10:00", "10:01", "10:02", "10:20", "W1", "s-li", "promised", "C4",
            "2026-11-20")
    return {"h-a": a, "h-b": b}


@pytest.fixture
def api(store, tmp_path):
    cfg, halls = load(write_config(tmp_path))
    for hall, log in logs().items():
        # h-a in two batches, the later one first (late events reach every figure)
        n = len(log.events)
        store.ingest(hall, wire.events_topic(hall), log.payload(n // 2 + 1, n), 1)
        store.ingest(hall, wire.events_topic(hall), log.payload(1, n // 2), 2)
    with Browser(create_app(store, None, Directory.of(halls), Auth(cfg.users))) as c:
        yield c


def test_operations_cases_states_deadlines_and_handoffs(api):
    r = api.get(Q, auth=ADMIN)
    assert r.status_code == 200, r.text
    rows = {x["case"]: x for x in r.json()["rows"]}
    assert {c: (x["hall"], x["ticket"], x["outcome"], x["department"], x["deadline"], x["finished"], x["state"])
            for c, x in rows.items()} == {
        "C1": ("h-a", "K1", "promised", "academic", "2026-11-05", "2026-11-04", "on_time"),
        "C2": ("h-a", "K2", "joint", "academic", "2026-11-06", "2026-11-09", "late"),
        "C3": ("h-a", "K3", "gaps", "finance", "2026-11-06", None, "overdue"),
        "C4": ("h-b", "K4", "promised", "academic", "2026-11-20", None, "open"),
    }
    assert [(h["at"], h["from"], h["to"], h["materials"], h["by"]) for h in rows["C2"]["handoff_list"]] == [
        ("2026-11-03", "academic", "finance", ["成绩单", "申请表"], "s-wang"),
        ("2026-11-05", "finance", "academic", ["审核意见"], "s-qian")]
    assert rows["C2"]["handoffs"] == 2 and "教务处→财务处：成绩单、申请表" in rows["C2"]["handoff_text"]
    assert rows["C1"]["state_name"] == "按时办结" and rows["C3"]["state_name"] == "已超期"
    assert r.json()["counts"] == {"on_time": 1, "late": 1, "overdue": 1, "open": 1}
    # the state filter; on 11-21 C4 is overdue as well
    assert [x["case"] for x in api.get(Q + "&state=overdue", auth=ADMIN).json()["rows"]] == ["C3"]
    later = api.get(Q.replace("2026-11-10", "2026-11-21") + "&state=overdue", auth=ADMIN).json()["rows"]
    assert [x["case"] for x in later] == ["C3", "C4"]


def test_operations_cases_role_limits(api):
    # the finance head: C3 (accepted by finance) and C2 (finance took part in the joint case)
    assert sorted(x["case"] for x in api.get(Q, auth=FINANCE).json()["rows"]) == ["C2", "C3"]
    assert [x["case"] for x in api.get(Q, auth=HB).json()["rows"]] == ["C4"]
    assert api.get(Q).status_code == 401


def test_operations_closing_and_device_faults(api):
    rows = api.get(OPS, auth=ADMIN).json()["rows"]
    assert [(x["hall"], x["day"], x["closing_name"], x["failed"], x["alarms"], x["faults"], x["fault_text"])
            for x in rows] == [
        ("h-a", "2026-11-02", "通过", "", 2, 0, ""),
        ("h-a", "2026-11-03", "无记录", "", 0, 1, "hall-reader：串口断开（已恢复）"),
        ("h-a", "2026-11-04", "无记录", "", 0, 1, "lamp-w1：GPIO 写入失败（未恢复）"),
    ]
    assert api.get(OPS, auth=HB).json()["rows"] == []  # h-b has none
    assert api.get(OPS, auth=FINANCE).json()["rows"] == []  # department heads: not their business


@pytest.mark.parametrize("url", [
    "/api/reports/cases?start=2026-11-30&end=2026-11-01",
    "/api/reports/cases?start=2026-01-01&end=2026-11-30",  # over 92 days
    "/api/reports/cases?start=2026-11-01&end=2026-11-30&state=lost",
    "/api/reports/cases?start=2026-11-01&end=2026-11-30&today=soon",
    "/api/reports/cases?start=2026-11-01&end=2026-11-30&hall=h-x",
    "/api/reports/operations?start=x&end=y",
])
def test_operations_bad_parameters_are_400(api, url):
    r = api.get(url, auth=ADMIN)
    assert r.status_code == 400 and r.json()["detail"]


def test_operations_and_exports(api):
    r = api.post("/login", data={"username": "admin", "password": "admin123"}, follow_redirects=False)
    assert r.status_code in (302, 303)
    page = api.get("/reports/cases?start=2026-11-01&end=2026-11-30&state=overdue")
    assert page.status_code == 200 and "已超期" in page.text and "K3" in page.text and "K1" not in page.text
    ops = api.get("/reports/operations?start=2026-11-01&end=2026-11-30")
    assert ops.status_code == 200 and "串口断开" in ops.text
    assert api.get("/reports/cases?start=2026-11-30&end=2026-11-01").status_code == 400
    csv = api.get(Q + "&format=csv")
    assert csv.status_code == 200 and "承诺期限" in csv.content.decode("utf-8-sig")
    xlsx = api.get(Q + "&format=xlsx")
    from openpyxl import load_workbook

    ws = load_workbook(io.BytesIO(xlsx.content)).worksheets[0]
    assert [c.value for c in ws[1]][:3] == ["大厅", "号码", "件号"] and ws.max_row == 5


def test_operations_live_view_shows_closing_paused_and_queues(api, store):
    """The hall's status (wire.Status, as the replicator publishes it) on the live view: today's
    closing check with its alarms and failing inputs, paused windows and any over the limit."""
    st = wire.Status(v=wire.V, hall="h-a", state="online", epoch="e", last_seq=10, acked_seq=8, backlog=2,
                     config_version=1, clock={}, ts=1, campus="east",
                     windows=[{"id": "W1", "name": "1号窗口", "department": "academic", "state": "paused",
                               "staff": "李明", "lamp": "blink", "over_limit": True, "paused_seconds": 1200,
                               "ticket": None},
                              {"id": "W2", "name": "2号窗口", "department": "academic", "state": "serving",
                               "staff": "王芳", "lamp": "off", "over_limit": False, "paused_seconds": 0,
                               "ticket": "J003"}],
                     queues={"academic": 4},
                     closing={"service_date": "2026-11-23", "status": "alarm", "label": "报警中", "alarms": 2,
                              "failed": ["侧门"]})
    store.hall_status("h-a", wire.encode(st), int(time.time() * 1e6))  # just now: the hall is online
    api.post("/login", data={"username": "admin", "password": "admin123"})
    page = api.get("/live").text
    assert "闭厅检查（2026-11-23）：报警中，报警 2 次：侧门 未关闭/未断电" in page
    assert "暂停服务：1号窗口（超时离岗）" in page and "待上传 2 条" in page and "教务处 4 人" in page


def test_operations_ab_coverage_per_window(api):
    """U 21, B 28: coverage as time over the open days, per window; the finance head sees W3 only."""
    r = api.get("/api/reports/coverage?start=2026-11-01&end=2026-11-30&hall=h-a&today=2026-11-07", auth=ADMIN)
    assert r.status_code == 200, r.text
    got = {x["window"]: (x["days"], x["open_seconds"], x["a_seconds"], x["b_seconds"], x["covered_seconds"],
                         x["uncovered_seconds"], x["coverage_rate"]) for x in r.json()["rows"]}
    h = 3600
    week = 4 * 7 * h + int(6.5 * h)
    assert got == {"W1": (5, week, 14 * h, 7 * h, 21 * h, week - 21 * h, round(21 * h / week, 4)),
                   "W2": (5, week, 14 * h, 7 * h, 14 * h, week - 14 * h, round(14 * h / week, 4)),
                   "W3": (5, week, 0, 0, 0, week, 0.0),
                   "W4": (2, 14 * h, 0, 0, 0, 14 * h, 0.0)}
    # h-b's records start on 11-04: three open days; the finance head sees W3 of both halls only
    fin = api.get("/api/reports/coverage?start=2026-11-01&end=2026-11-30&today=2026-11-07", auth=FINANCE).json()
    assert [(x["hall"], x["window"], x["days"]) for x in fin["rows"]] == [("h-a", "W3", 5), ("h-b", "W3", 3)]
    days = api.get("/api/reports/coverage?start=2026-11-04&end=2026-11-04&hall=h-a&today=2026-11-07&group=day",
                   auth=ADMIN).json()["rows"]
    assert {x["window"]: x["uncovered_text"] for x in days} == {
        "W1": "", "W2": "08:00:00–11:30:00、13:00:00–16:30:00", "W3": "08:00:00–11:30:00、13:00:00–16:30:00"}
    assert api.get("/api/reports/coverage?start=2026-11-01&end=2026-11-30&group=staff", auth=ADMIN).status_code == 400
    csv = api.get("/api/reports/coverage?month=2026-11&hall=h-a&today=2026-11-07&format=csv", auth=ADMIN)
    assert csv.status_code == 200 and "无人值守(小时)" in csv.text
    api.post("/login", data={"username": "admin", "password": "admin123"})
    page = api.get("/reports/coverage?start=2026-11-01&end=2026-11-30&hall=h-a&group=day")
    assert page.status_code == 200 and "无人值守时段" in page.text and "13:00:00–16:30:00" in page.text
    page = api.get("/reports/extended?start=2026-11-01&end=2026-11-30")
    assert page.status_code == 200 and "延时服务次数" in page.text


@pytest.mark.parametrize("now, c4", [("2026-11-10T09:00:00+08:00", "open"), ("2026-11-21T09:00:00+08:00", "overdue")])
def test_operations_the_dashboard_runs_on_the_injected_clock(store, tmp_path, now, c4):
    """`today` of the reports and pages is the app's clock (simulated in the demo), not the
    machine's date: C4 (deadline 11-20) is open on 11-10 and overdue on 11-21; the audit row of a
    login carries the clock's time."""
    from datetime import datetime

    from sync.kernel.clock import ManualClock

    cfg, halls = load(write_config(tmp_path))
    log = logs()["h-b"]
    store.ingest("h-b", wire.events_topic("h-b"), log.payload(1, 100), 1)
    clock = ManualClock(datetime.fromisoformat(now))
    with Browser(create_app(store, None, Directory.of(halls), Auth(cfg.users), clock=clock)) as c:
        rows = c.get("/api/reports/cases?start=2026-11-01&end=2026-11-30", auth=ADMIN).json()["rows"]
        assert [(x["case"], x["state"]) for x in rows] == [("C4", c4)]
        c.post("/login", data={"username": "admin", "password": "admin123"})
        page = c.get("/reports/cases")  # the default range ends on the clock's today
        assert f'value="{now[:10]}"' in page.text
    assert store.audit_log(1)[0]["at"] == clock.micros()
