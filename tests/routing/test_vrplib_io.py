"""Reading Solomon VRPTW instances, and a smoke test that C101 is solved near its optimum."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

from routing import solve
from routing.vrplib_io import read_vrptw

from .helpers import assert_valid

SHARED = Path(__file__).resolve().parents[2].parent / "shared"
C101 = SHARED / "benchmarks" / "vrptw" / "solomon100" / "C101.vrp"
C101_OPTIMUM = 827.3  # known optimum of the distance objective (DIMACS convention)

pytestmark = pytest.mark.skipif(
    not C101.is_file(), reason=f"benchmark instance not found at {C101} (../shared missing?)")


def parse_by_hand(path: Path) -> dict:
    """A minimal independent VRPLIB reader: header fields and the numbered sections."""
    header, sections, current = {}, {}, None
    for line in path.read_text().splitlines():
        line = line.strip()
        if not line or line == "EOF":
            continue
        if ":" in line:
            key, value = (x.strip() for x in line.split(":", 1))
            header[key] = value
            current = None
        elif line.endswith("_SECTION"):
            current = sections.setdefault(line, [])
        elif current is not None:
            current.append([float(x) for x in line.split()])
    return {"header": header, "sections": sections}


@pytest.fixture(scope="module")
def raw():
    return parse_by_hand(C101)


@pytest.fixture(scope="module")
def problem():
    return read_vrptw(C101)


def test_sizes_and_fleet(problem, raw):
    h = raw["header"]
    assert len(problem.depots) == 1
    assert len(problem.stops) == int(h["DIMENSION"]) - 1 == 100
    (vt,) = problem.vehicle_types
    assert vt.count == int(h["VEHICLES"]) == 10
    assert dict(vt.capacity) == {"load": float(h["CAPACITY"])}
    assert problem.dimensions == ("load",)
    assert problem.coordinates == "planar"
    assert vt.start_depot == vt.end_depot == problem.depots[0].id


def test_override_fleet_size():
    assert read_vrptw(C101, vehicles=3).vehicle_types[0].count == 3


def test_stops_match_the_file(problem, raw):
    sec = raw["sections"]
    coords = {int(r[0]): (r[1], r[2]) for r in sec["NODE_COORD_SECTION"]}
    demand = {int(r[0]): r[1] for r in sec["DEMAND_SECTION"]}
    tw = {int(r[0]): (r[1], r[2]) for r in sec["TIME_WINDOW_SECTION"]}
    depot = int(sec["DEPOT_SECTION"][0][0])
    service = float(raw["header"]["SERVICE_TIME"])
    d = problem.depots[0]
    assert d.id == str(depot) and d.location == coords[depot] and d.window == tw[depot]
    for s in problem.stops:
        n = int(s.id)
        assert n != depot
        assert s.location == coords[n]
        assert dict(s.delivery) == {"load": demand[n]}
        assert dict(s.pickup) == {}
        assert s.windows == (tw[n],)
        assert s.service_time == service
    assert sorted(int(s.id) for s in problem.stops) == sorted(set(coords) - {depot})


def test_dimacs_matrices(problem):
    pts = [problem.depots[0].location] + [s.location for s in problem.stops]
    for i in (0, 1, 37, 100):
        for j in (0, 5, 64, 99):
            expect = math.floor(10 * math.dist(pts[i], pts[j])) / 10
            assert problem.distance_matrix[i, j] == pytest.approx(expect, abs=1e-9)
    np.testing.assert_array_equal(problem.distance_matrix, problem.duration_matrix)


def test_references_table_agrees():
    table = SHARED / "benchmarks" / "vrptw" / "references.tsv"
    if not table.is_file():
        pytest.skip(f"{table} not found")
    rows = [line.split("\t") for line in table.read_text().splitlines()[1:] if line.strip()]
    ref = {(r[0], r[1]): (int(r[2]), float(r[3])) for r in rows}
    assert ref[("solomon100", "C101")] == (10, C101_OPTIMUM)


def test_c101_smoke(problem):
    plan = solve(problem, time_limit=2.0, seed=0)
    assert_valid(problem, plan)
    assert plan.feasible, plan.summary()
    assert len(plan.routes) <= 10
    distance = plan.totals["distance"]
    assert distance <= C101_OPTIMUM * 1.05, f"{distance:.1f} is more than 5% above optimum"
    assert distance >= C101_OPTIMUM - 0.05, f"{distance:.1f} beats the proven optimum: miscounted"
