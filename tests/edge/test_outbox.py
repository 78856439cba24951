"""Result notices (edge/outbox.py): the applicant's phone number for a promised, joint or 容缺
case, the message queued when the case is finished or its supply date passes, delivered through
the file or the http gateway (a real local HTTP server), kept only for the retention period and
never in the replicated log [J 24(2), B 25(2), C 11(4), C 11(7)]."""

from __future__ import annotations

import json
import socket
import sqlite3
import threading
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from edge.config import ConfigError, load
from edge.housekeeping import tick
from edge.outbox import FileGateway, HttpGateway, Sender
from tests.conftest import EVENTS_TOKEN, HALL_TOML, PIN, SH, edge_client, login_manager
from tests.edge.pages.helpers import flash

PHONE = "13812345678"
NOTIFY_TOML = """
[notify]
gateway = "file"
path = "outbox.jsonl"
retry_seconds = 60
retry_max_seconds = 600
max_attempts = 3
phone_retention_days = 30
"""


@pytest.fixture
def nhall(request, tmp_path, clock):
    """The test hall with `[notify] gateway = "file"` (plus the `[notify]` lines of an indirect
    parameter)."""
    from edge.hall import Hall

    p = tmp_path / "notify-hall.toml"
    p.write_text(HALL_TOML + NOTIFY_TOML + getattr(request, "param", ""), encoding="utf-8")
    h = Hall(load(p), tmp_path / "data", clock)
    h.start()
    yield h
    h.stop()


@pytest.fixture
def clients(nhall):
    """A factory of clients of the notify hall's app (each its own browser session)."""
    from edge.app import create_app

    opened = []

    def make():
        c = edge_client(create_app(nhall, tick_seconds=3600, events_token=EVENTS_TOKEN))
        c.__enter__()
        opened.append(c)
        return c

    yield make
    for c in opened:
        c.__exit__(None, None, None)


@pytest.fixture
def desk(clients):
    """W1 signed on by 李明 (JSON API); `serve(item)` issues a number and calls it."""
    w = clients()
    r = w.post("/api/windows/W1/sign-on", json={"staff": "s-li", "pin": PIN})
    assert r.status_code == 200, r.text

    def serve(item="suspension"):
        assert w.post("/api/tickets", json={"item": item}).status_code == 201
        r = w.post("/api/windows/W1/call")
        assert r.status_code == 200, r.text
        return r.json()["ticket"]

    w.serve = serve
    return w


def open_case(w, outcome="promised", **body) -> str:
    t = w.serve(body.pop("item", "suspension"))
    r = w.post("/api/windows/W1/complete", json={"outcome": outcome, **body})
    assert r.status_code == 200, r.text
    return w.get(f"/api/tickets/{t['id']}").json()["case"]


def events(c, kind=None) -> list[dict]:
    return [e for e in c.get("/api/events?limit=1000").json() if kind is None or e["kind"] == kind]


def lines(path: Path) -> list[dict]:
    return [json.loads(x) for x in path.read_text(encoding="utf-8").splitlines()] if path.exists() else []


