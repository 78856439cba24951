"""Editing the halls' business configuration on the central dashboard (central.configedit):
new revisions stored, audited and validated exactly as the edge validates; role limits; and,
through a real broker, the push to a running hall and central's restart on the stored version."""

from __future__ import annotations

import json
import time

import httpx
import msgspec
import paho.mqtt.client as paho
import pytest
from litestar.testing import TestClient

from central.app import create_app
from central.auth import Auth, hash_secret
from central.config import load
from central.configedit import MAX_VERSION, ConfigEditor, EditError, validate
from central.projections import Directory
from sync.kernel import business as biz
from sync.contract import wire
from sync.contract.signing import Trust
from tests.brokers import connected_client
from tests.central.data import Browser, write_config
from tests.conftest import SIGNER
from tests.sync.conftest import broker  # noqa: F401 - the real-broker fixture (mosquitto, amqtt)
from tests.sync.harness import Central, Edge, wait_until, write_campus

SUSPENSION_FORM = {
    "item": "suspension", "name": "休学办理", "department": "academic", "audience": "在校生",
    "basis": "学籍管理规定第二十条", "process": "提交申请\n学院审核\n教务处审批",
    "materials": "application|休学申请表\nmedical|医院诊断证明\nid-card|身份证复印件", "gap": "medical, id-card",
    "location": "", "promise_days": "3", "mode": "promised", "co_departments": "", "base_version": "1",
}
REIMBURSE_FORM = {
    "item": "reimburse", "name": "报销", "department": "finance", "audience": "教职工", "basis": "财务报销办法",
    "process": "投递\n审核\n支付", "materials": "invoice|发票", "gap": "", "location": "", "promise_days": "0",
    "mode": "instant", "co_departments": "", "base_version": "1",
}
CALENDAR_FORM = {
    "holidays": "2026-10-01|2026-10-07|国庆节", "workdays": "2026-10-10|国庆调休",
    "closures": "每月最后|3|13:00|24:00|政治学习\n每周|5|16:00|24:00|周五下午提前闭厅", "vacations": "",
    "base_version": "1",
}


@pytest.fixture
def parts(store, tmp_path):
    cfg, halls = load(write_config(tmp_path))
    directory = Directory.of(halls)
    app = create_app(store, None, directory, Auth(cfg.users, session_minutes=30))
    return store, directory, app


@pytest.fixture
def client(parts):
    with Browser(parts[2]) as c:
        yield c


def login(c: TestClient, name: str, password: str) -> None:
    r = c.post("/login", data={"username": name, "password": password}, follow_redirects=False)
    assert r.status_code in (301, 302, 303), r.text


def revisions(store) -> list[tuple]:
    rows = store.db.execute_sql("SELECT hall, version, who, business FROM config_revisions ORDER BY id").fetchall()
    return [(h, v, w, biz.decode(b.encode() if isinstance(b, str) else bytes(b))) for h, v, w, b in rows]


def config_audits(store) -> list[dict]:
    return [e for e in store.audit_log(500) if e["action"] == "config_edit"]


def item(b: biz.Business, item_id: str) -> biz.Item:
    return next(i for i in b.catalog.items if i.id == item_id)


