"""Appointments at central (central.appointments, the API and page of central.pages.appointments):
slots from the hall's calendar, capacity (a full slot answers 409), the JSON API with its scope,
the CSV import (a bad line refuses the whole file), the phone erased after the retention, the
bookings message a hall gets, and the no-show / punctuality report from the halls' events
[C 11(6), J 4(6)]."""

from __future__ import annotations


import pytest

from central.app import create_app
from central.auth import Auth
from central.config import ConfigError, load
from central.projections import Directory
from sync.contract import events as ev
from sync.contract import wire
from sync.kernel.clock import ManualClock
from tests.central.data import Browser, HallLog, at, write_config
from tests.conftest import MONDAY_9

ADMIN, HB = ("admin", "admin123"), ("hb-manager", "hall123")
SETTINGS = """
[appointments]
slot_minutes = 30
capacity = 4
items = { transcript = 2 }
days_ahead = 7
keep_phone_days = 30
before_minutes = 30
after_minutes = 15
max_in_row = 2
"""


def write(tmp_path, settings: str = SETTINGS):
    """The three test halls with 成绩单打印 (transcript) bookable, and central.toml with `settings`."""
    central = write_config(tmp_path)
    for f in (tmp_path / "cfg" / "halls").glob("*.toml"):
        f.write_text(f.read_text(encoding="utf-8").replace("service_minutes = 4\n", "service_minutes = 4\n"
                                                           "appointment = true\n", 1), encoding="utf-8")
    central.write_text(central.read_text(encoding="utf-8") + settings, encoding="utf-8")
    return central


@pytest.fixture
def clock():
    return ManualClock(MONDAY_9)


@pytest.fixture
def setup(store, tmp_path, clock):
    cfg, halls = load(write(tmp_path))
    app = create_app(store, None, Directory.of(halls), Auth(cfg.users), clock=clock)
    book = app.state.appointments
    book.settings = cfg.appointments
    published: list[wire.AppointmentsMessage] = []
    book.publish = published.append
    with Browser(app) as c:
        yield c, book, published


def booking(hall="h-a", start="2026-11-23T10:00", phone="138 0013 8000", name="张三", item="transcript"):
    return {"hall": hall, "item": item, "start": start, "phone": phone, "name": name}


def test_appointments_config_errors_name_the_file_and_field(tmp_path):
    with pytest.raises(ConfigError, match=r"central\.toml: field \$\.appointments\.items\.reimburse"):
        load(write(tmp_path / "a", SETTINGS.replace("transcript = 2", "reimburse = 2")))  # not bookable
    with pytest.raises(ConfigError, match=r"\$\.appointments\.slot_minutes"):
        load(write(tmp_path / "b", SETTINGS.replace("slot_minutes = 30", "slot_minutes = 7")))
    with pytest.raises(ConfigError, match=r"\$\.appointments\.departments\.nowhere"):
        load(write(tmp_path / "c", SETTINGS + "departments = { nowhere = 3 }\n"))


def test_appointments_slots_follow_the_hall_calendar_and_capacity(setup):
    c, _book, _ = setup
    r = c.get("/api/appointments/slots", params={"hall": "h-a", "item": "transcript", "day": "2026-11-23"}, auth=ADMIN)
    assert r.status_code == 200, r.text
    slots = r.json()
    # 08:00–11:30 and 13:00–16:30: every half hour that fits, capacity from items.transcript
    assert [s["time"] for s in slots] == ["08:00", "08:30", "09:00", "09:30", "10:00", "10:30", "11:00",
                                          "13:00", "13:30", "14:00", "14:30", "15:00", "15:30", "16:00"]
    assert {s["capacity"] for s in slots} == {2}
    assert [s["open"] for s in slots][:3] == [False, False, False]  # 09:00 has begun (the clock says 09:00)
    # Saturday: the hall is closed, no slots; beyond days_ahead: refused
    assert c.get("/api/appointments/slots", params={"hall": "h-a", "item": "transcript", "day": "2026-11-28"},
                 auth=ADMIN).json() == []
    r = c.get("/api/appointments/slots", params={"hall": "h-a", "item": "transcript", "day": "2026-12-10"}, auth=ADMIN)
    assert r.status_code == 400 and "只能预约" in r.json()["detail"]


