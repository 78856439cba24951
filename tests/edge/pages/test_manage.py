"""The hall manager's page (edge/pages/manage.py): login, opening and withdrawing windows, logout."""

from __future__ import annotations

from tests.conftest import MANAGER_PASSWORD
from tests.edge.pages.helpers import flash, kinds, sign_on, window


def test_manage_requires_login(client):
    r = client.get("/manage")
    assert str(r.url).endswith("/manage/login") and "大厅管理登录" in r.text
    r = client.post("/manage/windows/W5/open")
    assert str(r.url).endswith("/manage/login")
    assert "window.opened" not in kinds(client)
    r = client.post("/manage/login", data={"manager": "manager", "password": "wrong"})
    assert "账号或密码不正确" in flash(r.text)
    assert str(client.get("/manage").url).endswith("/manage/login")


def test_manage_open_withdraw_logout(client):
    r = client.post("/manage/login", data={"manager": "manager", "password": MANAGER_PASSWORD})
    assert str(r.url).endswith("/manage") and "周主任" in r.text and "5号机动窗口" in r.text
    assert r.headers["content-type"].startswith("text/html")
    assert "今日排队" in r.text
    r = client.post("/manage/windows/W5/open")
    assert "5号机动窗口 已开放" in flash(r.text)
    assert window(client, "W5")["manual"] == "opened" and window(client, "W5")["in_service"]
    sign_on(client, "W5", "s-zhao")  # the flexible window can now be worked (by its B-role)
    r = client.post("/manage/windows/W5/withdraw")
    assert "仍有工作人员签到" in flash(r.text)
    r = client.post("/manage/windows/W2/withdraw")
    assert "2号窗口 已撤回" in flash(r.text)
    assert not window(client, "W2")["in_service"]
    r = client.post("/manage/logout")
    assert str(r.url).endswith("/manage/login")
    assert str(client.get("/manage").url).endswith("/manage/login")
    assert client.get("/console/W5").status_code == 200  # the staff session survives the logout
    assert "亮身份" in client.get("/console/W5").text
