"""Property tests: random small problems always get plans the independent checker accepts, and
the checker notices when a valid plan is tampered with.

Problems are planar with whole-second travel times (see helpers.py) and integer loads, so the
solver's integer scaling is exact and the checker's tolerances apply without slack.
"""

from __future__ import annotations

import math
from dataclasses import replace

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from routing import Depot, Plan, Problem, Reason, Stop, Unassigned, VehicleType, solve
from routing.check import check_plan

from .helpers import assert_valid, planar

TL = 0.3
SPEED_FACTORS = (0.5, 1.0, 1.25, 2.0)  # keep travel times on the solver's 0.1 s grid
COORD = st.integers(-400, 400)
SETTINGS = dict(deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow])


@st.composite
def windows(draw) -> tuple[tuple[float, float], ...]:
    kind = draw(st.sampled_from(["none", "none", "one", "two"]))
    if kind == "none":
        return ()
    a = draw(st.integers(0, 2000))
    b = a + draw(st.integers(0, 1500))
    if kind == "one":
        return ((float(a), float(b)),)
    c = b + draw(st.integers(1, 1500))
    d = c + draw(st.integers(0, 1500))
    return ((float(a), float(b)), (float(c), float(d)))


@st.composite
def problems(draw, min_stops: int = 0) -> Problem:
    """Random small problems; locations may coincide and arcs may be free."""
    n_depots = draw(st.integers(1, 2))
    n_stops = draw(st.integers(min_stops, 12))
    points = draw(st.lists(st.tuples(COORD, COORD), min_size=n_depots + n_stops,
                           max_size=n_depots + n_stops))
    dims = draw(st.sampled_from([("weight", "volume"), ("weight", "volume", "parcels")]))
    depots = []
    for i in range(n_depots):
        window = draw(st.sampled_from([(0.0, math.inf), (0.0, 6000.0), (200.0, 9000.0)]))
        depots.append(Depot(f"D{i}", points[i], window=window))
    depot_ids = [d.id for d in depots]

    fleet = []
    for j in range(draw(st.integers(1, 3))):
        start = draw(st.sampled_from(depot_ids))
        capacity = {d: float(draw(st.integers(4, 30))) for d in dims
                    if draw(st.integers(0, 5)) > 0}  # sometimes a dimension is unlimited
        s0 = float(draw(st.sampled_from([0, 0, 100, 500])))
        shift = draw(st.sampled_from([(0.0, math.inf), (s0, s0 + 3000.0), (s0, s0 + 8000.0)]))
        fleet.append(VehicleType(
            f"T{j}", draw(st.integers(0, 3)) if j else draw(st.integers(1, 3)), capacity, start,
            end_depot=draw(st.sampled_from(depot_ids)), shift=shift,
            max_duration=draw(st.sampled_from([math.inf, math.inf, 2500.0, 6000.0])),
            fixed_cost=float(draw(st.integers(0, 50))), cost_per_km=float(draw(st.integers(0, 5))),
            cost_per_hour=float(draw(st.integers(0, 20))),
            speed_factor=draw(st.sampled_from(SPEED_FACTORS))))
    type_ids = [t.id for t in fleet]

    stops = []
    for i in range(n_stops):
        load = st.dictionaries(st.sampled_from(dims), st.integers(0, 8).map(float), max_size=3)
        required = draw(st.integers(0, 3)) > 0
        stops.append(Stop(
            f"s{i}", points[n_depots + i], delivery=draw(load),
            pickup=draw(load) if draw(st.integers(0, 3)) == 0 else {},
            service_time=float(draw(st.integers(0, 60))), windows=draw(windows()),
            required=required, penalty=0.0 if required else float(draw(st.integers(0, 100))),
            priority=draw(st.integers(0, 3)),
            vehicle_types=(draw(st.sampled_from(type_ids)),) if draw(st.integers(0, 3)) == 0
            else None))
    return planar(depots, stops, fleet, dimensions=dims)


# -- an independent single-stop feasibility test, to judge the reason codes ---------------------

def _alone(p: Problem, t: VehicleType, s: Stop) -> str:
    """Why vehicle type t cannot serve s on its own ("OK" if it can), in problem units."""
    if s.vehicle_types is not None and t.id not in s.vehicle_types:
        return Reason.NO_VEHICLE
    for dim in p.dimensions:
        cap = t.capacity.get(dim, math.inf)
        if s.delivery.get(dim, 0.0) > cap or s.pickup.get(dim, 0.0) > cap:
            return Reason.CAPACITY
    nd = len(p.depots)
    a, b = p.depot_index[t.start_depot], p.depot_index[t.end_depot]
    node = nd + p.stop_index[s.id]
    go = p.duration_matrix[a, node] / t.speed_factor
    back = p.duration_matrix[node, b] / t.speed_factor
    leave = max(t.shift[0], p.depots[a].window[0])
    latest = min(t.shift[1], p.depots[b].window[1])
    arrive = leave + go
    begin = arrive if not s.windows else next(
        (max(arrive, lo) for lo, hi in s.windows if arrive <= hi), None)
    if begin is None:
        return Reason.TIME_WINDOW
    if begin + s.service_time + back > latest or go + s.service_time + back > t.max_duration:
        return Reason.SHIFT
    return "OK"


