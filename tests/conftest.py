"""Shared fixtures: a small but complete hall configuration, a manual clock, a running hall,
and an HTTP client against the real Litestar app."""

from __future__ import annotations

import threading
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from edge.auth import hash_secret
from sync.contract.signing import Signer

SH = ZoneInfo("Asia/Shanghai")
PIN = "1234"
MANAGER_PASSWORD = "admin123"

# central's downlink signing key in the tests (made once per test run): every hall file below
# trusts its public key, and `write_signing_key` gives central processes the private key
SIGNER = Signer.generate()

# The read token of the hall's /api/events in tests (edge.web: a program may read the log with it).
EVENTS_TOKEN = "test-events-token"
# What the test clients of the hall's app send: their own origin (page forms are same-origin
# posts, edge.web.CrossSiteMiddleware) and the events read token.
EDGE_HEADERS = {"Origin": "http://testserver.local", "Authorization": f"Bearer {EVENTS_TOKEN}"}



def edge_client(app):
    """A TestClient of the hall's app sending EDGE_HEADERS."""
    from litestar.testing import TestClient

    c = TestClient(app)
    c.headers.update(EDGE_HEADERS)
    return c


def login_manager(c, manager: str = "manager", password: str = MANAGER_PASSWORD):
    """Log a client of the hall's app in as its manager (JSON login, edge.api)."""
    r = c.post("/api/login", json={"manager": manager, "password": password})
    assert r.status_code == 200, r.text
    return c


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

[central]
public_key = "{SIGNER.public_key}"

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
# most tests take numbers before anyone signs on; the default (false) is tested with
# `strict_client` (tests/edge/test_queue.py, tests/edge/pages/test_kiosk.py)
issue_without_open_window = true
"""

# The devices of the test hall (docs/devices.md): appended to HALL_TOML by the device fixtures only,
# so the other tests (and the sync harness's edge processes) run without hardware.
DEVICES_TOML = """
[devices]
debounce_ms = 50
card_hold_ms = 1000
reopen_max_seconds = 0.2

[[devices.readers]]
name = "hall-reader"
port = "/dev/ttyUSB0"
protocol = "rdm6300"
role = "hall"
label = "大厅考勤机"

[[devices.readers]]
name = "w1-reader"
port = "/dev/ttyUSB1"
protocol = "line"
role = "window"
window = "W1"

[devices.pins]
lamp-W1 = { pin = 17, role = "lamp", window = "W1", label = "1号窗口暂停服务灯" }
pause-W1 = { pin = "GPIO27", role = "pause_button", window = "W1" }
rate5-W1 = { pin = 5, role = "rating_button", window = "W1", level = 5, label = "非常满意" }
rate4-W1 = { pin = 6, role = "rating_button", window = "W1", level = 4, label = "满意" }
rate3-W1 = { pin = 13, role = "rating_button", window = "W1", level = 3, label = "基本满意" }
rate2-W1 = { pin = 19, role = "rating_button", window = "W1", level = 2, label = "不满意" }
rate1-W1 = { pin = 26, role = "rating_button", window = "W1", level = 1, label = "非常不满意" }
lamp-W2 = { pin = 22, role = "lamp", window = "W2" }
pause-W2 = { pin = 23, role = "pause_button", window = "W2" }
door-main = { pin = 24, role = "door", label = "大厅正门" }
door-back = { pin = 16, role = "door", label = "后门" }
light-hall = { pin = 25, role = "power", label = "大厅照明" }
ac-hall = { pin = 12, role = "power", label = "空调" }
printers = { pin = 20, role = "power", label = "打印机" }
computers = { pin = 21, role = "power", label = "窗口电脑" }
"""

def write_signing_key(path: Path) -> Path:
    """The tests' central signing key (SIGNER) as a PEM file, mode 0600, for central.toml's
    `[central] signing_key`."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(SIGNER.private_pem())
    path.chmod(0o600)
    return path


# Monday 2026-11-23, 09:00 in the hall's zone: the hall is open.
MONDAY_9 = datetime(2026, 11, 23, 9, 0, tzinfo=SH)


