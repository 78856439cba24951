"""Result notices (办结通知): the applicant of a promised, joint or 容缺 case may leave a phone
number; when the case is finished, or a 容缺 supply date passes without the materials, a
message is queued in the hall's outbox and a sender thread delivers it through the configured
gateway [J 24(2), B 25(2) 办结并反馈至申报人, C 11(4), C 11(7) 结果送达].

- The phone number lives only in the hall's own tables (edge.store.outbox), never in the
  replicated log: the log says `case.phone_recorded` and `notice.queued|sent|failed|retried`.
  Housekeeping erases it `[notify] phone_retention_days` after the case ends.
- Gateways (`Gateway`): `file` appends JSON lines to a file (the demo's and the tests' outbox),
  `http` POSTs JSON to an SMS gateway. A 4xx answer is final (failed), a 5xx or 429 answer is
  retried with a doubling wait up to `max_attempts` answers, an unreachable gateway (the hall is
  offline) keeps the notice queued until it answers.
- Commands (functions of `Ctx`) run on the writer thread; the network is only touched by the
  `Sender` thread, between two commands.
"""

from __future__ import annotations

import json
import logging
import os
import re
import threading
import urllib.error
import urllib.request
from dataclasses import dataclass
from datetime import timedelta
from http.client import HTTPException
from pathlib import Path
from typing import Protocol

from sync.contract import events as ev
from sync.kernel.clock import from_micros, uuid7

from .config import NOTICE_MAX_TEXT as MAX_TEXT
from .config import Notify
from .context import Ctx
from .store.cases import CaseView
from .store.outbox import ContactView, NoticeView
from .workflow import Invalid, NotFound, Refused, StorageUnavailable

log = logging.getLogger("onestop.edge.outbox")

GATEWAY_LABELS = {"file": "文件输出", "http": "短信网关"}
NOTICE_OUTCOMES = ("promised", "joint", "gaps")  # cases whose applicant may leave a phone number

# ---------------------------------------------------------------------------- phone numbers

_MOBILE = re.compile(r"^1[3-9]\d{9}$")
_LANDLINE = re.compile(r"^(0\d{2,3})-?([2-9]\d{6,7})$")


def normalise_phone(text: str) -> str:
    """A mainland mobile number (11 digits, 1[3-9]…) or a landline with its area code
    (0431-85166666), spaces and a leading +86 dropped. Raises Invalid."""
    raw = re.sub(r"[\s()（）]", "", text or "")
    if raw.startswith("+86"):
        raw = raw[3:].lstrip("-")
    elif raw.startswith("0086"):
        raw = raw[4:].lstrip("-")
    if _MOBILE.match(raw):
        return raw
    m = _LANDLINE.match(raw)
    if m:
        return f"{m.group(1)}-{m.group(2)}"
    raise Invalid("bad-phone", "电话号码格式不正确：请填写 11 位手机号（如 13812345678）或带区号的固定电话"
                               "（如 0431-85166666）")


def masked(phone: str) -> str:
    """What screens show of a number: 138****5678."""
    digits = phone.replace("-", "")
    return f"{digits[:3]}****{digits[-4:]}" if len(digits) >= 8 else "****"


def record_phone(ctx: Ctx, case_id: str, phone: str, by: str) -> str:
    """Keep the applicant's phone number for the case's result notice (hall-local table; the
    log records only that one was given). Returns the normalised number."""
    number = normalise_phone(phone)
    if ctx.notify.gateway == "none":
        raise Refused("notify-off", "本大厅未开通办结短信通知（[notify] gateway），不能登记电话号码")
    c = ctx.store.case(case_id)
    if c is None:
        raise NotFound("unknown-case", f"没有编号为 {case_id} 的办件")
    if c.outcome not in NOTICE_OUTCOMES:
        raise Invalid("no-notice-for-outcome", "只有承诺件、联办件和容缺受理件可以登记电话号码以便通知办理结果")
    if c.state != "open":
        raise Refused("case-closed", "该办件已办结，不能再登记电话号码")
    ctx.store.save_contact(ContactView(case=case_id, phone=number, recorded_at=ctx.clock.micros(), by=by))
    ctx.store.append(ev.CasePhoneRecorded(case=case_id, by=by))
    return number


# ---------------------------------------------------------------------------- message texts

