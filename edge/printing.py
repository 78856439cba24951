"""The kiosk's receipt printer: a slip for every number taken, reprints by number, and the
printer's faults.

A `Printing` owns one `devices.printer.SlipPrinter` and a worker thread. It listens to the hall
(like `edge.hardware`'s lamps): after a `ticket.issued` commit it reads what the slip says
(number, department, the windows that serve it, waiting ahead, time, the phone link of
`edge.phone.ticket_link` for the QR code) and hands it to the worker. Taking a number never waits
for the printer: a slow, empty or unplugged printer cannot slow or fail issuing.

The worker asks the printer for its state before each slip. Paper out, offline and a failed
write become a `device.fault` (device kind ``printer``; once, `edge.hardware.record_fault`);
while faulted it looks again every `retry_seconds` and records `device.recovered` when the
printer is back. A slip that could not be printed is not printed later (the visitor has left
with the number on the kiosk's screen, which says the slip could not be printed: `notice`).

Reprints (`reprint_slip`, `record_reprint`): a clerk or the manager prints a slip again by its
number; the attempt and its outcome are a `slip.reprinted` event.
"""

from __future__ import annotations

import asyncio
import collections
import concurrent.futures
import logging
import queue
import threading
from typing import TYPE_CHECKING, Any, Mapping

import msgspec

from devices.printer import PrinterFault, Slip, SlipPrinter, Status
from sync.contract import events as ev
from sync.kernel.clock import from_micros

from . import phone, windows
from .config import Printer
from .context import Ctx
from .hall import Hall
from .hardware import record_fault, record_recovered
from .i18n import N_
from .queue import waiting_ahead
from .store.log import StoredEvent
from .workflow import Invalid, NotFound

if TYPE_CHECKING:
    from devices.simprinter import SimPrinter

log = logging.getLogger("onestop.edge.printing")

FAULTS = ("paper-out", "offline", "write-failed")
# what the kiosk's ticket page says when the slip could not be printed
NOTICES = {  # the kiosk page translates them (edge.i18n: N_ marks them for the catalog)
    "paper-out": N_("打印机缺纸，未能打印号码条，请记下您的号码"),
    "offline": N_("打印机暂时无法使用，未能打印号码条，请记下您的号码"),
    "write-failed": N_("打印机暂时无法使用，未能打印号码条，请记下您的号码"),
}
STATE_LABELS = {"ok": "正常", "paper-low": "纸将尽", "paper-out": "缺纸", "offline": "离线", "write-failed": "打印失败",
                "unknown": "未知", "starting": "启动中"}
_STOP = object()


# ---------------------------------------------------------------- commands and reads (writer thread)


def slip_of(ctx: Ctx, ticket_id: str, hall_name: str, reprint: bool = False) -> Slip | None:
    """What the slip of a ticket says, from the committed state (None: no such ticket)."""
    t = ctx.store.ticket(ticket_id)
    if t is None:
        return None
    dept = ctx.catalog.departments.get(t.department)
    today = ctx.today()
    if t.window and t.window in ctx.catalog.windows:
        where = ctx.catalog.windows[t.window].name
    else:
        rows = {w.id: w for w in ctx.store.windows()}
        where = "、".join(w.name for w in ctx.catalog.business.windows
                         if w.department == t.department and windows.in_service(ctx, w.id, today, rows.get(w.id)))
    ahead = waiting_ahead(ctx, t)  # in the order the calls take them (appointments ahead)
    issued = ctx.calendar.local(from_micros(t.issued_at))
    return Slip(hall=hall_name, number=t.number, department=dept.name if dept else t.department, windows=where,
                ahead=ahead, issued=f"{issued.year}年{issued.month}月{issued.day}日 {issued:%H:%M}",
                link=phone.ticket_link(ctx, t.id), reprint=reprint)


def reprint_slip(ctx: Ctx, number: str, hall_name: str) -> tuple[str, Slip]:
    """The ticket of today's `number` and its slip marked 补打; refuses an unknown number."""
    number = number.strip().upper()
    if not number or len(number) > 16:
        raise Invalid("number-required", "请输入要补打的号码，如 A001")
    t = ctx.store.ticket_by_number(number, ctx.service_date())
    if t is None:
        raise NotFound("unknown-number", f"今日没有号码 {number}，无法补打")
    slip = slip_of(ctx, t.id, hall_name, reprint=True)
    assert slip is not None
    return t.id, slip


