"""The coordinator between the hall and its devices (Home Assistant style: I/O behind one object).

`Hardware` builds the badge readers and the GPIO board from the hall file's ``[devices]``,
turns what they report into hall commands (`Hall.submit`: the device threads never wait for a
commit), and drives the lamps from committed events (a hall listener), so a lamp always shows
what the log says:

- hall reader → `attendance.punch`; window reader → `presence.badge_at_window`;
- pause button → `presence.toggle_pause`; rating button → `ratings.press`;
- door and power inputs are read (debounced) for the closing check: `sensors()` feeds `tick`;
- a reader or GPIO failure → `device.fault` (once), its return → `device.recovered`;
- lamp of window W: on while W is paused, blinking once the step-away broke the limit
  (`window.step_away_violation`), off otherwise;
- the prompt to rate (edge.rateprompt): while W prompts, W's rating lamps (`rating_lamp` pins,
  e.g. the LEDs in its five buttons) blink; a window without rating lamps blinks its lamp
  instead (unless paused). The prompt starts with `ticket.completed`, ends with `rating.given`
  or the next call, and, with no event, when the rating window closes on the hall clock: a
  small timer thread re-reads the prompting windows (`refresh_prompts`, also run by `tick`).

With ``simulate=True`` (``onestop-edge --simulate``) pins come from a gpiozero `MockFactory` and
every reader reads a pty (`devices.ptyport.PtyPort`) instead of its configured port, so the
simulation endpoints can press buttons and write card frames. Device timing (debounce, a held
card) runs on the hall clock's monotonic time, so tests move it with the injected clock.
"""

from __future__ import annotations

import concurrent.futures
import functools
import logging
import threading
from datetime import datetime
from typing import Any, Callable

from devices.badge import BadgeReader
from devices.frames import line_frame, rdm6300_frame
from devices.gpio import GpioBoard, PinDef, mock_factory, remote_factory
from devices.ptyport import PtyPort
from sync.contract import events as ev
from sync.kernel.clock import to_micros

from . import attendance, housekeeping, presence, ratings, rateprompt
from .closing import Sensor
from .config import Devices
from .context import Ctx
from .hall import Hall
from .store.log import StoredEvent

log = logging.getLogger("onestop.edge.hardware")

LAMP_EVENTS = ("window.paused", "window.resumed", "window.signed_off", "window.signed_on",
               "window.step_away_violation")
# events that may start or end a window's prompt to rate (each names its `window`)
PROMPT_EVENTS = ("ticket.completed", "ticket.called", "ticket.recalled", "ticket.no_show", "ticket.transferred",
                 "rating.given", *LAMP_EVENTS)
PROMPT_POLL_SECONDS = 0.25  # real seconds between re-reads of the prompting windows


# ---------------------------------------------------------------- commands (writer thread)


def record_fault(ctx: Ctx, device: str, kind: str, message: str) -> bool:
    """A device failed: one `device.fault` until it recovers."""
    now = {d.name: d for d in ctx.store.device_states()}.get(device)
    if now is not None and now.state == "fault":
        return False
    ctx.store.append(ev.DeviceFault(device=device, device_kind=kind, message=message[:300]))
    return True


