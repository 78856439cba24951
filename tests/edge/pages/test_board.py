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


def test_board_side_column_fits_queues_then_latest_calls(client):
    """Every department's queue, then as many latest calls as the column holds; a hidden
    connection-lost banner for display.js; no full-screen overlay for calls (only the row flashes)."""
    sign_on(client)
    for _ in range(12):
        issue(client, "transcript")
        client.post("/console/W1/call")
        client.post("/console/W1/start")
        client.post("/console/W1/complete", data={"item": "transcript", "outcome": "instant"})
    html = client.get("/display").text
    queues = re.search(r'<ul class="qs" id="queues">(.*?)</ul>', html, re.S).group(1)
    recent = re.search(r'<ol class="recent" id="recent">(.*?)</ol>', html, re.S).group(1)
    assert queues.count("<li>") == 3  # 教务处, 财务处, 保卫处
    assert recent.count("<li>") == min(14 - 3, 10)  # /api/display lists the latest 10 calls
    assert ('<div class="board-lost hidden" id="lost" role="alert"><b>系统连接中断，正在重连…'
            '<span class="en" lang="en">Connection lost, reconnecting…</span></b>') in html
    assert 'id="overlay"' not in html
    js = client.get("/static/display.js").text
    assert 'row.classList.add("flash")' in js and "goOffline" in js
