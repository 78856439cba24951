"""`SimPrinter`: the printer on the bench (devices/printer.py describes it). A module of its own
because it subclasses python-escpos's `Dummy`: `devices.printer` does not import python-escpos
until a slip is rendered, so a hall without a printer never loads it."""

from __future__ import annotations

import collections
import threading

from escpos.printer import Dummy

from .printer import DLE, EOT, PAPER_LOW_BITS, PAPER_OUT_BITS, STATUS_BASE, Decoded, decode


class SimPrinter(Dummy):
    """A printer on the bench: `Dummy` output, a paper switch (`paper`: ok | low | out) and a
    power switch (`online`). It answers DLE EOT queries like a real printer (the answers wait in
    a read buffer), refuses everything while offline (OSError, as an unplugged USB printer does),
    swallows print data while out of paper, and decodes each slip at its cut into `slips` (the
    newest last, at most `keep`)."""

    def __init__(self, keep: int = 20) -> None:
        super().__init__()
        self.paper = "ok"
        self.online = True
        self.slips: collections.deque[Decoded] = collections.deque(maxlen=keep)
        self.received = 0  # bytes of print data taken
        self.swallowed = 0  # bytes dropped while out of paper
        self._answers = bytearray()
        self._lock = threading.Lock()

    def open(self) -> None:
        if not self.online:
            raise OSError("simulated printer is switched off")

    def _raw(self, msg: bytes) -> None:
        with self._lock:
            if not self.online:
                raise OSError("simulated printer is switched off")
            if len(msg) == 3 and msg[0] == DLE and msg[1] == EOT:
                self._answers.append(self._answer(msg[2]))
                return
            if self.paper == "out":
                self.swallowed += len(msg)
                return
            self.received += len(msg)
            self._output_list.append(msg)
            out = self.output
            if b"\x1dV" in out:
                cut_at = out.rindex(b"\x1dV")
                tail = cut_at + (4 if len(out) > cut_at + 2 and out[cut_at + 2] in (65, 66) else 3)
                if len(out) >= tail:
                    self.slips.extend(s for s in decode(out[:tail]) if s.cut)
                    self._output_list[:] = [out[tail:]] if out[tail:] else []

    def _answer(self, n: int) -> int:
        if n == 1:
            return STATUS_BASE
        if n == 4:
            return STATUS_BASE | {"ok": 0, "low": PAPER_LOW_BITS, "out": PAPER_OUT_BITS | PAPER_LOW_BITS}[self.paper]
        return STATUS_BASE

    def _read(self) -> bytes:
        with self._lock:
            if not self.online:
                raise OSError("simulated printer is switched off")
            out = bytes(self._answers[:1])
            del self._answers[:1]
            return out

    def set_paper(self, paper: str) -> None:
        if paper not in ("ok", "low", "out"):
            raise ValueError(f"paper is ok, low or out, not {paper!r}")
        self.paper = paper

    def set_online(self, online: bool) -> None:
        self.online = online