TEMPLATES = {
    "done": "您于{month}月{day}日在{hall}申请的「{item}」事项已办结，请凭受理号{number}到{department}窗口领取办理结果。{contact}",
    "refused": "您于{month}月{day}日在{hall}申请的「{item}」事项经审核不予办理，请到{department}窗口了解原因并取回材料。{contact}",
    "supply_due": "您于{month}月{day}日在{hall}申请的「{item}」事项补正材料期限已到（{supply_by}），尚缺：{missing}。"
                  "请尽快到{department}窗口补交。{contact}",
}
def message_text(ctx: Ctx, c: CaseView, reason: str) -> str:
    cat = ctx.catalog
    item = cat.items.get(c.item)
    dept = cat.departments.get(c.department)
    opened = ctx.calendar.local(from_micros(c.opened_at))
    mats = {m.id: m.name for m in item.materials} if item else {}
    supply = c.supply_by or ""
    values = {
        "month": opened.month, "day": opened.day, "hall": ctx.hall_name or ctx.hall_id,
        "item": item.name if item else c.item, "number": c.number,
        "department": dept.name if dept else c.department,
        "contact": f"咨询电话：{dept.phone}。" if dept and dept.phone else "",
        "note": c.note, "supply_by": f"{int(supply[5:7])}月{int(supply[8:10])}日" if len(supply) == 10 else supply,
        "missing": "、".join(mats.get(m, m) for m in c.missing if m not in c.supplied),
    }
    template = getattr(ctx.notify, f"{reason}_template", "") or TEMPLATES[reason]
    return template.format(**values)[:MAX_TEXT]


# ---------------------------------------------------------------------------- queueing (writer thread)


def queue_notice(ctx: Ctx, c: CaseView, reason: str) -> NoticeView | None:
    """Queue the notice `reason` for case `c` if its applicant left a number."""
    contact = ctx.store.contact(c.id)
    if contact is None or ctx.notify.gateway == "none":
        return None
    now = ctx.clock.micros()
    n = NoticeView(id=uuid7(ctx.clock), case=c.id, reason=reason, phone=contact.phone, text=message_text(ctx, c, reason),
                   state="queued", attempts=0, errors=0, error="", created_at=now, next_at=now, sent_at=None,
                   gateway=ctx.notify.gateway)
    ctx.store.add_notice(n)
    ctx.store.append(ev.NoticeQueued(notice=n.id, case=c.id, reason=reason))  # type: ignore[arg-type]
    return n


def case_finished(ctx: Ctx, c: CaseView) -> NoticeView | None:
    """After `case.finished`: the result notice (none for a withdrawn application)."""
    if c.result in ("done", "refused"):
        return queue_notice(ctx, c, c.result)
    return None


def supply_due(ctx: Ctx) -> int:
    """Housekeeping: a notice for each open 容缺 case whose supply date has passed with
    materials still missing [C 11(4)]. Returns how many were queued."""
    n = 0
    for case_id in ctx.store.supply_overdue_without_notice(ctx.service_date()):
        c = ctx.store.case(case_id)
        if c is not None and any(m not in c.supplied for m in c.missing) and queue_notice(ctx, c, "supply_due"):
            n += 1
    return n


def erase_expired(ctx: Ctx) -> int:
    """Housekeeping: erase the phone numbers of cases that ended more than
    `phone_retention_days` ago (contact and outbox); a notice still queued for such a number
    fails. Returns how many numbers were erased."""
    cutoff = ctx.clock.micros() - ctx.notify.phone_retention_days * 86_400_000_000
    cases = ctx.store.contacts_of_cases_closed_before(cutoff)
    erased = ctx.store.erase_phones(cases)
    for n in ctx.store.queued_without_phone():
        ctx.store.update_notice(n.id, state="failed", error="phone-erased")
        ctx.store.append(ev.NoticeFailed(notice=n.id, case=n.case, attempts=n.attempts, reason="phone-erased"))
    if erased:
        log.info("erased %d phone numbers past their retention (%d days)", erased, ctx.notify.phone_retention_days)
    return erased


def retry(ctx: Ctx, notice_id: str, by: str) -> str:
    """A manager puts a failed notice back in the queue."""
    n = ctx.store.notice(notice_id)
    if n is None:
        raise NotFound("unknown-notice", f"没有编号为 {notice_id} 的通知")
    if n.state != "failed":
        raise Refused("notice-not-failed", "只有发送失败的通知可以重发")
    if not n.phone:
        raise Refused("phone-erased", "该通知的电话号码已按保存期限删除，不能重发")
    ctx.store.update_notice(n.id, state="queued", errors=0, next_at=ctx.clock.micros())
    ctx.store.append(ev.NoticeRetried(notice=n.id, case=n.case, by=by))
    return f"通知已重新排队（{masked(n.phone)}）"


