"""Printable notices (edge/pages/notices.py)."""

from __future__ import annotations

from tests.edge.pages.helpers import call_and_complete, case_link, flash, sign_on


def test_notices_lists_every_missing_material(client):
    sign_on(client)
    html = call_and_complete(client, "suspension", "notice",
                             missing_notice=["suspension:application", "suspension:medical", "suspension:id-card"])
    assert "已办结：一次性告知" in flash(html) and "打印一次性告知书" in html
    notice = client.get(case_link(html))
    assert notice.status_code == 200
    for text in ("一次性告知书", "休学申请表", "医院诊断证明", "身份证复印件", "测试校区学生事务大厅", "休学办理",
                 "A001", "1号窗口", "李明", "2026年11月23日", "经办人签字", "申请人签收"):
        assert text in notice.text, text
    assert "@page" not in notice.text and "/static/hall.css" in notice.text  # print CSS lives in the stylesheet


def test_notices_refused_notice_shows_reason(client):
    sign_on(client)
    html = call_and_complete(client, "suspension", "refused", reason="不符合休学条件：未满一学期")
    notice = client.get(case_link(html)).text
    assert "不予受理（退件）通知书" in notice and "不符合休学条件：未满一学期" in notice