def record_recovered(ctx: Ctx, device: str, kind: str) -> bool:
    now = {d.name: d for d in ctx.store.device_states()}.get(device)
    if now is None or now.state != "fault":
        return False
    down = max(0, (to_micros(ctx.now()) - now.since) // 1_000_000)
    ctx.store.append(ev.DeviceRecovered(device=device, device_kind=kind, down_seconds=down))
    return True


def _noop(ctx: Ctx) -> None:
    return None


def lamp_modes(ctx: Ctx) -> dict[str, str]:
    """Window id → lamp mode, from the committed state."""
    out = {}
    for w in ctx.store.windows():
        if w.paused_at is None:
            out[w.id] = "off"
        else:
            away = ctx.store.open_step_away(w.id)
            out[w.id] = "blink" if away is not None and away.violation else "on"
    return out


def lamp_state(ctx: Ctx) -> tuple[dict[str, str], set[str]]:
    """The window lamps' modes and the windows prompting to rate, from the committed state."""
    return lamp_modes(ctx), set(rateprompt.prompts(ctx))


# ---------------------------------------------------------------- the coordinator


class Hardware:
    def __init__(self, hall: Hall, devices: Devices | None = None, *, simulate: bool = False,
                 factory: Any = None, ticks: Callable[[], float] | None = None,
                 reopen_min: float = 0.2) -> None:
        self.hall = hall
        self.cfg = devices if devices is not None else hall.config.devices
        self.simulate = simulate
        self.factory = factory if factory is not None else (mock_factory() if simulate or self.cfg.pin_factory == "mock" else None)
        self.ticks = ticks or (lambda: hall.clock.monotonic() / 1e9)
        self.reopen_min = reopen_min
        self.sim_ports: dict[str, PtyPort] = {}
        self.readers: dict[str, BadgeReader] = {}
        self.reader_cfg = {r.name: r for r in self.cfg.readers}
        self.last_read: dict[str, dict] = {}  # reader → what its display shows (last card and result)
        self.lamp_of: dict[str, str] = {p.window: n for n, p in self.cfg.pins.items() if p.role == "lamp" and p.window}
        self.rating_lamps_of: dict[str, list[str]] = {}
        for n, p in self.cfg.pins.items():
            if p.role == "rating_lamp" and p.window:
                self.rating_lamps_of.setdefault(p.window, []).append(n)
        self._paused: dict[str, str] = {}  # window → its lamp's mode from the pause (off / on / blink)
        self.prompting: set[str] = set()  # windows prompting to rate (changed on the writer thread only)
        self._timer: threading.Thread | None = None
        self._timer_stop = threading.Event()
        self.board = GpioBoard(
            [PinDef(name=n, pin=p.pin, role=p.role, pull_up=p.pull_up, active_high=p.active_high, board=p.board or "")
             for n, p in self.cfg.pins.items()],
            factory=self.factory, debounce=self.cfg.debounce_ms / 1000, blink=self.cfg.blink_seconds,
            on_press=self._on_press, on_fault=self._on_fault, ticks=self.ticks,
            # remote boards: pigpiod over the network; in simulation each its own MockFactory
            boards={name: (mock_factory if simulate else functools.partial(remote_factory, b.host, b.port))
                    for name, b in self.cfg.boards.items()},
            pin_factory=self.cfg.pin_factory,
        )
        self._pending: set[concurrent.futures.Future] = set()
        self._lock = threading.Lock()
        self._started = False
        self.lamp_changes = 0
        self.on_lamp: Callable[[str, str], None] | None = None  # benchmarks: (window, mode) after a change

    # ------------------------------------------------------------ lifecycle

    def start(self) -> None:
        if self._started:
            return
        self._started = True
        self.board.open()
        self.hall.add_listener(self._on_events)
        self.hall.call(self._restore_lamps)
        self._timer_stop.clear()
        self._timer = threading.Thread(target=self._prompt_timer, name="onestop-rating-prompts", daemon=True)
        self._timer.start()
        for r in self.cfg.readers:
            port = r.port
            if self.simulate:
                sim = PtyPort()
                self.sim_ports[r.name] = sim
                port = sim.path
            reader = BadgeReader(
                r.name, port, r.protocol, baudrate=r.baudrate, on_card=self._on_card, on_fault=self._on_fault,
                on_recovered=self._on_recovered, hold_seconds=self.cfg.card_hold_ms / 1000,
                reopen_min=self.reopen_min, reopen_max=self.cfg.reopen_max_seconds, ticks=self.ticks,
            )
            self.readers[r.name] = reader
            reader.start()

    def stop(self) -> None:
        if not self._started:
            return
        self._started = False
        self._timer_stop.set()
        if self._timer is not None:
            self._timer.join(timeout=5)
            self._timer = None
        for reader in self.readers.values():
            reader.stop()
        self.hall.remove_listener(self._on_events)
        self.drain()
        self.board.close()
        for port in self.sim_ports.values():
            port.close()

    def __enter__(self) -> "Hardware":
        self.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop()

    def drain(self, timeout: float = 10.0) -> None:
        """Wait until every command the devices submitted so far is committed (tests, tools)."""
        with self._lock:
            pending = list(self._pending)
        concurrent.futures.wait(pending, timeout=timeout)
        try:
            # futures complete before the listeners run; one more (empty) command on the single
            # writer thread returns only after the listeners of every earlier batch (lamps) ran
            self.hall.submit(_noop).result(timeout)
        except RuntimeError:
            pass

    def wait_ready(self, timeout: float = 5.0) -> bool:
        """Wait until every reader has opened its port once (tests, simulators)."""
        import time

        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if all(r.state in ("ok", "fault") for r in self.readers.values()):
                return True
            time.sleep(0.005)
        return False

    # ------------------------------------------------------------ device → hall

    def _submit(self, fn, *args, on_done: Callable[[Any], None] | None = None) -> concurrent.futures.Future | None:
        try:
            fut = self.hall.submit(fn, *args)
        except RuntimeError:  # the hall stopped
            return None
        with self._lock:
            self._pending.add(fut)

        def done(f: concurrent.futures.Future) -> None:
            with self._lock:
                self._pending.discard(f)
            err = f.exception()
            if err is not None:
                msg = getattr(err, "message", None) or str(err)
                log.info("device command %s refused: %s", getattr(fn, "__name__", fn), msg)
                if on_done is not None:
                    on_done({"ok": False, "result": "refused", "message": msg})
                return
            if on_done is not None:
                on_done(f.result())

        fut.add_done_callback(done)
        return fut

    def _on_card(self, reader: str, card: str) -> None:
        r = self.reader_cfg[reader]

        def shown(result: Any) -> None:
            res = result if isinstance(result, dict) else {"ok": True, "message": str(result)}
            self.last_read[reader] = {**res, "card": card, "reader": reader, "read_at": self._now_iso()}

        if r.role == "window" and r.window:
            self._submit(presence.badge_at_window, r.window, reader, card, on_done=shown)
        else:
            self._submit(attendance.punch, reader, card, on_done=shown)

    def _on_press(self, pin: str) -> None:
        p = self.cfg.pins[pin]
        if p.role == "pause_button" and p.window:
            self._submit(presence.toggle_pause, p.window, "button")
        elif p.role == "rating_button" and p.window and p.level:
            self._submit(ratings.press, p.window, p.level)

    def _on_fault(self, device: str, message: str) -> None:
        self._submit(record_fault, device, "reader" if device in self.reader_cfg else "gpio", message)

    def _on_recovered(self, device: str) -> None:
        self._submit(record_recovered, device, "reader" if device in self.reader_cfg else "gpio")

    # ------------------------------------------------------------ hall → lamps

    def _on_events(self, events: list[StoredEvent]) -> None:
        """Hall listener (writer thread, after the commit): lamps follow the window events, and
        the prompts to rate the service events (re-read from the committed state)."""
        import msgspec

        paused: dict[str, str] = {}
        touched: set[str] = set()
        for e in events:
            if e.kind not in PROMPT_EVENTS:
                continue
            window = msgspec.json.decode(e.body).get("window")
            if not window:
                continue
            touched.add(window)
            if e.kind == "window.paused":
                paused[window] = "on"
            elif e.kind == "window.step_away_violation":
                paused[window] = "blink"
            elif e.kind in LAMP_EVENTS:
                paused[window] = "off"
        if touched:
            self._paused.update(paused)
            self._follow_prompts(self.hall.ctx, touched)

    def _restore_lamps(self, ctx: Ctx) -> None:
        """(writer thread) Every lamp from the committed state: at start."""
        self._paused, self.prompting = lamp_state(ctx)
        self._apply_windows(set(self.lamp_of) | set(self.rating_lamps_of))

    def _follow_prompts(self, ctx: Ctx, windows: set[str]) -> None:
        """(writer thread) Re-read the prompts of `windows` and set their lamps."""
        for w in windows:
            if rateprompt.prompt(ctx, w) is not None:
                self.prompting.add(w)
            else:
                self.prompting.discard(w)
        self._apply_windows(windows)

    def _refresh_prompts(self, ctx: Ctx) -> None:
        if self.prompting:
            self._follow_prompts(ctx, set(self.prompting))

    def refresh_prompts(self) -> None:
        """End the prompts whose rating window has closed on the hall clock (the timer thread
        does it every PROMPT_POLL_SECONDS; tests call it after moving the clock)."""
        self.hall.call(self._refresh_prompts)

    def _prompt_timer(self) -> None:
        while not self._timer_stop.wait(PROMPT_POLL_SECONDS):
            if not self.prompting:
                continue
            try:
                self.hall.submit(self._refresh_prompts)
            except RuntimeError:  # the hall stopped
                return

    def _apply_windows(self, windows: set[str]) -> None:
        """Set the lamps of `windows` from `_paused` and `prompting`."""
        modes: dict[str, str] = {}
        for w in windows:
            prompt = w in self.prompting
            mode = self._paused.get(w, "off")
            if mode == "off" and prompt and not self.rating_lamps_of.get(w):
                mode = "blink"  # no rating lamps: the window's lamp says it
            modes[w] = mode
            for pin in self.rating_lamps_of.get(w, ()):
                if self.board.lamp(pin) != ("blink" if prompt else "off"):
                    self.board.set_lamp(pin, "blink" if prompt else "off")
                    self.lamp_changes += 1
        self._apply_lamps(modes)

    def _apply_lamps(self, modes: dict[str, str]) -> None:
        for window, mode in modes.items():
            pin = self.lamp_of.get(window)
            if pin is None:
                continue
            if self.board.lamp(pin) != mode:
                self.board.set_lamp(pin, mode)
                self.lamp_changes += 1
                if self.on_lamp is not None:
                    self.on_lamp(window, mode)

    # ------------------------------------------------------------ readings and health

    def sensors(self) -> list[Sensor]:
        values = self.board.inputs(("door", "power"))
        return [Sensor(name=n, role=self.cfg.pins[n].role, label=self.cfg.pins[n].label or n, active=v)
                for n, v in values.items()]

    def health(self) -> list[dict]:
        out = []
        for name, r in self.readers.items():
            cfg = self.reader_cfg[name]
            out.append({**r.health(), "kind": "reader", "role": cfg.role, "window": cfg.window,
                        "label": cfg.label or name, "simulated": name in self.sim_ports,
                        "last": self.last_read.get(name)})
        if self.cfg.pins:
            out.append({"name": "gpio", "kind": "gpio", "state": self.board.state,
                        "error": "; ".join(f"{n}: {m}" for n, m in self.board.errors.items()),
                        "pins": len(self.cfg.pins), "presses": self.board.presses, "simulated": self.simulate})
        return out

    def tick(self) -> Any:
        """Run the hall's periodic checks with the current readings (tests and tools)."""
        result = self.hall.call(housekeeping.tick, self.sensors())
        self.hall.call(self._refresh_prompts)  # after the listeners: lamps followed the tick's events and the clock
        return result

    # ------------------------------------------------------------ simulation

    def sim_pins(self) -> list[dict]:
        rows = self.board.states()
        for row in rows:
            p = self.cfg.pins[row["name"]]
            row.update(window=p.window, rating=p.level, label=p.label, pull_up=p.pull_up)
        return rows

    def sim_drive(self, name: str, action: str) -> None:
        if not self.simulate:
            raise TypeError("pins can only be driven in simulation")
        self.board.drive(name, action)

    def sim_badge(self, reader: str, card: str, variant: str = "normal") -> bytes:
        """Write a card frame into a simulated reader's port, in its protocol. Variants
        (rdm6300): normal, clone (13-byte), crlf, corrupt (bad checksum), garbage (junk then a
        frame); (line): normal, corrupt (not a card id). Returns the bytes written."""
        port = self.sim_ports.get(reader)
        if port is None:
            raise KeyError(f"no simulated reader named {reader!r}")
        proto = self.reader_cfg[reader].protocol
        if proto == "rdm6300":
            if variant not in ("normal", "clone", "crlf", "corrupt", "garbage"):
                raise ValueError(f"unknown frame variant {variant!r}")
            data = rdm6300_frame(card, clone=variant == "clone", crlf=variant == "crlf", corrupt=variant == "corrupt")
            if variant == "garbage":
                data = b"\x00\xffnoise\x03" + data
        else:
            if variant not in ("normal", "corrupt"):
                raise ValueError(f"unknown frame variant {variant!r}")
            data = line_frame(card) if variant == "normal" else b"??" + card.encode("ascii", "replace") + b"!!\r\n"
        port.write(data)
        return data

    def sim_plug(self, reader: str, plugged: bool) -> None:
        port = self.sim_ports.get(reader)
        if port is None:
            raise KeyError(f"no simulated reader named {reader!r}")
        port.plug() if plugged else port.unplug()

    def _now_iso(self) -> str:
        now: datetime = self.hall.clock.now()
        return self.hall.ctx.calendar.local(now).isoformat(timespec="seconds")
