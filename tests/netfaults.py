"""Network faults between an MQTT client and its broker: a TCP proxy whose behaviour can be
switched while connections are open.

    proxy = TcpProxy(broker.host, broker.port).start()
    client.connect(proxy.host, proxy.port)
    proxy.blackhole()     # the cable is cut: nothing passes, nobody is told (no FIN, no RST)
    proxy.heal()          # new connections pass again; the cut ones stay dead
    proxy.close()

Modes (set from any thread; the call returns once the proxy thread applies it):

- ``forward()`` / ``heal()``: relay bytes both ways; half-closes (FIN) and resets (RST) are
  passed on to the other side.
- ``blackhole()``: every open connection becomes dead: the proxy keeps both sockets open and
  reads and discards whatever arrives from either side, so neither endpoint sees data, FIN or
  RST. Connections accepted while the hole lasts are dead from the start (no upstream
  connection is made). A dead connection never comes back, as after a NAT or firewall losing
  its state: TCP would never deliver a stream with a gap, so resuming it would be a lie. Each
  endpoint finds out through its own keepalive and closes; the proxy then drops its socket
  silently. After ``heal()`` only new connections pass.
- ``stall()``: nothing moves but nothing is lost: the proxy stops reading and writing; what was
  sent waits in socket buffers and flows on when the mode returns to forward (a short outage
  that TCP rides out). Connections accepted during a stall reach upstream after it.
- ``refuse()``: new connections are reset (RST) as soon as accepted; open ones keep flowing.
- ``reset_all()``: an action, not a mode: every current connection is closed abruptly with RST
  (SO_LINGER 0) on both sides.

Counters: ``bytes_up`` (client -> upstream), ``bytes_down`` (upstream -> client),
``bytes_dropped`` (discarded by blackholes), ``accepted`` (connections accepted),
``active`` (connections currently held).
"""

from __future__ import annotations

import errno
import queue
import selectors
import socket
import struct
import threading
from typing import Callable

__all__ = ["TcpProxy"]

FORWARD, BLACKHOLE, STALL, REFUSE = "forward", "blackhole", "stall", "refuse"
_BUF_LIMIT = 256 * 1024
_CHUNK = 65536
_CALL_TIMEOUT = 5.0
_R, _W = selectors.EVENT_READ, selectors.EVENT_WRITE


def _close_rst(sock: socket.socket | None) -> None:
    if sock is None:
        return
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    except OSError:
        pass
    sock.close()


def _mask(eof: bool, inbound, outbound, pass_eof: bool) -> int:
    """What to wait for on one socket of a pair: reading while it has not ended and the buffer it
    fills (`inbound`) has room; writing while `outbound` holds data for it or the other side's
    end is still to be passed on (`pass_eof`)."""
    return (_R if not eof and len(inbound) < _BUF_LIMIT else 0) | (_W if outbound or pass_eof else 0)


class _Pair:
    """One client connection and its upstream connection."""

    __slots__ = ("client", "upstream", "connecting", "pending", "dead", "c2s", "s2c",
                 "client_eof", "up_eof", "up_shut", "client_shut")

    def __init__(self, client: socket.socket) -> None:
        self.client: socket.socket | None = client
        self.upstream: socket.socket | None = None
        self.connecting = False  # upstream connect() in progress
        self.pending = False  # upstream connect() not started yet (accepted during a stall)
        self.dead = False  # blackholed: discard everything, forever
        self.c2s = bytearray()
        self.s2c = bytearray()
        self.client_eof = False
        self.up_eof = False
        self.up_shut = False  # we sent FIN upstream
        self.client_shut = False  # we sent FIN to the client


