"""The HTTP side of `onestop-sim bench central` (simulators.bench_central): the real central app
served by uvicorn in a thread (its day-facts refresher starts with it), and the page timings."""

from __future__ import annotations

import socket
import statistics
import threading
import time
from pathlib import Path


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def serve(store, config: Path):
    """uvicorn with the real app in a thread; returns (base url, stop())."""
    import uvicorn

    from central.app import create_app
    from central.auth import Auth
    from central.config import load
    from central.projections import Directory

    cfg, halls = load(config)
    app = create_app(store, None, Directory.of(halls), Auth(cfg.users))
    port = _free_port()
    srv = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    t = threading.Thread(target=srv.run, daemon=True)
    t.start()
    deadline = time.monotonic() + 20
    while not srv.started:
        if time.monotonic() > deadline:
            raise RuntimeError("uvicorn did not start")
        time.sleep(0.05)

    def stop() -> None:
        srv.should_exit = True
        t.join(20)

    return f"http://127.0.0.1:{port}", stop


def time_pages(base: str, pages: dict[str, str], runs: int, password: str, between=None, change=None) -> dict:
    """Each page once (cold: right after the bulk load, answered from the facts as they are,
    the API's `facts` field kept), then `between()` (waits for the refresher), then `runs` warm;
    then, with `change`, `runs` times: `change()` (a live hall's batch, stored and its day
    refreshed) and every page once after it (`live_p50_ms`, `live_max_ms`)."""
    import logging

    import httpx

    logging.getLogger("httpx").setLevel(logging.WARNING)
    out: dict = {}
    with httpx.Client(base_url=base, timeout=None, follow_redirects=False, headers={"origin": base}) as c:
        r = c.post("/login", data={"username": "admin", "password": password})  # as the login page does
        if r.status_code not in (200, 302, 303) or not c.cookies:
            raise RuntimeError(f"login failed: HTTP {r.status_code}")

        def get(name: str, path: str):
            t0 = time.perf_counter()
            r = c.get(path)
            ms = (time.perf_counter() - t0) * 1000
            if r.status_code != 200:
                raise RuntimeError(f"{path}: HTTP {r.status_code} {r.text[:200]}")
            if name != "live" and not any(x in r.text for x in ("合计", "名次", '"rows"', "天待更新")):
                raise RuntimeError(f"{path}: the page shows no report")
            return ms, r

        for name, path in pages.items():
            ms, r = get(name, path)
            out[name] = {"path": path, "cold_ms": round(ms, 1)}
            if path.startswith("/api/"):
                out[name]["cold_facts"] = r.json().get("facts")
        if between is not None:
            between()
        for name, path in pages.items():
            warm = [get(name, path)[0] for _ in range(runs)]
            out[name].update(p50_ms=round(statistics.median(warm), 1), max_ms=round(max(warm), 1), runs=len(warm))
        if change is not None:
            live: dict[str, list[float]] = {name: [] for name in pages}
            for _ in range(runs):
                change()
                for name, path in pages.items():
                    live[name].append(get(name, path)[0])
            for name, ms in live.items():
                out[name].update(live_p50_ms=round(statistics.median(ms), 1), live_max_ms=round(max(ms), 1))
    return out
