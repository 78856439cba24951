"""The hall manager walks through leave in a real browser (headless Chromium, tests/pagecheck.py):
logs in, files annual leave for 王芳 (W2), approves it — first without naming the home
department's consent (refused, C 9(3)), then with it — sees the hand-over to 赵强 (B-role of W2,
C 7 / H AB-2), and records 销假 (C 9); a leave filed too late is refused with the reason (J 28)."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from tests.conftest import MANAGER_PASSWORD
from tests.edge.pages.helpers import hall_served
from tests.pagecheck import chromium

SHOTS = Path("/tmp/onestop-shots")
CLOCK_START = "2026-11-23T09:00+08:00"  # a Monday morning

pytestmark = pytest.mark.slow


@pytest.fixture
def browser():
    with chromium() as b:
        yield b


@pytest.fixture
def server(config, tmp_path):
    with hall_served(config, tmp_path / "data", "leave-browser", CLOCK_START) as (url, hall):
        yield url, hall


def test_manage_leave_browser_manager_approves_leave_with_handover_and_records_return(server, browser):
    """C 9(3), C 7, H AB-2, C 9, J 28 through the manager's page."""
    from playwright.sync_api import expect

    base, hall = server
    SHOTS.mkdir(parents=True, exist_ok=True)
    errors: list[str] = []
    ctx = browser.new_context(viewport={"width": 1280, "height": 900}, locale="zh-CN")
    page = ctx.new_page()
    page.on("pageerror", lambda e: errors.append(str(e)))

    page.goto(f"{base}/manage/leave")  # no session: the login page
    expect(page).to_have_url(f"{base}/manage/login")
    page.fill("input[name=manager]", "manager")
    page.fill("input[name=password]", MANAGER_PASSWORD)
    page.locator("form[action='/manage/login'] button[type=submit]").click()
    page.get_by_role("link", name="考勤与请假").click()
    expect(page.locator("#attendance-today")).to_contain_text("王芳")

    def file(staff: str, kind: str, start: str, end: str, reason: str = "") -> None:
        form = page.locator("#leave-form")
        form.locator("select[name=staff]").select_option(staff)
        form.locator("select[name=kind]").select_option(kind)
        form.locator("input[name=start]").fill(start)
        form.locator("input[name=end]").fill(end)
        form.locator("input[name=reason]").fill(reason)
        form.get_by_role("button", name="提交请假").click()

    # J 28: a week back is beyond the 3 working days of after-the-fact leave
    file("s-li", "personal", "2026-11-16", "2026-11-16", "忘记请假")
    expect(page.locator(".flash")).to_contain_text("事后补办须在请假首日后 3 个工作日内")

    file("s-wang", "annual", "2026-11-25", "2026-11-26", "探亲")
    expect(page.locator(".flash")).to_contain_text("已代 王芳 提交年假")
    card = page.locator("#pending ~ .card.leave").first
    expect(card).to_contain_text("须派出部门同意")
    leave_id = card.get_attribute("data-leave")
    # C 9(3): the note is required in the form; a blank one sent anyway is refused by the hall
    page.evaluate("id => document.getElementById('note-' + id).removeAttribute('required')", leave_id)
    card.get_by_role("button", name="批准").click()
    expect(page.locator(".flash")).to_contain_text("须经派出部门同意")
    assert hall.call(lambda c: c.store.leave(leave_id)).state == "requested"

    card = page.locator(f'.card.leave[data-leave="{leave_id}"]')
    card.locator(f"#note-{leave_id}").fill("教务处刘处长电话同意")
    card.get_by_role("button", name="批准").click()
    expect(page.locator(".flash")).to_contain_text("已批准 王芳 的年假；2号窗口 由 赵强 顶岗")
    current = page.locator(f'.card.leave[data-leave="{leave_id}"]')
    expect(current.locator(".handover")).to_contain_text("由 赵强 顶岗")
    page.screenshot(path=str(SHOTS / "manage-leave-approved.png"), full_page=True)
    lv = hall.call(lambda c: c.store.leave(leave_id))
    assert lv.state == "approved" and lv.approver == "department"
    assert lv.handover == [{"window": "W2", "stand_in": "s-zhao"}]

    # 销假 before it began: the whole leave is cancelled [C 9]
    current.locator(f"#returned-{leave_id}").fill("2026-11-25")
    current.get_by_role("button", name="销假").click()
    expect(page.locator(".flash")).to_contain_text("未休，整体取消")
    assert hall.call(lambda c: c.store.leave(leave_id)).state == "cancelled"
    expect(page.locator("#past ~ .table-wrap")).to_contain_text("已销假")
    assert date.fromisoformat(lv.start) == date(2026, 11, 25)
    assert not errors, errors
