"""The figures a visitor is told follow the real call order (edge.queue.call_order, the rule of
next_waiting applied call after call) [C 11(6), J 22]: an appointment ticket checked in on time
is told it is near the front, a walk-in that the appointments go before it; with central's
`max_in_row` the count is exact. Read through every place that shows it: the ticket API, the
kiosk slip page, the phone page, the printed slip; and checked against the calls the windows
then really make."""

from __future__ import annotations

import random
import re

import pytest

from edge import appointments, phone, printing, queue
from edge.syncing import take_appointments
from sync.contract import events as ev
from sync.contract import wire
from sync.kernel.clock import to_micros
from tests.conftest import MONDAY_9

CODES = [f"KEY{c}AB" for c in "23456789CDEFGHJKLMNPQRSTUVWXYZ"]


def bookings(hall, max_in_row: int, n: int = len(CODES)) -> None:
    """`n` bookings of transcript (academic) for 09:00 today: checked in now, they are on time."""
    start = to_micros(MONDAY_9)
    msg = wire.AppointmentsMessage(
        v=1, hall="test-hall", version=1, first_day="2026-11-23", last_day="2026-11-23",
        policy=wire.AppointmentPolicy(max_in_row=max_in_row),
        bookings=[wire.Booking(id=f"b-{code}", code=code, department="academic", item="transcript", start=start,
                               phone_tail=f"{i:04d}") for i, code in enumerate(CODES[:n])])
    assert hall.call(take_appointments, msg)


def sign_on(hall) -> None:
    hall.call(lambda ctx: ctx.store.append(ev.WindowSignedOn(window="W1", staff="s-li", role="A")))


def call_and_finish(hall) -> str:
    """W1 calls the next number and finishes it; returns the number (calls a minute apart: the
    order of calls is by call time)."""
    hall.clock.advance(minutes=1)
    t = hall.call(queue.call_next, "W1", "s-li")
    hall.call(lambda ctx: ctx.store.append(ev.TicketCompleted(
        ticket=t.id, window="W1", staff="s-li", item="transcript", outcome="instant")))
    return t.number


def drain(hall) -> list[str]:
    out = []
    while hall.call(lambda ctx: ctx.store.waiting("academic", ctx.service_date())):
        out.append(call_and_finish(hall))
    return out


def ahead_everywhere(client, hall, ticket_id: str) -> int:
    """The ticket's "waiting ahead" as the ticket API, the kiosk's slip page, the phone page and
    the printed slip show it; they must agree."""
    api = client.get(f"/api/tickets/{ticket_id}").json()["waiting_ahead"]
    page = client.get(f"/kiosk/tickets/{ticket_id}").text
    m = re.search(r"前面还有 <b>(\d+)</b> 人", page)
    assert m, page
    path = hall.call(phone.ticket_path, ticket_id)
    on_phone = client.get("/api/phone" + path[len("/m"):]).json()["ahead"]
    phone_page = client.get(path).text
    m2 = re.search(r'<b id="phone-ahead">(\d+)</b>', phone_page)
    assert m2, phone_page
    slip = hall.call(printing.slip_of, ticket_id, "测试大厅")
    figures = {api, int(m.group(1)), on_phone, int(m2.group(1)), slip.ahead}
    assert len(figures) == 1, (api, m.group(1), on_phone, m2.group(1), slip.ahead)
    return api


def test_call_order_appointment_after_three_walk_ins_has_none_ahead(client, hall):
    """An appointment ticket checked in on time after three walk-ins has nobody ahead; the
    first walk-in has the appointment ahead; a walk-in behind it counts it too [C 11(6)]."""
    bookings(hall, max_in_row=2, n=1)
    walk = [client.post("/api/tickets", json={"item": "transcript"}).json() for _ in range(3)]
    r = client.post("/kiosk/checkin", data={"entry": CODES[0]}, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"].startswith("/kiosk/tickets/"), r.text
    appt = r.headers["location"].rsplit("/", 1)[1]
    later = client.post("/api/tickets", json={"item": "transcript"}).json()
    assert later["waiting_ahead"] == 4  # the three walk-ins and the appointment: all go first

    assert ahead_everywhere(client, hall, appt) == 0
    assert [ahead_everywhere(client, hall, w["id"]) for w in walk] == [1, 2, 3]
    assert ahead_everywhere(client, hall, later["id"]) == 4
    queues = {q["department"]: q for q in client.get("/api/queue").json()}
    assert queues["academic"]["waiting"] == 5  # what a walk-in taking a number now has ahead
    last = client.post("/api/tickets", json={"item": "transcript"}).json()
    assert last["waiting_ahead"] == ahead_everywhere(client, hall, last["id"]) == 5

    sign_on(hall)
    appt_number = hall.call(lambda ctx: ctx.store.ticket(appt)).number
    assert drain(hall) == [appt_number, *(w["number"] for w in walk), later["number"], last["number"]]


def test_call_order_with_max_in_row_the_count_is_exact(client, hall):
    """max_in_row = 2 and the department's last call was an appointment ticket: the next call
    may take one more appointment, then a walk-in must come, and so on. Every waiting ticket's
    figure is its place in the calls that follow."""
    bookings(hall, max_in_row=2)
    sign_on(hall)
    codes = iter(CODES)

    def appt() -> str:
        return hall.call(appointments.check_in, next(codes))["ticket"]

    def walk_in() -> str:
        return client.post("/api/tickets", json={"item": "transcript"}).json()["id"]

    appt()
    assert len(drain(hall)) == 1  # the department's last call: an appointment ticket
    w1, w2 = walk_in(), walk_in()
    a1, a2, a3 = appt(), appt(), appt()
    w3 = walk_in()
    a4 = appt()
    ids = [w1, w2, a1, a2, a3, w3, a4]
    figures = {t: ahead_everywhere(client, hall, t) for t in ids}
    number = {t: hall.call(lambda ctx, t=t: ctx.store.ticket(t)).number for t in ids}

    expected = (a1, w1, a2, a3, w2, a4, w3)  # the run: (1 before) a1 | w1 | a2 a3 | w2 | a4 | w3
    assert drain(hall) == [number[x] for x in expected]
    assert [figures[x] for x in expected] == list(range(len(expected)))


@pytest.mark.parametrize("seed", range(12))
def test_call_order_figures_match_the_calls_that_follow(hall, seed):
    """Random halls (seeded): walk-ins, priority tickets and on-time appointments arriving
    between calls, `max_in_row` 0…3; at a random moment every waiting ticket's figure is taken,
    then the queue is called empty: each ticket is called after exactly that many others."""
    rnd = random.Random(seed)
    bookings(hall, max_in_row=rnd.randint(0, 3))
    sign_on(hall)
    codes = iter(CODES)
    for _ in range(rnd.randint(8, 20)):
        r = rnd.random()
        if r < 0.35:
            hall.call(appointments.check_in, next(codes))
        elif r < 0.45:
            hall.call(queue.issue, "transcript", None, True)
        elif r < 0.8 or not hall.call(lambda ctx: ctx.store.waiting("academic", ctx.service_date())):
            hall.call(queue.issue, "transcript")
        else:
            call_and_finish(hall)
    waiting = hall.call(lambda ctx: ctx.store.waiting("academic", ctx.service_date()))
    figures = {t.number: hall.call(queue.waiting_ahead, t) for t in waiting}
    called = drain(hall)
    assert {n: called.index(n) for n in called} == figures
