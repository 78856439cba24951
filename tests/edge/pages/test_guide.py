"""The public guide (edge/pages/guide.py)."""

from __future__ import annotations



def test_guide_item_full(client):
    html = client.get("/guide/graduation").text
    for text in ("毕业离校手续", "应届毕业生", "离校工作通知", "联办件", "财务处", "保卫处", "离校单",
                 "2 个工作日", "不收费", "0000-1111", "办不成事反映", "0000-1234567"):
        assert text in html, text
    assert html.count('<div class="box">') == 3  # the process as a flow of steps
    index = client.get("/guide").text
    assert 'data-search="休学办理' in index
    assert "/static/guide.js" in index
