"""Test data for the central reports: three halls' event logs (real sync.contract.events bodies in real
sync.contract.wire batches) and the hall configurations (the test hall of tests/conftest.py, renamed).

Halls: h-a and h-b and h-c, each with the test hall's windows and staff (W1 s-li, W2 s-wang
academic; W3 s-qian finance; W4 s-sun security; s-zhao academic B-role).
"""

from __future__ import annotations

import uuid
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import msgspec
from litestar.testing import TestClient

from central.config import load
from central.projections import Directory
from sync.contract import events as ev
from sync.contract import wire
from tests.conftest import HALL_TOML

SH = ZoneInfo("Asia/Shanghai")
HALLS = {"h-a": ("甲大厅", "east", "东校区"), "h-b": ("乙大厅", "west", "西校区"), "h-c": ("丙大厅", "south", "南校区")}


def write_config(tmp: Path, staff_prefix: dict[str, str] | None = None) -> Path:
    """The three test halls' files and central.toml under `tmp`/cfg; with `staff_prefix`
    (hall → prefix) the staff ids "s-…" of each hall become "<prefix>-…"."""
    hall_dir = tmp / "cfg" / "halls"
    hall_dir.mkdir(parents=True, exist_ok=True)
    for hid, (name, campus, campus_name) in HALLS.items():
        text = HALL_TOML.replace('id = "test-hall"', f'id = "{hid}"', 1)
        text = text.replace('name = "测试校区学生事务大厅"', f'name = "{name}"', 1)
        text = text.replace('campus = "test"', f'campus = "{campus}"', 1)
        text = text.replace('campus_name = "测试校区"', f'campus_name = "{campus_name}"', 1)
        if staff_prefix:
            text = text.replace('id = "s-', f'id = "{staff_prefix[hid]}-')
        (hall_dir / f"{hid}.toml").write_text(text, encoding="utf-8")
    central = tmp / "cfg" / "central.toml"
    central.write_text(USERS_TOML, encoding="utf-8")
    return central


def _hash(pw: str) -> str:
    from central.auth import hash_secret

    return hash_secret(pw, iterations=1000)


USERS_TOML = f"""
[central]
name = "测试中心"
halls = ["halls/*.toml"]

[[users]]
name = "admin"
display = "中心管理员"
role = "admin"
password_hash = "{_hash('admin123')}"

[[users]]
name = "finance-head"
display = "财务处负责人"
role = "department"
department = "finance"
password_hash = "{_hash('finance123')}"

[[users]]
name = "hb-manager"
display = "乙大厅管理员"
role = "hall"
hall = "h-b"
password_hash = "{_hash('hall123')}"
"""


def build_directory(tmp: Path) -> Directory:
    _cfg, halls = load(write_config(tmp))
    return Directory.of(halls)


def at(day: str, hm: str, sec: int = 0) -> int:
    """µs UTC of a local Shanghai time."""
    d = datetime.fromisoformat(f"{day}T{hm}:{sec:02d}").replace(tzinfo=SH)
    return int(d.timestamp()) * 1_000_000


class HallLog:
    """One hall's log: events appended in seq order with their local time."""

    def __init__(self, hall: str) -> None:
        self.hall = hall
        self.epoch = uuid.uuid4().hex
        self.events: list[wire.WireEvent] = []

    def add(self, body: ev.Body, ts: int) -> None:
        seq = len(self.events) + 1
        self.events.append(wire.WireEvent(seq=seq, id=uuid.uuid4().hex, kind=body.KIND, schema=ev.SCHEMA,
                                          body=msgspec.json.encode(body), ts=ts, boot="b1", mono=seq * 1000,
                                          clock="synced"))

    def payload(self, lo: int, hi: int) -> bytes:
        """A batch of the events with lo <= seq <= hi."""
        es = [e for e in self.events if lo <= e.seq <= hi]
        return wire.encode(wire.Batch(v=wire.V, hall=self.hall, epoch=self.epoch, events=es, sent=0))

    def visit(self, ticket: str, day: str, dept: str, issued: str, called: str | None = None,
              started: str | None = None, completed: str | None = None, window: str = "", staff: str = "",
              outcome: str = "instant", case: str | None = None, deadline: str | None = None,
              no_show: str | None = None) -> None:
        self.add(ev.TicketIssued(ticket=ticket, number=ticket, department=dept, service_date=day), at(day, issued))
        if called:
            self.add(ev.TicketCalled(ticket=ticket, window=window, staff=staff), at(day, called))
        if no_show:
            self.add(ev.TicketNoShow(ticket=ticket, window=window, staff=staff, recalls=2), at(day, no_show))
        if started:
            self.add(ev.TicketStarted(ticket=ticket, window=window, staff=staff), at(day, started))
        if completed:
            self.add(ev.TicketCompleted(ticket=ticket, window=window, staff=staff, item="transcript",
                                        outcome=outcome, case=case, deadline=deadline), at(day, completed))

    def punch(self, staff: str, day: str, hm: str, kind: str, cls: str, slot: int) -> None:
        self.add(ev.AttendancePunch(staff=staff, card="C", reader="r", kind=kind, classification=cls, slot=slot,
                                    service_date=day), at(day, hm))


