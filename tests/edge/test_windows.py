"""Windows (edge.windows): which are in service on a day, and the hall manager's overrides."""

from __future__ import annotations

from datetime import datetime

import pytest

from edge import presence, windows
from edge.workflow import Refused
from tests.conftest import SH


def take(client, **body):
    r = client.post("/api/tickets", json=body)
    assert r.status_code == 201, r.text
    return r.json()


def test_windows_periodic_and_flexible_open_on_their_days(client, hall, clock):
    """Periodic and flexible (tidal) windows open on their days only [B 7, B 10, J 9]."""
    # W4 (security) opens Tue/Thu only; Monday: no window for security today
    r = client.post("/api/tickets", json={"item": "hukou"})
    assert r.status_code == 409 and r.json()["code"] == "no-window-today"
    r = client.post("/api/windows/W4/sign-on", json={"staff": "s-sun", "pin": "1234"})
    assert r.status_code == 409 and r.json()["code"] == "window-not-in-service"
    clock.set(datetime(2026, 11, 24, 9, 0, tzinfo=SH))  # Tuesday
    assert take(client, item="hukou")["number"] == "S001"
    # W5 is flexible: outside its peak only when the hall manager opens it
    r = client.post("/api/windows/W5/sign-on", json={"staff": "s-zhao", "pin": "1234"})
    assert r.json()["code"] == "window-not-in-service"
    hall.call(windows.open_window, "W5", "manager")
    r = client.post("/api/windows/W5/sign-on", json={"staff": "s-zhao", "pin": "1234"})
    assert r.status_code == 200 and r.json()["role"] == "B"


def test_windows_withdraw_refused_while_staffed_then_takes_it_out_of_service(hall, clock):
    """The manager withdraws a window only once nobody is signed on there [J 10]."""
    hall.call(presence.sign_on, "W1", "s-li")
    with pytest.raises(Refused) as e:
        hall.call(windows.withdraw_window, "W1", "manager")
    assert e.value.code == "window-staffed"
    hall.call(presence.sign_off, "W1", "s-li")
    assert hall.call(windows.withdraw_window, "W1", "manager").manual == "withdrawn"
    assert hall.call(windows.in_service, "W1", clock.now().date()) is False
    assert hall.call(windows.open_window, "W1", "manager").manual == "opened"
    assert hall.call(windows.in_service, "W1", clock.now().date()) is True


def test_windows_sign_off_leaving_visitors_unserved_is_refused_over_the_api_and_the_badge(client, hall, clock):
    """Staff leave only after serving whoever took a number [U 21, B 28, C 11(6)]: the API answers
    409 `department-still-waiting`; the badge's quick second tap is refused on the reader; once
    another window of the department serves, or the queue is empty, the sign-off goes through."""
    r = client.post("/api/windows/W1/sign-on", json={"staff": "s-li", "pin": "1234"})
    assert r.status_code == 200
    take(client, item="transcript")
    r = client.post("/api/windows/W1/sign-off")
    assert r.status_code == 409 and r.json()["code"] == "department-still-waiting"
    assert "1 人在等候" in r.json()["detail"]
    hall.call(presence.pause, "W1", "s-li", via="badge")
    card = next(s.card for s in hall.config.business.staff if s.id == "s-li")
    res = hall.call(presence.badge_at_window, "W1", "w1-reader", card)  # the quick second tap
    assert res["result"] == "refused" and res["code"] == "department-still-waiting"
    assert hall.call(lambda ctx: ctx.store.window("W1")).staff == "s-li"
    hall.call(presence.sign_on, "W2", "s-zhao")  # the department's B window serves now
    assert client.post("/api/windows/W1/sign-off").status_code == 200
    assert hall.call(lambda ctx: ctx.store.window("W1")).staff is None
