"""make bench's comparator (simulators.bench_check): a unit test of the comparison, not a timed run."""

from __future__ import annotations

import pytest

from simulators import bench_check as bc

HIGHER = bc.Reference(key="sync.sqlite_ratio_to_raw", better="higher", value=0.40, what="drain / raw")
LOWER = bc.Reference(key="x.p99_ratio", better="lower", value=2.0, what="a ratio where less is better")


def test_compare_fails_on_a_25_percent_drop():
    v = bc.compare(HIGHER, 0.30)
    assert not v.ok and v.change == pytest.approx(0.25)
    assert v.line().startswith("FAIL sync.sqlite_ratio_to_raw")


def test_compare_passes_on_a_10_percent_drop():
    v = bc.compare(HIGHER, 0.36)
    assert v.ok and v.change == pytest.approx(0.10)
    assert v.line().startswith("PASS")


def test_compare_passes_at_exactly_20_percent_and_fails_just_beyond():
    assert bc.compare(HIGHER, 0.32).ok
    assert not bc.compare(HIGHER, 0.3199).ok


def test_compare_passes_when_better_than_reference():
    v = bc.compare(HIGHER, 0.80)
    assert v.ok and v.change < 0 and "better" in v.line()


def test_compare_lower_is_better_fails_on_a_25_percent_rise_passes_on_10():
    assert not bc.compare(LOWER, 2.5).ok
    assert bc.compare(LOWER, 2.2).ok


def test_compare_unmeasured_fails():
    v = bc.compare(HIGHER, None)
    assert not v.ok and "not measured" in v.line()


def test_parse_references_reads_the_docs_table():
    refs = bc.parse_references(bc.DOCS.read_text(encoding="utf-8"))
    keys = {r.key for r in refs}
    assert {"sync.sqlite_ratio_to_raw", "edge.health_p50_over_ticket_p50", "central.sqlite_ingest_ratio_to_raw"} <= keys
    assert all(r.value > 0 and r.better in ("higher", "lower") for r in refs)
    assert {r.key.split(".")[0] for r in refs} <= set(bc.RUNS)


def test_parse_references_refuses_a_missing_table_and_a_bad_direction():
    with pytest.raises(ValueError, match="missing"):
        bc.parse_references("# Benchmarks\n")
    with pytest.raises(ValueError, match="higher or lower"):
        bc.parse_references(f"{bc.MARK}\n| key | figure | better | reference |\n|---|---|---|---|\n| `a.b` | x | up | 1 |\n")


def test_main_fails_loudly_on_a_drop(monkeypatch, capsys):
    monkeypatch.setattr(bc, "RUNS", {"sync": lambda: {"sync.sqlite_ratio_to_raw": 0.01}})
    assert bc.main(["--only", "sync"]) == 1
    out = capsys.readouterr()
    assert "FAIL sync.sqlite_ratio_to_raw" in out.out and "make bench: FAIL" in out.err
