"""Patrol findings (central.supervision) through the real HTTP app and JSON API; figures in supervision_data."""

from __future__ import annotations

import pytest

from central.supervision import patrols as pt
from tests.central.supervision_data import (ADMIN, FINANCE, HB, actions, api, app, client, count,  # noqa: F401 - fixtures
                                            login, parts)

# ---------------------------------------------------------------- patrols


def test_patrols_bulletin_counts_findings_and_flags_staff_named_two_months_running(client, api, parts):
    """C 20: s-li, named in October and November, gets the written notice in November."""
    store = parts[0]
    login(client, ADMIN)
    findings = [("2026-11-03", "h-a", "W1", "s-li", "纪律", "现场巡查", "上班时间玩手机"),
                ("2026-11-10", "h-a", "W1", "s-li", "态度", "电子监察", "对办事人语气生硬"),
                ("2026-11-12", "h-a", "W2", "s-wang", "效率", "现场巡查", "窗口积压无人处理"),
                ("2026-10-30", "h-a", "W1", "s-li", "纪律", "现场巡查", "离岗未挂牌"),  # October
                ("2026-11-05", "h-c", "W1", "s-li", "其他", "现场巡查", "桌面杂乱")]  # another hall
    for day, hall, window, staff, cat, kind, note in findings:
        r = client.post("/patrols", data={"day": day, "hall": hall, "window": window, "staff": staff,
                                          "category": cat, "kind": kind, "note": note, "inspector": "督查组"},
                        follow_redirects=False)
        assert r.status_code == 303, r.text
    b = client.get("/api/patrols/bulletin?month=2026-11").json()
    assert len(b["findings"]) == 4
    assert {(r["hall"], r["staff"]): (r["findings"], r["notice"]) for r in b["staff"]} == {
        ("h-a", "s-li"): (2, True), ("h-a", "s-wang"): (1, False), ("h-c", "s-li"): (1, False)}
    assert [(r["hall"], r["staff"], r["department"]) for r in b["notices"]] == [("h-a", "s-li", "academic")]
    page = client.get("/patrols/bulletin?month=2026-11")
    assert page.status_code == 200
    notices = page.text.split('class="report notices"')[1].split("</table>")[0]
    assert "李明" in notices and "教务处" in notices
    assert "王芳" not in notices
    assert "书面通报派驻部门" in page.text
    assert client.get("/patrols/bulletin?month=2026-13").status_code == 400
    october = client.get("/api/patrols/bulletin?month=2026-10").json()
    assert [(r["staff"], r["findings"], r["notice"]) for r in october["staff"]] == [("s-li", 1, False)]
    from datetime import date

    assert pt.patrol_findings(store, date(2026, 11, 1), date(2026, 11, 30)) == {
        ("h-a", "s-li"): 2, ("h-a", "s-wang"): 1, ("h-c", "s-li"): 1}
    assert actions(store) == [("admin", "patrol.create")] * 5
    # roles: department heads see their department's findings and record none; hall managers their hall
    assert api.get("/api/patrols?month=2026-11", auth=FINANCE).json() == []
    assert api.post("/api/patrols", json={"day": "2026-11-03", "hall": "h-b", "staff": "s-qian",
                                             "category": "纪律", "kind": "现场巡查", "note": "x"},
                       auth=FINANCE).status_code == 403
    assert api.post("/api/patrols", json={"day": "2026-11-03", "hall": "h-a", "staff": "s-li",
                                             "category": "纪律", "kind": "现场巡查", "note": "x"},
                       auth=HB).status_code == 403
    r = api.post("/api/patrols", json={"day": "2026-11-03", "hall": "h-b", "staff": "s-qian",
                                          "category": "纪律", "kind": "电子监察", "note": "迟到"}, auth=HB)
    assert r.status_code == 201 and r.json()["department"] == "finance"
    assert [p["staff"] for p in api.get("/api/patrols?month=2026-11", auth=FINANCE).json()] == ["s-qian"]
    assert [p["hall"] for p in api.get("/api/patrols", auth=HB).json()] == ["h-b"]
    assert count(store, "Patrol") == 6


@pytest.mark.parametrize("field, value, message", [
    ("category", "卫生", "问题类别"), ("kind", "暗访", "巡查方式"), ("day", "2026/11/03", "巡查日期"),
    ("staff", "s-nobody", "没有工作人员"), ("note", "", "巡查发现"), ("day", "2099-01-01", "不能晚于今天")])
def test_patrols_bad_input_400_nothing_stored(client, api, parts, field, value, message):
    store = parts[0]
    good = {"day": "2026-11-03", "hall": "h-a", "window": "W1", "staff": "s-li", "category": "纪律",
            "kind": "现场巡查", "note": "上班时间玩手机"}
    login(client, ADMIN)
    r = client.post("/patrols", data=good | {field: value})
    assert r.status_code == 400 and message in r.text and r.headers["content-type"].startswith("text/html")
    r = client.post("/api/patrols", json=good | {field: value})
    assert r.status_code == 400 and message in r.json()["detail"]
    assert count(store, "Patrol") == 0 and actions(store) == []


def test_patrols_notice_after_consecutive_bulletins(client, app):
    """C 20: 连续 2 次以上 — a written notice goes to staff named in N consecutive monthly bulletins
    (N = [supervision] notice_bulletins, default 2), not to staff with many findings in one month."""
    import msgspec

    from tests.central.supervision_data import NO_AUTO

    login(client, ADMIN)
    findings = [("2026-09-08", "s-li"), ("2026-10-12", "s-li"), ("2026-11-03", "s-li"),
                ("2026-11-04", "s-wang"), ("2026-11-05", "s-wang"), ("2026-11-06", "s-wang"),  # 3 in one month
                ("2026-10-07", "s-qian"), ("2026-12-01", "s-qian")]  # a month between: not consecutive
    for day, staff in findings:
        r = client.post("/patrols", data={"day": day, "hall": "h-a", "staff": staff, "category": "纪律",
                                          "kind": "现场巡查", "note": "离岗未挂牌"}, follow_redirects=False)
        assert r.status_code == 303, r.text

    def notices(month: str) -> dict[str, bool]:
        b = client.get(f"/api/patrols/bulletin?month={month}").json()
        return {r["staff"]: r["notice"] for r in b["staff"]}

    assert notices("2026-09") == {"s-li": False}
    assert notices("2026-10") == {"s-li": True, "s-qian": False}
    assert notices("2026-11") == {"s-li": True, "s-wang": False}
    assert notices("2026-12") == {"s-qian": False}
    app.state.supervision = msgspec.structs.replace(NO_AUTO, notice_bulletins=3)
    try:
        assert notices("2026-10") == {"s-li": False, "s-qian": False}
        assert notices("2026-11") == {"s-li": True, "s-wang": False}
        page = client.get("/patrols/bulletin?month=2026-11")
        assert page.status_code == 200 and "连续 3 个月被通报" in page.text
    finally:
        app.state.supervision = NO_AUTO
