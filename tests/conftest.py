"""Shared fixtures: a small but complete hall configuration, a manual clock, a running hall,
and an HTTP client against the real Litestar app."""

from __future__ import annotations

import threading
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from edge.auth import hash_secret

SH = ZoneInfo("Asia/Shanghai")
PIN = "1234"
MANAGER_PASSWORD = "admin123"

_PIN_HASH = hash_secret(PIN, iterations=1000)
_MANAGER_HASH = hash_secret(MANAGER_PASSWORD, iterations=1000)

HALL_TOML = f"""
[hall]
id = "test-hall"
name = "测试校区学生事务大厅"
campus = "test"
campus_name = "测试校区"
centre = "测试大学师生服务中心"
complaint_phone = "0000-1234567"

[business]
version = 1

[[business.catalog.departments]]
id = "academic"
name = "教务处"
prefix = "A"
phone = "0000-1111"

[[business.catalog.departments]]
id = "finance"
name = "财务处"
prefix = "F"
phone = "0000-2222"

[[business.catalog.departments]]
id = "security"
name = "保卫处"
prefix = "S"

[[business.catalog.departments]]
id = "elsewhere"
name = "后勤处"
prefix = "L"

[[business.catalog.items]]
id = "transcript"
name = "成绩单打印"
department = "academic"
audience = "在校生"
basis = "学籍管理规定"
process = ["取号", "核验身份", "打印盖章"]
materials = [{{id = "student-card", name = "学生证"}}]
service_minutes = 4

[[business.catalog.items]]
id = "suspension"
name = "休学办理"
department = "academic"
audience = "在校生"
basis = "学籍管理规定第二十条"
process = ["提交申请", "学院审核", "教务处审批"]
mode = "promised"
promise_days = 3
materials = [
  {{id = "application", name = "休学申请表"}},
  {{id = "medical", name = "医院诊断证明", gap_allowed = true}},
  {{id = "id-card", name = "身份证复印件", gap_allowed = true}},
]
service_minutes = 10

[[business.catalog.items]]
id = "graduation"
name = "毕业离校手续"
department = "academic"
audience = "应届毕业生"
basis = "离校工作通知"
process = ["教务处受理", "财务处核账", "保卫处迁户口"]
mode = "joint"
promise_days = 2
co_departments = ["finance", "security"]
materials = [{{id = "form", name = "离校单"}}]

[[business.catalog.items]]
id = "reimburse"
name = "报销"
department = "finance"
audience = "教职工"
basis = "财务报销办法"
process = ["投递", "审核", "支付"]
materials = [{{id = "invoice", name = "发票"}}]

[[business.catalog.items]]
id = "hukou"
name = "户口卡借用"
department = "security"
audience = "集体户口学生"
basis = "户籍管理规定"
process = ["登记", "借出"]

[[business.catalog.items]]
id = "dorm"
name = "宿舍调整"
department = "elsewhere"
audience = "学生"
basis = "宿舍管理办法"
process = ["申请"]

[business.calendar]
timezone = "Asia/Shanghai"
periods = [{{start = "08:00", end = "11:30"}}, {{start = "13:00", end = "16:30"}}]
closures = [
  {{kind = "last-weekday-of-month", weekday = 3, start = "13:00", name = "政治学习"}},
  {{kind = "weekly", weekday = 5, start = "16:00", name = "周五下午提前闭厅"}},
]
holidays = [{{start = 2026-10-01, end = 2026-10-07, name = "国庆节"}}]
workdays = [{{date = 2026-10-10, name = "国庆调休"}}]

[[business.windows]]
id = "W1"
name = "1号窗口"
department = "academic"

[[business.windows]]
id = "W2"
name = "2号窗口"
department = "academic"

[[business.windows]]
id = "W3"
name = "3号窗口"
department = "finance"

[[business.windows]]
id = "W4"
name = "4号窗口"
department = "security"
kind = "periodic"
weekdays = [2, 4]

[[business.windows]]
id = "W5"
name = "5号机动窗口"
department = "academic"
kind = "flexible"
peaks = [{{start = 2026-09-01, end = 2026-09-12, name = "迎新"}}]

[[business.staff]]
id = "s-li"
name = "李明"
department = "academic"
phone = "0000-1111-01"
card = "0A00C3D2F1"
windows = ["W1"]
pin_hash = "{_PIN_HASH}"

[[business.staff]]
id = "s-wang"
name = "王芳"
department = "academic"
windows = ["W2"]
pin_hash = "{_PIN_HASH}"

[[business.staff]]
id = "s-zhao"
name = "赵强"
department = "academic"
backup_for = ["W1", "W2", "W5"]
kind = "student"
pin_hash = "{_PIN_HASH}"

[[business.staff]]
id = "s-qian"
name = "钱红"
department = "finance"
windows = ["W3"]
pin_hash = "{_PIN_HASH}"

[[business.staff]]
id = "s-sun"
name = "孙刚"
department = "security"
windows = ["W4"]
pin_hash = "{_PIN_HASH}"

[[business.managers]]
id = "manager"
name = "周主任"
password_hash = "{_MANAGER_HASH}"

[business.rules]
no_show_after_recalls = 2
rejoin_limit = 1
"""

# Monday 2026-11-23, 09:00 in the hall's zone: the hall is open.
MONDAY_9 = datetime(2026, 11, 23, 9, 0, tzinfo=SH)


@pytest.fixture
def hall_file(tmp_path: Path) -> Path:
    p = tmp_path / "test-hall.toml"
    p.write_text(HALL_TOML, encoding="utf-8")
    return p


@pytest.fixture
def config(hall_file: Path):
    from edge.config import load

    return load(hall_file)


@pytest.fixture
def clock():
    from sync.clock import ManualClock

    return ManualClock(MONDAY_9)


@pytest.fixture
def hall(config, clock, tmp_path: Path):
    from edge.hall import Hall

    h = Hall(config, tmp_path / "data", clock)
    h.start()
    yield h
    h.stop()


@pytest.fixture
def client(hall):
    from litestar.testing import TestClient

    from edge.app import create_app

    app = create_app(hall, tick_seconds=3600)
    with TestClient(app) as c:
        yield c


@pytest.fixture
def signed_on(hall):
    """A client factory: a new TestClient signed on as `staff` at `window`."""
    from litestar.testing import TestClient

    from edge.app import create_app

    opened = []

    def make(window: str, staff: str):
        c = TestClient(create_app(hall, tick_seconds=3600))
        c.__enter__()
        opened.append(c)
        r = c.post(f"/api/windows/{window}/sign-on", json={"staff": staff, "pin": PIN})
        assert r.status_code == 200, r.text
        return c

    yield make
    for c in opened:
        c.__exit__(None, None, None)


@pytest.fixture(autouse=True)
def no_leaked_threads():
    """Fail a test that leaves threads of ours running."""
    before = set(threading.enumerate())
    yield
    leaked = [t for t in threading.enumerate() if t not in before and t.is_alive() and t.name == "hall-writer"]
    assert not leaked, f"leaked threads: {leaked}"
