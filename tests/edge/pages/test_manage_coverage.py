"""The hall manager's coverage page (edge/pages/manage_coverage.py): login required, a day's
coverage per window with the uncovered intervals — a mid-day sign-off shows as one [U 21, B 28] —
and a bad date refused with a message."""

from __future__ import annotations

from edge import presence
from tests.conftest import MANAGER_PASSWORD


def test_manage_coverage_requires_login(client):
    r = client.get("/manage/coverage")
    assert str(r.url).endswith("/manage/login") and "大厅管理登录" in r.text


def test_manage_coverage_shows_the_mid_day_sign_off_gap_as_uncovered(client, hall, clock):
    """U 21, B 28: s-li works W1 from 09:00, signs off at 10:00 and back on at 10:30; at 11:00 the
    page shows 10:00–10:30 uncovered for W1 (and 08:00–09:00, before anyone signed on)."""
    hall.call(presence.sign_on, "W1", "s-li")
    clock.advance(hours=1)
    hall.call(presence.sign_off, "W1", "s-li")
    clock.advance(minutes=30)
    hall.call(presence.sign_on, "W1", "s-li")
    clock.advance(minutes=30)
    client.post("/manage/login", data={"manager": "manager", "password": MANAGER_PASSWORD})
    assert 'href="/manage/coverage"' in client.get("/manage").text
    r = client.get("/manage/coverage")
    assert r.status_code == 200
    row = r.text.split('<tr data-window="W1">', 1)[1].split("</tr>", 1)[0]
    assert "08:00–09:00" in row and "10:00–10:30" in row
    assert "<td>3:00</td><td>1:30</td>" in row  # open so far 3 h, A 1 h 30
    assert "50.0%" in row  # covered 1 h 30 of 3 h
    r = client.get("/manage/coverage?day=2026-13-01")
    assert r.status_code == 400 and "日期须为" in r.text
