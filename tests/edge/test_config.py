"""Hall configuration files: the example campus in config/ and the errors bad files produce.

Part (a) loads every config/halls/*.toml with `edge.config.load` and checks the properties the
regulations ask for (AB岗, window kinds, shared catalog, working calendar). Part (b) writes broken
files to tmp_path and checks that `ConfigError` names the file and the field.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from datetime import date, timedelta
from pathlib import Path

import pytest

from edge.config import ConfigError, EdgeConfig, load

# one xdist worker runs this file in order (its module-scoped fixtures are shared; `make test`)
pytestmark = pytest.mark.xdist_group("edge.test_config")

ROOT = Path(__file__).parents[2]
HALLS_DIR = ROOT / "config" / "halls"


def verify_hash(secret: str, encoded: str) -> bool:
    """pbkdf2_sha256$<iterations>$<salt_hex>$<hash_hex>, as docs/configuration.md describes."""
    algorithm, iterations, salt_hex, hash_hex = encoded.split("$")
    assert algorithm == "pbkdf2_sha256"
    digest = hashlib.pbkdf2_hmac("sha256", secret.encode(), bytes.fromhex(salt_hex), int(iterations))
    return hmac.compare_digest(digest.hex(), hash_hex)


@pytest.fixture(scope="module")
def halls() -> dict[str, EdgeConfig]:
    loaded = [load(p) for p in sorted(HALLS_DIR.glob("*.toml"))]
    return {cfg.hall.id: cfg for cfg in loaded}


# ======================================================================== (a) the example campus


def test_config_loads_three_halls(halls):
    assert set(halls) == {"north-student", "north-staff", "south-hall"}
    for hall_id, cfg in halls.items():
        assert (HALLS_DIR / f"{hall_id}.toml").exists(), "file name = hall id"
        assert cfg.hall.name and cfg.hall.campus_name and cfg.hall.address and cfg.hall.complaint_phone
        assert cfg.hall.centre.endswith("师生服务中心")
        assert cfg.business.version >= 1
    assert halls["north-student"].hall.campus == halls["north-staff"].hall.campus == "north"
    assert halls["south-hall"].hall.campus == "south"


def test_config_halls_listen_on_distinct_ports(halls):
    listens = {hall_id: cfg.http.listen for hall_id, cfg in halls.items()}
    assert listens == {
        "north-student": "127.0.0.1:8101",
        "north-staff": "127.0.0.1:8102",
        "south-hall": "127.0.0.1:8103",
    }


def test_config_broker_user_is_hall_id(halls):
    for hall_id, cfg in halls.items():
        assert cfg.broker.url == "mqtt://127.0.0.1:1883"
        assert cfg.broker.username == hall_id
        assert cfg.broker.password


def test_config_halls_share_one_catalog_and_calendar(halls):
    first, *others = halls.values()
    for cfg in others:
        assert cfg.business.catalog == first.business.catalog
        assert cfg.business.calendar == first.business.calendar


def test_config_catalog_has_departments_and_items(halls):
    catalog = halls["north-student"].business.catalog
    depts = {d.id: d for d in catalog.departments}
    assert len(depts) >= 7
    assert {"academic", "graduate", "student-affairs", "personnel", "finance", "international", "security"} <= set(depts)
    assert depts["academic"].name == "教务处" and depts["security"].name == "保卫处"
    prefixes = [d.prefix for d in catalog.departments]
    assert len(set(prefixes)) == len(prefixes)
    assert all(len(p) == 1 for p in prefixes)
    assert all(d.phone and d.description for d in catalog.departments)
    assert len(catalog.items) >= 30
    for dept_id in depts:
        assert sum(1 for i in catalog.items if i.department == dept_id) >= 3, dept_id


def test_config_items_publish_a_complete_guide(halls):
    # [J 18, U 17, B 20]: name, audience, basis, process, materials, location, time limit, forms
    for item in halls["north-student"].business.catalog.items:
        assert item.name and item.audience and item.basis and item.location, item.id
        assert len(item.process) >= 2, item.id
        assert item.materials, item.id
        assert all(m.copies for m in item.materials), item.id
        assert item.keywords, item.id
        assert 3 <= item.service_minutes <= 20, item.id


def test_config_item_modes(halls):
    items = halls["north-student"].business.catalog.items
    by_mode = {mode: [i for i in items if i.mode == mode] for mode in ("instant", "promised", "joint")}
    assert len(by_mode["instant"]) > max(len(by_mode["promised"]), len(by_mode["joint"])), "most items are instant"
    assert len(by_mode["promised"]) >= 5
    assert len(by_mode["joint"]) >= 3
    for item in by_mode["promised"]:
        assert 1 <= item.promise_days <= 10, item.id
    for item in by_mode["instant"]:
        assert item.promise_days == 0 and not item.co_departments, item.id
    assert sum(1 for i in items if i.appointment) >= 3
    assert sum(1 for i in items for m in i.materials if m.gap_allowed) >= 5


def test_config_joint_items_have_co_departments(halls):
    items = {i.id: i for i in halls["north-student"].business.catalog.items}
    for item in items.values():
        if item.mode == "joint":
            assert item.co_departments, item.id
            assert item.department not in item.co_departments, item.id
    assert {"finance", "security"} <= set(items["graduation-clearance"].co_departments)
    assert "security" in items["intl-student-visa"].co_departments
    assert "finance" in items["staff-onboarding"].co_departments


def test_config_calendar_hours_and_closures(halls):
    cal = halls["north-student"].business.calendar
    assert cal.timezone == "Asia/Shanghai"
    assert [(p.start, p.end) for p in cal.periods] == [("08:00", "11:30"), ("13:00", "16:30")]
    closures = {(c.kind, c.weekday): c for c in cal.closures}
    assert closures[("last-weekday-of-month", 3)].start == "13:00"
    assert "政治学习" in closures[("last-weekday-of-month", 3)].name
    assert closures[("weekly", 5)].start == "16:00"


def test_config_calendar_holidays_and_workdays(halls):
    cal = halls["north-student"].business.calendar
    holidays = {(h.start, h.end): h.name for h in cal.holidays}
    assert holidays[(date(2026, 2, 15), date(2026, 2, 23))] == "春节"
    assert holidays[(date(2026, 10, 1), date(2026, 10, 7))] == "国庆节"
    assert any(h.start == date(2027, 1, 1) for h in cal.holidays)
    holiday_days = {h.start + timedelta(days=n) for h in cal.holidays for n in range((h.end - h.start).days + 1)}
    assert cal.workdays
    for w in cal.workdays:
        assert w.date.isoweekday() in cal.weekend, f"make-up day {w.date} is not a weekend day"
        assert w.date not in holiday_days


def test_config_calendar_vacations_have_duty_days(halls):
    cal = halls["north-student"].business.calendar
    assert {v.start.year for v in cal.vacations} == {2026, 2027}
    for v in cal.vacations:
        assert v.duty_days, v.name
        assert [(p.start, p.end) for p in v.duty_periods] == [("09:00", "11:30")]
        for d in v.duty_days:
            assert v.start <= d <= v.end, d
            assert d.isoweekday() not in cal.weekend, d


def test_config_each_hall_has_fixed_periodic_and_flexible_windows(halls):
    for hall_id, cfg in halls.items():
        kinds = {w.kind for w in cfg.business.windows}
        assert kinds == {"fixed", "periodic", "flexible"}, hall_id
        for w in cfg.business.windows:
            if w.kind == "flexible":
                assert w.peaks, f"{hall_id}: flexible window {w.id} has no peaks"
                assert all(p.start <= p.end and p.name for p in w.peaks)


def test_config_halls_serve_their_departments(halls):
    served = {h: {w.department for w in cfg.business.windows} for h, cfg in halls.items()}
    assert served["north-student"] == {"academic", "graduate", "student-affairs", "finance", "security", "international"}
    assert served["north-staff"] == {"personnel", "finance", "international", "academic"}
    assert len(served["south-hall"]) >= 4


def test_config_every_window_has_one_a_role(halls):
    # one staff member per window [J 11, U 9]; a window with rotating shifts has one per shift,
    # its rota naming exactly its A-roles [B 14]
    for hall_id, cfg in halls.items():
        for w in cfg.business.windows:
            a_roles = [s.id for s in cfg.business.staff if w.id in s.windows]
            if w.rotation is not None:
                assert sorted(a_roles) == sorted(w.rotation.staff), f"{hall_id}: window {w.id}"
                continue
            assert len(a_roles) == 1, f"{hall_id}: window {w.id} has A-roles {a_roles}"


def test_config_every_department_at_the_hall_has_a_b_role(halls):
    # AB岗 [U 10, J 15, C 7]: the B-role covers every window of the department at the hall
    for hall_id, cfg in halls.items():
        for dept in {w.department for w in cfg.business.windows}:
            dept_windows = {w.id for w in cfg.business.windows if w.department == dept}
            backups = [s for s in cfg.business.staff if s.department == dept and s.backup_for]
            assert backups, f"{hall_id}: department {dept} has no B-role"
            covered = {wid for s in backups for wid in s.backup_for}
            assert covered == dept_windows, f"{hall_id}: {dept} B-roles cover {covered}"
            assert not any(set(s.windows) & set(s.backup_for) for s in backups)


def test_config_window_heads_for_departments_with_several_windows(halls):
    # [B 13]: a department with two or more windows names a window head
    for hall_id, cfg in halls.items():
        for dept in {w.department for w in cfg.business.windows}:
            n_windows = sum(1 for w in cfg.business.windows if w.department == dept)
            heads = [s.id for s in cfg.business.staff if s.department == dept and s.head]
            if n_windows >= 2:
                assert len(heads) == 1, f"{hall_id}: {dept} has {n_windows} windows and heads {heads}"


def test_config_staff_show_identity(halls):
    # 亮身份 [J 18, H 5]: department, name and phone; some student workers [B 12]
    kinds = set()
    for cfg in halls.values():
        for s in cfg.business.staff:
            assert s.name and s.phone and s.title, s.id
            assert re.fullmatch(r"0431-\d{8}", s.phone), s.phone
            kinds.add(s.kind)
    assert kinds == {"employee", "student"}


def test_config_card_ids_unique_across_halls(halls):
    cards = [s.card for cfg in halls.values() for s in cfg.business.staff]
    assert all(re.fullmatch(r"[0-9A-F]{10}", c) for c in cards), cards
    assert len(set(cards)) == len(cards)


def test_config_pin_hashes_verify_demo_pin(halls):
    staff = [s for cfg in halls.values() for s in cfg.business.staff]
    assert staff
    for s in staff:
        assert s.pin_hash.startswith("pbkdf2_sha256$100000$"), s.id
        assert verify_hash("1234", s.pin_hash), s.id
    assert not verify_hash("4321", staff[0].pin_hash)
    assert len({s.pin_hash for s in staff}) == len(staff), "every hash has its own salt"


def test_config_manager_password_hashes_verify_demo_password(halls):
    for hall_id, cfg in halls.items():
        assert len(cfg.business.managers) == 1, hall_id
        manager = cfg.business.managers[0]
        assert verify_hash("admin123", manager.password_hash), hall_id
        assert not verify_hash("admin1234", manager.password_hash)


def test_config_hall_files_warn_about_demo_credentials():
    for path in HALLS_DIR.glob("*.toml"):
        head = path.read_text(encoding="utf-8")[:600]
        assert "demo credentials" in head.lower() and "change before production" in head.lower(), path


# ======================================================================== (b) bad files

CATALOG = """\
[[departments]]
id = "academic"
name = "教务处"
prefix = "J"