def test_configedit_admin_edit_makes_revision_audited_and_shown(client, parts):
    store, directory, _app = parts
    login(client, "admin", "admin123")
    page = client.get("/config/h-a/items?item=suspension")
    assert page.status_code == 200 and "休学申请表" in page.text and 'name="promise_days" value="3"' in page.text
    r = client.post("/config/h-a/items", data=SUSPENSION_FORM | {"promise_days": "5", "base_version": "1",
                                                                  "comment": "按新规缩短"},
                    follow_redirects=False)
    assert r.status_code in (302, 303) and r.headers["location"] == "/config/h-a/items?item=suspension&saved=2"
    [(hall, version, who, b)] = revisions(store)
    assert (hall, version, who) == ("h-a", 2, "admin") and b.version == 2
    assert item(b, "suspension").promise_days == 5
    # everything else of the hall is as in its file; the gap materials survive the round trip
    file_b = directory.halls["h-b"].business
    assert msgspec.structs.replace(item(b, "suspension"), promise_days=3) == item(file_b, "suspension")
    assert [m.id for m in item(b, "suspension").materials if m.gap_allowed] == ["medical", "id-card"]
    assert b.staff == file_b.staff and b.calendar == file_b.calendar
    [audit] = config_audits(store)
    assert audit["who"] == "admin" and "h-a" in audit["detail"] and "承诺时限: 3 → 5" in audit["detail"]
    assert "1 → 2" in audit["detail"] and "按新规缩短" in audit["detail"]
    # the directory (names, reports) runs the edited version; other halls keep theirs
    assert directory.halls["h-a"].business.version == 2 and directory.halls["h-b"].business.version == 1
    overview = client.get("/config")
    assert overview.status_code == 200 and "承诺时限: 3 → 5" in overview.text
    api = {v["hall"]: v for v in client.get("/api/config").json()}
    assert api["h-a"] | {"applied_version": None} == {"hall": "h-a", "file_version": 1, "stored_version": 2,
                                                       "version": 2, "applied_version": None, "online": False,
                                                       "landed": False, "implausible_version": None}
    assert api["h-b"]["stored_version"] is None and api["h-b"]["version"] == 1
    # a second edit of the same item builds on version 2
    r = client.post("/config/h-a/items", data=SUSPENSION_FORM | {"promise_days": "5", "location": "一楼 2 号窗口",
                                                                  "base_version": "2"}, follow_redirects=False)
    assert r.headers["location"].endswith("saved=3")
    latest = revisions(store)[-1][3]
    assert latest.version == 3 and item(latest, "suspension").location == "一楼 2 号窗口"
    assert item(latest, "suspension").promise_days == 5
    # the same form again changes nothing: no revision
    r = client.post("/config/h-a/items", data=SUSPENSION_FORM | {"promise_days": "5", "location": "一楼 2 号窗口",
                                                                  "base_version": "3"}, follow_redirects=False)
    assert r.headers["location"].endswith("saved=none") and len(revisions(store)) == 2


def test_configedit_admin_edits_staff_calendar_and_adds_item(client, parts):
    store, directory, _app = parts
    login(client, "admin", "admin123")
    r = client.post("/config/h-c/staff", data={"staff": "s-zhao", "name": "赵强", "department": "academic",
                                               "windows": "W5", "backup_for": "W1, W2", "phone": "0000-1111-09",
                                               "card": "0a00c3d2f9", "base_version": "1"}, follow_redirects=False)
    assert r.status_code in (302, 303), r.text
    b = revisions(store)[-1][3]
    zhao = next(s for s in b.staff if s.id == "s-zhao")
    assert (zhao.windows, zhao.backup_for, zhao.phone, zhao.card) == (["W5"], ["W1", "W2"], "0000-1111-09",
                                                                      "0A00C3D2F9")
    assert zhao.pin_hash == next(s for s in directory.halls["h-a"].business.staff if s.id == "s-zhao").pin_hash
    r = client.post("/config/h-c/calendar", data=CALENDAR_FORM | {
        "holidays": CALENDAR_FORM["holidays"] + "\n2027-01-01|2027-01-01|元旦",
        "vacations": "2027-01-18|2027-02-21|寒假|2027-01-20, 2027-02-03", "base_version": "2"},
        follow_redirects=False)
    assert r.status_code in (302, 303), r.text
    cal = revisions(store)[-1][3].calendar
    assert cal.holidays[-1] == biz.Holiday(start=msgspec.convert("2027-01-01", type=biz.date),
                                           end=msgspec.convert("2027-01-01", type=biz.date), name="元旦")
    assert [d.isoformat() for d in cal.vacations[0].duty_days] == ["2027-01-20", "2027-02-03"]
    assert "新增 2027-01-01|2027-01-01|元旦" in config_audits(store)[0]["detail"]
    r = client.post("/config/h-c/items", data=REIMBURSE_FORM | {
        "new": "1", "item": "loan", "name": "助学贷款", "promise_days": "10", "mode": "promised",
        "gap": "invoice", "base_version": "3"}, follow_redirects=False)
    assert r.status_code in (302, 303), r.text
    final = revisions(store)[-1]
    assert final[1] == 4 and item(final[3], "loan").promise_days == 10
    assert [i.id for i in final[3].catalog.items][-1] == "loan"
    assert len(config_audits(store)) == 3


