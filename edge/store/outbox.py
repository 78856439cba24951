"""The hall's own, unreplicated tables for result notices (办结通知): the applicants' phone
numbers (`case_contacts`) and the outbox of messages (`outbox`).

These are not projections of the log. A phone number is personal data that must not live
forever, and the event log is kept forever and copied to central: so the number is written
here only, the log says only that one was recorded (`case.phone_recorded`) and how each notice
fared (`notice.*`), and housekeeping erases the number here after the retention period
(edge.outbox.erase_expired; docs/security.md). `LogStore.rebuild` does not touch these tables
(they are neither log nor projection); migration 2 creates them.
"""

from __future__ import annotations

from types import SimpleNamespace

import msgspec
import peewee as pw

from .log import row_view, table, update


class ContactView(msgspec.Struct, kw_only=True):
    case: str
    phone: str
    recorded_at: int
    by: str


class NoticeView(msgspec.Struct, kw_only=True):
    id: str
    case: str
    reason: str  # done | refused | supply_due
    phone: str  # "" once erased (retention)
    text: str
    state: str  # queued | sent | failed
    attempts: int  # deliveries tried
    errors: int  # attempts the gateway answered with an error (5xx, 429): max_attempts counts these
    error: str  # the last failure's reason
    created_at: int
    next_at: int  # µs: not tried again before this
    sent_at: int | None
    gateway: str


def bind(db: pw.Database) -> SimpleNamespace:
    """The models of the two tables bound to `db` (one namespace per store)."""

    class Base(pw.Model):
        class Meta:
            database = db

    Contact = table(Base, "Contact", ContactView, "case_contacts", key="case", big={"recorded_at"})
    Notice = table(Base, "Notice", NoticeView, "outbox", key="id", big={"created_at", "next_at", "sent_at"},
                   index={"case"}, defaults={"attempts": 0, "errors": 0, "error": "", "gateway": ""},
                   indexes=((("state", "next_at"), False),))
    return SimpleNamespace(Contact=Contact, Notice=Notice, tables=[Contact, Notice])


class OutboxQueries:
    db: pw.Database
    m: object

    @property
    def local(self) -> SimpleNamespace:
        ns = self.__dict__.get("_outbox_models")
        if ns is None:
            ns = self.__dict__["_outbox_models"] = bind(self.db)
        return ns

    # -- phone numbers

    def contact(self, case_id: str) -> ContactView | None:
        row = self.local.Contact.get_or_none(self.local.Contact.case == case_id)
        return None if row is None else row_view(ContactView, row)

    def save_contact(self, c: ContactView) -> None:
        C = self.local.Contact
        C.insert(**msgspec.structs.asdict(c)).on_conflict_replace().execute()

    def contacts_of_cases_closed_before(self, cutoff_us: int) -> list[str]:
        """Cases with a phone number that were finished before `cutoff_us`."""
        C, K = self.local.Contact, self.m.Case
        q = (C.select(C.case).join(K, on=(K.id == C.case))
             .where((K.state == "closed") & (K.finished_at < cutoff_us)))
        return [r.case for r in q]

    def supply_overdue_without_notice(self, today: str) -> list[str]:
        """Open 容缺 cases with a phone number whose supply date is before `today` and that
        have no supply notice yet."""
        C, K, N = self.local.Contact, self.m.Case, self.local.Notice
        notified = N.select(N.case).where(N.reason == "supply_due")
        q = (C.select(C.case).join(K, on=(K.id == C.case))
             .where((K.state == "open") & (K.outcome == "gaps") & (K.supply_by < today)
                    & C.case.not_in(notified)))
        return [r.case for r in q]

    def erase_phones(self, case_ids: list[str]) -> int:
        """Erase the phone numbers of these cases: their contact rows and the number in their
        notices. Returns how many contact rows went."""
        if not case_ids:
            return 0
        C, N = self.local.Contact, self.local.Notice
        gone = C.delete().where(C.case.in_(case_ids)).execute()
        N.update(phone="").where(N.case.in_(case_ids)).execute()
        return gone

    # -- the outbox

    def add_notice(self, n: NoticeView) -> None:
        self.local.Notice.insert(**msgspec.structs.asdict(n)).execute()

    def notice(self, notice_id: str) -> NoticeView | None:
        row = self.local.Notice.get_or_none(self.local.Notice.id == notice_id)
        return None if row is None else row_view(NoticeView, row)

    def update_notice(self, notice_id: str, **fields) -> None:
        update(self.local.Notice, notice_id, **fields)

    def due_notices(self, now_us: int, limit: int) -> list[NoticeView]:
        N = self.local.Notice
        q = N.select().where((N.state == "queued") & (N.next_at <= now_us)).order_by(N.next_at, N.id).limit(limit)
        return [row_view(NoticeView, r) for r in q]

    def queued_without_phone(self) -> list[NoticeView]:
        N = self.local.Notice
        return [row_view(NoticeView, r) for r in N.select().where((N.state == "queued") & (N.phone == ""))]

    def notices(self, state: str | None = None, limit: int = 50) -> list[NoticeView]:
        N = self.local.Notice
        q = N.select()
        if state:
            q = q.where(N.state == state)
        return [row_view(NoticeView, r) for r in q.order_by(N.created_at.desc()).limit(limit)]

    def notices_of(self, case_id: str) -> list[NoticeView]:
        N = self.local.Notice
        return [row_view(NoticeView, r) for r in N.select().where(N.case == case_id).order_by(N.created_at)]

    def notice_counts(self) -> dict[str, int]:
        N = self.local.Notice
        out = {"queued": 0, "sent": 0, "failed": 0}
        for state, n in N.select(N.state, pw.fn.COUNT(N.id)).group_by(N.state).tuples():
            out[state] = n
        return out
