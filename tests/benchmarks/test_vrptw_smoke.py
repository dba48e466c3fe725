"""CI smoke run of the VRPTW benchmark: one small instance, slot211 only, checked independently."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from benchmarks import vrptw
from benchmarks.vrptw_checker import check, load_instance

SHARED = Path(__file__).resolve().parents[2].parent / "shared" / "benchmarks" / "vrptw"
C101 = SHARED / "solomon100" / "C101.vrp"

pytestmark = pytest.mark.skipif(not C101.exists(), reason=f"benchmark instances not found at {SHARED}")


def test_benchmark_runs_and_writes_checked_json(tmp_path: Path) -> None:
    out = tmp_path / "smoke.json"
    code = vrptw.main([str(C101), "--references", str(SHARED / "references.tsv"),
                       "--time-limit", "2", "--solvers", "slot211", "--json", str(out)])
    assert code == 0
    data = json.loads(out.read_text())
    row = next(r for r in data["results"] if r["solver"] == "slot211")
    assert row["feasible"] is True
    assert row["gap"] is not None and row["gap"] < 2.0
    feasible, cost, violations = check(load_instance(C101), row["routes"])
    assert feasible, violations
    assert cost == pytest.approx(row["cost"])


def test_checker_rejects_a_dropped_customer() -> None:
    inst = load_instance(C101)
    routes = vrptw.run_slot211(C101, inst, 1.0)
    assert check(inst, routes)[0]
    broken = [r[:] for r in routes]
    broken[0] = broken[0][1:]
    feasible, _, violations = check(inst, broken)
    assert not feasible and violations
