"""The hall's home page (edge/pages/home.py)."""

from __future__ import annotations

from datetime import datetime

from tests.conftest import SH


def test_home_shows_closed_state(client, clock):
    clock.set(datetime(2026, 11, 23, 20, 0, tzinfo=SH))
    html = client.get("/").text
    assert "暂停服务时间" in html
    assert "下次开放：11月24日 08:00" in html
