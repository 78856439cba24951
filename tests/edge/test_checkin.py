"""Appointment check-in at the hall, end to end through the real parts [C 11(6), J 4(6)]: bookings
made on central's JSON API reach the hall through a real broker (signed, retained, on
`…/appointments`); the broker goes away; at the kiosk (HTTP) a visitor checks in with the code
or the phone's last 4 digits: inside the window the appointment ticket is called before an
earlier walk-in; too early nothing is issued; too late the visitor is a walk-in. When the
broker is back, central learns the check-ins from the hall's events.

Also the call-order rule alone (edge.queue.next_waiting): appointment tickets go ahead, at most
`max_in_row` in a row while walk-ins wait, deterministically."""

from __future__ import annotations

import msgspec
import pytest

from central.app import create_app as central_app
from central.auth import Auth
from central.config import load as load_central
from central.projections import Directory
from central.service import CentralService
from central.store import CentralStore
from edge import appointments, queue
from edge.app import create_app as edge_app
from edge.config import load as load_hall
from edge.hall import Hall
from edge.syncing import start_replication, take_appointments
from edge.workflow import NotFound
from sync.contract import events as ev
from sync.contract import wire
from sync.kernel.clock import ManualClock, to_micros
from sync.kernel.passwords import hash_secret
from sync.mqtt import parse_broker_url
from tests.brokers import MosquittoBroker, password_for, require_mosquitto
from tests.central.data import Browser
from tests.conftest import EVENTS_TOKEN, HALL_TOML, MONDAY_9, PIN, edge_client, wait_until, write_signing_key

HALL = "test-hall"
ADMIN = ("admin", "admin123")
BOOKABLE = HALL_TOML.replace("service_minutes = 4\n", "service_minutes = 4\nappointment = true\n", 1)


@pytest.fixture
def broker(tmp_path):
    require_mosquitto()
    b = MosquittoBroker(tmp_path / "broker").start()
    yield b
    b.close()


@pytest.fixture
def campus(tmp_path, broker):
    """Central (store, service, app on a manual clock) and the test hall (writer, replication,
    app on its own manual clock), both at Monday 09:00, through the broker."""
    (tmp_path / "halls").mkdir()
    (tmp_path / "halls" / f"{HALL}.toml").write_text(BOOKABLE, encoding="utf-8")
    write_signing_key(tmp_path / "keys" / "central.key")
    (tmp_path / "central.toml").write_text(
        '[central]\nname = "测试中心"\nhalls = ["halls/*.toml"]\nsigning_key = "keys/central.key"\n\n'
        "[appointments]\ncapacity = 3\nbefore_minutes = 30\nafter_minutes = 15\nmax_in_row = 2\n\n"
        f'[[users]]\nname = "admin"\nrole = "admin"\npassword_hash = "{hash_secret(ADMIN[1], iterations=1000)}"\n',
        encoding="utf-8")
    cfg, halls = load_central(tmp_path / "central.toml")
    from sync.contract.signing import Signer

    central_clock = ManualClock(MONDAY_9)
    store = CentralStore(f"sqlite:///{tmp_path}/central.db")
    store.open()
    store.ensure_hall(HALL, "test")
    service = CentralService(store, parse_broker_url(broker.url_for("central")), central_clock,
                             signer=Signer.from_file(cfg.central.signing_key), beacon_interval=3600)
    app = central_app(store, service, Directory.of(halls), Auth(cfg.users), clock=central_clock)
    book = app.state.appointments
    book.settings = cfg.appointments
    service.appointments_source = book.messages
    service.start()
    hall_file = tmp_path / "hall.toml"
    hall_file.write_text(BOOKABLE, encoding="utf-8")
    hall = Hall(load_hall(hall_file), tmp_path / "hall-data", ManualClock(MONDAY_9))
    hall.start()
    rep = start_replication(hall, broker.url, username=HALL, password=password_for(HALL), ack_timeout=1.0,
                            status_interval=1.0)
    try:
        with Browser(app) as c, edge_client(edge_app(hall, tick_seconds=3600, events_token=EVENTS_TOKEN)) as kiosk:
            yield c, kiosk, hall, store, book
    finally:
        rep.stop()
        hall.stop()
        service.stop()