def assert_reasons_justified(p: Problem, plan: Plan) -> None:
    """Each reason code is true of its stop, as documented in routing.Reason."""
    for u in plan.unassigned:
        s = p.stops[p.stop_index[u.stop]]
        verdicts = {t.id: _alone(p, t, s) for t in p.vehicle_types if t.count > 0}
        servable = "OK" in verdicts.values()
        eligible = {k: v for k, v in verdicts.items() if v != Reason.NO_VEHICLE}
        where = f"{u.stop}: {u.reason}, alone: {verdicts}"
        if u.reason == Reason.NO_VEHICLE:
            assert not eligible, where
        elif u.reason == Reason.CAPACITY:
            assert eligible and set(eligible.values()) == {Reason.CAPACITY}, where
        elif u.reason in (Reason.TIME_WINDOW, Reason.SHIFT):
            assert not servable and u.reason in verdicts.values(), where
        elif u.reason == Reason.TIME_LIMIT:
            assert s.required and servable, where
        elif u.reason == Reason.PENALTY:
            assert not s.required and servable, where
        else:
            raise AssertionError(f"unknown reason: {where}")


@settings(max_examples=25, **SETTINGS)
@given(problems())
def test_every_plan_is_valid(p):
    plan = solve(p, TL, seed=0)
    assert_valid(p, plan)
    routed = [v.stop for r in plan.routes for v in r.visits]
    dropped = [u.stop for u in plan.unassigned]
    assert sorted(routed + dropped) == sorted(s.id for s in p.stops)
    assert all(u.reason in Reason.ALL for u in plan.unassigned)
    assert_reasons_justified(p, plan)


# -- the checker can fail ----------------------------------------------------------------------

def _tamperings(p: Problem, plan: Plan, data) -> dict[str, Plan]:
    """Broken copies of a valid plan, by kind of damage."""
    out: dict[str, Plan] = {}
    routes, unassigned = list(plan.routes), list(plan.unassigned)

    def with_routes(rs) -> Plan:
        return replace(plan, routes=tuple(rs))

    out["ghost stop"] = replace(
        plan, unassigned=plan.unassigned + (Unassigned("ghost", Reason.TIME_LIMIT, ""),))
    if unassigned:
        k = data.draw(st.integers(0, len(unassigned) - 1))
        rest = tuple(unassigned[:k] + unassigned[k + 1:])
        out["lost unassigned"] = replace(plan, unassigned=rest)
        bogus = replace(unassigned[k], reason="BECAUSE")
        out["bogus reason"] = replace(plan, unassigned=tuple(unassigned[:k] + [bogus]
                                                             + unassigned[k + 1:]))
    busy = [i for i, r in enumerate(routes) if r.visits]
    if not busy:
        return out
    i = data.draw(st.sampled_from(busy))
    r = routes[i]
    k = data.draw(st.integers(0, len(r.visits) - 1))
    v = r.visits[k]

    def with_visit(**changes) -> Plan:
        visits = list(r.visits)
        visits[k] = replace(v, **changes)
        return with_routes(routes[:i] + [replace(r, visits=tuple(visits))] + routes[i + 1:])

    visits = list(r.visits)
    out["removed visit"] = with_routes(
        routes[:i] + [replace(r, visits=tuple(visits[:k] + visits[k + 1:]))] + routes[i + 1:])
    dim = data.draw(st.sampled_from(p.dimensions))
    x = v.load[dim]
    out["doubled load"] = with_visit(load={**v.load, dim: 2 * x if x else 1.0})
    out["served twice"] = replace(
        plan, unassigned=plan.unassigned + (Unassigned(v.stop, Reason.TIME_LIMIT, ""),))
    out["arrives too soon"] = with_visit(arrival=v.arrival - 1.0, wait=v.wait + 1.0)
    out["starts before arrival"] = with_visit(start=v.arrival - 1.0, wait=-1.0,
                                              departure=v.departure - (v.start - v.arrival + 1))
    count = {t.id: t.count for t in p.vehicle_types}[r.vehicle_type]
    out["no such vehicle"] = with_routes(routes[:i] + [replace(r, vehicle=count)] + routes[i + 1:])
    out["short distance"] = with_routes(
        routes[:i] + [replace(r, distance=r.distance * 0.99 - 1.0)] + routes[i + 1:])
    if len(routes) > 1:
        j = next(n for n in range(len(routes)) if n != i)
        twin = replace(routes[j], vehicle_type=r.vehicle_type, vehicle=r.vehicle)
        out["vehicle used twice"] = with_routes(routes[:j] + [twin] + routes[j + 1:])
    return out


@settings(max_examples=15, **SETTINGS)
@given(problems(min_stops=1), st.data())
def test_checker_catches_tampering(p, data):
    plan = solve(p, TL, seed=0)
    assert check_plan(p, plan) == []
    for kind, broken in _tamperings(p, plan, data).items():
        assert check_plan(p, broken), f"checker missed: {kind}"