@pytest.mark.parametrize("path, form, message", [
    ("items", SUSPENSION_FORM | {"promise_days": "三天"}, "承诺时限“三天”须为不小于 0 的整数"),
    ("items", SUSPENSION_FORM | {"promise_days": "0"}, "承诺件的承诺时限至少为 1 个工作日"),
    ("items", SUSPENSION_FORM | {"gap": "passport"}, "容缺材料“passport”不在所需材料中"),
    ("items", SUSPENSION_FORM | {"process": "  \n"}, "办理流程至少需要一步"),
    ("items", SUSPENSION_FORM | {"mode": "joint"}, "联办事项需要填写协办部门"),
    ("items", SUSPENSION_FORM | {"materials": "application|休学申请表\napplication|申请表", "gap": ""}, "材料编号“application”重复"),
    ("staff", {"staff": "s-wang", "name": "王芳", "department": "academic", "windows": "W2", "backup_for": "",
               "phone": "", "card": "0A00C3D2F1", "base_version": "1"}, "卡号“0A00C3D2F1”重复"),
    ("staff", {"staff": "s-wang", "name": "王芳", "department": "academic", "windows": "W3", "backup_for": "",
               "phone": "", "card": "", "base_version": "1"}, "窗口“W3”属于其他部门"),
    ("staff", {"staff": "s-wang", "name": "王芳", "department": "academic", "windows": "W2", "backup_for": "",
               "phone": "", "card": "12AB", "base_version": "1"}, "卡号“12AB”无效"),
    ("calendar", CALENDAR_FORM | {"workdays": "2026-10-13|调休"}, "2026-10-13 不是周末"),
    ("calendar", CALENDAR_FORM | {"holidays": "2026-10-07|2026-10-01|国庆节"}, "结束日期早于开始日期"),
    ("calendar", CALENDAR_FORM | {"holidays": "2026-13-01|2026-10-01"}, "“2026-13-01”不是有效日期"),
    ("calendar", CALENDAR_FORM | {"closures": "每周|8|16:00|24:00"}, "星期“8”须为 1（周一）至 7（周日）"),
    ("calendar", CALENDAR_FORM | {"vacations": "2027-01-18|2027-02-21|寒假|2027-03-01"}, "值班日 2027-03-01 不在假期"),
])
def test_configedit_invalid_edit_refused_nothing_stored(client, parts, path, form, message):
    store, directory, _app = parts
    login(client, "admin", "admin123")
    before = msgspec.json.encode(directory.halls["h-a"].business)
    r = client.post(f"/config/h-a/{path}", data=form, follow_redirects=False)
    assert r.status_code == 400 and message in r.text, r.text[-2000:]
    # the form comes back with what was typed
    first = next(iter(v for k, v in form.items() if k in ("promise_days", "card", "workdays", "holidays")), None)
    if first:
        assert first.split("\n")[0] in r.text
    assert revisions(store) == [] and config_audits(store) == []
    assert msgspec.json.encode(directory.halls["h-a"].business) == before


def test_configedit_stale_form_409(client, parts):
    store, _directory, _app = parts
    login(client, "admin", "admin123")
    ok = client.post("/config/h-a/items", data=SUSPENSION_FORM | {"promise_days": "4", "base_version": "1"},
                     follow_redirects=False)
    assert ok.status_code in (302, 303)
    late = client.post("/config/h-a/items", data=SUSPENSION_FORM | {"promise_days": "6", "base_version": "1"},
                       follow_redirects=False)
    assert late.status_code == 409 and "当前版本 2" in late.text
    assert [v for _h, v, _w, _b in revisions(store)] == [2] and item(revisions(store)[0][3], "suspension").promise_days == 4


def test_configedit_department_head_own_items_guide_only(client, parts):
    store, _directory, _app = parts
    login(client, "finance-head", "finance123")
    assert client.get("/config").status_code == 200
    listing = client.get("/config/h-b/items")
    assert listing.status_code == 200 and "报销" in listing.text and "休学办理" not in listing.text
    r = client.post("/config/h-b/items", data={k: v for k, v in REIMBURSE_FORM.items()
                                                if k not in ("name", "mode", "department", "co_departments")}
                    | {"promise_days": "2", "basis": "财务报销管理办法（2026）", "gap": "invoice"},
                    follow_redirects=False)
    assert r.status_code in (302, 303), r.text
    [(hall, version, who, b)] = revisions(store)
    got = item(b, "reimburse")
    assert (hall, version, who, got.promise_days, got.basis, got.materials[0].gap_allowed) == (
        "h-b", 2, "finance-head", 2, "财务报销管理办法（2026）", True)
    assert got.name == "报销" and got.mode == "instant"
    # not their department, not guide text, not a new item, not the roster or the calendar
    v2 = {"base_version": "2"}
    assert client.post("/config/h-b/items", data=SUSPENSION_FORM | {"promise_days": "9"} | v2).status_code == 403
    assert client.post("/config/h-b/items", data=REIMBURSE_FORM | {"promise_days": "2", "name": "报账"} | v2).status_code == 403
    assert client.post("/config/h-b/items", data=REIMBURSE_FORM | {"new": "1", "item": "x1"} | v2).status_code == 403
    assert client.get("/config/h-b/staff").status_code == 403
    assert client.post("/config/h-b/calendar", data=CALENDAR_FORM | {"closures": ""} | v2).status_code == 403
    assert len(revisions(store)) == 1 and len(config_audits(store)) == 1


