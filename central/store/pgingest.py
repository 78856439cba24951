"""The PostgreSQL side of ingest (docs/benchmarks.md, "PostgreSQL ingest").

- **COPY** of a batch's events straight into `events`, inside a savepoint. COPY stores rows
  about three times faster than any `INSERT … ON CONFLICT` form on PostgreSQL (it writes them
  in bulk; the upsert checks each row on its own), but it fails the whole batch on the first
  (hall, epoch, seq) already stored. A batch that may hold duplicates (it starts at or below
  the hall's acked mark: a resend) or whose COPY failed on a unique key is stored with
  `INSERT … ON CONFLICT DO NOTHING`, which keeps ingest idempotent either way.
- **Locks in one order.** Every row ingest writes is keyed by hall. A transaction first takes
  the counter rows (`hall_event_counts`) of the halls it will write, in hall order, then their
  progress rows (`progress`), in (hall, epoch) order, and only then writes anything. Everything
  else of a hall (its events, maps and dirty marks) is written while its counter row is held, so
  two workers on a shared subscription wait for each other but never deadlock.
"""

from __future__ import annotations

_COLS = "hall, epoch, seq, event_id, kind, schema, body, ts, ts_true, boot, mono, clock, received"
_SPECIAL = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})


def _field(v) -> str:
    if v.__class__ is str:
        return v.translate(_SPECIAL) if ("\\" in v or "\t" in v or "\n" in v or "\r" in v) else v
    if v is None:
        return "\\N"
    return str(v)


def copy_text(rows: list[tuple]) -> str:
    """`events` rows in COPY's text format (tab-separated, backslash escapes, \\N for NULL).
    A row is first written as it is; only a row where that leaves a tab, newline, carriage
    return or backslash inside a field (rare: the text of the hall's data) is escaped field by
    field, as is a row with a None ("None" in the line)."""
    out = []
    for r in rows:
        try:
            line = "%s\t%s\t%d\t%s\t%s\t%d\t%s\t%d\t%d\t%s\t%d\t%s\t%d" % r
        except TypeError:  # an integer column holding None
            line = ""
        if line.count("\t") != 12 or "\n" in line or "\r" in line or "\\" in line or "None" in line:
            line = "\t".join([_field(v) for v in r])
        out.append(line)
    out.append("")
    return "\n".join(out)


def insert_events(store, rows: list[tuple], text: str | None, maybe_duplicates: bool) -> int:
    """Store `rows` (all of one hall and epoch, inside the caller's transaction); returns how
    many were new."""
    import psycopg2

    if not maybe_duplicates:
        try:
            with store.db.atomic():  # a savepoint: a failed COPY takes nothing with it
                cur = store.db.cursor()
                cur.copy_expert(f"COPY events ({_COLS}) FROM STDIN", _Reader(text if text is not None else copy_text(rows)))
            return len(rows)
        except psycopg2.errors.UniqueViolation:
            pass  # some were stored before: the upsert below stores the rest
    from psycopg2.extras import execute_values

    new = execute_values(store.db.cursor(),
                         f"INSERT INTO events ({_COLS}) VALUES %s ON CONFLICT (hall, epoch, seq) DO NOTHING RETURNING seq",
                         rows, page_size=len(rows), fetch=True)
    return len(new)


class _Reader:
    """The file-like object copy_expert reads from, without copying the text into a StringIO."""

    __slots__ = ("_text", "_done")

    def __init__(self, text: str) -> None:
        self._text, self._done = text, False

    def read(self, size: int = -1) -> str:
        if self._done:
            return ""
        self._done = True
        return self._text

    readline = read


def lock_halls(store, pairs) -> None:
    """Take the counter rows of the halls of `pairs` in hall order, then their progress rows in
    (hall, epoch) order (each created when missing), held to the end of the transaction."""
    pairs = sorted(set(pairs))
    if not pairs:
        return
    cur = store.db.cursor()
    # each statement inserts, or locks with a no-op update, its rows in the order given
    cur.execute("INSERT INTO hall_event_counts (hall, events) SELECT h, 0 FROM unnest(%s::text[]) WITH ORDINALITY AS u(h, i)"
                " ORDER BY i ON CONFLICT (hall) DO UPDATE SET events = hall_event_counts.events",
                (sorted({h for h, _e in pairs}),))
    cur.execute("INSERT INTO progress (hall, epoch, contiguous) SELECT h, e, 0"
                " FROM unnest(%s::text[], %s::text[]) WITH ORDINALITY AS u(h, e, i)"
                " ORDER BY i ON CONFLICT (hall, epoch) DO UPDATE SET contiguous = progress.contiguous",
                ([h for h, _e in pairs], [e for _h, e in pairs]))
