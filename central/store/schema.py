"""Every peewee table of central, bound to one database: the merged events and their
bookkeeping (`Models`), the supervision records (`RecordModels`: complaints, follow-ups,
patrols) and the hall configuration revisions (`bind_revision`). The raw-SQL fact tables are
in central.store.facttables."""

from __future__ import annotations

from dataclasses import dataclass

import peewee as pw


@dataclass
class Models:
    Event: type
    Quarantine: type
    Hall: type
    Progress: type
    Correction: type
    Migration: type
    Audit: type  # migration 2; not part of `all()` (that list is migration 1's schema)

    def all(self) -> list[type]:
        return [self.Event, self.Quarantine, self.Hall, self.Progress, self.Correction, self.Migration]


def bind(db: pw.Database) -> Models:
    class Base(pw.Model):
        class Meta:
            database = db

    class Event(Base):
        id = pw.BigAutoField()
        hall = pw.TextField()
        epoch = pw.TextField()
        seq = pw.BigIntegerField()
        event_id = pw.TextField()
        kind = pw.TextField()
        schema = pw.IntegerField()
        body = pw.TextField()
        ts = pw.BigIntegerField()  # as the hall's clock said
        ts_true = pw.BigIntegerField()  # re-based when the hall's clock was corrected
        boot = pw.TextField()
        mono = pw.BigIntegerField()
        clock = pw.TextField()
        received = pw.BigIntegerField()

        class Meta:
            table_name = "events"
            indexes = ((("hall", "epoch", "seq"), True), (("hall", "ts_true"), False), (("kind", "ts_true"), False))

    class Quarantine(Base):
        id = pw.BigAutoField()
        hall = pw.TextField()
        topic = pw.TextField()
        epoch = pw.TextField(null=True)
        seq = pw.BigIntegerField(null=True)
        reason = pw.TextField()
        payload = pw.BlobField()  # the first QUARANTINE_KEEP bytes of what came (central.store)
        received = pw.BigIntegerField()
        size = pw.BigIntegerField(null=True)  # bytes of the whole payload
        sha256 = pw.TextField(null=True)  # hex SHA-256 of the whole payload

        class Meta:
            table_name = "quarantine"
            indexes = ((("hall", "epoch", "seq"), False),)

    class Hall(Base):
        id = pw.TextField(primary_key=True)
        campus = pw.TextField(default="")
        online = pw.BooleanField(default=False)
        last_seen = pw.BigIntegerField(null=True)
        status = pw.TextField(default="{}")

        class Meta:
            table_name = "halls"

    class Progress(Base):
        hall = pw.TextField()
        epoch = pw.TextField()
        contiguous = pw.BigIntegerField(default=0)
        conflict = pw.BigIntegerField(null=True)

        class Meta:
            table_name = "progress"
            primary_key = pw.CompositeKey("hall", "epoch")

    class Correction(Base):
        hall = pw.TextField()
        boot = pw.TextField()
        offset = pw.BigIntegerField()  # µs to add to `ts` of that boot's unverified events

        class Meta:
            table_name = "clock_corrections"
            primary_key = pw.CompositeKey("hall", "boot")

    class Migration(Base):
        version = pw.IntegerField(primary_key=True)
        name = pw.TextField()
        applied = pw.BigIntegerField()

        class Meta:
            table_name = "schema_migrations"

    class Audit(Base):
        id = pw.BigAutoField()
        at = pw.BigIntegerField()  # µs UTC
        who = pw.TextField()
        action = pw.TextField()  # login, login_failed, logout, …
        detail = pw.TextField(default="")

        class Meta:
            table_name = "audit"
            indexes = ((("at",), False),)

    return Models(Event, Quarantine, Hall, Progress, Correction, Migration, Audit)


@dataclass
class RecordModels:
    Complaint: type
    Followup: type
    Patrol: type

    def all(self) -> list[type]:
        return [self.Complaint, self.Followup, self.Patrol]


def bind_records(db: pw.Database) -> RecordModels:
    class Base(pw.Model):
        class Meta:
            database = db

    class Complaint(Base):
        id = pw.BigAutoField()
        received_day = pw.TextField()  # YYYY-MM-DD (local)
        received_time = pw.TextField(default="")  # HH:MM (local)
        channel = pw.TextField()
        hall = pw.TextField()
        window = pw.TextField(default="")
        staff = pw.TextField(default="")
        item = pw.TextField(default="")
        department = pw.TextField()  # routed to (归口部门)
        complainant = pw.TextField(default="")  # name / contact, optional
        content = pw.TextField()
        complexity = pw.TextField()
        due = pw.TextField()  # YYYY-MM-DD
        reply = pw.TextField(default="")
        replied_at = pw.BigIntegerField(null=True)  # µs UTC
        replied_by = pw.TextField(default="")
        outcome = pw.TextField(default="")
        closed = pw.BooleanField(default=False)
        closed_at = pw.BigIntegerField(null=True)
        closed_by = pw.TextField(default="")
        routing = pw.TextField(default="[]")  # JSON list of re-routings
        created_by = pw.TextField()
        created_at = pw.BigIntegerField()
        source = pw.TextField(default="")  # the hall's complaint.received event id; "" = typed at central

        class Meta:
            table_name = "complaints"
            indexes = ((("received_day",), False), (("department",), False), (("hall",), False))

    class Followup(Base):
        hall = pw.TextField()
        event_id = pw.TextField()  # the rating.given event this follows up
        ticket = pw.TextField(default="")
        callback_at = pw.BigIntegerField(null=True)
        callback_by = pw.TextField(default="")
        callback_note = pw.TextField(default="")
        verification = pw.TextField(default="")
        verification_note = pw.TextField(default="")
        fixed = pw.BooleanField(null=True)
        fix_note = pw.TextField(default="")
        fixed_at = pw.BigIntegerField(null=True)
        appeal = pw.TextField(default="")  # "" | pending | accepted | rejected
        appeal_reason = pw.TextField(default="")
        appeal_by = pw.TextField(default="")
        appeal_at = pw.BigIntegerField(null=True)
        decided_by = pw.TextField(default="")
        decided_at = pw.BigIntegerField(null=True)
        decision_note = pw.TextField(default="")
        updated_at = pw.BigIntegerField()

        class Meta:
            table_name = "rating_followups"
            primary_key = pw.CompositeKey("hall", "event_id")

    class Patrol(Base):
        id = pw.BigAutoField()
        day = pw.TextField()  # YYYY-MM-DD
        hall = pw.TextField()
        window = pw.TextField(default="")
        staff = pw.TextField(default="")
        category = pw.TextField()
        kind = pw.TextField()
        note = pw.TextField()
        inspector = pw.TextField()
        created_by = pw.TextField()
        created_at = pw.BigIntegerField()

        class Meta:
            table_name = "patrol_findings"
            indexes = ((("day",), False), (("hall", "staff"), False))

    return RecordModels(Complaint, Followup, Patrol)


def bind_revision(db: pw.Database) -> type:
    class Revision(pw.Model):
        id = pw.BigAutoField()
        hall = pw.TextField()
        version = pw.BigIntegerField()
        business = pw.TextField()  # JSON of sync.kernel.business.Business
        who = pw.TextField()
        at = pw.BigIntegerField()  # µs UTC
        comment = pw.TextField(default="")
        summary = pw.TextField(default="")

        class Meta:
            database = db
            table_name = "config_revisions"
            indexes = ((("hall", "version"), True),)

    return Revision
