"""A thermal receipt printer speaking ESC/POS (python-escpos), the slip it prints, and the
simulated printer that reads the byte stream back.

- `Slip`: what a queue slip says (hall, number, department, window hint, waiting ahead, time,
  the QR code's link); `render` writes it as ESC/POS commands to any python-escpos printer.
  Chinese text goes as GB18030 bytes in the printer's Chinese character mode (`FS &`), which the
  thermal printers sold in China understand; the QR code is the printer's own (`GS ( k`), so no
  image is rendered on the hall node.
- `SlipPrinter`: one printer on USB (vendor/product id), a serial port or the network
  (host:port). Before each slip it asks the printer for its state in real time (`DLE EOT`): paper
  out and offline (cover open, unplugged, switched off) are `PrinterFault`s with a code, as is a
  write that fails. A printer that never answers the status query prints as before (many cheap
  ones only listen); the write itself tells when it is gone.
- `SimPrinter` (devices/simprinter.py): python-escpos's `Dummy` printer with a paper and a power switch, answering the
  status queries as a real one does and decoding (`decode`) every slip it receives up to the cut:
  the text lines with their size, the QR payloads of `GS ( k` and the cut. `--simulate` prints
  into it and the simulator page shows the slips.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

# python-escpos (and its Pillow, qrcode, barcode, pyusb, PyYAML) is imported when a slip is
# rendered or a printer opened, not with this module: a hall without a printer never loads it
# (about 9 MB of resident memory and a third of a second of start-up on a Pi; docs/benchmarks.md)
if TYPE_CHECKING:
    from escpos.escpos import Escpos

log = logging.getLogger("onestop.devices")

ESC, GS, FS, DLE, EOT, LF = 0x1B, 0x1D, 0x1C, 0x10, 0x04, 0x0A
CHINESE_ON = b"\x1c&"  # FS &: Chinese (GB18030) character mode
ENCODING = "gb18030"

# DLE EOT answers (ESC/POS real-time status): fixed bits 1 and 4 set; online status bit 3 =
# offline; paper status bits 2/3 = paper near end, bits 5/6 = paper out.
STATUS_BASE = 0x12
OFFLINE_BIT = 0x08
PAPER_LOW_BITS = 0x0C
PAPER_OUT_BITS = 0x60


# ---------------------------------------------------------------- the slip


@dataclass
class Slip:
    hall: str
    number: str
    department: str
    windows: str = ""  # "1号窗口、2号窗口": where to go
    ahead: int | None = None  # people waiting before this number
    issued: str = ""  # "2026年11月23日 09:00"
    link: str | None = None  # the ticket's phone page (QR code); None: no QR code
    title: str = "排队号"
    reprint: bool = False  # printed again at the counter: says 补打


def lines_of(slip: Slip) -> list[tuple[str, int]]:
    """The slip's text lines with their magnification (1 normal, 2 double, 4 the number)."""
    out = [(slip.hall, 1), (slip.title + ("（补打）" if slip.reprint else ""), 1), (slip.number, 4),
           (slip.department, 2)]
    if slip.windows:
        out.append((f"请到 {slip.windows} 办理", 1))
    if slip.ahead is not None:
        out.append((f"前面还有 {slip.ahead} 人", 1))
    if slip.issued:
        out.append((f"取号时间 {slip.issued}", 1))
    out.append(("请留意叫号，过号需重新排队", 1))
    if slip.link:
        out.append(("扫码查看排队进度", 1))
    return out


