"""Serving an ASGI app from a command: uvicorn, stopped cleanly by SIGTERM/SIGINT.

uvicorn re-raises the signal after its own shutdown, which would end the process before the
command's `finally` blocks (stopping the hall's writer, the replicator, the store) have run;
here a signal only asks for a graceful shutdown and `serve()` returns.
"""

from __future__ import annotations

import contextlib
import signal
import threading

import uvicorn


class GracefulServer(uvicorn.Server):
    @contextlib.contextmanager
    def capture_signals(self):
        if threading.current_thread() is not threading.main_thread():
            yield
            return
        previous = {sig: signal.signal(sig, self.handle_exit) for sig in (signal.SIGINT, signal.SIGTERM)}
        try:
            yield
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)


def serve(app, host: str, port: int) -> bool:
    """Serve until a signal; False if the server could not start (e.g. the port is taken)."""
    server = GracefulServer(uvicorn.Config(app, host=host, port=port, log_level="warning", access_log=False,
                                           lifespan="on"))
    server.run()
    return bool(server.started)
