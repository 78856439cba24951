"""Network outages on demand: a TCP proxy per hall between the hall and the broker.

The demo starts each hall with `--broker mqtt://127.0.0.1:PROXYPORT`; the hall's `Proxy` forwards
to the real broker. `cut()` closes every connection through it and refuses new ones (the broker
sees the hall's connection drop and publishes its last will: central marks it offline), `heal()`
lets connections through again (the hall reconnects and drains its backlog).

The demo serves a tiny control channel over HTTP on 127.0.0.1 and writes its address to
`<demo data dir>/control.json`; `onestop-sim outage --hall H --for 2m` (and `--heal`) uses it:

    POST /outage {"hall": H, "seconds": S}   cut H for S real seconds (then heal)
    POST /heal   {"hall": H}                 heal H now
    GET  /state                              {H: {"cut": bool, "until": unix time | null, "port"}}
"""

from __future__ import annotations

import argparse
import json
import re
import socket
import sys
import threading
import time
import urllib.error
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from .demopaths import DEMO_DATA, outage_command, sim_command


class Proxy:
    """A TCP forwarder 127.0.0.1:port → upstream that can be cut and healed."""

    def __init__(self, name: str, upstream: tuple[str, int], port: int = 0) -> None:
        self.name, self.upstream = name, upstream
        self._listener = socket.create_server(("127.0.0.1", port), reuse_port=False)
        self.port = self._listener.getsockname()[1]
        self._lock = threading.Lock()
        self._conns: set[socket.socket] = set()
        self._cut = False
        self._closed = False
        self.until: float | None = None  # time.time() when a timed outage heals
        self.cuts = 0
        self._thread = threading.Thread(target=self._accept, name=f"proxy-{name}", daemon=True)

    def start(self) -> "Proxy":
        self._thread.start()
        return self

    @property
    def is_cut(self) -> bool:
        return self._cut

    def cut(self, seconds: float | None = None) -> None:
        with self._lock:
            self._cut = True
            self.cuts += 1
            self.until = None if seconds is None else time.time() + seconds
            conns, self._conns = self._conns, set()
        for c in conns:
            _close(c)

    def heal(self) -> None:
        with self._lock:
            self._cut = False
            self.until = None

    def close(self) -> None:
        self._closed = True
        _close(self._listener)
        self.cut()
        self._thread.join(5)

    def _accept(self) -> None:
        while not self._closed:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            if self._cut:
                _close(client)  # refused: the hall retries with its backoff
                continue
            try:
                upstream = socket.create_connection(self.upstream, timeout=5)
                upstream.settimeout(None)
            except OSError:
                _close(client)
                continue
            with self._lock:
                if self._cut:
                    _close(client)
                    _close(upstream)
                    continue
                self._conns |= {client, upstream}
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pump, args=(a, b), name=f"proxy-{self.name}-pump",
                                 daemon=True).start()

    def _pump(self, src: socket.socket, dst: socket.socket) -> None:
        try:
            while True:
                data = src.recv(65536)
                if not data:
                    break
                dst.sendall(data)
        except OSError:
            pass
        finally:
            with self._lock:
                self._conns.discard(src)
                self._conns.discard(dst)
            _close(src)
            _close(dst)


def _close(s: socket.socket) -> None:
    try:
        s.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass
    try:
        s.close()
    except OSError:
        pass