def three_halls() -> dict[str, HallLog]:
    """The logs the tests' hand-computed figures come from (see test_reports.py)."""
    a, b, c = HallLog("h-a"), HallLog("h-b"), HallLog("h-c")
    # ---- h-a, Monday 2026-11-02 (seq 1..18: the batch that arrives late)
    a.visit("T1", "2026-11-02", "academic", "09:00", "09:02", "09:03", "09:08", "W1", "s-li")  # wait 120 s, service 300 s
    a.add(ev.RatingGiven(window="W1", ticket="T1", level=5, staff="s-li", department="academic"),
          at("2026-11-02", "09:08", 30))
    a.visit("T2", "2026-11-02", "academic", "09:01", "09:11", "09:12", "09:22", "W2", "s-wang",
            outcome="promised", case="C1", deadline="2026-11-05")  # wait 600 s, service 600 s
    a.add(ev.RatingGiven(window="W2", ticket="T2", level=2, staff="s-wang", department="academic"),
          at("2026-11-02", "09:22", 30))
    a.punch("s-li", "2026-11-02", "07:55", "in", "on_time", 0)
    a.punch("s-li", "2026-11-02", "16:35", "out", "on_time", 1)
    a.punch("s-wang", "2026-11-02", "08:10", "in", "late", 0)
    a.punch("s-wang", "2026-11-02", "16:00", "out", "early", 1)
    a.add(ev.WindowPaused(window="W1", staff="s-li"), at("2026-11-02", "10:00"))
    a.add(ev.StepAwayViolation(window="W1", staff="s-li", paused_at=at("2026-11-02", "10:00"), limit_minutes=15),
          at("2026-11-02", "10:15"))
    a.add(ev.WindowResumed(window="W1", staff="s-li", paused_seconds=1500, over_limit=True), at("2026-11-02", "10:25"))
    first_day = len(a.events)
    # ---- h-a, 2026-11-03 .. 05
    a.punch("s-li", "2026-11-03", "08:20", "in", "late", 0)  # and no out-punch: one missing slot
    a.punch("s-wang", "2026-11-03", "07:58", "in", "on_time", 0)
    a.punch("s-wang", "2026-11-03", "16:31", "out", "on_time", 1)
    a.add(ev.LeaveRequested(leave="L1", staff="s-wang", leave_kind="annual", start="2026-11-04", end="2026-11-04",
                            by="s-wang"), at("2026-11-03", "09:00"))
    a.add(ev.LeaveApproved(leave="L1", by="manager"), at("2026-11-03", "09:30"))
    a.add(ev.LeaveRequested(leave="L2", staff="s-li", leave_kind="annual", start="2026-11-05", end="2026-11-05",
                            by="s-li"), at("2026-11-03", "09:00"))  # never approved: does not count
    for day in ("2026-11-04", "2026-11-05"):
        a.punch("s-li", day, "07:50", "in", "on_time", 0)
        a.punch("s-li", day, "16:40", "out", "on_time", 1)
    a.punch("s-wang", "2026-11-05", "07:59", "in", "on_time", 0)
    a.punch("s-wang", "2026-11-05", "16:32", "out", "on_time", 1)
    a.punch("s-wang", "2026-11-07", "09:00", "extra", "closed_day", 0)  # Saturday: not a present day
    a.add(ev.CaseFinished(case="C1", by="s-wang"), at("2026-11-04", "10:00"))  # deadline 11-05: on time
    # ---- h-b, Tuesday 2026-11-03
    b.visit("T1", "2026-11-03", "finance", "10:00", "10:04", "10:05", "10:07", "W3", "s-qian")  # wait 240, service 120
    b.add(ev.RatingGiven(window="W3", ticket="T1", level=4, staff="s-qian", department="finance"),
          at("2026-11-03", "10:07", 20))
    b.visit("T3", "2026-11-03", "finance", "10:01", "10:06", window="W3", staff="s-qian", no_show="10:09")  # wait 300
    b.punch("s-qian", "2026-11-03", "08:05", "in", "late", 0)
    # ---- h-c, Wednesday 2026-11-04 (the whole hall arrives last)
    c.visit("T9", "2026-11-04", "academic", "14:00", "14:30", "14:31", "14:41", "W1", "s-li",
            outcome="promised", case="C9", deadline="2026-11-05")  # wait 1800, service 600; never finished
    a.first_day = first_day  # type: ignore[attr-defined]
    return {"h-a": a, "h-b": b, "h-c": c}


def ingest_all(store, logs: dict[str, HallLog], late: bool = True) -> None:
    """h-a's later days, then h-b, then h-a's first day (late), then h-c (late)."""
    a = logs["h-a"]
    store.ingest("h-a", wire.events_topic("h-a"), a.payload(a.first_day + 1, 10**6), 1)
    store.ingest("h-b", wire.events_topic("h-b"), logs["h-b"].payload(1, 10**6), 2)
    if late:
        ingest_late(store, logs)


def ingest_late(store, logs: dict[str, HallLog]) -> None:
    a = logs["h-a"]
    store.ingest("h-a", wire.events_topic("h-a"), a.payload(1, a.first_day), 3)
    store.ingest("h-c", wire.events_topic("h-c"), logs["h-c"].payload(1, 10**6), 4)


class Browser(TestClient):
    """litestar's TestClient as a browser on a central page: every request carries central's own
    `Origin` (browsers send it on every POST; central refuses form posts without it)."""

    def __init__(self, app, **kw) -> None:
        super().__init__(app, **kw)
        self.headers["origin"] = str(self.base_url).rstrip("/")