def book_at(c, time: str, phone: str) -> str:
    r = c.post("/api/appointments", json={"hall": HALL, "item": "transcript", "start": f"2026-11-23T{time}",
                                          "phone": phone, "name": "王小明"}, auth=ADMIN)
    assert r.status_code == 201, r.text
    return r.json()["code"]


def checkin(kiosk, entry: str):
    return kiosk.post("/kiosk/checkin", data={"entry": entry}, follow_redirects=False)


def tickets(hall: Hall) -> list[str]:
    return [t.number for t in hall.call(lambda ctx: ctx.store.tickets_on(ctx.service_date()))]


def test_checkin_booking_downlink_offline_checkin_and_priority_call(campus, broker):
    c, kiosk, hall, store, _book = campus
    on_time = book_at(c, "09:30", "13800001111")  # check-in window 09:00–09:45
    early = book_at(c, "11:00", "13800002222")  # window opens 10:30
    late = book_at(c, "09:30", "13800003333")
    wait_until(lambda: len(hall.call(lambda ctx: ctx.store.bookings_on("2026-11-23"))) == 3, 15,
               what="the bookings to reach the hall")
    assert hall.call(lambda ctx: ctx.store.appointments_version()) == 3
    broker.stop()  # the hall is offline from here on: it works on the bookings it kept
    clock = hall.clock
    walk_in = kiosk.post("/api/tickets", json={"item": "transcript"}).json()["number"]
    clock.advance(minutes=5)  # 09:05

    r = checkin(kiosk, early)  # too early: nothing issued, the kiosk says when to come back
    assert r.status_code == 303 and r.headers["location"] == "/kiosk/checkin"
    page = kiosk.get("/kiosk/checkin").text
    assert "10:30 后再来签到" in page and tickets(hall) == [walk_in]

    r = checkin(kiosk, on_time.lower())  # inside the window: an appointment ticket
    assert r.status_code == 303 and r.headers["location"].startswith("/kiosk/tickets/"), r.text
    slip = kiosk.get(r.headers["location"]).text
    assert "预约签到成功" in slip and "优先叫号" in slip
    assert checkin(kiosk, on_time).headers["location"] == "/kiosk/checkin"  # used once only
    assert "该预约已签到" in kiosk.get("/kiosk/checkin").text

    clock.advance(minutes=45)  # 09:50: the 09:30 window closed at 09:45
    r = checkin(kiosk, "3333")  # by the phone's last 4 digits: late, a walk-in ticket
    assert r.status_code == 303 and r.headers["location"].startswith("/kiosk/tickets/")
    assert "已超过预约签到时间" in kiosk.get(r.headers["location"]).text
    assert tickets(hall) == [walk_in, "A002", "A003"]

    r = kiosk.post("/api/windows/W1/sign-on", json={"staff": "s-li", "pin": PIN})
    assert r.status_code == 200, r.text
    called = []
    for _ in range(3):
        r = kiosk.post("/api/windows/W1/call")
        assert r.status_code == 200, r.text
        called.append(r.json()["ticket"]["number"])
        assert kiosk.post("/api/windows/W1/complete", json={"outcome": "instant"}).status_code == 200
    assert called == ["A002", walk_in, "A003"]  # the appointment before the earlier walk-in; the late one last

    broker.start()  # back online: central learns the check-ins from the hall's events

    def states():
        got = {b["code"]: b["state"] for b in c.get("/api/appointments", auth=ADMIN).json()}
        return got if got.get(on_time) == "checked_in" and got.get(late) == "late" else None

    got = wait_until(states, 30, what="central to learn the check-ins")
    assert got[early] == "booked"


def test_checkin_stale_bookings_message_is_refused(hall):
    """A replayed older bookings message changes nothing and is recorded."""
    def message(version: int, code: str) -> wire.AppointmentsMessage:
        return wire.AppointmentsMessage(
            v=1, hall="test-hall", version=version, first_day="2026-11-23", last_day="2026-11-30",
            policy=wire.AppointmentPolicy(),
            bookings=[wire.Booking(id=code, code=code, department="academic", item="transcript",
                                   start=to_micros(MONDAY_9), phone_tail="1234")])

    assert hall.call(take_appointments, message(5, "AAAAAA"))
    assert not hall.call(take_appointments, message(4, "BBBBBB"))
    assert [b.code for b in hall.call(lambda ctx: ctx.store.bookings_on("2026-11-23"))] == ["AAAAAA"]
    kinds = [e.kind for e in hall.store.events(0, 100)]
    assert kinds == ["downlink.refused"]
    body = msgspec.json.decode(hall.store.events(0, 100)[0].body)
    assert body["reason"] == "stale_version" and body["topic"].endswith("/appointments")