[[departments]]
id = "finance"
name = "财务处"
prefix = "C"

[[items]]
id = "transcript"
name = "成绩单打印"
department = "academic"
audience = "在校生"
basis = "《学籍管理办法》"
process = ["申请", "打印"]
"""

CALENDAR = """\
timezone = "Asia/Shanghai"

[[holidays]]
start = 2026-10-01
end = 2026-10-07
name = "国庆节"
"""

HALL = """\
[hall]
id = "test-hall"
name = "测试大厅"
campus = "north"

[business]
version = 1
catalog = "catalog.toml"
calendar = "calendar.toml"

[[business.windows]]
id = "w01"
name = "1号窗口"
department = "academic"

[[business.staff]]
id = "s1"
name = "王老师"
department = "academic"
windows = ["w01"]
"""


def inline_catalog(hall: str, catalog: str) -> str:
    """The hall file with the catalog written inside it instead of included."""
    tables = catalog.replace("[[departments]]", "[[business.catalog.departments]]")
    tables = tables.replace("[[items]]", "[[business.catalog.items]]")
    return hall.replace('catalog = "catalog.toml"\n', "") + "\n" + tables


def write(tmp_path: Path, hall: str = HALL, catalog: str = CATALOG, calendar: str = CALENDAR) -> Path:
    (tmp_path / "catalog.toml").write_text(catalog, encoding="utf-8")
    (tmp_path / "calendar.toml").write_text(calendar, encoding="utf-8")
    path = tmp_path / "hall.toml"
    path.write_text(hall, encoding="utf-8")
    return path


def error_of(path: Path) -> str:
    with pytest.raises(ConfigError) as info:
        load(path)
    return str(info.value)


def test_config_minimal_hall_loads(tmp_path):
    # the baseline the error tests below break one thing at a time
    cfg = load(write(tmp_path))
    assert cfg.hall.id == "test-hall"
    assert [d.id for d in cfg.business.catalog.departments] == ["academic", "finance"]
    assert cfg.business.calendar.holidays[0].name == "国庆节"
    assert cfg.http.listen == "127.0.0.1:8100"
    cfg = load(write(tmp_path, hall=inline_catalog(HALL, CATALOG)))
    assert len(cfg.business.catalog.items) == 1


@pytest.mark.parametrize(
    ("old", "new", "fragments"),
    [
        ('campus = "north"\n', 'campus = "north"\ncolour = 1\n', ("$.hall", "colour")),
        ("version = 1", 'version = "one"', ("$.business.version", "int")),
        ('name = "1号窗口"\ndepartment = "academic"', 'name = "1号窗口"\ndepartment = "library"',
         ("$.business.windows[0].department", "library")),
        ('windows = ["w01"]', 'windows = ["w09"]', ("$.business.staff[0].windows[0]",)),
        ('department = "academic"\nwindows', 'department = "finance"\nwindows', ("$.business.staff[0].windows[0]",)),
        ('id = "w01"\nname = "1号窗口"', 'id = "w01"\nname = "1号窗口"\nkind = "periodic"',
         ("$.business.windows[0].weekdays",)),
        ('name = "测试大厅"', "name = 测试大厅", ("not valid TOML", "line 3")),
    ],
    ids=["unknown-field", "wrong-type", "unknown-window-department", "unknown-window", "other-departments-window",
         "periodic-without-weekdays", "invalid-toml"],
)
def test_config_hall_file_errors_name_file_and_field(tmp_path, old, new, fragments):
    assert old in HALL
    path = write(tmp_path, hall=HALL.replace(old, new))
    message = error_of(path)
    assert str(path) in message
    for fragment in fragments:
        assert fragment in message


def test_config_missing_included_file_names_hall_file_field_and_missing_file(tmp_path):
    path = write(tmp_path, hall=HALL.replace('catalog = "catalog.toml"', 'catalog = "missing.toml"'))
    message = error_of(path)
    assert str(path) in message
    assert "$.business.catalog" in message
    assert str((tmp_path / "missing.toml").resolve()) in message
    assert "not found" in message


def test_config_error_in_included_catalog_names_catalog_file(tmp_path):
    path = write(tmp_path, catalog=CATALOG.replace('prefix = "C"', 'prefix = "c1"'))
    message = error_of(path)
    assert str((tmp_path / "catalog.toml").resolve()) in message
    assert str(path) not in message
    assert "$.departments[1].prefix" in message


def test_config_unknown_field_in_included_catalog_names_catalog_file(tmp_path):
    path = write(tmp_path, catalog=CATALOG.replace("[[items]]\n", "[[items]]\ncolour = 2\n"))
    message = error_of(path)
    assert str((tmp_path / "catalog.toml").resolve()) in message
    assert "$.items[0]" in message and "colour" in message


def test_config_error_in_included_calendar_names_calendar_file(tmp_path):
    path = write(tmp_path, calendar=CALENDAR.replace("start = 2026-10-01", 'start = "十月一日"'))
    message = error_of(path)
    assert str((tmp_path / "calendar.toml").resolve()) in message
    assert "$.holidays[0].start" in message


def test_config_invalid_toml_in_included_file_names_that_file(tmp_path):
    path = write(tmp_path, calendar=CALENDAR + "\n[[holidays]\n")
    message = error_of(path)
    assert str((tmp_path / "calendar.toml").resolve()) in message
    assert "not valid TOML" in message


def test_config_duplicate_ticket_prefix_names_file_and_field(tmp_path):
    catalog = CATALOG.replace('prefix = "C"', 'prefix = "J"')
    path = write(tmp_path, hall=inline_catalog(HALL, catalog))
    message = error_of(path)
    assert str(path) in message
    assert "$.business.catalog.departments[1]" in message
    assert "prefix" in message and "'J'" in message


def test_config_duplicate_ticket_prefix_in_included_catalog_names_catalog_file(tmp_path):
    path = write(tmp_path, catalog=CATALOG.replace('prefix = "C"', 'prefix = "J"'))
    message = error_of(path)
    assert str((tmp_path / "catalog.toml").resolve()) in message
    assert str(path) not in message
    assert "field $.departments[1]:" in message
    assert "prefix" in message and "'J'" in message


def test_config_cross_reference_error_in_included_calendar_names_calendar_file(tmp_path):
    path = write(tmp_path, calendar=CALENDAR.replace("Asia/Shanghai", "Asia/Beijing"))
    message = error_of(path)
    assert str((tmp_path / "calendar.toml").resolve()) in message
    assert "field $.timezone:" in message and "Asia/Beijing" in message


@pytest.mark.parametrize(
    ("change", "field", "words"),
    [
        (('name = "王老师"', 'name = "王老师"\ncard = "12-34"'), "$.business.staff[0].card", "10 hex digits"),
        (('name = "王老师"', 'name = "王老师"\npin_hash = "1234"'), "$.business.staff[0].pin_hash", "--hash-pin"),
        (('department = "academic"\n\n[[business.staff]]',
          'department = "academic"\nkind = "flexible"\n'
          'peaks = [{start = 2026-09-12, end = 2026-09-01}]\n\n[[business.staff]]'),
         "$.business.windows[0].peaks[0].end", "before start"),
    ],
)
def test_config_business_checks_name_the_field(tmp_path, change, field, words):
    message = error_of(write(tmp_path, hall=HALL.replace(*change)))
    assert str(tmp_path / "hall.toml") in message and field in message and words in message


def test_config_makeup_day_must_be_a_weekend_day(tmp_path):
    path = write(tmp_path, calendar=CALENDAR + '\n[[workdays]]\ndate = 2026-11-23\nname = "周一"\n')
    message = error_of(path)
    assert "calendar.toml" in message and "$.workdays[0].date" in message and "not a weekend day" in message


def test_config_central_public_key_is_checked_and_needed_to_sync(tmp_path, capsys):
    from edge.cli import main
    from tests.conftest import HALL_TOML, SIGNER

    p = tmp_path / "hall.toml"
    p.write_text(HALL_TOML.replace(SIGNER.public_key, "not-a-key"), encoding="utf-8")
    with pytest.raises(ConfigError, match=r"hall.toml: field \$.central.public_key: not base64"):
        load(p)
    p.write_text(HALL_TOML.replace(f'public_key = "{SIGNER.public_key}"', 'public_key = ""'), encoding="utf-8")
    assert load(p).central.public_key == ""
    assert main(["--config", str(p), "--data-dir", str(tmp_path / "d")]) == 2
    assert "field $.central.public_key" in capsys.readouterr().err
    assert not (tmp_path / "d").exists()  # refused before anything started


def test_config_public_url_must_be_a_bare_http_address(tmp_path):
    from edge.config import ConfigError, load
    from tests.conftest import HALL_TOML

    for bad in ("192.168.10.2:8100", "http://192.168.10.2:8100/kiosk", "ftp://x"):
        p = tmp_path / "hall.toml"
        p.write_text(HALL_TOML.replace("[hall]\n", f'[hall]\npublic_url = "{bad}"\n', 1), encoding="utf-8")
        with pytest.raises(ConfigError, match="public_url"):
            load(p)
