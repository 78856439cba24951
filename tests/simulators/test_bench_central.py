"""`onestop-sim bench central` at a tiny scale: it generates, ingests on SQLite and PostgreSQL,
serves the dashboard and reports its figures (no timing assertions)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

BIN = Path(sys.executable).parent


def test_bench_central_tiny_scale_reports_numbers():
    r = subprocess.run(
        [str(BIN / "onestop-sim"), "bench", "central", "--halls", "2", "--days", "20", "--visits", "20", "--runs",
         "2", "--json"], capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    lines = r.stdout.strip().splitlines()
    result = json.loads(lines[-1])
    assert result["halls"] == 2 and result["days"] == 20
    # the generated logs hold every kind the reports read
    for kind in ("ticket.issued", "ticket.completed", "rating.given", "attendance.punch", "case.finished",
                 "window.paused", "leave.approved", "closing.checked"):
        assert result["kinds"].get(kind, 0) > 0, kind
    dbs = [run["db"] for run in result["runs"]]
    assert dbs[0] == "sqlite" and set(dbs) <= {"sqlite", "postgresql"}
    for run in result["runs"]:
        assert run["ingest"]["events"] == result["events"] and run["ingest"]["events_per_s"] > 0
        # ingest left the marks to the refresher (central.store.marks): every batch still to mark
        assert run["unmarked_batches"] == run["ingest"]["batches"] and run["dirty_days"] == 0
        assert set(run["pages"]) == {"live", "service_year", "service_year_api", "rankings_year",
                                     "rankings_year_api"}
        for page in run["pages"].values():
            assert page["runs"] == 2 and page["cold_ms"] > 0 and 0 < page["p50_ms"] <= page["max_ms"]
            assert 0 < page["live_p50_ms"] <= page["live_max_ms"]  # each after a live hall's batch was refreshed
        assert run["db_bytes"] >= run["db_bytes_after_ingest"] > 0
        # the first report answered from the facts as they were, saying how fresh (issue 16); the
        # warm runs came after the refresher had caught up
        assert run["catch_up_s"] >= 0
        assert set(run["pages"]["service_year_api"]["cold_facts"]) == {"as_of", "pending_days", "pending_hall_days",
                                                                         "unmarked_batches"}
    assert any("ingest" in line and "events/s" in line for line in lines)
