"""The display board (edge/pages/board.py)."""

from __future__ import annotations

import json
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


# ---------------------------------------------------------------- bilingual labels (issue 14)


def labels(html: str) -> tuple[list[str], list[str]]:
    """The board's visible texts outside and inside `lang="en"` elements (title, scripts aside)."""
    from tests.edge.test_i18n import VisibleText

    p = VisibleText()
    p.feed(html)
    return [t for t, lang in p.texts if not lang.startswith("en")], [t for t, lang in p.texts if lang.startswith("en")]


def test_board_labels_are_chinese_with_english_under_them(client, clock):
    """`[display] bilingual` (the default): every fixed label with its English (from the catalog)
    in a `lang="en"` element, no Chinese in those; names and numbers stay Chinese; display.js gets
    its texts from the page (#board-text), the spoken one in Chinese."""
    from tests.pagecheck import chinese_text, english_words

    sign_on(client)
    issue(client, "transcript")
    html = client.get("/display").text
    assert '<html lang="zh-CN">' in html and 'class="board bilingual"' in html
    zh, en = labels(html)
    for pair in ("各部门等候", "Waiting by department"), ("最近叫号", "Latest calls"), ("等待叫号", "Ready"), \
            ("启用语音播报", "Turn on announcements"), ("系统连接中断，正在重连…", "Connection lost, reconnecting…"):
        assert f'{pair[0]}<span class="en" lang="en">{pair[1]}</span>' in html, pair
    assert "Monday 23 November 2026" in en  # the date under the Chinese one
    assert not [t for t in en if chinese_text(t)], en
    assert not [w for t in zh for w in english_words(t)], zh  # English only in lang="en"
    m = re.search(r'<script type="application/json" id="board-text">(.*?)</script>', html, re.S)
    assert json.loads(m.group(1)) == {"last_update": {"zh": "（最后更新 {time}）", "en": "(last update {time})"},
                                      "voice_enabled": "语音播报已启用"}
    js = client.get("/static/display.js").text
    assert not chinese_text(js) and "board-text" in js
    # the closed hall: both lines with the next opening in each language
    clock.set(clock.now().replace(hour=20))
    html = client.get("/display").text
    assert re.search(r'id="closed-note">大厅当前不在服务时间，下次开放：11月24日 \d\d:\d\d<span class="en" lang="en">'
                     r'The hall is closed now; next opening: 24 Nov \d\d:\d\d</span>', html), html


def test_board_bilingual_off_is_chinese_only(tmp_path, clock):
    """`[display] bilingual = false`: the board as before, Chinese only (no English in the page or its texts)."""
    from edge.app import create_app
    from edge.config import load
    from edge.hall import Hall
    from tests.conftest import HALL_TOML, edge_client
    from tests.pagecheck import english_words

    f = tmp_path / "hall.toml"
    f.write_text(HALL_TOML + "\n[display]\nbilingual = false\n", encoding="utf-8")
    h = Hall(load(f), tmp_path / "data", clock)
    h.start()
    try:
        with edge_client(create_app(h, tick_seconds=3600)) as c:
            html = c.get("/display").text
    finally:
        h.stop()
    zh, en = labels(html)
    assert en == [] and 'lang="en"' not in html and 'class="board"' in html
    assert "<h2>各部门等候</h2>" in html and '<button class="voice secondary" id="voice" type="button">启用语音播报</button>' in html
    assert not [w for t in zh for w in english_words(t)], zh
    m = re.search(r'<script type="application/json" id="board-text">(.*?)</script>', html, re.S)
    assert json.loads(m.group(1))["last_update"] == {"zh": "（最后更新 {time}）", "en": None}
