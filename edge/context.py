"""What every command sees (`Ctx`): the store, the clock, the calendar and the business
configuration (`Catalog`), plus the configuration's life cycle on the hall: the newest version
central pushed is checked, persisted in the store and swapped in (`apply_business`), and at
start the hall runs on the newest version it persisted (`load_persisted_business`).

Layer: above the store, below every capability (queue, cases, attendance, …).
"""

from __future__ import annotations

import logging
from typing import Any
from dataclasses import dataclass, field
from datetime import date, datetime

import msgspec

from sync.contract import events as ev
from sync.kernel import business as biz
from sync.kernel.business import Business, Department, Item, Staff, Window
from sync.kernel.calendar import HallCalendar
from sync.kernel.clock import Clock

from .config import Backup, Notify
from .store import Store

log = logging.getLogger("onestop.edge.sync")


@dataclass
class Catalog:
    """Lookups over one version of the business configuration."""

    business: Business
    departments: dict[str, Department] = field(init=False)
    items: dict[str, Item] = field(init=False)
    windows: dict[str, Window] = field(init=False)
    staff: dict[str, Staff] = field(init=False)
    cards: dict[str, Staff] = field(init=False)

    def __post_init__(self) -> None:
        b = self.business
        self.departments = {d.id: d for d in b.catalog.departments}
        self.items = {i.id: i for i in b.catalog.items}
        self.windows = {w.id: w for w in b.windows}
        self.staff = {s.id: s for s in b.staff}
        self.cards = {s.card.upper(): s for s in b.staff if s.card}

    @property
    def rules(self):
        return self.business.rules

    def hall_departments(self) -> list[Department]:
        """Departments with at least one window in this hall, in catalog order."""
        present = {w.department for w in self.business.windows}
        return [d for d in self.business.catalog.departments if d.id in present]

    def hall_items(self) -> list[Item]:
        present = {w.department for w in self.business.windows}
        return [i for i in self.business.catalog.items if i.department in present]


@dataclass
class Ctx:
    """What a command sees: the store, the clock, the calendar and the configuration."""

    store: Store
    clock: Clock
    calendar: HallCalendar
    catalog: Catalog
    hall_id: str
    # why the last write failed (disk full…), until a write succeeds again; health shows it
    storage_error: str | None = None
    # device name (as in device.fault events) → what the screens call it (device_labels)
    device_labels: dict[str, str] = field(default_factory=dict)
    # `[backup]` of the hall file: the nightly copy housekeeping makes (None: none)
    backup: Backup | None = None
    # `[storage] retention_days`: acked events older than this are compacted (0: kept forever)
    retention_days: int = 0
    # `[hall] public_url`: the hall node as visitors' phones reach it (edge.phone links); "" none
    public_url: str = ""
    # `[notify]` of the hall file (edge.outbox: result notices, phone retention) and the hall's
    # name the notices say
    notify: Notify = field(default_factory=Notify)
    hall_name: str = ""

    def now(self) -> datetime:
        return self.clock.now()

    def today(self) -> date:
        return self.calendar.local_date(self.clock.now())

    def service_date(self) -> str:
        return self.today().isoformat()


# ---------------------------------------------------------------- business configuration


def swap_business(ctx: Ctx, b: biz.Business) -> None:
    ctx.catalog = Catalog(b)
    ctx.calendar = HallCalendar(b.calendar)
    ctx.store.ensure_windows({w.id: w.department for w in b.windows})


def apply_business(ctx: Ctx, version: int, b: biz.Business) -> bool:
    """Take a business configuration from central. Returns whether it took effect."""
    current = ctx.catalog.business.version
    if version <= current:
        log.info("configuration version %d ignored: running %d", version, current)
        return False
    if b.version != version:
        b = msgspec.structs.replace(b, version=version)
    try:
        biz.check(b)
    except biz.BusinessError as e:
        log.error("configuration version %d refused: %s", version, e)
        return False
    ctx.store.set_meta("business", biz.encode(b).decode())
    swap_business(ctx, b)
    ctx.store.append(ev.ConfigApplied(version=version, previous=current))
    log.info("configuration version %d applied (was %d)", version, current)
    return True


def load_persisted_business(ctx: Ctx) -> None:
    """At start: run on the newest configuration this hall has, its file's or central's."""
    stored = ctx.store.meta("business")
    if not stored:
        return
    try:
        b = biz.decode(stored.encode())
        biz.check(b)
    except (msgspec.ValidationError, msgspec.DecodeError, biz.BusinessError) as e:
        log.error("persisted configuration unreadable, keeping the file's: %s", e)
        return
    if b.version > ctx.catalog.business.version:
        swap_business(ctx, b)
        log.info("running configuration version %d received from central earlier", b.version)


PIN_ROLE_LABELS = {"lamp": "暂停服务灯", "pause_button": "暂停按钮", "rating_button": "评价按钮",
                   "door": "门磁", "power": "电源检测", "rating_lamp": "评价提示灯"}


def device_labels(devices: Any, business: biz.Business) -> dict[str, str]:
    """What the screens call each configured device (its `label`, else its role and window in
    Chinese), so that a fault reads 「设备故障：1号窗口读卡器」 and not the configuration's id."""
    windows = {w.id: w.name for w in business.windows}
    out: dict[str, str] = {}
    for r in devices.readers:
        out[r.name] = r.label or (f"{windows.get(r.window, r.window or '')}读卡器" if r.role == "window" else "考勤读卡器")
    for name, p in devices.pins.items():
        level = f"（{p.level}分）" if p.role in ("rating_button", "rating_lamp") and p.level else ""
        out[name] = p.label or f"{windows.get(p.window, '') if p.window else ''}{PIN_ROLE_LABELS.get(p.role, '设备')}{level}"
    for name, b in devices.boards.items():
        out[name] = b.label or "远程 GPIO 板"
    if getattr(devices, "printer", None) is not None:
        out[devices.printer.name] = devices.printer.label or "取号打印机"
    return out

