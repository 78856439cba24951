"""A serial badge reader (pyserial) on its own thread.

The reader opens its port (9600 8N1 by default), feeds what arrives to the protocol's parser
(`devices.frames`) and calls back with every card presented. A card held on the antenna makes
an RDM6300 repeat its frame several times a second: frames of the same card closer together
than `hold_seconds` count once. When the port fails (USB unplugged: a read error, or the device
node gone) the reader reports a fault once, closes the port and tries to open it again with
exponential backoff (`reopen_min` doubling up to `reopen_max` seconds); when it opens again it
reports the recovery. Nothing it does can stop anything else: callbacks are shielded.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Callable

import serial

from .frames import parser_for

log = logging.getLogger("onestop.devices")

CardCallback = Callable[[str, str], None]  # (reader name, card id)
FaultCallback = Callable[[str, str], None]  # (reader name, message)
RecoveredCallback = Callable[[str], None]  # (reader name)


class BadgeReader:
    def __init__(
        self,
        name: str,
        port: str,
        protocol: str = "rdm6300",
        *,
        on_card: CardCallback,
        on_fault: FaultCallback | None = None,
        on_recovered: RecoveredCallback | None = None,
        baudrate: int = 9600,
        hold_seconds: float = 1.0,
        reopen_min: float = 0.2,
        reopen_max: float = 30.0,
        read_timeout: float = 0.2,
        ticks: Callable[[], float] = time.monotonic,
    ) -> None:
        parser_for(protocol)  # fail early on an unknown protocol
        self.name = name
        self.port = port
        self.protocol = protocol
        self.baudrate = baudrate
        self.hold_seconds = hold_seconds
        self.reopen_min = reopen_min
        self.reopen_max = reopen_max
        self.read_timeout = read_timeout
        self._ticks = ticks
        self._on_card = on_card
        self._on_fault = on_fault
        self._on_recovered = on_recovered
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._serial: serial.Serial | None = None
        self._lock = threading.Lock()
        self._last_card: str | None = None
        self._last_seen = float("-inf")
        # health, read by the coordinator from other threads (plain attribute reads)
        self.state = "stopped"  # stopped | starting | ok | fault
        self.error = ""
        self.cards = 0  # cards reported
        self.frames = 0  # valid frames/lines read (a held card makes many)
        self.rejected = 0  # frames/lines skipped as invalid
        self.opens = 0

    # ------------------------------------------------------------ lifecycle

    def start(self) -> None:
        if self._thread is not None:
            return
        self._stop.clear()
        self.state = "starting"
        self._thread = threading.Thread(target=self._run, name=f"badge-{self.name}", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        self._stop.set()
        with self._lock:
            ser = self._serial
        if ser is not None:
            try:
                ser.cancel_read()
            except Exception:  # noqa: BLE001 - closing anyway
                pass
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None
        self.state = "stopped"

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def health(self) -> dict:
        return {"name": self.name, "port": self.port, "protocol": self.protocol, "state": self.state,
                "error": self.error, "cards": self.cards, "frames": self.frames, "rejected": self.rejected, "opens": self.opens}

    # ------------------------------------------------------------ the thread

    def _run(self) -> None:
        backoff = self.reopen_min
        while not self._stop.is_set():
            try:
                ser = serial.Serial(self.port, self.baudrate, timeout=self.read_timeout)
            except (serial.SerialException, OSError, ValueError) as e:
                self._fault(f"无法打开读卡器端口 {self.port}: {e}")
                self._stop.wait(backoff)
                backoff = min(backoff * 2, self.reopen_max)
                continue
            with self._lock:
                self._serial = ser
            self.opens += 1
            backoff = self.reopen_min
            if self.state == "fault":
                log.info("%s: reader back on %s", self.name, self.port)
                self.state, self.error = "ok", ""
                self._call(self._on_recovered, self.name)
            else:
                self.state = "ok"
            try:
                self._read(ser)
            except (serial.SerialException, OSError) as e:
                if not self._stop.is_set():
                    self._fault(f"读卡器断开 ({self.port}): {e}")
            finally:
                with self._lock:
                    self._serial = None
                try:
                    ser.close()
                except Exception:  # noqa: BLE001 - the device may already be gone
                    pass
            if not self._stop.is_set():
                self._stop.wait(backoff)

    def _read(self, ser: serial.Serial) -> None:
        parser = parser_for(self.protocol, self.name)
        while not self._stop.is_set():
            waiting = ser.in_waiting
            data = ser.read(waiting if waiting > 0 else 1)
            if not data:
                continue
            cards = parser.feed(data)
            self.rejected = parser.rejected
            for card in cards:
                self._card(card)

    def _card(self, card: str) -> None:
        now = self._ticks()
        held = card == self._last_card and now - self._last_seen < self.hold_seconds
        self._last_card, self._last_seen = card, now
        try:
            if held:
                return
            self.cards += 1
            self._call(self._on_card, self.name, card)
        finally:
            self.frames += 1  # counted once the card has been handed on: waiting on it is safe

    def _fault(self, message: str) -> None:
        if self.state == "fault":
            return  # reported once; recovery is reported when the port opens again
        log.warning("%s: %s", self.name, message)
        self.state, self.error = "fault", message
        self._call(self._on_fault, self.name, message)

    @staticmethod
    def _call(fn, *args) -> None:
        if fn is None:
            return
        try:
            fn(*args)
        except Exception:  # noqa: BLE001 - a callback never kills the reader
            log.exception("badge reader callback failed")