def test_appointments_capacity_full_slot_answers_409(setup):
    """[C 11(6)] a slot takes its capacity and no more, whoever books it."""
    c, book, published = setup
    codes = []
    for phone in ("13800000001", "13800000002"):
        r = c.post("/api/appointments", json=booking(phone=phone), auth=ADMIN)
        assert r.status_code == 201, r.text
        codes.append(r.json()["code"])
    r = c.post("/api/appointments", json=booking(phone="13800000003"), auth=ADMIN)
    assert r.status_code == 409 and r.json()["code"] == "conflict" and "约满" in r.json()["detail"]
    assert len(codes[0]) == 6 and not set("".join(codes)) & set("0O1I")
    slot = next(s for s in book.slots("h-a", "transcript", MONDAY_9.date()) if s["time"] == "10:00")
    assert (slot["booked"], slot["free"], slot["open"]) == (2, 0, False)
    # the hall got its bookings after every change, versioned, without the full phone
    assert [m.version for m in published] == [1, 2] and published[-1].hall == "h-a"
    assert {(b.code, b.phone_tail, b.name) for b in published[-1].bookings} == {
        (codes[0], "0001", "张*"), (codes[1], "0002", "张*")}
    assert published[-1].policy.after_minutes == 15 and published[-1].first_day == "2026-11-23"


def test_appointments_api_validates_scopes_and_cancels(setup):
    c, _book, published = setup
    assert c.post("/api/appointments", json=booking()).status_code == 401
    r = c.post("/api/appointments", json=booking(hall="h-a"), auth=HB)  # h-b's manager
    assert r.status_code == 403
    for bad, words in ((booking(start="2026-11-23T10:10"), "不是"), (booking(start="2026-11-23T08:30"), "已开始"),
                       (booking(phone="12ab"), "手机号"), (booking(item="reimburse"), "不可预约")):
        r = c.post("/api/appointments", json=bad, auth=ADMIN)
        assert r.status_code == 400 and words in r.json()["detail"], (bad, r.text)
    assert c.post("/api/appointments", json={"hall": "h-a"}, auth=ADMIN).status_code == 400
    r = c.post("/api/appointments", json=booking(hall="h-b"), auth=HB)
    assert r.status_code == 201, r.text
    code = r.json()["code"]
    assert r.json()["state"] == "booked" and r.json()["phone"] == "13800138000"
    assert c.get(f"/api/appointments/{code}", auth=ADMIN).json()["hall"] == "h-b"
    assert [b["code"] for b in c.get("/api/appointments", params={"hall": "h-b"}, auth=HB).json()] == [code]
    assert c.get("/api/appointments", params={"hall": "h-a"}, auth=HB).json() == []
    r = c.delete(f"/api/appointments/{code}", auth=HB)
    assert r.status_code == 200 and r.json()["state"] == "cancelled"
    r = c.delete(f"/api/appointments/{code}", auth=HB)
    assert r.status_code == 409
    assert published[-1].hall == "h-b" and published[-1].bookings == []  # the cancellation reached the hall


