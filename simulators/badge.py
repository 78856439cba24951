"""Badge reader simulator: real frames into a pty that the edge opens as its serial port.

`BadgeSimulator` owns (or wraps) a `devices.ptyport.PtyPort` and writes what a reader sends:
``rdm6300`` frames (standard, the 13-byte clone, CR LF before ETX, a wrong checksum, garbage,
a card held on the antenna) or ``line`` ids. Unplugging closes the pty (the edge's reader sees
the device vanish and reports a fault) and plugging makes a new one behind the same path.

Command line (to wire as ``onestop-sim badge``), `main(argv)`::

    python -m simulators.badge --link /tmp/ttyBADGE0 [--protocol rdm6300|line]

prints the port path to put in the hall file's ``[[devices.readers]] port``, then reads lines
from standard input: a card id presents that card; ``clone ID``, ``crlf ID``, ``corrupt ID``,
``hold ID SECONDS``, ``garbage``, ``unplug``, ``plug``; end of input or ``quit`` stops.
"""

from __future__ import annotations

import argparse
import sys
import time

from devices.frames import line_frame, rdm6300_frame
from devices.ptyport import PtyPort

VARIANTS = ("normal", "clone", "crlf", "corrupt", "garbage")


class BadgeSimulator:
    def __init__(self, port: PtyPort | None = None, protocol: str = "rdm6300", link: str | None = None) -> None:
        if protocol not in ("rdm6300", "line"):
            raise ValueError(f"protocol is rdm6300 or line, got {protocol!r}")
        self.port = port if port is not None else PtyPort(link)
        self.protocol = protocol
        self.written = 0

    @property
    def path(self) -> str:
        return self.port.path

    def frame(self, card: str, variant: str = "normal") -> bytes:
        if variant not in VARIANTS:
            raise ValueError(f"variant is one of {VARIANTS}, got {variant!r}")
        if self.protocol == "line":
            if variant == "corrupt" or variant == "garbage":
                return b"\x1b[??" + card.encode("ascii", "replace") + b"!!\r\n"
            return line_frame(card, b"\r\n" if variant != "crlf" else b"\n")
        data = rdm6300_frame(card, clone=variant == "clone", crlf=variant == "crlf", corrupt=variant == "corrupt")
        return (b"\x00\xffnoise\x03" + data) if variant == "garbage" else data

    def present(self, card: str, variant: str = "normal") -> bytes:
        """A card presented once (one frame)."""
        data = self.frame(card, variant)
        self.port.write(data)
        self.written += 1
        return data

    def hold(self, card: str, frames: int = 10) -> None:
        """A card held on the antenna: the module repeats its frame (back to back here)."""
        for _ in range(frames):
            self.present(card)

    def garbage(self, data: bytes = b"\x13\x37 line noise \x02\x41\x42\x03") -> None:
        """Line noise. For ``line`` it ends with a line end (a line reader resyncs there)."""
        if self.protocol == "line" and not data.endswith((b"\r", b"\n")):
            data += b"\r\n"
        self.port.write(data)

    def unplug(self) -> None:
        self.port.unplug()

    def plug(self) -> None:
        self.port.plug()

    def close(self) -> None:
        self.port.close()


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="onestop-sim badge", description="Simulate a serial badge reader on a pty.")
    p.add_argument("--link", help="stable path of the simulated port (default: a temporary one)")
    p.add_argument("--protocol", choices=["rdm6300", "line"], default="rdm6300")
    args = p.parse_args(argv)
    sim = BadgeSimulator(protocol=args.protocol, link=args.link)
    print(f"simulated {args.protocol} reader on {sim.path}", flush=True)
    try:
        for raw in sys.stdin:
            words = raw.split()
            if not words:
                continue
            cmd = words[0].lower()
            try:
                if cmd in ("quit", "exit"):
                    break
                if cmd == "unplug":
                    sim.unplug()
                elif cmd == "plug":
                    sim.plug()
                elif cmd == "garbage":
                    sim.garbage()
                elif cmd == "hold" and len(words) >= 2:
                    seconds = float(words[2]) if len(words) > 2 else 2.0
                    end = time.monotonic() + seconds
                    while time.monotonic() < end:
                        sim.present(words[1])
                        time.sleep(0.1)  # an RDM6300 repeats about ten times a second
                elif cmd in VARIANTS and len(words) == 2:
                    sim.present(words[1], cmd)
                else:
                    sim.present(words[0])
                print("ok", flush=True)
            except (ValueError, OSError) as e:
                print(f"error: {e}", flush=True)
    except KeyboardInterrupt:
        pass
    finally:
        sim.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