def record_reprint(ctx: Ctx, ticket_id: str, number: str, by: str, role: str, printed: bool,
                   reason: str = "") -> None:
    ctx.store.append(ev.SlipReprinted(ticket=ticket_id, number=number, by=by, role=role, printed=printed,
                                      reason=reason[:300]))


def _noop(ctx: Ctx) -> None:
    return None


# ---------------------------------------------------------------- the coordinator


def make_printer(cfg: Printer, sim: SimPrinter | None = None) -> SlipPrinter:
    """The printer of `[devices.printer]`; with `sim`, that simulated printer in its place."""
    common: dict[str, Any] = dict(timeout=cfg.timeout_seconds, width=cfg.width, qr_size=cfg.qr_size, cut=cfg.cut,
                                  query_status=cfg.query_status)
    if sim is not None:
        return SlipPrinter("sim", device=sim, **common)
    host, _, tcp = cfg.host.partition(":")
    return SlipPrinter(cfg.kind, usb_vendor=cfg.usb_vendor or 0, usb_product=cfg.usb_product or 0, port=cfg.port,
                       baudrate=cfg.baudrate, host=host, tcp_port=int(tcp or 9100), **common)


class Printing:
    def __init__(self, hall: Hall, cfg: Printer, *, simulate: bool = False, keep: int = 50) -> None:
        self.hall = hall
        self.cfg = cfg
        self.name = cfg.name
        self.simulate = simulate
        self.sim: SimPrinter | None = None
        if simulate:
            from devices.simprinter import SimPrinter

            self.sim = SimPrinter()
        self.printer = make_printer(cfg, self.sim)
        self.state = "starting"
        self.message = ""
        self.printed = 0
        self.failed = 0
        self.results: collections.OrderedDict[str, str] = collections.OrderedDict()  # ticket → printed | fault
        self.recent: collections.deque[dict] = collections.deque(maxlen=keep)  # what was printed or not, newest last
        self._q: queue.SimpleQueue = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._recorded_ok = False

    # ------------------------------------------------------------ lifecycle

    def start(self) -> None:
        if self._thread is not None:
            return
        self._thread = threading.Thread(target=self._work, name=f"printer-{self.name}", daemon=True)
        self._thread.start()
        self.hall.add_listener(self._on_events)
        self.probe()

    def stop(self) -> None:
        if self._thread is None:
            return
        self.hall.remove_listener(self._on_events)
        self._q.put(_STOP)
        self._thread.join(timeout=30)
        self._thread = None
        self.printer.close()

    def __enter__(self) -> "Printing":
        self.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop()

    # ------------------------------------------------------------ what others call

    def probe(self) -> None:
        """Look at the printer again soon (after the simulator switched paper or power)."""
        self._q.put(("probe", None, None))

    def print_now(self, slip: Slip) -> concurrent.futures.Future:
        """Queue `slip` (a reprint); the future gets the printer's Status or a PrinterFault."""
        fut: concurrent.futures.Future = concurrent.futures.Future()
        self._q.put(("slip", slip, fut))
        return fut

    def idle(self, timeout: float = 10.0) -> None:
        """Wait until the slips of every commit so far are printed (or not) and the faults and
        recoveries they caused are committed (tests, the simulator's switches)."""
        self._hall_round(timeout)  # listeners of earlier batches ran: their slips are queued
        fut: concurrent.futures.Future = concurrent.futures.Future()
        self._q.put(("mark", None, fut))
        fut.result(timeout)
        self._hall_round(timeout)

    def _hall_round(self, timeout: float) -> None:
        # futures complete before the listeners run; a later (empty) command on the single
        # writer thread returns only after the listeners of every earlier batch ran
        try:
            self.hall.submit(_noop).result(timeout)
        except RuntimeError:  # the hall stopped
            pass

    def faulted(self) -> bool:
        return self.state in FAULTS

    def notice(self, ticket_id: str | None = None) -> str | None:
        """What the kiosk says about a ticket's slip: why it was not printed, or that the printer
        is faulted now (the slip is not printed yet or will not be); None when all is well."""
        result = self.results.get(ticket_id) if ticket_id else None
        if result in NOTICES:
            return NOTICES[result]
        if result is None and self.state in NOTICES:
            return NOTICES[self.state]
        return None

    def health(self) -> dict:
        return {"name": self.name, "kind": "printer", "connection": self.cfg.kind, "where": self.printer.where(),
                "state": "fault" if self.faulted() else "ok", "printer_state": self.state,
                "state_label": STATE_LABELS.get(self.state, self.state), "error": self.message,
                "printed": self.printed, "failed": self.failed, "simulated": self.simulate}

    # ------------------------------------------------------------ hall → printer

    def _on_events(self, events: list[StoredEvent]) -> None:
        """Hall listener (writer thread, after the commit): a slip for every number taken."""
        for e in events:
            if e.kind != "ticket.issued":
                continue
            ticket_id = msgspec.json.decode(e.body)["ticket"]
            slip = slip_of(self.hall.ctx, ticket_id, self.hall.config.hall.name)
            if slip is not None:
                self._q.put(("ticket", (ticket_id, slip), None))

    # ------------------------------------------------------------ the worker thread

    def _work(self) -> None:
        while True:
            try:
                job = self._q.get(timeout=self.cfg.retry_seconds if self.faulted() else None)
            except queue.Empty:
                job = ("probe", None, None)
            if job is _STOP:
                return
            what, arg, fut = job
            try:
                if what == "probe":
                    self._note(self.printer.status())
                elif what == "ticket":
                    ticket_id, slip = arg
                    self._remember(ticket_id, self._print(slip))
                elif what == "slip":
                    try:
                        fut.set_result(self._print_or_raise(arg))
                    except PrinterFault as e:
                        fut.set_exception(e)
                elif what == "mark":
                    fut.set_result(None)
            except Exception as e:  # noqa: BLE001 - the printer worker never dies
                log.exception("printer job %s failed", what)
                if fut is not None and not fut.done():
                    fut.set_exception(e)

    def _print(self, slip: Slip) -> str:
        try:
            self._print_or_raise(slip)
        except PrinterFault as e:
            return e.code
        return "printed"

    def _print_or_raise(self, slip: Slip) -> Status:
        entry = {"number": slip.number, "reprint": slip.reprint,
                 "at": self.hall.ctx.calendar.local(self.hall.clock.now()).strftime("%H:%M:%S")}
        try:
            st = self.printer.print_slip(slip)
        except PrinterFault as e:
            self.failed += 1
            self.recent.append({**entry, "result": e.code, "message": e.message})
            self._note(Status(e.code, e.message))
            raise
        self.printed += 1
        self.recent.append({**entry, "result": "printed", "message": st.message})
        self._note(st)
        return st

    def _remember(self, ticket_id: str, result: str) -> None:
        self.results[ticket_id] = result
        while len(self.results) > 500:
            self.results.popitem(last=False)

    def _note(self, st: Status) -> None:
        """Take the printer's state: a fault once, the recovery once."""
        before = self.state
        self.state, self.message = st.state, st.message
        try:
            if st.state in FAULTS:
                if before != st.state:
                    log.warning("printer %s: %s", self.name, st.message)
                    self.hall.submit(record_fault, self.name, "printer", st.message)
                self._recorded_ok = False
            elif not self._recorded_ok:
                self.hall.submit(record_recovered, self.name, "printer")
                self._recorded_ok = True
        except RuntimeError:  # the hall stopped
            pass


def slip_notice(ctx: Mapping[str, Any], ticket_id: str | None = None) -> str | None:
    """Template callable (kiosk ticket page): `Printing.notice` of the app's printer, if any."""
    request = ctx.get("request")
    printing = request.app.state.get("printing") if request is not None else None
    return printing.notice(ticket_id) if printing is not None else None


# ---------------------------------------------------------------- simulation (/sim, /api/sim/printer)


def printer_state(printing, limit: int = 10) -> dict:
    sim = printing.sim
    return {**printing.health(), "paper": sim.paper, "online": sim.online,
            "slips": [s.as_dict() for s in list(sim.slips)[-limit:]][::-1], "recent": list(printing.recent)[-limit:][::-1]}


async def switch_printer(printing, paper: str | None, online: bool | None) -> dict:
    """Switch the simulated printer's paper or power and wait until the hall noticed."""
    if paper is not None:
        printing.sim.set_paper(paper)
    if online is not None:
        printing.sim.set_online(online)
    printing.probe()
    await asyncio.to_thread(printing.idle)
    return printer_state(printing)
