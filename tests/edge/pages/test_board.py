"""The display board (edge/pages/board.py)."""

from __future__ import annotations

import re

from tests.edge.pages.helpers import issue, sign_on


def test_board_display_shows_calls_and_queues(client):
    sign_on(client)
    issue(client, "transcript")
    issue(client, "reimburse")
    html = client.get("/display").text
    assert re.search(r"<span>教务处</span><span><b>1</b> 人</span>", html)
    client.post("/console/W1/call")
    html = client.get("/display").text
    assert re.search(r'data-window="W1".*?<div class="wnum">A001</div>.*?李明', html, re.S)
    assert re.search(r"<li><b>A001</b><span>1号窗口</span>", html)
    assert 'data-window="W4"' not in html  # periodic window not open today is not shown
    assert "speechSynthesis" in client.get("/static/display.js").text
