"""Badge reader wire protocols (INTERFACES.md, "Serial badge readers").

``rdm6300`` (125 kHz EM4100 module, 9600 8N1): a frame is STX ``0x02``, 10 ASCII-hex characters
(version byte + 4-byte tag), 2 ASCII-hex characters of checksum (XOR of the 5 decoded bytes),
ETX ``0x03``. Tolerated variants: the 13-byte clone whose checksum is one raw byte, and CR LF
(or CR, or LF) before the ETX. The card id is the 10 hex characters, upper case.

``line``: one card id per line (decimal or hex), terminated by CR and/or LF.

Anything else is skipped with a logged warning and the parser resynchronises on the next STX
(rdm6300) or line end (line). Parsers are incremental: feed them whatever bytes arrived.
"""

from __future__ import annotations

import logging
import re

log = logging.getLogger("onestop.devices")

STX, ETX = 0x02, 0x03
_HEX = frozenset(b"0123456789ABCDEFabcdef")
_EOL_TAILS = (b"", b"\r\n", b"\r", b"\n")
MAX_RDM_BODY = 10 + 2 + 2  # id, checksum, CR LF
MAX_LINE = 64
_LINE_ID = re.compile(r"^(?:[0-9]{1,20}|[0-9A-F]{1,20})$")


def xor_checksum(card: str) -> int:
    value = 0
    for i in range(0, 10, 2):
        value ^= int(card[i:i + 2], 16)
    return value


class Rdm6300Parser:
    """Incremental parser of rdm6300 frames. `feed(data)` returns the card ids of the complete,
    valid frames in `data` (held cards repeat: de-duplication is the reader's job)."""

    def __init__(self, name: str = "reader") -> None:
        self.name = name
        self._buf: bytearray | None = None  # bytes after an STX, None while hunting for one
        self._skipped = 0
        self.rejected = 0  # frames dropped (bad checksum, bad characters, too long)
        self.skipped_bytes = 0

    def feed(self, data: bytes) -> list[str]:
        out: list[str] = []
        for b in data:
            buf = self._buf
            if buf is None:
                if b == STX:
                    self._flush_skipped()
                    self._buf = bytearray()
                else:
                    self._skipped += 1
                continue
            if len(buf) < 10:  # the card id
                if b in _HEX:
                    buf.append(b)
                    continue
                self._reject(f"not a hex digit 0x{b:02x} in the card id")
                if b == STX:
                    self._buf = bytearray()
                continue
            # checksum (+ CR LF) until ETX; a raw checksum byte may itself be STX or ETX
            rest = len(buf) - 10
            xor = xor_checksum(buf[:10].decode())
            if b == ETX and not (rest == 0 and xor == ETX):
                card = self._finish(bytes(buf), xor)
                self._buf = None
                if card is not None:
                    out.append(card)
                continue
            if b == STX and not (rest == 0 and xor == STX):
                self._reject("frame cut short by a new STX")
                self._buf = bytearray()
                continue
            buf.append(b)
            if len(buf) > MAX_RDM_BODY:
                self._reject("frame too long (no ETX)")
                self._buf = None
        return out

    def _finish(self, body: bytes, xor: int) -> str | None:
        card, tail = body[:10].decode().upper(), body[10:]
        if len(tail) >= 2 and all(c in _HEX for c in tail[:2]) and tail[2:] in _EOL_TAILS:
            if int(tail[:2].decode(), 16) == xor:
                return card
            self._reject(f"checksum mismatch for {card}")
            return None
        if len(tail) >= 1 and tail[0] == xor and tail[1:] in _EOL_TAILS:
            return card  # the 13-byte clone: a raw checksum byte
        self._reject(f"bad checksum field {tail!r} for {card}")
        return None

    def _reject(self, why: str) -> None:
        self.rejected += 1
        log.warning("%s: rdm6300 frame skipped: %s", self.name, why)
        self._buf = None

    def _flush_skipped(self) -> None:
        if self._skipped:
            log.warning("%s: skipped %d byte(s) outside any frame", self.name, self._skipped)
            self.skipped_bytes += self._skipped
            self._skipped = 0


class LineParser:
    """Incremental parser of the ``line`` protocol: a card id (decimal or hex) per line."""

    def __init__(self, name: str = "reader") -> None:
        self.name = name
        self._buf = bytearray()
        self._overflow = False
        self.rejected = 0

    def feed(self, data: bytes) -> list[str]:
        out: list[str] = []
        for b in data:
            if b in (0x0D, 0x0A):
                if self._buf or self._overflow:
                    card = self._finish()
                    if card is not None:
                        out.append(card)
                continue
            if len(self._buf) >= MAX_LINE:
                self._overflow = True
                continue
            self._buf.append(b)
        return out

    def _finish(self) -> str | None:
        raw, overflow = bytes(self._buf), self._overflow
        self._buf.clear()
        self._overflow = False
        if overflow:
            self.rejected += 1
            log.warning("%s: line too long, skipped", self.name)
            return None
        try:
            text = raw.decode("ascii").strip().upper()
        except UnicodeDecodeError:
            text = ""
        if not _LINE_ID.match(text):
            self.rejected += 1
            log.warning("%s: not a card id, skipped: %r", self.name, raw[:32])
            return None
        return text


def parser_for(protocol: str, name: str = "reader") -> Rdm6300Parser | LineParser:
    if protocol == "rdm6300":
        return Rdm6300Parser(name)
    if protocol == "line":
        return LineParser(name)
    raise ValueError(f"unknown reader protocol {protocol!r}")


# ---------------------------------------------------------------- encoders (simulators, tests)


def rdm6300_frame(card: str, *, clone: bool = False, crlf: bool = False, corrupt: bool = False) -> bytes:
    """The frame a reader sends for `card` (10 hex characters). `clone`: a raw checksum byte
    (13-byte frame); `crlf`: CR LF before ETX; `corrupt`: a wrong checksum."""
    card = card.strip().upper()
    if len(card) != 10 or any(c not in "0123456789ABCDEF" for c in card):
        raise ValueError(f"an rdm6300 card id is 10 hex characters, got {card!r}")
    xor = xor_checksum(card) ^ (0x5A if corrupt else 0)
    check = bytes([xor]) if clone else f"{xor:02X}".encode()
    return bytes([STX]) + card.encode() + check + (b"\r\n" if crlf else b"") + bytes([ETX])


def line_frame(card: str, ending: bytes = b"\r\n") -> bytes:
    return card.strip().encode("ascii") + ending
