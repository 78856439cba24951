"""A working day of the hall manager in a real browser (headless Chromium, tests/pagecheck.py),
on the hall's injected clock: 王芳 (W2) asks at her console for leave after the fact [J 28] and
for annual leave; the manager (1440×900) approves both — the annual one naming the home
department's consent [C 9(3)] — and sees the hand-over to 赵强 [C 7, H AB-2], which 王芳's
leave page then shows too; at 09:00 the manual closing check is refused (the hall is serving),
after closing the manager records it (doors shut, power off, a note) and it shows as 人工确认
[J 42, U 31, B 39]; the events are the ones central files."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import msgspec
import pytest

from tests.conftest import MANAGER_PASSWORD, PIN, SH
from tests.edge.pages.helpers import served
from tests.pagecheck import chromium

SHOTS = Path("/tmp/onestop-shots")
MONDAY_9 = datetime(2026, 11, 23, 9, 0, tzinfo=SH)

pytestmark = pytest.mark.slow


def bodies(hall, kind: str) -> list[dict]:
    return [msgspec.json.decode(e.body) for e in hall.store.events(0, 1000) if e.kind == kind]


@pytest.fixture
def server(config, tmp_path):
    """The test hall on a manual clock (the test moves the day on), served by uvicorn."""
    from edge.app import create_app
    from edge.hall import Hall
    from sync.kernel.clock import ManualClock

    clock = ManualClock(MONDAY_9)
    hall = Hall(config, tmp_path / "data", clock)
    hall.start()
    try:
        with served(create_app(hall, tick_seconds=3600), "manage-work-browser") as url:
            yield url, hall, clock
    finally:
        hall.stop()


@pytest.fixture
def browser():
    with chromium() as b:
        yield b


def test_manage_work_browser_leave_approval_and_manual_closing_check(server, browser):
    """J 28, C 9(3), C 7, H AB-2 and J 42 through the clerk's and the manager's pages."""
    from playwright.sync_api import expect

    base, hall, clock = server
    SHOTS.mkdir(parents=True, exist_ok=True)
    errors: list[str] = []

    clerk = browser.new_context(viewport={"width": 1366, "height": 768}, locale="zh-CN").new_page()
    clerk.on("pageerror", lambda e: errors.append(str(e)))
    clerk.goto(f"{base}/console/W2")
    clerk.fill("#staff", "s-wang")
    clerk.fill("#pin", PIN)
    clerk.get_by_role("button", name="签到").click()
    expect(clerk.locator(".flash")).to_contain_text("签到成功")
    clerk.get_by_role("link", name="请假").click()
    expect(clerk).to_have_url(f"{base}/console/W2/leave")

    def ask(kind: str, start: str, end: str, reason: str) -> None:
        form = clerk.locator("#leave-form")
        form.locator("select[name=kind]").select_option(kind)
        form.locator("input[name=start]").fill(start)
        form.locator("input[name=end]").fill(end)
        form.locator("input[name=reason]").fill(reason)
        form.get_by_role("button", name="提交请假").click()

    ask("personal", "2026-11-20", "2026-11-20", "家中急事，未及请假")  # last Friday: after the fact [J 28]
    expect(clerk.locator(".flash")).to_contain_text("已提交事假")
    expect(clerk.locator(".flash")).to_contain_text("事后补办")
    ask("annual", "2026-11-25", "2026-11-26", "探亲")
    expect(clerk.locator(".flash")).to_contain_text("须派出部门同意")
    expect(clerk.locator("#mine ~ .card.leave")).to_have_count(2)
    clerk.screenshot(path=str(SHOTS / "console-leave-requested.png"), full_page=True)

    page = browser.new_context(viewport={"width": 1440, "height": 900}, locale="zh-CN").new_page()
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(f"{base}/manage")
    page.fill("input[name=manager]", "manager")
    page.fill("input[name=password]", MANAGER_PASSWORD)
    page.locator("form[action='/manage/login'] button[type=submit]").click()
    page.get_by_role("link", name="考勤与请假").click()
    pending = page.locator("#pending ~ .card.leave")
    expect(pending).to_have_count(2)
    late = pending.filter(has_text="事后补办")
    late.locator("input[name=note]").first.fill("情况属实")
    late.get_by_role("button", name="批准").click()
    expect(page.locator(".flash")).to_contain_text("已批准 王芳 的事假")
    annual = page.locator("#pending ~ .card.leave").filter(has_text="年假")
    annual.locator("input[name=note]").first.fill("教务处刘处长电话同意")
    annual.get_by_role("button", name="批准").click()
    expect(page.locator(".flash")).to_contain_text("已批准 王芳 的年假；2号窗口 由 赵强 顶岗")
    expect(page.locator("#pending")).to_contain_text("待审批的请假（0）")
    page.screenshot(path=str(SHOTS / "manage-work-leave-approved.png"), full_page=True)
    approved = bodies(hall, "leave.approved")
    assert [b.get("approver", "hall") for b in approved] == ["hall", "department"]
    assert approved[1]["handover"] == [{"window": "W2", "stand_in": "s-zhao"}]

    clerk.reload()
    expect(clerk.locator("#mine ~ .card.leave").filter(has_text="年假").locator(".handover")).to_contain_text("由 赵强 顶岗")

    # the closing check: not while the hall serves; after closing the manager's own round
    page.goto(f"{base}/manage")
    page.get_by_role("link", name="闭厅检查").click()
    expect(page).to_have_url(f"{base}/manage/closing")
    form = page.locator("#manual-form")
    form.get_by_text("门窗已关闭").click()
    form.get_by_text("灯光、空调、电脑、打印机已断电").click()
    form.get_by_role("button", name="记录人工检查").click()
    expect(page.locator(".flash")).to_contain_text("今日服务尚未结束")
    assert bodies(hall, "closing.checked") == []

    clock.set(datetime(2026, 11, 23, 16, 50, tzinfo=SH))
    page.reload()
    form = page.locator("#manual-form")
    form.get_by_text("门窗已关闭").click()
    form.get_by_role("button", name="记录人工检查").click()  # power not confirmed: a note is needed
    expect(page.locator(".flash")).to_contain_text("请在备注中说明")
    form = page.locator("#manual-form")
    form.get_by_text("门窗已关闭").click()
    form.get_by_text("灯光、空调、电脑、打印机已断电").click()
    form.locator("textarea[name=note]").fill("巡查完毕，空调已断电")
    form.get_by_role("button", name="记录人工检查").click()
    expect(page.locator(".flash")).to_contain_text("人工检查已记录：人工确认通过")
    expect(page.locator("#closing-state")).to_contain_text("人工确认通过")
    expect(page.locator("#checks ~ .table-wrap")).to_contain_text("巡查完毕，空调已断电")
    page.screenshot(path=str(SHOTS / "manage-work-closing-manual.png"), full_page=True)
    (checked,) = bodies(hall, "closing.checked")
    assert (checked["ok"], checked["manual"], checked["by"], checked["note"]) == (True, True, "manager", "巡查完毕，空调已断电")
    assert not errors, errors