def _wrap(text: str, width: int, size: int) -> list[str]:
    """Split a line so it fits `width` columns at magnification `size` (a CJK character is two
    columns)."""
    cols = max(1, width // size)
    out, cur, used = [], "", 0
    for ch in text:
        w = 2 if ord(ch) > 0x2E7F else 1
        if used + w > cols and cur:
            out.append(cur)
            cur, used = "", 0
        cur += ch
        used += w
    out.append(cur)
    return out


def render(p: Escpos, slip: Slip, *, width: int = 32, qr_size: int = 6, cut: bool = True) -> None:
    """Write `slip` to printer `p` as ESC/POS: centred lines, the number at four times the size,
    the QR code of `slip.link`, then the cut."""
    p._raw(b"\x1b@" + CHINESE_ON)  # ESC @ (reset), Chinese mode
    p.set(align="center")
    for text, size in lines_of(slip):
        p.set(custom_size=True, width=size, height=size)
        for part in _wrap(text, width, size):
            p._raw(part.encode(ENCODING, "replace") + b"\n")
    p.set(custom_size=True, width=1, height=1)
    if slip.link:
        p.qr(slip.link, native=True, size=qr_size)
        p._raw(b"\n")
    if cut:
        p.cut()
    else:
        p._raw(b"\n\n\n")


def slip_bytes(slip: Slip, **kwargs: Any) -> bytes:
    """The ESC/POS byte stream of a slip (python-escpos's Dummy printer)."""
    from escpos.printer import Dummy

    d = Dummy()
    render(d, slip, **kwargs)
    return d.output


# ---------------------------------------------------------------- decoding a byte stream


@dataclass
class Line:
    text: str
    size: int = 1  # the larger of width and height magnification
    align: str = "left"


@dataclass
class Decoded:
    lines: list[Line] = field(default_factory=list)
    qr: list[str] = field(default_factory=list)  # payloads stored with GS ( k fn 80
    cut: bool = False
    unknown: list[str] = field(default_factory=list)  # commands not understood, as hex

    @property
    def text(self) -> list[str]:
        return [ln.text for ln in self.lines]

    def as_dict(self) -> dict:
        return {"lines": [{"text": ln.text, "size": ln.size, "align": ln.align} for ln in self.lines],
                "qr": list(self.qr), "cut": self.cut}


_ESC_ONE = set(b"!aE-MGdt3{VJ rRUc")  # ESC commands with one parameter byte
_GS_ONE = set(b"!BbhwHfaIr")  # GS commands with one parameter byte
_ALIGN = {0: "left", 1: "center", 2: "right", 48: "left", 49: "center", 50: "right"}


def decode(data: bytes) -> list[Decoded]:
    """ESC/POS bytes → one `Decoded` per slip (a slip ends at a cut; trailing bytes after the
    last cut form a last, uncut one when they hold text or a QR code)."""
    slips: list[Decoded] = []
    cur = Decoded()
    buf = bytearray()
    size = 1
    line_size = 1
    align = "left"
    i, n = 0, len(data)

    def flush() -> None:
        cur.lines.append(Line(bytes(buf).decode(ENCODING, "replace"), line_size if buf else size, align))
        buf.clear()

    while i < n:
        b = data[i]
        if b == LF:
            flush()
            i += 1
        elif b == 0x0D:
            i += 1
        elif b == ESC and i + 1 < n:
            c = data[i + 1]
            if c in (0x40, 0x32):  # ESC @ reset, ESC 2 default line spacing
                if c == 0x40:
                    size, align = 1, "left"
                i += 2
            elif c in _ESC_ONE and i + 2 < n:
                v = data[i + 2]
                if c == 0x21:  # ESC ! n: print mode (bit 4 double height, bit 5 double width)
                    size = 2 if v & 0x30 else 1
                elif c == 0x61:
                    align = _ALIGN.get(v, align)
                elif c == 0x64 and buf:  # ESC d n: print and feed
                    flush()
                i += 3
            else:
                cur.unknown.append(data[i:i + 2].hex())
                i += 2
        elif b == GS and i + 1 < n:
            c = data[i + 1]
            if c == 0x56:  # GS V m [n]: cut
                if buf:
                    flush()
                m = data[i + 2] if i + 2 < n else 0
                i += 4 if m in (65, 66) else 3
                cur.cut = True
                _trim(cur)
                slips.append(cur)
                cur = Decoded()
            elif c == 0x28 and i + 4 < n and data[i + 2] == 0x6B:  # GS ( k pL pH cn fn [m] data
                length = data[i + 3] | data[i + 4] << 8
                body = data[i + 5:i + 5 + length]
                if len(body) >= 3 and body[0] == 0x31 and body[1] == 0x50:  # QR: store the data
                    cur.qr.append(body[3:].decode("utf-8", "replace"))
                i += 5 + length
            elif c == 0x28 and i + 4 < n:  # another GS ( x function: skip its parameters
                i += 5 + (data[i + 3] | data[i + 4] << 8)
            elif c in _GS_ONE and i + 2 < n:
                if c == 0x21:  # GS ! n: width (high nibble) and height (low nibble) - 1
                    v = data[i + 2]
                    size = max((v >> 4) + 1, (v & 0x0F) + 1)
                i += 3
            else:
                cur.unknown.append(data[i:i + 2].hex())
                i += 2
        elif b == FS and i + 1 < n:
            i += 3 if data[i + 1] == 0x21 else 2  # FS ! n; FS & / FS . (Chinese mode on/off)
        elif b == DLE and i + 2 < n and data[i + 1] == EOT:
            i += 3  # a real-time status query: no output
        else:
            if not buf:
                line_size = size
            buf.append(b)
            i += 1
    if buf:
        flush()
    if any(ln.text for ln in cur.lines) or cur.qr:
        _trim(cur)
        slips.append(cur)
    return slips


def _trim(d: Decoded) -> None:
    while d.lines and not d.lines[-1].text:  # the feed before the cut
        d.lines.pop()


# ---------------------------------------------------------------- faults and status


class PrinterFault(Exception):
    """The printer cannot print: `code` paper-out | offline | write-failed."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass
class Status:
    state: str  # ok | paper-low | paper-out | offline | unknown (never answered)
    message: str = ""

    @property
    def printable(self) -> bool:
        return self.state in ("ok", "paper-low", "unknown")


def status_from(online: bytes, paper: bytes) -> Status:
    """Interpret the answers to DLE EOT 1 and DLE EOT 4 (empty: no answer)."""
    if paper and paper[0] & PAPER_OUT_BITS:
        return Status("paper-out", "打印机缺纸")
    if online and online[0] & OFFLINE_BIT:
        return Status("offline", "打印机离线（纸仓盖未合上或打印机故障）")
    if paper and paper[0] & PAPER_LOW_BITS:
        return Status("paper-low", "打印纸将尽")
    if not online and not paper:
        return Status("unknown", "打印机未应答状态查询")
    return Status("ok")


# ---------------------------------------------------------------- the printer


class SlipPrinter:
    """One ESC/POS receipt printer. `kind`: usb (`usb_vendor`, `usb_product`), serial (`port`,
    `baudrate`), network (`host`, `tcp_port`), or sim (`device`: a `SimPrinter`). The connection
    opens on first use and is dropped after any error (the next job opens it again). Not thread
    safe: one worker thread drives it."""

    def __init__(self, kind: str, *, usb_vendor: int = 0, usb_product: int = 0, port: str = "",
                 baudrate: int = 9600, host: str = "", tcp_port: int = 9100, timeout: float = 5.0,
                 width: int = 32, qr_size: int = 6, cut: bool = True, query_status: bool = True,
                 device: Escpos | None = None) -> None:
        if kind not in ("usb", "serial", "network", "sim"):
            raise ValueError(f"unknown printer kind {kind!r}")
        if kind == "sim" and device is None:
            raise ValueError("a simulated printer needs its device")
        self.kind = kind
        self.usb_vendor, self.usb_product = usb_vendor, usb_product
        self.port, self.baudrate = port, baudrate
        self.host, self.tcp_port = host, tcp_port
        self.timeout = timeout
        self.width, self.qr_size, self.cut = width, qr_size, cut
        self.query_status = query_status
        self._device = device
        self._p: Escpos | None = None

    def where(self) -> str:
        if self.kind == "usb":
            return f"USB {self.usb_vendor:04x}:{self.usb_product:04x}"
        if self.kind == "serial":
            return f"{self.port} ({self.baudrate} baud)"
        if self.kind == "network":
            return f"{self.host}:{self.tcp_port}"
        return "simulated"

    def _open(self) -> Escpos:
        if self._p is not None:
            return self._p
        if self.kind == "sim":
            assert self._device is not None
            self._device.open()
            p = self._device
        elif self.kind == "usb":
            from escpos.printer import Usb

            p = Usb(self.usb_vendor, self.usb_product, timeout=int(self.timeout * 1000))
            p.open()
        elif self.kind == "serial":
            from escpos.printer import Serial

            p = Serial(self.port, baudrate=self.baudrate, timeout=self.timeout, dsrdtr=False)
            p.open()
        else:
            from escpos.printer import Network

            p = Network(self.host, port=self.tcp_port, timeout=self.timeout)
            p.open()
        self._p = p
        return p

    def close(self) -> None:
        p, self._p = self._p, None
        if p is not None and p is not self._device:
            try:
                p.close()
            except Exception:  # noqa: BLE001 - closing a broken connection
                pass

    def _query(self, p: Escpos, command: bytes) -> bytes:
        """One real-time status query; b"" when the printer does not answer in time."""
        try:
            return bytes(p.query_status(command) or b"")[:1]
        except TimeoutError:
            return b""
        except Exception as e:  # noqa: BLE001 - pyusb's read timeout is a USBTimeoutError
            if type(e).__name__ == "USBTimeoutError":
                return b""
            raise

    def status(self) -> Status:
        """Ask the printer how it is (opens the connection). Never raises."""
        try:
            p = self._open()
            if not self.query_status:
                return Status("unknown", "状态查询已关闭（query_status = false）")
            from escpos.constants import RT_STATUS_ONLINE, RT_STATUS_PAPER

            return status_from(self._query(p, RT_STATUS_ONLINE), self._query(p, RT_STATUS_PAPER))
        except Exception as e:  # noqa: BLE001 - every failure of the port is an offline printer
            self.close()
            return Status("offline", f"打印机无法连接（{self.where()}）：{_one_line(e)}")

    def print_slip(self, slip: Slip) -> Status:
        """Print `slip`; raises PrinterFault when the printer cannot (nothing half-printed is
        retried: a visitor never gets two slips of one number)."""
        st = self.status()
        if not st.printable:
            raise PrinterFault(st.state, st.message)
        try:
            p = self._open()
            render(p, slip, width=self.width, qr_size=self.qr_size, cut=self.cut)
        except Exception as e:  # noqa: BLE001 - a port error while writing
            self.close()
            raise PrinterFault("write-failed", f"打印失败（{self.where()}）：{_one_line(e)}") from None
        return st


def _one_line(e: BaseException) -> str:
    return " ".join(str(e).split())[:200] or type(e).__name__
