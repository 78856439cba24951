"""Every page through the real app (edge/pages/common.py: rendering, the error page): every page
renders in Chinese with local assets only; unknown things are 404 pages and an unreadable form a
400 page, never a trace."""

from __future__ import annotations

import re

import pytest

from tests.conftest import login_manager


@pytest.mark.parametrize(
    "url, texts",
    [
        ("/", ["测试校区学生事务大厅", "自助取号", "叫号屏", "窗口工作台", "办事指南", "大厅管理", "正在服务"]),
        ("/kiosk", ["请选择办理部门", "教务处", "等候", "该部门窗口今日不开放", "过号了？重新排队"]),
        ("/kiosk/departments/academic", ["教务处", "成绩单打印", "按部门取号"]),
        ("/kiosk/rejoin", ["过号重新排队", "清空", "删除"]),
        ("/kiosk/items/suspension", ["休学办理", "休学申请表", "3 个工作日", "取号", "优先（老年人/残障人士）"]),
        ("/console", ["1号窗口", "教务处", "未开放", "机动窗口"]),
        ("/console/W1", ["1号窗口", "签到", "工号", "密码", "李明", "赵强"]),
        ("/display", ["1号窗口", "最近叫号", "各部门等候", "/static/display.js"]),
        ("/guide", ["办事指南", "教务处", "休学办理", "报销"]),
        ("/guide/suspension", ["学籍管理规定第二十条", "提交申请", "医院诊断证明", "可容缺", "0000-1234567"]),
        ("/manage/login", ["大厅管理登录", "账号", "密码"]),
    ],
)
def test_common_every_page_renders(client, url, texts):
    r = client.get(url)
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("text/html")
    for t in texts:
        assert t in r.text, (url, t)


def test_common_use_only_local_assets(client):
    for url in ("/", "/kiosk", "/display", "/guide", "/console/W1", "/manage/login"):
        html = client.get(url).text
        assert not re.search(r'(src|href)="(https?:)?//', html), url
        for asset in re.findall(r'(?:src|href)="(/static/[^"]+)"', html):
            assert client.get(asset).status_code == 200, asset
    assert "/static/hall.css" in client.get("/").text


def test_common_unknown_item_and_ticket_are_404_pages(client):
    assert str(client.get("/notices/nope").url).endswith("/console/")  # notices need a session
    login_manager(client)
    for url in ("/kiosk/items/nope", "/guide/nope", "/kiosk/tickets/nope", "/notices/nope", "/console/W9"):
        r = client.get(url)
        assert r.status_code == 404, url
        assert "无法完成" in r.text and "Traceback" not in r.text


def test_common_bad_form_is_a_page_not_a_trace(client):
    r = client.post("/kiosk/tickets", content=b"priority=maybe",
                    headers={"content-type": "application/x-www-form-urlencoded"})
    assert r.status_code == 400 and "无法完成" in r.text and "Traceback" not in r.text