@pytest.fixture(params=["sqlite", "postgresql"])
def central_db(request, tmp_path):
    """Central's database URL (tests/central, tests/sync): a SQLite file, or a fresh PostgreSQL database."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path}/central.db"
    else:
        from tests.pg import fresh_database

        yield from fresh_database()


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
    from sync.kernel.clock import ManualClock

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

    from edge.app import create_app

    app = create_app(hall, tick_seconds=3600, events_token=EVENTS_TOKEN)
    with edge_client(app) as c:
        yield c


@pytest.fixture
def strict_client(clock, tmp_path: Path):
    """A client of the test hall with the default `issue_without_open_window = false`: numbers
    only for a department with a window open now."""
    from edge.app import create_app
    from edge.config import load
    from edge.hall import Hall

    p = tmp_path / "strict-hall.toml"
    p.write_text(HALL_TOML.replace("issue_without_open_window = true", "issue_without_open_window = false"),
                 encoding="utf-8")
    h = Hall(load(p), tmp_path / "strict-data", clock)
    h.start()
    try:
        with edge_client(create_app(h, tick_seconds=3600, events_token=EVENTS_TOKEN)) as c:
            yield c
    finally:
        h.stop()


@pytest.fixture
def signed_on(hall):
    """A client factory: a new TestClient signed on as `staff` at `window`."""

    from edge.app import create_app

    opened = []

    def make(window: str, staff: str):
        c = edge_client(create_app(hall, tick_seconds=3600, events_token=EVENTS_TOKEN))
        c.__enter__()
        opened.append(c)
        r = c.post(f"/api/windows/{window}/sign-on", json={"staff": staff, "pin": PIN})
        assert r.status_code == 200, r.text
        return c

    yield make
    for c in opened:
        c.__exit__(None, None, None)


@pytest.fixture
def device_hall_file(tmp_path: Path) -> Path:
    p = tmp_path / "device-hall.toml"
    p.write_text(HALL_TOML + DEVICES_TOML, encoding="utf-8")
    return p


@pytest.fixture
def device_hall(device_hall_file: Path, clock, tmp_path: Path):
    """A running hall whose configuration has the devices of DEVICES_TOML."""
    from edge.config import load
    from edge.hall import Hall

    h = Hall(load(device_hall_file), tmp_path / "device-data", clock)
    h.start()
    yield h
    h.stop()


@pytest.fixture
def hardware(device_hall):
    """The device coordinator in simulation: MockFactory pins and a pty per reader (read by
    pyserial); device timing on the test clock's monotonic time."""
    from edge.hardware import Hardware

    hw = Hardware(device_hall, simulate=True, reopen_min=0.02)
    hw.start()
    assert hw.wait_ready(), "readers did not open their ptys"
    yield hw
    hw.stop()


@pytest.fixture
def device_client(device_hall, hardware):
    """An HTTP client of a `--simulate` app with the hardware (the /api/sim endpoints)."""

    from edge.app import create_app

    with edge_client(create_app(device_hall, simulate=True, hardware=hardware, tick_seconds=3600,
                                events_token=EVENTS_TOKEN)) as c:
        yield c


def wait_until(predicate, timeout: float = 5.0, what: str = "condition", interval: float = 0.1):
    """Poll `predicate` until it returns a truthy value (returned); fail after `timeout` real
    seconds. Device threads and other processes work asynchronously, so a test waits on the
    condition it needs, never a fixed sleep. Polls every 2 ms at first, backing off to
    `interval`, so a quick condition is seen at once and a slow one (HTTP polling) costs little.
    `what` may be a callable, asked for the failure message only (e.g. a progress report)."""
    import time

    deadline = time.monotonic() + timeout
    pause = min(0.002, interval)
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:g} s waiting for {what() if callable(what) else what}")
        time.sleep(pause)
        pause = min(pause * 2, interval)


def _ours(t: threading.Thread) -> bool:
    return t.name == "hall-writer" or t.name.startswith("badge-")


@pytest.fixture(autouse=True)
def no_leaked_threads():
    """Fail a test that leaves threads of ours running (hall writers, badge readers)."""
    before = set(threading.enumerate())
    yield
    leaked = [t for t in threading.enumerate() if t not in before and t.is_alive() and _ours(t)]
    assert not leaked, f"leaked threads: {leaked}"


# ---------------------------------------------------------------------------- screenshots
_SESSION_START: list[float] = []


def pytest_sessionstart(session):
    import time

    _SESSION_START.append(time.time())


def pytest_unconfigure(config):
    """Say where the browser tests left their screenshots for a person to look at (the last line
    of `make test`)."""
    from tests.pagecheck import SHOTS

    reporter = config.pluginmanager.get_plugin("terminalreporter")
    if reporter is None or not SHOTS.is_dir() or not _SESSION_START:
        return
    new = [p for p in SHOTS.glob("*.png") if p.stat().st_mtime >= _SESSION_START[0]]
    if new:
        reporter.write_line(f"screenshots of this run: {len(new)} in {SHOTS}/ (look at them)")