def test_configedit_hall_manager_own_hall_closures_duty_and_phones(client, parts):
    store, _directory, _app = parts
    login(client, "hb-manager", "hall123")
    versions = client.get("/api/config").json()
    assert [v["hall"] for v in versions] == ["h-b"]
    assert client.get("/config/h-b/items").status_code == 403
    assert client.get("/config/h-a/calendar").status_code == 403
    assert client.post("/config/h-a/staff", data={"staff": "s-li", "phone": "1"}).status_code == 403
    r = client.post("/config/h-b/calendar", data=CALENDAR_FORM | {
        "closures": "每周|5|15:30|24:00|周五下午提前闭厅"}, follow_redirects=False)
    assert r.status_code in (302, 303), r.text
    assert revisions(store)[-1][3].calendar.closures == [
        biz.Closure(kind="weekly", weekday=5, start="15:30", end="24:00", name="周五下午提前闭厅")]
    r = client.post("/config/h-b/staff", data={"staff": "s-qian", "phone": "0000-2222-07", "base_version": "2"},
                    follow_redirects=False)
    assert r.status_code in (302, 303), r.text
    qian = next(s for s in revisions(store)[-1][3].staff if s.id == "s-qian")
    assert (qian.phone, qian.windows, qian.card) == ("0000-2222-07", ["W3"], "")
    # holidays, make-up days, other staff fields, new staff: not theirs
    assert client.post("/config/h-b/calendar", data=CALENDAR_FORM | {"holidays": "", "base_version": "3"}).status_code == 403
    assert client.post("/config/h-b/calendar", data=CALENDAR_FORM | {"workdays": "", "base_version": "3"}).status_code == 403
    assert client.post("/config/h-b/staff", data={"staff": "s-qian", "phone": "0000-1", "card": "0A00C3D2F7",
                                                  "base_version": "3"}).status_code == 403
    assert client.post("/config/h-b/staff", data={"staff": "s-new", "new": "1", "name": "新人", "department": "finance",
                                                  "windows": "", "backup_for": "", "phone": "", "card": "",
                                                  "base_version": "3"}).status_code == 403
    assert [v for _h, v, _w, _b in revisions(store)] == [2, 3]
    assert [a["who"] for a in config_audits(store)] == ["hb-manager", "hb-manager"]


def test_configedit_requires_login(client):
    assert client.get("/config", follow_redirects=False).headers["location"] == "/login"
    assert client.post("/config/h-a/items", data=SUSPENSION_FORM, follow_redirects=False).status_code in (302, 303)
    assert client.get("/api/config").status_code == 401


def test_configedit_startup_takes_newer_of_file_and_stored(store, tmp_path):
    central_toml = write_config(tmp_path)
    _cfg, halls = load(central_toml)
    editor = ConfigEditor(store, halls)
    b = halls[0].business
    edited = msgspec.structs.replace(b, catalog=msgspec.structs.replace(
        b.catalog, items=[msgspec.structs.replace(i, promise_days=9) if i.id == "suspension" else i
                          for i in b.catalog.items]))
    version, lines = editor.edit("h-a", "admin", lambda _b: edited, what="事项 suspension",
                                 summary=lambda a, n: ["x"] if a != n else [])
    assert version == 2 and lines == ["x"]
    # a restart: the stored revision is newer than the file
    _cfg, halls = load(central_toml)
    ConfigEditor(store, halls)
    assert halls[0].business.version == 2 and item(halls[0].business, "suspension").promise_days == 9
    assert halls[1].business.version == 1
    # the file was bumped past the stored revision: the file wins
    path = tmp_path / "cfg" / "halls" / "h-a.toml"
    path.write_text(path.read_text(encoding="utf-8").replace("[business]\nversion = 1", "[business]\nversion = 3"),
                    encoding="utf-8")
    _cfg, halls = load(central_toml)
    e3 = ConfigEditor(store, halls)
    assert halls[0].business.version == 3 and item(halls[0].business, "suspension").promise_days == 3
    # and the next edit goes above both
    v, _ = e3.edit("h-a", "admin", lambda _b: edited, what="x", summary=lambda a, n: ["x"])
    assert v == 4


