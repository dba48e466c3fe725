"""Live capacity: the tentative routes of one station × day × wave for the orders held or confirmed
on it, so an order is offered only if the routes can take it (capacity, windows, shifts).

Orders arrive one at a time, so the plan keeps its own preallocated integer arrays in the layout of
`routing.arrays` (grown by doubling) and uses the routing kernels on them: a test is one haversine
pass for the new node plus `best_insertion_all`. docs/slots.md describes the model.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time
from typing import Any

import numpy as np

import routing
from routing.arrays import COST_SCALE, DIST_SCALE, LOAD_SCALE, TIME_SCALE, _ti, build_arrays
from routing.construct import regret_construct
from routing.insertion import insert_at, new_state, remove_range, update_route
from routing.live_kernels import (evaluate_growth, evaluate_insertion, fill_node, locate,
                                  plan_objective, plan_totals, radians)
from routing.matrix import haversine_matrix
from routing.problem_json import problem_from_dict, problem_to_dict
from routing.schedule import NEVER
from warehouses.geo import ROAD_FACTOR
from warehouses.model import PickupPoint, Station, Wave

from .model import Order
from .waves import (MIN_VEHICLE_SECONDS, PICKUP_HANDOVER_SECONDS, PICKUP_PER_ORDER_SECONDS,
                    PICKUP_PREFIX, POS, can_serve, pickup_stop_id, wave_vehicle_type)

DIMENSIONS = ("weight", "volume", "parcels")
BATCH_PREFIX = PICKUP_PREFIX  # a pickup point's one stop in the wave: "PP:<point id>:<wave id>"
INITIAL_NODES = 64
REBUILD_RESTARTS = 4  # randomised regret constructions tried when a rebuild leaves orders out
NOISES = (0.1, 0.3, 1.0)

Window = tuple[datetime | None, datetime | None]


@dataclass(frozen=True)
class Member:
    """One order committed to a plan under `ref` (the service uses the reservation's key).

    `window` is (earliest, due) of the promise, None for open; with `pickup_point` set, the order
    rides in that point's one stop of the wave instead of its own door stop.
    """

    ref: str
    order: Order
    window: Window = (None, None)
    pickup_point: str | None = None


@dataclass(frozen=True)
class Insertion:
    """What an order would add to the plan: the cheapest feasible place and its marginal cost.

    `cost` is the routing objective's change (distance and driving-time cost of the cheapest
    vehicle, plus its fixed cost if it `opens` a new one); `km` the road distance added; `minutes`
    the change in that vehicle's time on duty (driving, service and waiting). `moves`: a pickup
    point's stop grows by moving to that place (its own vehicle cannot take the larger stop);
    the marginal figures then count the whole plan's change.
    """

    cost: float
    km: float
    minutes: float
    vehicle: int
    position: int
    opens: bool
    moves: bool = False


@dataclass
class _Node:
    """A stop of the plan in the problem's own units: seconds after midnight, kg, m³, parcels."""

    id: str
    location: tuple[float, float]
    delivery: tuple[float, float, float]
    pickup: tuple[float, float, float]
    service: float
    window: tuple[float, float]
    members: list[str] = field(default_factory=list)
    skills: tuple[str, ...] = ()  # what the vehicle must have (a POS terminal for cash on delivery)