def error_label(reason: str) -> str:
    """A delivery failure as the manager's page says it (the log keeps the gateway's words)."""
    if not reason:
        return ""
    if reason == "phone-erased":
        return "电话号码已按保存期限删除"
    if reason.startswith("gateway unreachable"):
        return "网关无法连接（离线时保留在队列中）"
    m = re.match(r"HTTP (\d{3})", reason)
    if m:
        code = int(m.group(1))
        return f"网关拒收（{code}）" if 400 <= code < 500 and code not in (408, 429) else f"网关出错（{code}）"
    return "无法写入通知文件"


def summary(ctx: Ctx) -> dict:
    """The outbox for the manager's page: counts and the latest failed and queued notices."""
    def row(n: NoticeView) -> dict:
        c = ctx.store.case(n.case)
        return {"id": n.id, "number": c.number if c else "", "reason": n.reason, "phone": masked(n.phone) if n.phone else "已删除",
                "attempts": n.attempts, "error": error_label(n.error), "state": n.state, "retry": n.state == "failed" and bool(n.phone)}

    return {"counts": ctx.store.notice_counts(), "gateway": GATEWAY_LABELS.get(ctx.notify.gateway, ctx.notify.gateway),
            "failed": [row(n) for n in ctx.store.notices("failed", 20)],
            "queued": [row(n) for n in ctx.store.notices("queued", 20)]}


# ---------------------------------------------------------------------------- delivering


@dataclass(frozen=True)
class Outgoing:
    """One message as a gateway receives it."""

    id: str
    case: str
    phone: str
    text: str
    attempt: int  # 1 for the first try

    def payload(self) -> dict:
        return {"id": self.id, "to": self.phone, "kind": "mobile" if _MOBILE.match(self.phone) else "landline",
                "text": self.text}


class DeliveryError(Exception):
    """A delivery that did not happen. `permanent`: never retry (the gateway refused the message,
    4xx); `answered`: the gateway answered (an error); not answered: unreachable or timed out."""

    def __init__(self, reason: str, *, permanent: bool = False, answered: bool = True) -> None:
        super().__init__(reason)
        self.reason, self.permanent, self.answered = reason[:300], permanent, answered


class Gateway(Protocol):
    """Delivers one message or raises DeliveryError."""

    name: str

    def send(self, message: Outgoing) -> None: ...


class FileGateway:
    """Appends each message as one JSON line (flushed to disk) to `path`."""

    name = "file"

    def __init__(self, path: Path) -> None:
        self.path = Path(path)

    def send(self, message: Outgoing) -> None:
        line = json.dumps(message.payload(), ensure_ascii=False) + "\n"
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with open(self.path, "a", encoding="utf-8") as f:
                f.write(line)
                f.flush()
                os.fsync(f.fileno())
        except OSError as e:
            raise DeliveryError(f"{self.path}: {e.strerror or e}", answered=False) from None


class HttpGateway:
    """POSTs `{"id", "to", "kind", "text"}` as JSON to an SMS gateway, with `Authorization:
    Bearer <token>` and `Idempotency-Key: <id>` (a retry after a lost answer is the same message)."""

    name = "http"

    def __init__(self, url: str, token: str = "", timeout: float = 10.0) -> None:
        self.url, self.token, self.timeout = url, token, timeout

    def send(self, message: Outgoing) -> None:
        headers = {"Content-Type": "application/json", "Idempotency-Key": message.id}
        if self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        req = urllib.request.Request(self.url, data=json.dumps(message.payload(), ensure_ascii=False).encode(),
                                     headers=headers, method="POST")
        try:
            with urllib.request.urlopen(req, timeout=self.timeout) as r:
                r.read(4096)
        except urllib.error.HTTPError as e:
            body = e.read(300).decode("utf-8", "replace").strip()
            reason = f"HTTP {e.code}" + (f": {body}" if body else "")
            if 400 <= e.code < 500 and e.code not in (408, 429):
                raise DeliveryError(reason, permanent=True) from None
            raise DeliveryError(reason) from None
        except (urllib.error.URLError, TimeoutError, ConnectionError, HTTPException, OSError) as e:
            why = getattr(e, "reason", None) or e
            raise DeliveryError(f"gateway unreachable: {why}", answered=False) from None