def test_configedit_refresh_takes_another_workers_revision(store, tmp_path):
    """Two central workers on one database: B's editor, asked before B re-publishes on a
    reconnect (CentralService.config_source), installs the revision A stored, so B never puts
    the older version back as the retained config."""
    central_toml = write_config(tmp_path)
    _cfg, halls_a = load(central_toml)
    _cfg, halls_b = load(central_toml)
    a, b = ConfigEditor(store, halls_a), ConfigEditor(store, halls_b)
    base = halls_a[0].business
    edited = msgspec.structs.replace(base, catalog=msgspec.structs.replace(
        base.catalog, items=[msgspec.structs.replace(i, promise_days=6) if i.id == "suspension" else i
                             for i in base.catalog.items]))
    a.edit("h-a", "admin", lambda _b: edited, what="x", summary=lambda x, y: ["x"])
    assert halls_b[0].business.version == 1  # B has not looked yet
    msgs = b.refresh()
    assert msgs["h-a"].version == 2 and item(msgs["h-a"].business, "suspension").promise_days == 6
    assert halls_b[0].business.version == 2 and msgs["h-b"].version == 1
    assert b.refresh()["h-a"].version == 2  # idempotent


def test_configedit_validate_is_the_edges_check(tmp_path):
    """What central accepts the edge accepts (edge.context.apply_business) and the reverse."""
    from edge.context import apply_business  # noqa: F401 - the edge's apply path: decode + biz.check

    _cfg, halls = load(write_config(tmp_path))
    b = halls[0].business
    good = msgspec.structs.replace(b, version=2)
    assert validate("h-a", good) == good
    bad_id = msgspec.structs.replace(b, windows=[msgspec.structs.replace(b.windows[0], id="bad id")] + b.windows[1:])
    with pytest.raises(EditError, match=r"\$\.business\.windows\[0\]\.id"):
        validate("h-a", bad_id)
    with pytest.raises(wire.WireError):  # the edge's decoder refuses it the same way
        wire.decode(wire.encode(wire.ConfigMessage(v=1, hall="h-a", version=2, business=bad_id)), wire.ConfigMessage)
    unknown_window = msgspec.structs.replace(b, staff=[msgspec.structs.replace(b.staff[0], windows=["W9"])])
    with pytest.raises(EditError, match="未知窗口“W9”"):
        validate("h-a", unknown_window)
    with pytest.raises(biz.BusinessError):
        biz.check(unknown_window)


# ---------------------------------------------------------------- end to end, real broker

ADMIN_TOML = f'\n[[users]]\nname = "admin"\nrole = "admin"\npassword_hash = "{hash_secret("admin123", iterations=1000)}"\n'


def _retained_config(broker_port: int, hall: str, protocol: int, timeout: float = 10.0) -> wire.ConfigMessage:
    got: list[wire.ConfigMessage] = []

    def on_message(cl, u, msg) -> None:
        if msg.topic == wire.config_topic(hall):  # amqtt also hands this probe other retained topics
            body = Trust([SIGNER.public_key]).open(msg.topic, msg.payload)  # signed by central
            got.append(wire.decode(body, wire.ConfigMessage))

    # a central-side user no running central uses
    c = connected_client(broker_port, "central-3", protocol=protocol, client_id=f"probe-{time.monotonic_ns()}",
                         on_connect=lambda cl: cl.subscribe(wire.config_topic(hall), qos=1), on_message=on_message)
    try:
        wait_until(lambda: got, timeout, what="the retained config message")
    finally:
        c.loop_stop()
        c.disconnect()
    return got[-1]