class LivePlan:
    """The tentative routes of one station's wave on one day. Thread-safe; every method locks."""

    def __init__(self, station: Station, day: date, wave: Wave,
                 pickup_points: Iterable[PickupPoint] = (), capacity: int = INITIAL_NODES) -> None:
        self.station, self.day, self.wave = station, day, wave
        self.points = {p.id: p for p in pickup_points}
        self.version = 0
        self.lock = threading.RLock()
        self._midnight = datetime.combine(day, time())
        self._dep, self._ret = wave.departure * 60.0, wave.latest_return * 60.0
        self._fastest = max((v.speed_kmh for v in station.fleet), default=20.0)
        self._speed = self._fastest / 3.6
        self.fleet, self._skills = _wave_fleet(station, wave, self._fastest)
        self._depot = routing.Depot(station.id, station.location, (self._dep, self._ret))
        vehicles = build_arrays(routing.Problem([self._depot], [], self.fleet,
                                                dimensions=DIMENSIONS))
        self._veh = (vehicles.veh_type, vehicles.veh_start, vehicles.veh_end, vehicles.veh_cap,
                     vehicles.veh_earliest, vehicles.veh_latest, vehicles.veh_max_duration,
                     vehicles.veh_fixed)
        self._vclass = vehicles.veh_type.copy()
        self._n_vehicles = int(vehicles.veh_type.shape[0])
        self._type_offset = np.concatenate([[0], np.cumsum([t.count for t in self.fleet])])
        self._speed_factor = np.array([t.speed_factor for t in self.fleet], np.float64)
        self._km_cost = np.array([t.cost_per_km / 1000.0 for t in self.fleet], np.float64)
        self._hour_cost = np.array([t.cost_per_hour / 3600.0 for t in self.fleet], np.float64)
        big = max(station.fleet, key=lambda v: (v.weight_kg, v.volume_m3, v.parcels), default=None)
        self._batch_limit = ((big.weight_kg, big.volume_m3, big.parcels) if big
                             else (math.inf,) * 3)
        self._alloc_arrays(max(2, capacity))
        self._reset()

    # -- queries ---------------------------------------------------------------------------

    def __len__(self) -> int:
        return len(self._members)

    def __contains__(self, ref: object) -> bool:
        return ref in self._members

    @property
    def members(self) -> dict[str, Member]:
        """The committed orders by ref (a copy)."""
        with self.lock:
            return dict(self._members)

    @property
    def unplaced(self) -> list[str]:
        """Refs committed (e.g. synced from the ledger) that the routes do not hold yet."""
        with self.lock:
            return sorted(r for u in self._unplaced for r in self._refs_of(u))

    def routes(self) -> list[list[str]]:
        """Each vehicle's stops in order: member refs, or "PP:<point>:<wave>" for a pickup point."""
        with self.lock:
            R, lens = self._S[0], self._S[1]
            return [[self._nodes[int(u)].id for u in R[v, 1:lens[v] + 1]]
                    for v in range(self._n_vehicles)]

    def totals(self) -> dict[str, float]:
        """Over the whole plan: km, minutes on duty, `cost` (the routing objective: fixed, per km,
        per hour on duty), `arc_cost` (what insertions minimise: fixed, per km, per hour driving),
        vehicles used, orders, and orders not routed."""
        with self.lock:
            cost, dist, ticks, _ = plan_totals(self._D, self._S)
            return {"km": dist / DIST_SCALE / 1000.0, "cost": self._objective(),
                    "arc_cost": cost / COST_SCALE,
                    "minutes": ticks / TIME_SCALE / 60.0,
                    "vehicles": int((self._S[1] > 0).sum()), "orders": len(self._members),
                    "unplaced": len(self.unplaced)}

    def test(self, order: Order, window: Window = (None, None),
             pickup_point: str | None = None) -> Insertion | None:
        """The cheapest feasible insertion of the order, or None; commits nothing.

        None also while orders synced into the plan are left unrouted: the plan cannot vouch for
        anything more until they fit (a re-optimisation places them).
        """
        with self.lock:
            found = self._find(order, window, pickup_point)
            return None if found is None else found[0]

    # -- changes ---------------------------------------------------------------------------

    def add(self, ref: str, order: Order, window: Window = (None, None),
            pickup_point: str | None = None) -> Insertion | None:
        """Commit the order at its cheapest feasible place; None (and no change) if it has none."""
        with self.lock:
            self._check_ref(ref)
            if ref in self._members:
                raise ValueError(f"ref: {ref!r} is already in the plan")
            found = self._find(order, window, pickup_point)
            if found is None:
                return None
            insertion, node, u = found
            member = Member(ref, order, window, pickup_point)
            node.members.append(ref)
            if u >= 0 and insertion.moves:
                v, p = locate(self._S, u)
                remove_range(self._D, self._S, v, p, 1)
                self._nodes[u] = node
                self._write(u, node, fill=False)
                insert_at(self._D, self._S, insertion.vehicle, u, insertion.position)
            elif u >= 0:
                self._nodes[u] = node
                self._write(u, node, fill=False)
                update_route(self._D, self._S, insertion.vehicle)
            else:
                u = self._alloc()
                if pickup_point is None:
                    node.id = ref
                else:
                    self._batches.setdefault(pickup_point, []).append(u)
                self._nodes[u] = node
                self._write(u, node)
                insert_at(self._D, self._S, insertion.vehicle, u, insertion.position)
            self._members[ref] = member
            self._node_of[ref] = u
            self.version += 1
            return insertion

    def remove(self, ref: str) -> bool:
        """Take a member out (its batch shrinks, or its stop goes); False if it was not in."""
        with self.lock:
            member = self._members.pop(ref, None)
            if member is None:
                return False
            u = self._node_of.pop(ref)
            if u < 0:
                self.version += 1
                return True
            node = self._nodes[u]
            node.members.remove(ref)
            v, p = locate(self._S, u)
            if node.members:
                self._nodes[u] = self._batch_node(member.pickup_point,
                                                  [self._members[r] for r in node.members], node.id)
                self._write(u, self._nodes[u], fill=False)
                if v >= 0:
                    update_route(self._D, self._S, v)
            else:
                if v >= 0:
                    remove_range(self._D, self._S, v, p, 1)
                self._free_node(u)
                if member.pickup_point is not None:
                    parts = self._batches[member.pickup_point]
                    parts.remove(u)
                    if not parts:
                        del self._batches[member.pickup_point]
            if v >= 0 and self._S[2][v, self._S[1][v] + 1] >= NEVER:
                self._repair(v)
            self._place_unplaced()
            self.version += 1
            return True

    def rebuild(self, members: Iterable[Member]) -> list[str]:
        """Start over with these members, placed by regret insertion; return the refs left unrouted."""
        with self.lock:
            self._reset()
            for m in members:
                self._enter(m)
            todo = np.array(sorted(self._nodes), np.int64)
            self._construct(todo)
            self.version += 1
            return self.unplaced

    def sync(self, members: Iterable[Member]) -> list[str]:
        """Make the members exactly these (e.g. the ledger's active reservations): remove the
        missing, insert the new, and rebuild if some do not fit. Returns the refs left unrouted.

        Members are matched by ref: a ref always stands for the same order and window.
        """
        with self.lock:
            target = {m.ref: m for m in members}
            stale = [r for r in self._members if r not in target]
            new = [m for r, m in target.items() if r not in self._members]
            if not stale and not new:
                return self.unplaced
            for r in stale:
                self.remove(r)
            for m in sorted(new, key=_tightness):
                if self.add(m.ref, m.order, m.window, m.pickup_point) is None:
                    return self.rebuild(target.values())
            return self.unplaced

    # -- re-optimisation ---------------------------------------------------------------------

    def snapshot(self) -> tuple[dict[str, Any], dict[int, list[str]], int]:
        """(problem as a picklable dict with numpy matrices, initial routes, version) to re-solve."""
        with self.lock:
            problem, initial = self.to_problem()
            raw = problem_to_dict(problem)
            raw["distance_matrix"] = np.array(problem.distance_matrix)
            raw["duration_matrix"] = np.array(problem.duration_matrix)
            return raw, initial, self.version

    def adopt(self, routes: Mapping[int, Sequence[str]]) -> bool:
        """Take these routes (vehicle -> stop ids) if feasible now and no worse than the current
        plan: fewer orders unrouted, or as many and a routing objective no higher. Stops added
        since are inserted, and stops gone are skipped."""
        with self.lock:
            ids = {node.id: u for u, node in self._nodes.items()}
            old_cost = self._objective()
            old_unplaced = len(self._unplaced)
            saved = tuple(x.copy() for x in self._S), set(self._unplaced)
            self._S = new_state(self._n_vehicles, self._cap, len(DIMENSIONS))
            placed = set()
            for v, stops in routes.items():
                nodes = [ids[s] for s in stops if s in ids and ids[s] not in placed]
                self._S[0][v, 1:len(nodes) + 1] = nodes
                self._S[1][v] = len(nodes)
                placed.update(nodes)
            for v in range(self._n_vehicles):
                update_route(self._D, self._S, v)
            bad = plan_totals(self._D, self._S)[3]
            cost = math.inf
            if not bad:
                rest = np.array(sorted(set(self._nodes) - placed), np.int64)
                self._unplaced = set()
                if len(rest):
                    left = regret_construct(self._D, self._S, rest, self._vclass, 0.0, 0)
                    self._unplaced = set(int(u) for u in left)
                cost = self._objective()
            if bad or (len(self._unplaced), cost) > (old_unplaced, old_cost + 1e-9):
                self._S, self._unplaced = saved
                return False
            self.version += 1
            return True

    def reoptimise(self, time_limit: float = 2.0, seed: int = 0) -> bool:
        """Re-solve the committed orders with routing.solve, warm-started from the current routes,
        and keep the result if no worse (see `adopt`). Runs the solve outside the lock."""
        raw, initial, _ = self.snapshot()
        if not raw["stops"]:
            return False
        return self.adopt(solve_snapshot(raw, initial, time_limit, seed))

    def to_problem(self) -> tuple[routing.Problem, dict[int, list[str]]]:
        """The plan as a routing.Problem (stops in node order) and its routes as initial_routes."""
        with self.lock:
            nodes = [self._nodes[u] for u in sorted(self._nodes)]
            stops = [routing.Stop(
                id=n.id, location=n.location, delivery=dict(zip(DIMENSIONS, n.delivery)),
                pickup=dict(zip(DIMENSIONS, n.pickup)), service_time=n.service,
                windows=(n.window,), vehicle_types=self._types_for(n)) for n in nodes]
            locs = np.array([self.station.location] + [n.location for n in nodes], np.float64)
            dist = haversine_matrix(locs) * ROAD_FACTOR
            problem = routing.Problem([self._depot], stops, self.fleet, dimensions=DIMENSIONS,
                                      distance_matrix=dist, duration_matrix=dist / self._speed)
            initial = {v: r for v, r in enumerate(self.routes()) if r}
            return problem, initial

    def _types_for(self, node: _Node) -> tuple[str, ...] | None:
        """The wave's vehicle types that may serve the node (None: all of them)."""
        allowed = tuple(t.id for t, skills in zip(self.fleet, self._skills)
                        if can_serve(skills, node))
        return None if len(allowed) == len(self.fleet) else allowed

    def vehicle_of(self, vehicle_type: str, index: int) -> int:
        """The plan's vehicle number for a routing.Route's (vehicle_type, vehicle)."""
        t = next(i for i, vt in enumerate(self.fleet) if vt.id == vehicle_type)
        return int(self._type_offset[t]) + index

    # -- internals ---------------------------------------------------------------------------

    def _alloc_arrays(self, cap: int) -> None:
        n_types, k = len(self.fleet), len(DIMENSIONS)
        self._cap = cap
        self._rlat = np.zeros(cap, np.float64)
        self._rlon = np.zeros(cap, np.float64)
        self._dist = np.zeros((cap, cap), np.int64)
        self._type_time = np.zeros((n_types, cap, cap), np.int64)
        self._type_cost = np.zeros((n_types, cap, cap), np.int64)
        self._service = np.zeros(cap, np.int64)
        self._delivery = np.zeros((cap, k), np.int64)
        self._pickup = np.zeros((cap, k), np.int64)
        self._tw_start = np.zeros((cap, 1), np.int64)
        self._tw_end = np.zeros((cap, 1), np.int64)
        self._n_tw = np.ones(cap, np.int64)
        self._allowed = np.ones((cap, n_types), np.bool_)
        self._penalty = np.zeros(cap, np.int64)
        self._refresh_D()

    def _refresh_D(self) -> None:
        (veh_type, veh_start, veh_end, veh_cap, veh_earliest, veh_latest, veh_max,
         veh_fixed) = self._veh
        self._D = (self._dist, self._type_time, self._type_cost, self._service, self._delivery,
                   self._pickup, self._tw_start, self._tw_end, self._n_tw, self._allowed,
                   self._penalty, veh_type, veh_start, veh_end, veh_cap, veh_earliest,
                   veh_latest, veh_max, veh_fixed)

    def _reset(self) -> None:
        self._members: dict[str, Member] = {}
        self._node_of: dict[str, int] = {}
        self._nodes: dict[int, _Node] = {}
        self._batches: dict[str, list[int]] = {}
        self._unplaced: set[int] = set()
        self._free: list[int] = []
        self._n_hi = 1
        self._filled: tuple[int, tuple[float, float]] | None = None
        self._S = new_state(self._n_vehicles, self._cap, len(DIMENSIONS))
        self._rlat[0], self._rlon[0] = radians(*self.station.location)
        self._tw_start[0, 0] = math.ceil(self._dep * TIME_SCALE - 1e-6)
        self._tw_end[0, 0] = math.floor(self._ret * TIME_SCALE + 1e-6)
        for v in range(self._n_vehicles):
            update_route(self._D, self._S, v)

    def _grow(self) -> None:
        """Double the node capacity, keeping every array and route."""
        old = self._cap
        arrays = (self._rlat, self._rlon, self._dist, self._type_time, self._type_cost,
                  self._service, self._delivery, self._pickup, self._tw_start, self._tw_end,
                  self._allowed)
        old_S = self._S
        self._alloc_arrays(2 * old)
        for new, was in zip((self._rlat, self._rlon, self._dist, self._type_time,
                             self._type_cost, self._service, self._delivery, self._pickup,
                             self._tw_start, self._tw_end, self._allowed), arrays):
            new[tuple(slice(0, s) for s in was.shape)] = was
        self._S = new_state(self._n_vehicles, self._cap, len(DIMENSIONS))
        self._S[0][:, :old + 2] = old_S[0]
        self._S[1][:] = old_S[1]
        for v in range(self._n_vehicles):
            update_route(self._D, self._S, v)
        self._filled = None

    def _scratch(self) -> int:
        """The node index the next new stop will take (tests write there without committing)."""
        if self._free:
            return self._free[-1]
        if self._n_hi == self._cap:
            self._grow()
        return self._n_hi

    def _alloc(self) -> int:
        u = self._scratch()
        if self._free and self._free[-1] == u:
            self._free.pop()
        else:
            self._n_hi += 1
        return u

    def _free_node(self, u: int) -> None:
        del self._nodes[u]
        self._unplaced.discard(u)
        self._free.append(u)

    def _write(self, u: int, node: _Node, fill: bool = True) -> None:
        """Put a node's data into the arrays at index u (and its matrix rows, if `fill`)."""
        if fill and self._filled != (u, node.location):
            self._rlat[u], self._rlon[u] = radians(*node.location)
            fill_node(u, self._rlat, self._rlon, max(self._n_hi, u + 1), ROAD_FACTOR,
                      self._speed, self._speed_factor, self._km_cost, self._hour_cost,
                      self._dist, self._type_time, self._type_cost)
            self._filled = (u, node.location)
        self._service[u] = _ti(node.service)
        self._delivery[u] = [_load(x) for x in node.delivery]
        self._pickup[u] = [_load(x) for x in node.pickup]
        self._tw_start[u, 0] = math.ceil(node.window[0] * TIME_SCALE - 1e-6)
        self._tw_end[u, 0] = math.floor(node.window[1] * TIME_SCALE + 1e-6)
        self._allowed[u] = [can_serve(skills, node) for skills in self._skills]

    def _seconds(self, at: datetime) -> float:
        return (at - self._midnight).total_seconds()

    def _door_node(self, ref: str, order: Order, window: Window) -> _Node | None:
        lo, hi = self._dep, self._ret
        if window[0] is not None:
            lo = max(lo, self._seconds(window[0]))
        if window[1] is not None and order.kind != "return":
            hi = min(hi, self._seconds(window[1]))
        if hi < lo:
            return None
        load = (float(order.weight_kg), float(order.volume_m3), float(order.parcels))
        empty = (0.0, 0.0, 0.0)
        is_return = order.kind == "return"
        cod = order.payment == "cod" and not is_return
        minutes = self.station.cod_service_minutes if cod else self.station.service_minutes
        return _Node(ref, tuple(order.location), empty if is_return else load,
                     load if order.kind in ("return", "exchange") else empty, minutes * 60.0,
                     (lo, hi), skills=(POS,) if cod else ())

    def _batch_node(self, pickup_point: str, members: Sequence[Member],
                    node_id: str) -> _Node | None:
        """A pickup point's one stop: the members' loads, handover and per-order time."""
        pp = self.points.get(pickup_point)
        if pp is None:
            raise ValueError(f"pickup_point: {pickup_point!r} is not served by {self.station.id}")
        lo, hi = max(self._dep, pp.opens * 60.0), min(self._ret, pp.closes * 60.0)
        for m in members:
            if m.window[0] is not None:
                lo = max(lo, self._seconds(m.window[0]))
            if m.window[1] is not None:
                hi = min(hi, self._seconds(m.window[1]))
        if hi < lo:
            return None
        load = tuple(float(sum(x)) for x in zip(*((m.order.weight_kg, m.order.volume_m3,
                                                    m.order.parcels) for m in members)))
        return _Node(node_id, tuple(pp.location), load, (0.0, 0.0, 0.0),
                     PICKUP_HANDOVER_SECONDS + PICKUP_PER_ORDER_SECONDS * len(members), (lo, hi),
                     [m.ref for m in members if m.ref in self._members])

    def _find(self, order: Order, window: Window,
              pickup_point: str | None) -> tuple[Insertion, _Node, int] | None:
        """The insertion, the node it would write, and the pickup point's stop it grows (-1: a
        new stop). A point has one stop in the wave: an order that does not fit it is refused."""
        if self._unplaced:
            return None
        if pickup_point is not None:
            probe = Member("", order, window, pickup_point)
            parts = self._batches.get(pickup_point, [])
            if parts:
                u = parts[0]
                part = self._nodes[u]
                if not self._room_in(part, order):
                    return None
                node = self._batch_node(pickup_point, [self._members[r] for r in part.members]
                                        + [probe], part.id)
                found = None if node is None else (self._grow_test(u, node)
                                                   or self._move_test(u, node))
                if found is None:
                    return None
                node.members = list(part.members)
                return found, node, u
            node = self._batch_node(pickup_point, [probe],
                                    pickup_stop_id(pickup_point, self.wave.id))
        else:
            node = self._door_node("", order, window)
        if node is None:
            return None
        node.members = []
        u = self._scratch()
        self._write(u, node)
        c, v, p, dd, dt = evaluate_insertion(self._D, self._S, self._vclass, u)
        if v < 0:
            return None
        return Insertion(cost=c / COST_SCALE, km=dd / DIST_SCALE / 1000.0,
                         minutes=dt / TIME_SCALE / 60.0, vehicle=int(v), position=int(p),
                         opens=bool(self._S[1][v] == 0)), node, -1

    def _room_in(self, part: _Node, order: Order) -> bool:
        """Whether a pickup point's stop still fits the largest vehicle with this order."""
        add = (order.weight_kg, order.volume_m3, order.parcels)
        return all(a + b <= c for a, b, c in zip(part.delivery, add, self._batch_limit))

    def _grow_test(self, u: int, node: _Node) -> Insertion | None:
        v, p = locate(self._S, u)
        if v < 0:
            return None
        add = np.array([_load(a) - _load(b) for a, b in zip(node.delivery, self._nodes[u].delivery)],
                       np.int64)
        ok, dt = evaluate_growth(self._D, self._S, v, u, add,
                                 _ti(node.service) - self._service[u],
                                 math.ceil(node.window[0] * TIME_SCALE - 1e-6),
                                 math.floor(node.window[1] * TIME_SCALE + 1e-6))
        if not ok:
            return None
        return Insertion(cost=0.0, km=0.0, minutes=dt / TIME_SCALE / 60.0, vehicle=int(v),
                         position=int(p - 1), opens=False)

    def _move_test(self, u: int, node: _Node) -> Insertion | None:
        """The cheapest place for routed stop u grown to `node`, taken off its own route first."""
        v, p = locate(self._S, u)
        if v < 0:
            return None
        S = tuple(x.copy() for x in self._S)
        remove_range(self._D, S, v, p, 1)
        saved = tuple(a[u].copy() for a in (self._service, self._delivery, self._pickup,
                                            self._tw_start, self._tw_end, self._allowed))
        self._write(u, node, fill=False)
        try:
            c, w, q, dd, dt = evaluate_insertion(self._D, S, self._vclass, u)
            before, after = plan_totals(self._D, self._S), plan_totals(self._D, S)
        finally:
            for a, was in zip((self._service, self._delivery, self._pickup, self._tw_start,
                               self._tw_end, self._allowed), saved):
                a[u] = was
        if w < 0:
            return None
        return Insertion(cost=(after[0] - before[0] + c) / COST_SCALE,
                         km=(after[1] - before[1] + dd) / DIST_SCALE / 1000.0,
                         minutes=(after[2] - before[2] + dt) / TIME_SCALE / 60.0,
                         vehicle=int(w), position=int(q), opens=bool(S[1][w] == 0), moves=True)

    def _enter(self, m: Member) -> None:
        """Add a member's data without routing it (rebuild places the nodes afterwards).

        A member whose window misses the wave, or that would overfill its pickup point's one
        stop (the hold checks prevent both), gets no stop: it is kept as committed but never
        routed, so it cannot block the wave.
        """
        self._check_ref(m.ref)
        self._members[m.ref] = m
        u, node = -1, None
        if m.pickup_point is not None:
            parts = self._batches.get(m.pickup_point, [])
            if parts and self._room_in(self._nodes[parts[-1]], m.order):
                last = self._nodes[parts[-1]]
                node = self._batch_node(m.pickup_point, [self._members[r] for r in last.members]
                                        + [m], last.id)
                u = parts[-1] if node is not None else -1
            if node is None and parts:
                self._node_of[m.ref] = -1
                return
            if node is None:
                node = self._batch_node(m.pickup_point, [m],
                                        pickup_stop_id(m.pickup_point, self.wave.id))
        else:
            node = self._door_node(m.ref, m.order, m.window)
            if node is not None:
                node.members = [m.ref]
        if node is None:
            self._node_of[m.ref] = -1
            return
        if u < 0:
            u = self._alloc()
            if m.pickup_point is not None:
                self._batches.setdefault(m.pickup_point, []).append(u)
        self._node_of[m.ref] = u
        self._nodes[u] = node
        self._write(u, node)

    def _check_ref(self, ref: str) -> None:
        if not isinstance(ref, str) or not ref or ref.startswith(BATCH_PREFIX):
            raise ValueError(f"ref: must be a non-empty string not starting with "
                             f"{BATCH_PREFIX!r}, got {ref!r}")

    def _construct(self, todo: np.ndarray) -> None:
        """Place `todo` nodes into the current routes by regret-2, with randomised restarts."""
        if not len(todo):
            return
        base = tuple(x.copy() for x in self._S)
        best = None
        for attempt in range(1 + REBUILD_RESTARTS):
            S = tuple(x.copy() for x in base)
            noise = 0.0 if attempt == 0 else NOISES[attempt % len(NOISES)]
            left = regret_construct(self._D, S, todo, self._vclass, noise, attempt)
            score = (len(left), plan_totals(self._D, S)[0])
            if best is None or score < best[0]:
                best = (score, S, left)
            if not len(left):
                break
        _, self._S, left = best
        self._unplaced = set(int(u) for u in left)

    def _place_unplaced(self) -> None:
        if self._unplaced:
            self._construct(np.array(sorted(self._unplaced), np.int64))

    def _repair(self, v: int) -> None:
        """Re-place the stops of a route that a removal left infeasible (integer rounding)."""
        stops = self._S[0][v, 1:self._S[1][v] + 1].copy()
        self._S[1][v] = 0
        update_route(self._D, self._S, v)
        self._construct(np.concatenate([stops, np.array(sorted(self._unplaced), np.int64)]))

    def _objective(self) -> float:
        return float(plan_objective(self._D, self._S, self._km_cost, self._hour_cost))

    def _refs_of(self, u: int) -> list[str]:
        return list(self._nodes[u].members)


