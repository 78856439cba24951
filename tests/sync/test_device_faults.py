"""A hall's device fault reaches central through a real broker (issue 14): the kiosk's printer
runs out of paper at a hall (`onestop-edge --simulate` with a `[devices.printer]`), central's
operations report (/api/reports/operations, central/operations.py) shows the fault as not
recovered, and once paper is back the same fault shows as recovered."""

from __future__ import annotations

import httpx
import pytest

from tests.edge.test_printing import PRINTER_TOML
from tests.sync.harness import Central, Edge, wait_until, write_campus

pytestmark = pytest.mark.slow
DAY = "2026-11-23"  # the halls' simulated service day (harness CLOCK_START)


def faults_at_central(central: Central, hall: str) -> list[dict]:
    rows = central.get("/api/reports/operations", start=DAY, end=DAY, hall=hall)["rows"]
    return [f for r in rows for f in r["fault_list"]]


def test_device_faults_printer_paper_out_and_its_recovery_reach_central(tmp_path, broker):
    protocol = 5 if broker.kind == "mosquitto" else 4
    central_toml, files = write_campus(tmp_path, ["hall-a"], protocol=protocol, hall_extra=PRINTER_TOML)
    central = Central(tmp_path, central_toml, f"sqlite:///{tmp_path}/central.db", broker.url)
    edge = Edge(tmp_path, files["hall-a"], "hall-a", broker.url, extra=["--simulate"])
    try:
        central.start()
        edge.start()
        assert faults_at_central(central, "hall-a") == []
        r = httpx.post(f"{edge.base}/api/sim/printer", json={"paper": "out"}, timeout=10)
        assert r.status_code == 200 and r.json()["printer_state"] == "paper-out", r.text

        def open_fault():
            fs = faults_at_central(central, "hall-a")
            return fs if fs and fs[0]["recovered"] is None else None

        (fault,) = wait_until(open_fault, 60, what="the printer's paper-out fault at central")
        assert (fault["device"], fault["kind"], fault["message"]) == ("kiosk-printer", "printer", "打印机缺纸")
        row = central.get("/api/reports/operations", start=DAY, end=DAY, hall="hall-a")["rows"][0]
        assert row["faults"] == 1 and row["fault_text"] == "kiosk-printer：打印机缺纸（未恢复）"

        r = httpx.post(f"{edge.base}/api/sim/printer", json={"paper": "ok"}, timeout=10)
        assert r.status_code == 200 and r.json()["printer_state"] == "ok", r.text
        (fault,) = wait_until(lambda: [f for f in faults_at_central(central, "hall-a") if f["recovered"]] or None,
                              60, what="the printer's recovery at central")
        row = central.get("/api/reports/operations", start=DAY, end=DAY, hall="hall-a")["rows"][0]
        assert row["faults"] == 1 and row["fault_text"] == "kiosk-printer：打印机缺纸（已恢复）"
    finally:
        for p in (edge, central):
            p.kill()