@pytest.mark.slow
def test_configedit_push_reaches_running_hall_and_survives_restart(tmp_path, broker, central_db):  # noqa: F811
    protocol = 5 if broker.kind == "mosquitto" else 4
    central_toml, files = write_campus(tmp_path, ["hall-a"], protocol=protocol, central_broker_extra=ADMIN_TOML)
    edge = Edge(tmp_path, files["hall-a"], "hall-a", broker.url).start()
    central = Central(tmp_path, central_toml, central_db, broker.url).start()
    try:
        wait_until(lambda: central.get("/api/halls")[0]["status"].get("config_version") == 1, 30,
                   what="the hall reporting version 1")
        web = httpx.Client(base_url=central.base, timeout=10, headers={"origin": central.base})
        assert web.post("/login", data={"username": "admin", "password": "admin123"}).status_code in (200, 302, 303)
        r = web.post("/config/hall-a/items", data=SUSPENSION_FORM | {"promise_days": "7", "base_version": "1"})
        assert r.status_code in (302, 303) and r.headers["location"].endswith("saved=2"), r.text[-1000:]
        # the hall applies it: its catalog API and public guide show 7 working days
        wait_until(lambda: edge.health()["business_version"] == 2, 30, what="version 2 at the hall")
        sus = next(i for i in edge.get("/api/catalog")["items"] if i["id"] == "suspension")
        assert sus["promise_days"] == 7
        guide = httpx.get(edge.base + "/guide/suspension", timeout=10).text
        assert "7 个工作日" in guide or "7个工作日" in guide, guide[-1500:]
        # central sees the hall report version 2: the config page and the live view say so
        wait_until(lambda: web.get("/api/config").json()[0]["applied_version"] == 2, 30,
                   what="central to see version 2 applied")
        assert web.get("/api/config").json()[0]["landed"] is True
        assert "已生效" in web.get("/config").text and "配置版本 2" in web.get("/live").text
        # restart central: it publishes the stored version 2, not the file's version 1
        central.stop()
        restarted = time.time_ns() // 1000
        central = Central(tmp_path, central_toml, central_db, broker.url).start()

        def republished():
            msg = _retained_config(broker.port, "hall-a", protocol)
            return msg if msg.ts >= restarted else None

        msg = wait_until(republished, 30, interval=0.5, what="central's config after its restart")
        assert msg.version == 2 and item(msg.business, "suspension").promise_days == 7
        versions = httpx.get(central.base + "/api/config", auth=("admin", "admin123"), timeout=10).json()
        assert versions[0] | {"online": True} == {"hall": "hall-a", "file_version": 1, "stored_version": 2,
                                                  "version": 2, "applied_version": 2, "online": True,
                                                  "landed": True, "implausible_version": None}
        assert edge.health()["business_version"] == 2
        kinds = [e["kind"] for e in edge.get("/api/events", limit=1000)]
        assert kinds.count("config.applied") == 1
    finally:
        edge.kill()
        central.kill()


def test_configedit_json_roundtrip_of_stored_revision(store, tmp_path):
    """The stored JSON is the Business struct itself (readable with sync.kernel.business.decode)."""
    _cfg, halls = load(write_config(tmp_path))
    editor = ConfigEditor(store, halls)
    b = halls[2].business
    new = msgspec.structs.replace(b, staff=[msgspec.structs.replace(s, phone="1") for s in b.staff])
    editor.edit("h-c", "admin", lambda _b: new, what="人员", summary=lambda a, n: ["电话"], comment="统一电话")
    row = store.db.execute_sql("SELECT business, comment, who FROM config_revisions").fetchone()
    data = json.loads(row[0])
    assert data["version"] == 2 and {s["phone"] for s in data["staff"]} == {"1"}
    assert (row[1], row[2]) == ("统一电话", "admin")
    assert editor.revisions("h-c")[0]["version"] == 2 and editor.revision("h-c", 2).staff[0].phone == "1"


@pytest.mark.parametrize("who, password, pages", [
    ("admin", "admin123", {"/config": 200, "/config/h-a/items?new=1": 200, "/config/h-a/items?item=graduation": 200,
                           "/config/h-a/staff?new=1": 200, "/config/h-a/staff?staff=s-zhao": 200,
                           "/config/h-a/calendar": 200, "/config/nowhere/items": 404}),
    ("finance-head", "finance123", {"/config": 200, "/config/h-c/items?item=reimburse": 200,
                                    "/config/h-c/staff": 403, "/config/h-c/calendar": 403}),
    ("hb-manager", "hall123", {"/config": 200, "/config/h-b/staff?staff=s-li": 200, "/config/h-b/calendar": 200,
                               "/config/h-b/items": 403, "/config/h-a/staff": 403}),
])
def test_configedit_pages_render_per_role(client, who, password, pages):
    login(client, who, password)
    for url, status in pages.items():
        r = client.get(url)
        assert r.status_code == status, (url, r.text[-500:])
    if who == "admin":
        form = client.get("/config/h-a/items?item=graduation").text
        assert 'value="finance, security"' in form and "联办件" in form
        cal = client.get("/config/h-a/calendar").text
        assert "每周|5|16:00|24:00|周五下午提前闭厅" in cal and "2026-10-01|2026-10-07|国庆节" in cal
    if who == "hb-manager":
        page = client.get("/config").text
        assert "乙大厅" in page and "甲大厅" not in page
        assert "readonly" in client.get("/config/h-b/staff?staff=s-li").text