def _wave_fleet(station: Station, wave: Wave, fastest: float
                ) -> tuple[list[routing.VehicleType], list[tuple[str, ...]]]:
    """The station's vehicle types as they can work this wave (as slots/station_day.py builds
    them), and each one's skills."""
    fleet, skills = [], []
    for vt in station.fleet:
        start = float(math.ceil(max(wave.departure * 60.0, vt.shift[0] * 60.0)))
        end = min(wave.latest_return * 60.0, vt.shift[1] * 60.0)
        if end - start > MIN_VEHICLE_SECONDS and vt.count > 0:
            fleet.append(wave_vehicle_type(vt, station.id, start, end, fastest))
            skills.append(vt.skills)
    return fleet, skills


def _load(x: float) -> int:
    """A demand in integer units, rounded up as routing.arrays does."""
    return int(math.ceil(x * LOAD_SCALE - 1e-9))


def _tightness(m: Member) -> tuple:
    """Tight windows first, so a sync inserts the hardest orders while there is room."""
    lo, hi = m.window
    return (hi is None, hi or datetime.max, m.ref)


def solve_snapshot(raw: Mapping[str, Any], initial: Mapping[int, Sequence[str]],
                   time_limit: float, seed: int = 0) -> dict[int, list[str]]:
    """Solve a `LivePlan.snapshot()` problem (in any process); return vehicle -> stop ids."""
    problem = problem_from_dict(dict(raw))
    plan = routing.solve(problem, time_limit=time_limit, seed=seed,
                         initial_routes={int(v): list(r) for v, r in initial.items()})
    offsets, start = {}, 0
    for t in problem.vehicle_types:
        offsets[t.id] = start
        start += t.count
    return {offsets[r.vehicle_type] + r.vehicle: list(r.stops) for r in plan.routes}


__all__ = ["Insertion", "LivePlan", "Member", "solve_snapshot"]
