"""The hall's periodic checks (services layer): one command on the writer thread, on the
injected clock. The web app's ticker runs it every few seconds; `edge.hardware.Hardware.tick`
runs it on demand (tests and tools)."""

from __future__ import annotations

import logging
from pathlib import Path

from . import closing, outbox, queue, stepaway
from .config import Backup
from .context import Ctx
from .store import backup as store_backup
from .store import compaction
from .store.log import StoreError

log = logging.getLogger("onestop.edge.backup")


def tick(ctx: Ctx, sensors: list | None = None) -> dict:
    """Expire yesterday's unfinished numbers, turn over-long step-aways into violations, run
    the closing check with the door/power readings `sensors` (`edge.closing.Sensor`, from
    `edge.hardware.Hardware.sensors`; none: no closing check), queue the notices of 容缺 cases
    whose supply date passed and erase phone numbers past `[notify] phone_retention_days`
    (edge.outbox), make the nightly backup when it is due, and compact a chunk of the log
    (`compact_log`)."""
    expired = queue.expire_stale(ctx)
    violations = stepaway.check_step_aways(ctx)
    closed = closing.check(ctx, list(sensors or []))
    out = {"expired": expired, "violations": violations, "closing": closed,
           "supply_notices": outbox.supply_due(ctx), "phones_erased": outbox.erase_expired(ctx)}
    if ctx.backup is not None and ctx.backup.dir:
        out["backup"] = nightly_backup(ctx, ctx.backup)
    out["compacted"] = compact_log(ctx)
    return out


DAY_US = 86_400_000_000


def compact_log(ctx: Ctx, limit: int = compaction.CHUNK) -> int:
    """Delete at most `limit` events central acknowledged that are older than `[storage]
    retention_days` (edge.store.compaction: each epoch's last event and the window overrides
    stay). A chunk per tick, so a year's backlog is spread over minutes and the writer is never
    held long; nothing to do costs one indexed read per epoch. Returns how many were deleted."""
    if ctx.retention_days <= 0:
        return 0
    deleted = compaction.compact(ctx.store, ctx.clock.micros() - ctx.retention_days * DAY_US, limit)
    if deleted:
        log.info("log compacted: %d events older than %d days deleted", deleted, ctx.retention_days)
    return deleted


def nightly_backup(ctx: Ctx, cfg: Backup) -> dict | None:
    """Once a local day, from `[backup] at` on: copy the database into `[backup] dir` (the
    second medium) and keep the newest `[backup] keep` copies there. One attempt a day: a
    missing medium is reported (log, `backup:error` in the store's meta) and not retried until
    the next day, and its mount point is never written to. Runs on the writer thread: the copy
    takes as long as the database needs to be read (seconds), at night. None: not due."""
    local = ctx.calendar.local(ctx.now())
    day = local.date().isoformat()
    hour, minute = (int(x) for x in cfg.at.split(":"))
    if (local.hour, local.minute) < (hour, minute) or ctx.store.meta("backup:day") == day:
        return None
    ctx.store.set_meta("backup:day", day)
    folder = Path(cfg.dir)
    out = folder / store_backup.nightly_name(ctx.hall_id, local)
    try:
        if not folder.is_dir():
            raise StoreError(f"{folder} is not a directory: is the backup medium mounted?")
        snap = store_backup.backup(ctx.store.path, out)
        removed = store_backup.rotate(folder, ctx.hall_id, cfg.keep)
    except (StoreError, OSError) as e:
        ctx.store.set_meta("backup:error", f"{day}: {e}")
        log.warning("nightly backup failed: %s", e)
        return {"error": str(e)}
    ctx.store.set_meta("backup:last", f"{out} epoch {snap.epoch} seq {snap.seq}")
    log.info("nightly backup %s: epoch %s up to seq %d; %d older copies deleted", out, snap.epoch, snap.seq,
             len(removed))
    return {"file": str(out), "epoch": snap.epoch, "seq": snap.seq, "deleted": [str(p) for p in removed]}