def test_configedit_one_item_edit_applied_to_several_halls_all_or_nothing(client, parts):
    store, directory, _app = parts
    login(client, "admin", "admin123")
    form = client.get("/config/h-a/items?item=transcript").text
    assert 'name="also_h-b"' in form and 'name="also_h-c"' in form
    transcript = {"item": "transcript", "name": "成绩单打印", "department": "academic", "audience": "在校生",
                  "basis": "学籍管理规定", "process": "取号\n核验身份\n打印盖章", "materials": "student-card|学生证",
                  "gap": "", "location": "", "mode": "instant", "co_departments": ""}
    r = client.post("/config/h-a/items", data=transcript | {"promise_days": "1", "also_h-c": "1", "base_version": "1"},
                    follow_redirects=False)
    assert r.status_code in (302, 303), r.text
    got = {(h, v): item(b, "transcript").promise_days for h, v, _w, b in revisions(store)}
    assert got == {("h-a", 2): 1, ("h-c", 2): 1}
    assert directory.halls["h-b"].business.version == 1 and item(directory.halls["h-b"].business,
                                                                    "transcript").promise_days == 0
    assert sorted(a["detail"].split(" ")[1] for a in config_audits(store)) == ["h-a", "h-c"]
    # a new item in h-a only; editing it "in h-b too" fails for h-b, so nothing is stored anywhere
    client.post("/config/h-a/items", data=REIMBURSE_FORM | {"new": "1", "item": "loan", "name": "助学贷款",
                                                            "base_version": "2"})
    assert len(revisions(store)) == 3
    r = client.post("/config/h-a/items", data=REIMBURSE_FORM | {"item": "loan", "name": "助学贷款",
                                                                "promise_days": "4", "also_h-b": "1", "base_version": "3"})
    assert r.status_code == 404 and "大厅“乙大厅”：没有事项“loan”" in r.text
    assert len(revisions(store)) == 3 and len(config_audits(store)) == 3
    assert item(directory.halls["h-a"].business, "loan").promise_days == 0


def _forge_status(store, hall: str, version: int) -> None:
    st = wire.Status(v=wire.V, hall=hall, state="online", epoch="e", last_seq=0, acked_seq=0, backlog=0,
                     config_version=version, clock={}, ts=0)
    with store.db.atomic():
        store.hall_status(hall, wire.encode(st), 0)


def test_configedit_forged_reported_version_never_overflows(store, tmp_path):
    """Anyone holding a hall's broker credential can publish its status; a status claiming
    version 2**63-1 must not push central's next version out of range (it used to answer 500)."""
    _cfg, halls = load(write_config(tmp_path))
    editor = ConfigEditor(store, halls)
    _forge_status(store, "h-a", 2**63 - 1)
    version, _ = editor.edit("h-a", "admin", lambda b: msgspec.structs.replace(b, version=b.version),
                             what="x", summary=lambda a, n: ["x"])
    assert version == 2  # the implausible report is ignored
    _forge_status(store, "h-a", 2 + wire.MAX_VERSION_STEP)  # plausible: a hall file bumped at the hall
    version, _ = editor.edit("h-a", "admin", lambda b: b, what="x", summary=lambda a, n: ["x"])
    assert version == 3 + wire.MAX_VERSION_STEP
    # at the ceiling nothing is stored: 409 with a message
    halls[0].business = msgspec.structs.replace(halls[0].business, version=wire.MAX_CONFIG_VERSION)
    editor.file["h-a"] = halls[0].business
    with pytest.raises(EditError) as err:
        editor.edit("h-a", "admin", lambda b: b, what="x", summary=lambda a, n: ["x"])
    assert err.value.status == 409 and "上限" in err.value.message


def test_configedit_empty_calendar_post_refused_nothing_changed(client, parts):
    """An admin's empty calendar post (no fields at all) used to save a calendar without any
    holiday, make-up day, closure or vacation and push it: now 400, nothing stored."""
    store, directory, _app = parts
    login(client, "admin", "admin123")
    before = directory.halls["h-a"].business
    for form in ({}, {"base_version": "1"}, {"base_version": "1", "holidays": "", "workdays": ""}):
        r = client.post("/config/h-a/calendar", data=form, follow_redirects=False)
        assert r.status_code == 400, (form, r.status_code)
        assert "表单" in r.text and ("base_version" in r.text or "closures" in r.text)
    r = client.post("/config/h-a/items", data={k: v for k, v in SUSPENSION_FORM.items() if k != "materials"},
                    follow_redirects=False)
    assert r.status_code == 400 and "所需材料（materials）" in r.text
    assert revisions(store) == [] and config_audits(store) == [] and directory.halls["h-a"].business is before
    assert before.calendar.holidays  # still there
    # an explicit empty field is a decision, and is kept: the form carried every field
    r = client.post("/config/h-a/calendar", data=CALENDAR_FORM | {"vacations": ""}, follow_redirects=False)
    assert r.status_code in (302, 303)