def test_appointments_csv_import_bad_line_imports_nothing(setup):
    c, book, _ = setup
    r = c.post("/login", data={"username": "admin", "password": "admin123"}, follow_redirects=False)
    assert r.status_code in (302, 303)
    good = ("hall,item,start,phone,name\n"
            "h-a,transcript,2026-11-24 10:00,13900000001,李四\n"
            "h-a,transcript,2026-11-24 10:30,13900000002,\n")
    bad = good + "h-a,transcript,2026-11-24 10:00,13900000003,王五\nh-a,transcript,2026-11-24 10:00,139000000x4,\n"
    r = c.post("/appointments/import", files={"file": ("bookings.csv", bad.encode(), "text/csv")})
    assert r.status_code == 400 and "第 5 行" in r.text and "整个文件未导入" in r.text
    assert book.listing(book_scope()) == []
    full = good + "h-a,transcript,2026-11-24 10:00,13900000003,\nh-a,transcript,2026-11-24 10:00,13900000004,\n"
    r = c.post("/appointments/import", files={"file": ("bookings.csv", full.encode(), "text/csv")})
    assert r.status_code == 400 and "第 5 行" in r.text and "约满" in r.text  # the third of a 2-place slot
    assert book.listing(book_scope()) == []
    r = c.post("/appointments/import", files={"file": ("bookings.csv", good.encode("utf-8-sig"), "text/csv")})
    assert r.status_code == 200 and "已导入 2 条预约" in r.text
    assert [(b["time"], b["phone"], b["source"]) for b in book.listing(book_scope())] == [
        ("10:00", "13900000001", "csv"), ("10:30", "13900000002", "csv")]


def book_scope():
    from central.scope import ADMIN as everything

    return everything


def test_appointments_phone_erased_after_retention(setup, clock):
    c, _book, _ = setup
    code = c.post("/api/appointments", json=booking(), auth=ADMIN).json()["code"]
    clock.advance(days=30)  # the slot was 10:00: 30 days later at 09:00 it is still kept
    assert c.get(f"/api/appointments/{code}", auth=ADMIN).json()["phone"] == "13800138000"
    clock.advance(hours=2)
    got = c.get(f"/api/appointments/{code}", auth=ADMIN).json()
    assert (got["phone"], got["name"], got["erased"], got["state"]) == ("", "", True, "no_show")


def test_appointments_report_counts_no_shows_and_punctuality_from_events(setup, store, clock):
    """No-show = not checked in by the end of the window (a late arrival too); punctual =
    checked in inside it; the figures are the halls' appointment.checked_in events."""
    c, book, _ = setup
    codes = [c.post("/api/appointments", json=booking(start=f"2026-11-23T{t}", phone=f"1380000000{i}"),
                    auth=ADMIN).json()["code"] for i, t in enumerate(("10:00", "10:00", "10:30", "13:00"))]
    rows = {b["code"]: b for b in book.listing(book_scope())}
    ids = {r["code"]: r["id"] for r in __import__("central.store.appointments", fromlist=["x"]).listing(store, None)}
    log = HallLog("h-a")
    for code, status, hm in ((codes[0], "on_time", "09:45"), (codes[1], "late", "10:40")):
        slot = at("2026-11-23", rows[code]["time"])
        log.add(ev.AppointmentCheckedIn(booking=ids[code], code=code, department="academic", item="transcript",
                                        slot_start=slot, window_start=slot - 30 * 60_000_000,
                                        window_end=slot + 15 * 60_000_000, status=status, ticket=f"t-{code}",
                                        number="A001"), at("2026-11-23", hm))
    store.ingest("h-a", wire.events_topic("h-a"), log.payload(1, 10), 1)
    clock.advance(hours=2)  # 11:00: 10:00 and 10:30 windows closed, 13:00 not yet
    states = {b["code"]: b["state"] for b in c.get("/api/appointments", auth=ADMIN).json()}
    assert states == {codes[0]: "checked_in", codes[1]: "late", codes[2]: "no_show", codes[3]: "booked"}
    r = c.get("/api/reports/appointments", params={"month": "2026-11"}, auth=ADMIN)
    assert r.status_code == 200, r.text
    [row] = r.json()["rows"]
    assert (row["hall"], row["department"], row["bookings"], row["due"], row["checked_in"], row["late"],
            row["no_show"], row["pending"], row["punctuality_rate"]) == ("h-a", "academic", 4, 3, 1, 1, 2, 1, 0.3333)
    assert c.get("/api/reports/appointments", params={"month": "2026-11"}, auth=HB).json()["rows"] == []
    csv = c.get("/api/reports/appointments", params={"month": "2026-11", "format": "csv"}, auth=ADMIN)
    assert csv.status_code == 200 and "守约率" in csv.content.decode("utf-8-sig")