def test_checkin_call_order_bounds_appointments_in_a_row(hall):
    """With max_in_row = 2 and walk-ins waiting, the third appointment ticket waits for one
    walk-in; priority tickets are called before appointments [J 22]."""
    start = to_micros(MONDAY_9)
    msg = wire.AppointmentsMessage(
        v=1, hall="test-hall", version=1, first_day="2026-11-23", last_day="2026-11-23",
        policy=wire.AppointmentPolicy(max_in_row=2),
        bookings=[wire.Booking(id=f"b{i}", code=f"KEY{i}AB", department="academic", item="transcript", start=start,
                               phone_tail=f"000{i}") for i in range(2, 6)])
    hall.call(take_appointments, msg)
    walk = [hall.call(queue.issue, "transcript")["ticket"].number for _ in range(2)]
    appts = [hall.call(appointments.check_in, f"KEY{i}AB")["number"] for i in range(2, 5)]
    prio = hall.call(queue.issue, "transcript", None, True)["ticket"].number
    order = []
    hall.call(lambda ctx: ctx.store.append(ev.WindowSignedOn(window="W1", staff="s-li", role="A")))
    for _ in range(6):
        hall.clock.advance(minutes=1)  # calls happen one after the other (the order is by call time)
        t = hall.call(queue.call_next, "W1", "s-li")
        order.append(t.number)
        hall.call(lambda ctx, tid=t.id: ctx.store.append(ev.TicketCompleted(
            ticket=tid, window="W1", staff="s-li", item="transcript", outcome="instant")))
    assert order == [prio, appts[0], appts[1], walk[0], appts[2], walk[1]]


def test_checkin_api_issues_the_ticket_under_the_kiosk_rules_and_codes(client, hall):
    """`POST /api/appointments/checkin` (a self-service terminal, a staff tablet; no session):
    the kiosk's rules with the same refusal codes, the ticket answered as `POST /api/tickets`
    does, its figures in call order [C 11(6)]."""
    def at(minutes: int) -> int:
        return to_micros(MONDAY_9) + minutes * 60_000_000

    slots = {"KEEP22": (0, "1111"), "EARLY2": (120, "2222"), "LATE22": (-60, "3333"), "TWNA22": (0, "5555"),
             "TWNB22": (10, "5555"), "NEXT22": (24 * 60, "6666")}  # code: (minutes from 09:00, phone tail)
    msg = wire.AppointmentsMessage(
        v=1, hall="test-hall", version=1, first_day="2026-11-23", last_day="2026-11-24",
        policy=wire.AppointmentPolicy(before_minutes=30, after_minutes=15),
        bookings=[wire.Booking(id=f"b-{code}", code=code, department="academic", item="transcript", start=at(m),
                               phone_tail=tail) for code, (m, tail) in slots.items()])
    assert hall.call(take_appointments, msg)
    walk = [client.post("/api/tickets", json={"item": "transcript"}).json()["number"] for _ in range(2)]

    def post(entry):
        return client.post("/api/appointments/checkin", json={"entry": entry})

    r = post("KEEP22".lower())
    assert r.status_code == 201, r.text
    got = r.json()
    assert (got["number"], got["department"], got["item"], got["appointment"], got["waiting_ahead"]) == (
        "A003", "academic", "transcript", "on_time", 0)
    assert set(got) == {"id", "number", "department", "item", "priority", "issued_at", "waiting_ahead",
                        "estimated_wait_minutes", "appointment"}
    assert client.get(f"/api/tickets/{got['id']}").json()["waiting_ahead"] == 0

    r = post("3333")  # by the phone's last digits, after its window (08:00 + 15 min): a walk-in
    assert r.status_code == 201 and r.json()["appointment"] == "late"
    assert r.json()["waiting_ahead"] == 3  # both walk-ins and the on-time appointment

    refusals = {
        "KEEP22": (409, "already-checked-in"), "EARLY2": (409, "too-early"),
        "5555": (409, "several-bookings"), "NEXT22": (409, "not-today"), "ZZZZZZ": (404, "no-booking"),
        "9999": (404, "no-booking"), "12": (400, "bad-entry"), "": (400, "bad-entry"),
    }
    for entry, (status, refusal) in refusals.items():
        r = post(entry)
        assert (r.status_code, r.json()["code"]) == (status, refusal), (entry, r.text)
    assert "A003" in post("KEEP22").json()["detail"]  # the number it got, as the kiosk says
    assert "10:30" in post("EARLY2").json()["detail"]  # when to come back
    # malformed bodies change nothing either
    assert client.post("/api/appointments/checkin", json={"entry": "A" * 65}).status_code == 400
    assert client.post("/api/appointments/checkin", json={"entry": "TWNA22", "x": 1}).status_code == 400
    assert client.post("/api/appointments/checkin", json={}).status_code == 400
    assert tickets(hall) == [*walk, "A003", "A004"]


