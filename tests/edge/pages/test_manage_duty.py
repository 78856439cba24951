"""The hall manager's duty roster page (edge/pages/manage_duty.py) on the example hall
north-student [J 29, U 22, B 29]: login required; every vacation duty day with this hall's
roster; on a duty day, who is signed on at each rostered window (a duty-only staff member signs
on with role "duty"), and a duty day without a roster at this hall keeps the normal schedule."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from edge import presence
from simulators.demologins import DEMO_MANAGER_PASSWORD
from sync.kernel.clock import ManualClock
from tests.conftest import EVENTS_TOKEN, edge_client

HALLS = Path(__file__).resolve().parents[3] / "config" / "halls"
DUTY_DAY = datetime(2027, 1, 19, 9, 30, tzinfo=ZoneInfo("Asia/Shanghai"))  # winter vacation duty day


@pytest.fixture
def duty_hall(tmp_path):
    from edge.app import create_app
    from edge.config import load
    from edge.hall import Hall

    h = Hall(load(HALLS / "north-student.toml"), tmp_path / "data", ManualClock(DUTY_DAY))
    h.start()
    try:
        with edge_client(create_app(h, tick_seconds=3600, events_token=EVENTS_TOKEN)) as c:
            yield h, c
    finally:
        h.stop()


def test_manage_duty_requires_login(duty_hall):
    _, c = duty_hall
    r = c.get("/manage/duty")
    assert str(r.url).endswith("/manage/login")


def test_manage_duty_lists_the_roster_and_who_is_on_duty_today(duty_hall):
    """J 29, U 22, B 29: on 2027-01-19 曲文博 (20220301, on the roster only) signs on at w01 as
    duty staff; the page shows him there as 值班 and w02, not yet signed on, as 未签到; 2026-08-27,
    a duty day without a roster at this hall, keeps the normal schedule."""
    h, c = duty_hall
    w = h.call(presence.sign_on, "w01", "20220301")
    assert w.role == "duty"
    r = c.post("/manage/login", data={"manager": "zhangwei", "password": DEMO_MANAGER_PASSWORD})
    assert 'href="/manage/duty"' in c.get("/manage").text
    r = c.get("/manage/duty")
    assert r.status_code == 200
    rows = r.text.split('<tbody>', 1)[1].split("</tbody>", 1)[0].split("<tr")
    today = [x for x in rows if "2027-01-19" in x][0]
    assert "今日" in today and "曲文博" in today and "值班" in today and "未签到" in today
    unrostered = [x for x in rows if "2026-08-27" in x][0]
    assert "本大厅未排班" in unrostered
    assert sum("2026-07-14" in x for x in rows) == 1  # one row per entry; the day is named once
    assert "下一个值班日：<b>2027-01-19</b>" in r.text