class TcpProxy:
    """A TCP proxy on 127.0.0.1 (free port) forwarding to (host, port), run by one thread."""

    def __init__(self, host: str, port: int, *, listen_host: str = "127.0.0.1", listen_port: int = 0,
                 scheme: str = "mqtt") -> None:
        self.target = (host, port)
        self.scheme = scheme
        self._listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            self._listener.bind((listen_host, listen_port))
            self._listener.listen(128)
        except OSError:
            self._listener.close()
            raise
        self._listener.setblocking(False)
        self.host, self.port = self._listener.getsockname()[:2]
        self._sel = selectors.DefaultSelector()
        self._wake_r, self._wake_w = socket.socketpair()
        self._wake_r.setblocking(False)
        self._wake_w.setblocking(False)
        self._calls: queue.Queue = queue.Queue()
        self._mode = FORWARD
        self._pairs: set[_Pair] = set()
        self._owner: dict[socket.socket, _Pair] = {}
        self._masks: dict[socket.socket, int] = {}
        self._thread: threading.Thread | None = None
        self._stopping = False
        self._closed = False
        self.bytes_up = 0
        self.bytes_down = 0
        self.bytes_dropped = 0
        self.accepted = 0
        self.error: BaseException | None = None

    # -- public API -------------------------------------------------------------------------
    @property
    def url(self) -> str:
        return f"{self.scheme}://{self.host}:{self.port}"

    @property
    def mode(self) -> str:
        return self._mode

    @property
    def active(self) -> int:
        return len(self._pairs)

    def start(self) -> "TcpProxy":
        if self._thread is not None:
            return self
        if self._closed:
            raise RuntimeError("TcpProxy is closed")
        self._sel.register(self._listener, _R)
        self._sel.register(self._wake_r, _R)
        self._thread = threading.Thread(target=self._run, name=f"tcp-proxy-{self.port}", daemon=True)
        self._thread.start()
        return self

    def forward(self) -> None:
        self._call(lambda: self._set_mode(FORWARD))

    heal = forward

    def blackhole(self) -> None:
        self._call(lambda: self._set_mode(BLACKHOLE))

    def stall(self) -> None:
        self._call(lambda: self._set_mode(STALL))

    def refuse(self) -> None:
        self._call(lambda: self._set_mode(REFUSE))

    def reset_all(self) -> int:
        """Reset every current connection (RST both sides); returns how many were reset."""
        return self._call(self._reset_all)

    def stats(self) -> dict[str, int | str]:
        return {"mode": self._mode, "accepted": self.accepted, "active": self.active,
                "bytes_up": self.bytes_up, "bytes_down": self.bytes_down, "bytes_dropped": self.bytes_dropped}

    def close(self) -> None:
        """Stop the thread, close every socket. Idempotent."""
        if self._closed:
            return
        self._closed = True
        if self._thread is not None and self._thread.is_alive():
            self._stopping = True
            self._wake()
            self._thread.join(_CALL_TIMEOUT)
            if self._thread.is_alive():  # pragma: no cover - would be a bug in the loop
                raise RuntimeError(f"{self._thread.name} did not stop")
        self._teardown()

    def __enter__(self) -> "TcpProxy":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"<TcpProxy {self.url} -> {self.target[0]}:{self.target[1]} {self._mode}>"

    # -- calls into the proxy thread --------------------------------------------------------
    def _wake(self) -> None:
        try:
            self._wake_w.send(b"\0")
        except (BlockingIOError, OSError):
            pass  # already awake (buffer full) or closing

    def _call(self, fn: Callable[[], object]) -> object:
        if self._thread is None:
            return fn()  # not started: nothing runs concurrently
        if threading.current_thread() is self._thread:
            return fn()
        if self._closed or not self._thread.is_alive():
            raise RuntimeError(f"TcpProxy is not running (error: {self.error!r})")
        done = threading.Event()
        box: list = []
        self._calls.put((fn, done, box))
        self._wake()
        if not done.wait(_CALL_TIMEOUT):
            raise RuntimeError("TcpProxy thread did not answer")
        if box and isinstance(box[0], BaseException):
            raise box[0]
        return box[0] if box else None

    # -- the loop ---------------------------------------------------------------------------
    def _run(self) -> None:
        try:
            while not self._stopping:
                for key, events in self._sel.select(timeout=1.0):
                    sock = key.fileobj
                    if sock is self._wake_r:
                        self._drain_wake()
                    elif sock is self._listener:
                        self._accept()
                    else:
                        pair = self._owner.get(sock)
                        if pair is not None:
                            self._on_event(pair, sock, events)
                    if self._stopping:
                        break
        except BaseException as e:  # pragma: no cover - surfaced through .error and _call
            self.error = e
            raise
        finally:
            self._fail_pending_calls()

    def _drain_wake(self) -> None:
        try:
            while self._wake_r.recv(4096):
                pass
        except (BlockingIOError, InterruptedError):
            pass
        while True:
            try:
                fn, done, box = self._calls.get_nowait()
            except queue.Empty:
                return
            try:
                box.append(fn())
            except BaseException as e:  # handed back to the caller
                box.append(e)
            done.set()

    def _fail_pending_calls(self) -> None:
        while True:
            try:
                _fn, done, box = self._calls.get_nowait()
            except queue.Empty:
                return
            box.append(RuntimeError("TcpProxy stopped"))
            done.set()

    def _teardown(self) -> None:
        for pair in list(self._pairs):
            self._drop(pair, rst=True)
        for s in (self._listener, self._wake_r, self._wake_w):
            try:
                self._sel.unregister(s)
            except (KeyError, ValueError):
                pass
            s.close()
        self._sel.close()

    # -- selector bookkeeping ---------------------------------------------------------------
    def _interest(self, sock: socket.socket | None, mask: int) -> None:
        if sock is None:
            return
        old = self._masks.get(sock, 0)
        if mask == old:
            return
        if old == 0:
            self._sel.register(sock, mask)
        elif mask == 0:
            self._sel.unregister(sock)
        else:
            self._sel.modify(sock, mask)
        if mask:
            self._masks[sock] = mask
        else:
            self._masks.pop(sock, None)

    def _forget(self, sock: socket.socket | None) -> None:
        if sock is None:
            return
        if self._masks.pop(sock, 0):
            self._sel.unregister(sock)
        self._owner.pop(sock, None)

    def _update(self, pair: _Pair) -> None:
        """Set what to wait for on both sockets of `pair`, from the mode and the pair's state."""
        if pair.dead:
            self._interest(pair.client, _R)
            self._interest(pair.upstream, _R)
            return
        if self._mode == STALL:
            self._interest(pair.client, 0)
            self._interest(pair.upstream, 0)
            return
        self._interest(pair.client, _mask(pair.client_eof, pair.c2s, pair.s2c, pair.up_eof and not pair.client_shut))
        if pair.upstream is None:
            return
        if pair.connecting:
            self._interest(pair.upstream, _W)
            return
        self._interest(pair.upstream, _mask(pair.up_eof, pair.s2c, pair.c2s, pair.client_eof and not pair.up_shut))

    # -- connections ------------------------------------------------------------------------
    def _accept(self) -> None:
        while True:
            try:
                conn, _addr = self._listener.accept()
            except (BlockingIOError, InterruptedError):
                return
            except OSError as e:
                if e.errno in (errno.EMFILE, errno.ENFILE, errno.ECONNABORTED):
                    return
                raise
            self.accepted += 1
            if self._mode == REFUSE:
                _close_rst(conn)
                continue
            conn.setblocking(False)
            conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            pair = _Pair(conn)
            self._pairs.add(pair)
            self._owner[conn] = pair
            if self._mode == BLACKHOLE:
                pair.dead = True
            elif self._mode == STALL:
                pair.pending = True
            else:
                self._connect_upstream(pair)
            self._update(pair)

    def _connect_upstream(self, pair: _Pair) -> None:
        pair.pending = False
        up = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        up.setblocking(False)
        up.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        rc = up.connect_ex(self.target)
        pair.upstream = up
        self._owner[up] = pair
        if rc in (0, errno.EINPROGRESS, errno.EWOULDBLOCK, errno.EAGAIN):
            pair.connecting = rc != 0
        else:
            # upstream refused at once: the client is refused too
            self._drop(pair, rst=True)

    def _drop(self, pair: _Pair, *, rst: bool) -> None:
        for sock in (pair.client, pair.upstream):
            if sock is None:
                continue
            self._forget(sock)
            if rst:
                _close_rst(sock)
            else:
                sock.close()
        pair.client = pair.upstream = None
        self._pairs.discard(pair)

    def _drop_side(self, pair: _Pair, sock: socket.socket) -> None:
        """A dead pair: one endpoint went away; forget its socket, say nothing to the other."""
        self._forget(sock)
        sock.close()
        if sock is pair.client:
            pair.client = None
        else:
            pair.upstream = None
        if pair.client is None and pair.upstream is None:
            self._pairs.discard(pair)

    def _set_mode(self, mode: str) -> None:
        old, self._mode = self._mode, mode
        if mode == BLACKHOLE:
            for pair in self._pairs:
                if not pair.dead:
                    self.bytes_dropped += len(pair.c2s) + len(pair.s2c)
                    pair.c2s.clear()
                    pair.s2c.clear()
                    pair.dead = True
        if old == STALL and mode != STALL:
            for pair in list(self._pairs):
                if pair.pending and not pair.dead:
                    self._connect_upstream(pair)
        for pair in list(self._pairs):
            if pair in self._pairs:
                self._update(pair)

    def _reset_all(self) -> int:
        pairs = list(self._pairs)
        for pair in pairs:
            self._drop(pair, rst=True)
        return len(pairs)

    # -- data -------------------------------------------------------------------------------
    def _on_event(self, pair: _Pair, sock: socket.socket, events: int) -> None:
        if pair.dead:
            self._discard(pair, sock)
            return
        is_client = sock is pair.client
        if not is_client and pair.connecting:
            err = sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
            if err:
                self._drop(pair, rst=True)  # upstream down: the client sees a reset
                return
            pair.connecting = False
            self._update(pair)
            return
        try:
            if events & _R:
                self._read(pair, is_client)
            if pair in self._pairs and events & _W:
                self._write(pair, is_client)
        except (ConnectionError, OSError):
            # a reset (or any socket error) on one side: reset the other side too
            self._drop(pair, rst=True)
            return
        if pair in self._pairs:
            if pair.client_eof and pair.up_eof and not pair.c2s and not pair.s2c and pair.up_shut and pair.client_shut:
                self._drop(pair, rst=False)
            else:
                self._update(pair)

    def _discard(self, pair: _Pair, sock: socket.socket) -> None:
        try:
            data = sock.recv(_CHUNK)
        except (BlockingIOError, InterruptedError):
            return
        except OSError:
            data = b""
        if data:
            self.bytes_dropped += len(data)
        else:
            self._drop_side(pair, sock)

    def _read(self, pair: _Pair, from_client: bool) -> None:
        sock = pair.client if from_client else pair.upstream
        try:
            data = sock.recv(_CHUNK)
        except (BlockingIOError, InterruptedError):
            return
        if from_client:
            if data:
                pair.c2s += data
            else:
                pair.client_eof = True
        else:
            if data:
                pair.s2c += data
            else:
                pair.up_eof = True

    def _write(self, pair: _Pair, to_client: bool) -> None:
        # called with the socket that is writable: client -> send s2c; upstream -> send c2s
        if to_client:
            sock, buf, eof = pair.client, pair.s2c, pair.up_eof
        else:
            sock, buf, eof = pair.upstream, pair.c2s, pair.client_eof
        if buf:
            try:
                n = sock.send(buf)
            except (BlockingIOError, InterruptedError):
                return
            del buf[:n]
            if to_client:
                self.bytes_down += n
            else:
                self.bytes_up += n
        if not buf and eof:
            if to_client and not pair.client_shut:
                pair.client_shut = True
                sock.shutdown(socket.SHUT_WR)
            elif not to_client and not pair.up_shut:
                pair.up_shut = True
                sock.shutdown(socket.SHUT_WR)