def make_gateway(cfg: Notify, data_dir: Path) -> Gateway | None:
    if cfg.gateway == "file":
        path = Path(cfg.path)
        return FileGateway(path if path.is_absolute() else Path(data_dir) / path)
    if cfg.gateway == "http":
        return HttpGateway(cfg.url, cfg.token, cfg.timeout_seconds)
    return None


def due(ctx: Ctx, limit: int = 20) -> list[Outgoing]:
    """The queued notices whose time has come (writer thread; the sender sends them)."""
    return [Outgoing(n.id, n.case, n.phone, n.text, n.attempts + 1)
            for n in ctx.store.due_notices(ctx.clock.micros(), limit) if n.phone]


def record(ctx: Ctx, notice_id: str, gateway: str, error: DeliveryError | None) -> str:
    """What one delivery attempt did: sent, failed for good, or queued again after a wait that
    doubles from `retry_seconds` up to `retry_max_seconds`. Returns the notice's state."""
    n = ctx.store.notice(notice_id)
    if n is None or n.state != "queued":
        return n.state if n else "gone"
    cfg = ctx.notify
    attempts = n.attempts + 1
    if error is None:
        ctx.store.update_notice(n.id, state="sent", attempts=attempts, sent_at=ctx.clock.micros(), error="",
                                gateway=gateway)
        ctx.store.append(ev.NoticeSent(notice=n.id, case=n.case, gateway=gateway, attempts=attempts))
        return "sent"
    errors = n.errors + (1 if error.answered else 0)
    if error.permanent or errors >= cfg.max_attempts:
        reason = error.reason if error.permanent else f"{error.reason} (after {errors} attempts)"
        ctx.store.update_notice(n.id, state="failed", attempts=attempts, errors=errors, error=reason, gateway=gateway)
        ctx.store.append(ev.NoticeFailed(notice=n.id, case=n.case, attempts=attempts, reason=reason))
        return "failed"
    wait = min(cfg.retry_seconds * 2 ** (attempts - 1), cfg.retry_max_seconds)
    later = ctx.clock.micros() + int(timedelta(seconds=wait) / timedelta(microseconds=1))
    ctx.store.update_notice(n.id, attempts=attempts, errors=errors, error=error.reason, next_at=later, gateway=gateway)
    return "queued"


class Sender:
    """The thread that delivers the outbox: every `interval` seconds (or when a notice is
    queued) it takes the due notices from the writer, sends each through the gateway (off the
    writer thread) and records the result. `run_once` is one such round (tests call it)."""

    def __init__(self, hall, gateway: Gateway, interval: float = 5.0, batch: int = 20) -> None:
        self.hall, self.gateway, self.interval, self.batch = hall, gateway, interval, batch
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None

    def run_once(self) -> dict[str, int]:
        out = {"sent": 0, "failed": 0, "queued": 0}
        for m in self.hall.call(due, self.batch):
            err: DeliveryError | None = None
            try:
                self.gateway.send(m)
            except DeliveryError as e:
                err = e
                log.warning("notice %s to %s: %s", m.id, masked(m.phone), e.reason)
            state = self.hall.call(record, m.id, self.gateway.name, err)
            out[state] = out.get(state, 0) + 1
        return out

    def _on_events(self, events: list) -> None:
        if any(e.kind in ("notice.queued", "notice.retried") for e in events):
            self._wake.set()

    def start(self) -> None:
        self.hall.add_listener(self._on_events)
        self._thread = threading.Thread(target=self._loop, name="outbox-sender", daemon=True)
        self._thread.start()

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                self.run_once()
            except StorageUnavailable:
                pass
            except Exception:  # noqa: BLE001 - the sender keeps going
                log.exception("outbox round failed")
            self._wake.wait(self.interval)
            self._wake.clear()

    def stop(self) -> None:
        self.hall.remove_listener(self._on_events)
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout=30)
            self._thread = None


def start_sender(hall, data_dir: Path) -> Sender | None:
    """The running sender of the hall's `[notify]` gateway (None: notices are off)."""
    gw = make_gateway(hall.config.notify, data_dir)
    if gw is None:
        return None
    s = Sender(hall, gw)
    s.start()
    return s