def test_configedit_base_version_required(client, parts):
    store = parts[0]
    login(client, "admin", "admin123")
    for bad in (None, "", "x", "-1", "9" * 30):
        form = {k: v for k, v in SUSPENSION_FORM.items() if k != "base_version"}
        if bad is not None:
            form["base_version"] = bad
        r = client.post("/config/h-a/items", data=form | {"promise_days": "4"}, follow_redirects=False)
        assert r.status_code == 400 and "base_version" in r.text, bad
    assert client.post("/config/h-a/items", data=SUSPENSION_FORM | {"base_version": "7"},
                       follow_redirects=False).status_code == 409
    assert revisions(store) == []


def _status(hall: str, version: int) -> bytes:
    return wire.encode(wire.Status(v=wire.V, hall=hall, state="online", epoch="e1", last_seq=0, acked_seq=0,
                                   backlog=0, config_version=version, clock={}, ts=0))


def test_configedit_absurd_hall_version_ignored_next_edit_bounded(client, parts):
    """A hall reporting a forged version 2**63-1 (a forged retained config it applied) does not
    make central's next edit overflow: the report is ignored (and shown), the edit takes the
    next version central knows of."""
    store, _directory, _app = parts
    store.hall_status("h-a", _status("h-a", 2**63 - 1), 1)
    store.hall_status("h-b", _status("h-b", 5), 1)  # a hall file bumped at the hall: plausible, honoured
    login(client, "admin", "admin123")
    api = {v["hall"]: v for v in client.get("/api/config").json()}
    assert (api["h-a"]["applied_version"], api["h-a"]["implausible_version"]) == (None, 2**63 - 1)
    assert (api["h-b"]["applied_version"], api["h-b"]["implausible_version"]) == (5, None)
    assert "不可信" in client.get("/config").text
    r = client.post("/config/h-a/items", data=SUSPENSION_FORM | {"promise_days": "4"}, follow_redirects=False)
    assert r.status_code in (302, 303) and r.headers["location"].endswith("saved=2")
    r = client.post("/config/h-b/items", data=SUSPENSION_FORM | {"promise_days": "4"}, follow_redirects=False)
    assert r.status_code in (302, 303) and r.headers["location"].endswith("saved=6")


def test_configedit_versions_never_pass_the_bound(store, tmp_path):
    _cfg, halls = load(write_config(tmp_path))
    halls[0].business = msgspec.structs.replace(halls[0].business, version=MAX_VERSION)
    editor = ConfigEditor(store, halls)
    with pytest.raises(EditError) as e:
        editor.edit(halls[0].id, "admin", lambda b: msgspec.structs.replace(b, staff=b.staff[:1]), what="x",
                    summary=lambda a, b: ["changed"], base_version=MAX_VERSION)
    assert e.value.status == 409 and "上限" in e.value.message


def test_configedit_followup_deadline_pushed_down_equals_fix_days(store, tmp_path):
    """One follow-up deadline: every configuration central pushes down carries its `[followups]
    fix_days` as rules.ratings.followup_days — an edit that would change it is refused, and a
    stored revision carrying another number stops central at startup (ConfigError naming it)."""
    from central.config import ConfigError

    central_toml = write_config(tmp_path)
    _cfg, halls = load(central_toml)
    editor = ConfigEditor(store, halls, fix_days=5)
    b = halls[0].business
    other = msgspec.structs.replace(b, rules=msgspec.structs.replace(
        b.rules, ratings=msgspec.structs.replace(b.rules.ratings, followup_days=3)))
    with pytest.raises(EditError, match="fix_days"):
        editor.edit("h-a", "admin", lambda _b: other, what="x", summary=lambda a, n: ["x"])
    assert editor.stored_version("h-a") is None
    ConfigEditor(store, halls).edit("h-a", "admin", lambda _b: other, what="x", summary=lambda a, n: ["x"])
    _cfg, halls = load(central_toml)
    with pytest.raises(ConfigError, match=r"hall 'h-a' version 2: field \$\.rules\.ratings\.followup_days: 3 differs"):
        ConfigEditor(store, halls, fix_days=5)