def every_value(db: Path) -> list[str]:
    """Every value of every row of every table of the hall's database, as text."""
    con = sqlite3.connect(db)
    try:
        tables = [r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
        return [str(v) for t in tables for row in con.execute(f'SELECT * FROM "{t}"') for v in row]
    finally:
        con.close()


class Gateway(ThreadingHTTPServer):
    """A tiny SMS gateway on a real socket: answers each POST with the next status of `script`
    (200 when the script is used up) and keeps what it received."""

    def __init__(self, script: list[int], port: int = 0) -> None:
        self.script, self.received = list(script), []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server's name
                body = self.rfile.read(int(self.headers["Content-Length"]))
                outer.received.append({"headers": dict(self.headers), "body": json.loads(body)})
                status = outer.script.pop(0) if outer.script else 200
                out = json.dumps({"ok": status < 300, "error": "invalid number" if status == 400 else ""}).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(out)))
                self.end_headers()
                self.wfile.write(out)

            def log_message(self, *args) -> None:
                pass

        super().__init__(("127.0.0.1", port), Handler)
        self.thread = threading.Thread(target=self.serve_forever, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/sms"

    def close(self) -> None:
        self.shutdown()
        self.server_close()
        self.thread.join()


@pytest.fixture
def gateway():
    made = []

    def make(script: list[int], port: int = 0) -> Gateway:
        g = Gateway(script, port)
        made.append(g)
        return g

    yield make
    for g in made:
        g.close()


# ---------------------------------------------------------------------------- file gateway


def test_outbox_case_finished_over_http_writes_the_result_notice(nhall, desk, clients):
    """A promised case taken with the applicant's phone; finished: the notice says so [J 24(2), B 25(2)]."""
    case_id = open_case(desk, "promised", phone="138 1234 5678")
    assert [e["body"] for e in events(desk, "case.phone_recorded")] == [{"case": case_id, "by": "s-li"}]
    r = desk.post(f"/api/cases/{case_id}/finish", json={"note": "已审批"})
    assert r.status_code == 200, r.text
    out = nhall.data_dir / "outbox.jsonl"
    sender = Sender(nhall, FileGateway(out))
    assert sender.run_once() == {"sent": 1, "failed": 0, "queued": 0}
    (msg,) = lines(out)
    assert msg["to"] == PHONE and msg["kind"] == "mobile"
    assert msg["text"] == ("您于11月23日在测试校区学生事务大厅申请的「休学办理」事项已办结，请凭受理号A001到教务处窗口"
                           "领取办理结果。咨询电话：0000-1111。")
    queued, = events(desk, "notice.queued")
    assert queued["body"] == {"notice": msg["id"], "case": case_id, "reason": "done"}
    assert events(desk, "notice.sent")[0]["body"] == {"notice": msg["id"], "case": case_id, "gateway": "file",
                                                      "attempts": 1}
    assert sender.run_once() == {"sent": 0, "failed": 0, "queued": 0} and len(lines(out)) == 1  # once


def test_outbox_phone_recorded_on_the_cases_page_and_refusal_notice(nhall, clients):
    """The clerk records the number on the cases page; a refused case gets the refusal text [B 25(2)]."""
    from tests.edge.pages.helpers import call_and_complete, sign_on

    c = clients()
    sign_on(c)
    call_and_complete(c, "graduation", "joint", co_departments=["finance", "security"])
    case_id = c.get("/api/cases?state=open").json()[0]["id"]
    r = c.post(f"/console/W1/cases/{case_id}/phone", data={"phone": "12345"})
    assert "电话号码格式不正确" in flash(r.text)
    assert not events(c, "case.phone_recorded")
    r = c.post(f"/console/W1/cases/{case_id}/phone", data={"phone": "0431-85166666"})
    assert "已登记通知电话 043****6666" in flash(r.text) and "043****6666" in r.text
    r = c.post(f"/console/W1/cases/{case_id}/finish", data={"result": "refused", "note": "不符合条件"})
    assert "办件已办结" in flash(r.text)
    out = nhall.data_dir / "outbox.jsonl"
    Sender(nhall, FileGateway(out)).run_once()
    (msg,) = lines(out)
    assert msg["to"] == "0431-85166666" and msg["kind"] == "landline"
    assert "「毕业离校手续」事项经审核不予办理，请到教务处窗口了解原因" in msg["text"]


def test_outbox_withdrawn_case_sends_nothing(nhall, desk):
    case_id = open_case(desk, "promised", phone=PHONE)
    desk.post(f"/api/cases/{case_id}/finish", json={"result": "withdrawn"})
    assert not events(desk, "notice.queued")


# ---------------------------------------------------------------------------- bad input


def test_outbox_bad_phone_is_refused_and_nothing_is_stored(nhall, desk):
    desk.serve("suspension")
    for phone, code in (("12345", "bad-phone"), ("23812345678", "bad-phone"), ("0431-0123", "bad-phone"),
                        ("138123456789", "bad-phone")):
        r = desk.post("/api/windows/W1/complete", json={"outcome": "promised", "phone": phone})
        assert (r.status_code, r.json()["code"]) == (400, code), r.text
        assert "电话号码格式不正确" in r.json()["detail"]
    r = desk.post("/api/windows/W1/complete", json={"outcome": "instant", "item": "suspension", "phone": PHONE})
    assert (r.status_code, r.json()["code"]) == (400, "no-notice-for-outcome")
    assert not events(desk, "ticket.completed") and not events(desk, "case.phone_recorded")
    assert nhall.call(lambda ctx: ctx.store.local.Contact.select().count()) == 0
    assert next(w for w in desk.get("/api/windows").json() if w["id"] == "W1")["state"] == "serving"


def test_outbox_phone_refused_when_the_hall_sends_no_notices(client, signed_on):
    """`[notify] gateway = "none"` (the default): no number is taken."""
    w = signed_on("W1", "s-li")
    client.post("/api/tickets", json={"item": "suspension"})
    w.post("/api/windows/W1/call")
    r = w.post("/api/windows/W1/complete", json={"outcome": "promised", "phone": PHONE})
    assert (r.status_code, r.json()["code"]) == (409, "notify-off")


# ---------------------------------------------------------------------------- http gateway


def http_sender(nhall, url: str) -> Sender:
    return Sender(nhall, HttpGateway(url, token="s3cret", timeout=5))


def test_outbox_http_gateway_retries_a_5xx_then_sends(nhall, desk, clock, gateway):
    gw = gateway([500, 200])
    sender = http_sender(nhall, gw.url)
    case_id = open_case(desk, "promised", phone=PHONE)
    desk.post(f"/api/cases/{case_id}/finish", json={})
    assert sender.run_once() == {"sent": 0, "failed": 0, "queued": 1}
    assert sender.run_once() == {"sent": 0, "failed": 0, "queued": 0}  # waits retry_seconds
    clock.advance(seconds=59)
    assert sender.run_once()["sent"] == 0 and len(gw.received) == 1
    clock.advance(seconds=1)
    assert sender.run_once() == {"sent": 1, "failed": 0, "queued": 0}
    first, second = gw.received
    assert first["body"] == second["body"] and second["body"]["to"] == PHONE
    assert "已办结" in second["body"]["text"]
    assert second["headers"]["Authorization"] == "Bearer s3cret"
    assert second["headers"]["Idempotency-Key"] == second["body"]["id"]
    assert events(desk, "notice.sent")[0]["body"]["attempts"] == 2


def test_outbox_http_gateway_4xx_fails_without_retry_and_the_manager_resends(nhall, desk, clients, clock, gateway):
    gw = gateway([400])
    sender = http_sender(nhall, gw.url)
    case_id = open_case(desk, "promised", phone=PHONE)
    desk.post(f"/api/cases/{case_id}/finish", json={})
    assert sender.run_once() == {"sent": 0, "failed": 1, "queued": 0}
    clock.advance(hours=5)
    assert sender.run_once() == {"sent": 0, "failed": 0, "queued": 0} and len(gw.received) == 1
    (failed,) = events(desk, "notice.failed")
    assert failed["body"]["attempts"] == 1 and failed["body"]["reason"].startswith("HTTP 400")

    m = clients()
    assert m.get("/manage", follow_redirects=False).status_code in (302, 303)  # a session is needed
    assert m.post(f"/manage/notices/{failed['body']['notice']}/retry", follow_redirects=False).status_code in (
        302, 303, 401, 403)
    assert not events(desk, "notice.retried")
    login_manager(m)
    page = m.get("/manage").text
    assert "办结通知（短信）" in page and "138****5678" in page and "网关拒收（400）" in page
    r = m.post(f"/manage/notices/{failed['body']['notice']}/retry")
    assert "通知已重新排队" in flash(r.text)
    assert sender.run_once() == {"sent": 1, "failed": 0, "queued": 0}
    r = m.post(f"/manage/notices/{failed['body']['notice']}/retry")
    assert "只有发送失败的通知可以重发" in flash(r.text)


def test_outbox_http_gateway_5xx_until_max_attempts_fails(nhall, desk, clock, gateway):
    gw = gateway([503, 502, 500, 200])
    sender = http_sender(nhall, gw.url)
    case_id = open_case(desk, "promised", phone=PHONE)
    desk.post(f"/api/cases/{case_id}/finish", json={})
    states = []
    for _ in range(3):
        states.append(sender.run_once())
        clock.advance(seconds=600)
    assert [s["failed"] for s in states] == [0, 0, 1]  # max_attempts = 3
    assert "(after 3 attempts)" in events(desk, "notice.failed")[0]["body"]["reason"]


def test_outbox_offline_gateway_keeps_the_notice_queued_and_delivers_later(nhall, desk, clock, gateway):
    """No gateway answers (the hall is offline): the notice stays queued, beyond max_attempts,
    and goes out once the gateway answers."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    sender = http_sender(nhall, f"http://127.0.0.1:{port}/sms")  # nothing listens there
    case_id = open_case(desk, "promised", phone=PHONE)
    desk.post(f"/api/cases/{case_id}/finish", json={})
    for _ in range(6):
        assert sender.run_once()["failed"] == 0
        clock.advance(seconds=600)
    assert not events(desk, "notice.failed") and not events(desk, "notice.sent")
    login_manager(desk)
    assert "网关无法连接" in desk.get("/manage").text
    gw = gateway([], port=port)  # the gateway is back
    assert sender.run_once() == {"sent": 1, "failed": 0, "queued": 0}
    assert gw.received[0]["body"]["to"] == PHONE
    assert events(desk, "notice.sent")[0]["body"]["attempts"] == 7


# ---------------------------------------------------------------------------- 容缺 supply date


def test_outbox_gaps_supply_date_passing_sends_a_reminder(nhall, desk, clock):
    """A 容缺 case whose supply date passes without the materials: a notice [C 11(4)]."""
    case_id = open_case(desk, "gaps", missing=["medical", "id-card"], supply_by="2026-11-25", phone=PHONE)
    other = open_case(desk, "gaps", missing=["medical"], supply_by="2026-11-25", phone="13900001111")
    desk.post(f"/api/cases/{other}/supply", json={"materials": ["medical"]})
    clock.set(datetime(2026, 11, 25, 16, 0, tzinfo=SH))  # the last day to supply: not yet
    assert nhall.call(tick)["supply_notices"] == 0
    desk.post(f"/api/cases/{case_id}/supply", json={"materials": ["id-card"]})
    clock.set(datetime(2026, 11, 26, 8, 0, tzinfo=SH))
    assert nhall.call(tick)["supply_notices"] == 1
    assert nhall.call(tick)["supply_notices"] == 0  # once
    out = nhall.data_dir / "outbox.jsonl"
    Sender(nhall, FileGateway(out)).run_once()
    (msg,) = lines(out)
    assert msg["to"] == PHONE
    assert msg["text"] == ("您于11月23日在测试校区学生事务大厅申请的「休学办理」事项补正材料期限已到（11月25日），"
                           "尚缺：医院诊断证明。请尽快到教务处窗口补交。咨询电话：0000-1111。")
    assert events(desk, "notice.queued")[0]["body"]["reason"] == "supply_due"


# ---------------------------------------------------------------------------- retention and the log


def test_outbox_phone_erased_after_retention_and_never_in_the_log(nhall, desk, clock):
    case_id = open_case(desk, "promised", phone=PHONE)
    queued_case = open_case(desk, "promised", phone="13900001111")  # its notice never goes out
    for c in (case_id, queued_case):
        desk.post(f"/api/cases/{c}/finish", json={})
    Sender(nhall, FileGateway(nhall.data_dir / "outbox.jsonl")).run_once()
    nhall.call(lambda ctx: ctx.store.update_notice(
        ctx.store.notices_of(queued_case)[0].id, state="queued", next_at=2**62))  # the gateway is down
    db = nhall.data_dir / "hall.db"

    bodies = [json.dumps(e["body"]) for e in events(desk)]
    assert bodies and not [b for b in bodies if "1381234" in b or "5678" in b or "13900001111" in b]
    con = sqlite3.connect(db)
    try:
        raw = [r[0] for r in con.execute("SELECT CAST(body AS TEXT) FROM events")]
    finally:
        con.close()
    assert not [b for b in raw if PHONE in b or "13900001111" in b]
    assert PHONE in every_value(db)  # kept at the hall meanwhile

    clock.advance(days=29)
    assert nhall.call(tick)["phones_erased"] == 0 and PHONE in every_value(db)
    clock.advance(days=1, seconds=1)
    assert nhall.call(tick)["phones_erased"] == 2
    values = every_value(db)
    assert not [v for v in values if PHONE in v or "13900001111" in v]
    failed = events(desk, "notice.failed")
    assert [f["body"]["reason"] for f in failed] == ["phone-erased"]
    login_manager(desk)
    assert "电话号码已按保存期限删除" in desk.get("/manage").text


# ---------------------------------------------------------------------------- the thread and the config


def test_outbox_sender_thread_delivers_a_queued_notice(nhall, desk):
    out = nhall.data_dir / "outbox.jsonl"
    sender = Sender(nhall, FileGateway(out), interval=3600)
    sender.start()
    try:
        case_id = open_case(desk, "promised", phone=PHONE)
        desk.post(f"/api/cases/{case_id}/finish", json={})
        deadline = threading.Event()
        for _ in range(200):  # woken by the notice.queued event, not by its hour-long interval
            if lines(out):
                break
            deadline.wait(0.02)
    finally:
        sender.stop()
    assert [m["to"] for m in lines(out)] == [PHONE]
    assert not [t for t in threading.enumerate() if t.name == "outbox-sender"]


@pytest.mark.parametrize("extra, error", [
    ('[notify]\ngateway = "sms"\n', "$.notify.gateway"),
    ('[notify]\ngateway = "http"\n', "field $.notify.url: the http gateway needs"),
    ('[notify]\nretry_seconds = 60\nretry_max_seconds = 10\n', "$.notify.retry_max_seconds"),
    ('[notify]\nphone_retention_days = 0\n', "$.notify.phone_retention_days"),
    ('[notify]\ncolour = "red"\n', "colour"),
    ('[notify]\ndone_template = "{item} {nope}"\n', "field $.notify.done_template: unknown placeholder {nope}"),
])
def test_outbox_config_is_strict(tmp_path, extra, error):
    p = tmp_path / "hall.toml"
    p.write_text(HALL_TOML + extra, encoding="utf-8")
    with pytest.raises(ConfigError) as e:
        load(p)
    assert error in str(e.value) and str(p) in str(e.value)


@pytest.mark.parametrize("nhall", ['done_template = "【测试大厅】{item}已办结（{number}）：{note}"\n'], indirect=True)
def test_outbox_configured_template_is_used(nhall, desk):
    case_id = open_case(desk, "promised", phone=PHONE)
    desk.post(f"/api/cases/{case_id}/finish", json={"note": "请到二楼领取"})
    out = nhall.data_dir / "outbox.jsonl"
    Sender(nhall, FileGateway(out)).run_once()
    assert [m["text"] for m in lines(out)] == ["【测试大厅】休学办理已办结（A001）：请到二楼领取"]
