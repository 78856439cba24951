"""Compaction of the hall's event log (bounded disk and SD wear, docs/operations.md).

Events central has acknowledged and that are older than `[storage] retention_days` are deleted
from the `events` table, a bounded chunk at a time (`compact`, run by the hall's housekeeping on
the writer thread). The invariants:

- nothing central has not acknowledged is ever deleted (only seqs ≤ the persisted ack mark of
  their epoch, `acked:{epoch}`);
- the last event of every epoch stays, so `epochs()`, `last_seq_of` and the seq the hall
  appends next (after a restart too) never change: no seq is ever reused;
- what the hall still reads from its log stays: the manager's window overrides
  (`window.opened` / `window.withdrawn`, `KEEP_KINDS`) stay in force until the next one and are
  read back from the log (edge.store.windows), so they are never deleted;
- projections and the outbox tables are untouched (they are not the log);
- each epoch's log is deleted as a prefix: meta `compacted:{epoch}` is the highest seq up to
  which events may be missing (the *floor*). Above it the log is whole.

Central already holds every deleted event, so its figures are unaffected. If central later
loses them (its database restored from an old copy) and acknowledges less than the floor, the
hall cannot send them again: replication sends `stand_ins` for the missing seqs — events of
kind `log.compacted {epoch, first, last}` with the missing seqs and a deterministic id — so
central's contiguous mark moves on, the hall's later events reach it, and central knows that
range is unrecoverable from the hall (docs/sync.md). `rebuild()` refuses a compacted log
(`StoreError`): its projections can no longer be derived from it alone.

No VACUUM: SQLite puts the deleted pages on its free list and the next days' events reuse them,
so the file stops growing at about `retention_days` of events; a VACUUM would rewrite the whole
file (the SD wear this is about) and hold the writer for seconds.
"""

from __future__ import annotations

import json
import uuid
from typing import Any

KEEP_KINDS = ("window.opened", "window.withdrawn")
CHUNK = 2000  # events deleted at most per call (one housekeeping tick): the writer is held for milliseconds
STAND_IN_KIND = "log.compacted"
_STAND_IN_NS = uuid.UUID("6f1d1c52-8a5e-4c3b-9c57-2f0f3b9e7c11")
_PREFIX = "compacted:"


def floor(store: Any, epoch: str) -> int:
    """The seq of `epoch` up to which events may have been deleted (0: none)."""
    value = store.meta(_PREFIX + epoch)
    return int(value) if value else 0


def floors(store: Any) -> dict[str, int]:
    """Every compacted epoch and its floor."""
    rows = store.db.execute_sql("SELECT key, value FROM meta WHERE key LIKE ?", (_PREFIX + "%",)).fetchall()
    return {k[len(_PREFIX):]: int(v) for k, v in rows}


def compact(store: Any, cutoff_us: int, limit: int = CHUNK) -> int:
    """Delete at most `limit` events acknowledged by central and stamped before `cutoff_us`,
    the oldest first, keeping each epoch's last event and `KEEP_KINDS`. Call on the writer
    thread, inside its transaction. Returns how many were deleted."""
    deleted = 0
    keep = ", ".join("?" * len(KEEP_KINDS))
    for epoch, last in store.epochs():
        room = limit - deleted
        if room <= 0:
            break
        low = floor(store, epoch)
        high = min(store.acked(epoch), last - 1, low + room)
        if high <= low:
            continue
        young = store.one("SELECT MIN(seq) FROM events WHERE epoch = ? AND seq > ? AND seq <= ? AND ts >= ?",
                          (epoch, low, high, cutoff_us))[0]
        upto = high if young is None else young - 1
        if upto <= low:
            continue
        cur = store.db.execute_sql(
            f"DELETE FROM events WHERE epoch = ? AND seq > ? AND seq <= ? AND kind NOT IN ({keep})",
            (epoch, low, upto, *KEEP_KINDS))
        deleted += cur.rowcount
        store.set_meta(_PREFIX + epoch, str(upto))
    return deleted


def stand_ins(hall: str, epoch: str, after: int, rows: list[tuple], limit: int, floor_seq: int) -> list[tuple]:
    """`rows` (event rows of `epoch` after `after`, as `LogStore.event_rows(epoch, after, limit)`
    gave them) with the seqs compaction deleted (≤ `floor_seq`) filled by `log.compacted`
    stand-ins, at most `limit`. Holes are filled only up to the last row read when the read was
    cut by `limit` (a kept event may follow it).
    A stand-in's id is derived from (hall, epoch, seq), so sending it again is a duplicate at
    central, never a conflict."""
    if len(rows) >= limit:
        floor_seq = min(floor_seq, rows[-1][0])
    out: list[tuple] = []
    nxt = after + 1
    pending = list(rows)
    while len(out) < limit and (pending or nxt <= floor_seq):
        if pending and pending[0][0] == nxt:
            out.append(pending.pop(0))
            nxt += 1
            continue
        top = min(floor_seq, pending[0][0] - 1 if pending else floor_seq)
        if top < nxt:  # a hole above the floor: not compaction's; send what is there
            out.extend(pending[: limit - len(out)])
            break
        ts = pending[0][5] if pending else (rows[-1][5] if rows else 0)
        body = json.dumps({"epoch": epoch, "first": nxt, "last": top}).encode()
        for seq in range(nxt, top + 1):
            if len(out) >= limit:
                break
            sid = str(uuid.uuid5(_STAND_IN_NS, f"{hall}/{epoch}/{seq}"))
            out.append((seq, sid, STAND_IN_KIND, 1, body, ts, "", 0, "simulated"))
        nxt = top + 1
    return out