class Outages:
    """The demo's proxies by hall, timed heals, and the HTTP control channel."""

    def __init__(self, proxies: dict[str, Proxy], log=print) -> None:
        self.proxies = proxies
        self.log = log
        self._stop = threading.Event()
        self._server: ThreadingHTTPServer | None = None
        self._timer = threading.Thread(target=self._heal_due, name="outage-timer", daemon=True)

    def cut(self, hall: str, seconds: float | None) -> None:
        self.proxies[hall].cut(seconds)
        self.log(f"outage: {hall} cut off from the broker"
                 + (f" for {format_duration(seconds)}" if seconds else ""))

    def heal(self, hall: str) -> None:
        self.proxies[hall].heal()
        self.log(f"outage: {hall} reconnected to the broker")

    def state(self) -> dict:
        return {h: {"cut": p.is_cut, "until": p.until, "port": p.port, "cuts": p.cuts}
                for h, p in self.proxies.items()}

    def _heal_due(self) -> None:
        while not self._stop.wait(0.2):
            for h, p in self.proxies.items():
                if p.is_cut and p.until is not None and time.time() >= p.until:
                    self.heal(h)

    def serve(self, control_file: Path) -> str:
        outages = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args) -> None:  # quiet
                pass

            def _answer(self, code: int, body: object) -> None:
                data = json.dumps(body, ensure_ascii=False).encode()
                self.send_response(code)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self) -> None:
                if self.path == "/state":
                    self._answer(200, outages.state())
                else:
                    self._answer(404, {"detail": "not found"})

            def do_POST(self) -> None:
                try:
                    body = json.loads(self.rfile.read(int(self.headers.get("Content-Length") or 0)) or b"{}")
                    hall = body["hall"]
                except (ValueError, KeyError, TypeError):
                    return self._answer(400, {"detail": "expected JSON {\"hall\": …}"})
                if hall not in outages.proxies:
                    return self._answer(404, {"detail": f"no hall {hall!r}; there are: "
                                                        f"{', '.join(outages.proxies)}"})
                if self.path == "/outage":
                    seconds = body.get("seconds")
                    outages.cut(hall, float(seconds) if seconds else None)
                elif self.path == "/heal":
                    outages.heal(hall)
                else:
                    return self._answer(404, {"detail": "not found"})
                self._answer(200, outages.state()[hall])

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, name="outage-control", daemon=True).start()
        self._timer.start()
        url = f"http://127.0.0.1:{self._server.server_address[1]}"
        control_file.write_text(json.dumps({"control": url, "halls": sorted(self.proxies)}), encoding="utf-8")
        return url

    def close(self) -> None:
        self._stop.set()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        for p in self.proxies.values():
            p.close()


_UNITS = {"": 1, "s": 1, "m": 60, "min": 60, "h": 3600}


def parse_duration(text: str) -> float:
    """'90', '90s', '2m', '1.5h', '1m30s' → seconds."""
    parts = re.findall(r"(\d+(?:\.\d+)?)\s*(min|[smh]?)", text.strip().lower())
    if not parts or "".join(n + u for n, u in parts) != re.sub(r"\s+", "", text.strip().lower()):
        raise ValueError(f"not a duration: {text!r} (e.g. 90s, 2m, 1h)")
    seconds = sum(float(n) * _UNITS[u] for n, u in parts)
    if seconds <= 0:
        raise ValueError(f"must be positive: {text!r}")
    return seconds


def format_duration(seconds: float) -> str:
    m, s = divmod(round(seconds), 60)
    return f"{m}m{s:02d}s" if m else f"{s}s"


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(
        prog="onestop-sim outage",
        description="Cut a hall of the running demo off the broker (its proxy refuses connections), "
                    "for a while or until --heal. The hall keeps serving; central shows it offline "
                    "with its backlog, which drains once it is back.")
    p.add_argument("--hall", required=True, help="hall id, e.g. north-staff")
    g = p.add_mutually_exclusive_group(required=True)
    g.add_argument("--for", dest="duration", metavar="DURATION",
                   help="how long, in real time: 90s, 2m, 1h")
    g.add_argument("--heal", action="store_true", help="end the hall's outage now")
    p.add_argument("--data-dir", type=Path, default=DEMO_DATA,
                   help=f"the running demo's data directory (default {DEMO_DATA})")
    args = p.parse_args(argv)
    seconds = None
    if args.duration:
        try:
            seconds = parse_duration(args.duration)
        except ValueError as e:
            p.error(str(e))
    try:
        control = json.loads((args.data_dir / "control.json").read_text(encoding="utf-8"))["control"]
    except (OSError, ValueError, KeyError):
        print(f"onestop-sim outage: no running demo found ({args.data_dir / 'control.json'} is missing); "
              f"start one with `{sim_command()} demo` (or `make demo`)", file=sys.stderr)
        return 1
    path, body = ("/heal", {"hall": args.hall}) if args.heal else ("/outage", {"hall": args.hall, "seconds": seconds})
    req = urllib.request.Request(control + path, data=json.dumps(body).encode(), method="POST",
                                 headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=5) as r:
            json.loads(r.read())
    except urllib.error.HTTPError as e:
        detail = json.loads(e.read() or b"{}").get("detail", e.code)
        print(f"onestop-sim outage: {detail}", file=sys.stderr)
        return 1
    except OSError as e:
        print(f"onestop-sim outage: the demo does not answer at {control} ({e}); is it still running?",
              file=sys.stderr)
        return 1
    if args.heal:
        print(f"{args.hall}: reconnected; its backlog drains to central now")
    else:
        print(f"{args.hall}: cut off from the broker for {format_duration(seconds)}; it keeps serving, "
              f"central shows it offline with a growing backlog (heal early: "
              f"{outage_command(args.hall, '--heal', args.data_dir)})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