def test_checkin_forged_bookings_on_the_broker_are_refused_and_recorded(hall, broker):
    """Whoever holds central-side broker credentials (a leaked worker password: the ACL lets it
    write every hall's bookings topic) publishes bookings of a higher version for the hall:
    unsigned, signed by another key, and central's signature over other bookings. The hall keeps
    the bookings central signed, records each refusal as `downlink.refused` (which goes to
    central like every event), and a forged code checks nothing in."""
    from sync.contract.signing import Signer

    from tests.brokers import connected_client
    from tests.conftest import SIGNER

    topic = wire.appointments_topic(HALL)
    start = to_micros(MONDAY_9)

    def message(version: int, code: str, tail: str) -> wire.AppointmentsMessage:
        return wire.AppointmentsMessage(
            v=wire.V, hall=HALL, version=version, first_day="2026-11-23", last_day="2026-11-23",
            policy=wire.AppointmentPolicy(max_in_row=0),
            bookings=[wire.Booking(id=f"b-{code}", code=code, department="academic", item="transcript", start=start,
                                   phone_tail=tail)])

    rep = start_replication(hall, broker.url, username=HALL, password=password_for(HALL), ack_timeout=1.0,
                            status_interval=1.0)
    central = connected_client(broker.port, "central-3", protocol=5)
    try:
        genuine = message(3, "KEEP22", "1111")
        central.publish(topic, SIGNER.seal(topic, wire.encode(genuine)), qos=1, retain=True).wait_for_publish(5)
        wait_until(lambda: hall.call(lambda ctx: ctx.store.appointments_version()) == 3, 15,
                   what="central's signed bookings to reach the hall")

        forged = wire.encode(message(2**40, "EVJL22", "9999"))
        sealed = wire.decode(SIGNER.seal(topic, wire.encode(genuine)), wire.Sealed)
        for payload in (forged,  # unsigned
                        Signer.generate().seal(topic, forged),  # signed, by a key that is not central's
                        wire.encode(wire.Sealed(v=wire.V, kid=sealed.kid, sig=sealed.sig, body=forged))):
            central.publish(topic, payload, qos=1, retain=True).wait_for_publish(5)

        def refused():
            hall.call(lambda ctx: None)
            got = [msgspec.json.decode(e.body) for e in hall.store.events(0, 1000) if e.kind == "downlink.refused"]
            return got if len(got) >= 3 else None

        got = wait_until(refused, 15, what="three refusals in the hall's log")
        assert [(r["topic"], r["reason"]) for r in got] == [
            (topic, "unsigned"), (topic, "unknown_key"), (topic, "bad_signature")]
    finally:
        central.loop_stop()
        central.disconnect()
        rep.stop()
    assert hall.call(lambda ctx: ctx.store.appointments_version()) == 3
    assert [b.code for b in hall.call(lambda ctx: ctx.store.bookings_on("2026-11-23"))] == ["KEEP22"]
    with pytest.raises(NotFound):
        hall.call(appointments.check_in, "EVJL22")
    with pytest.raises(NotFound):
        hall.call(appointments.check_in, "9999")
    assert hall.call(appointments.check_in, "1111")["status"] == "on_time"  # the real booking still works
