"""Independent VRPTW solution checker under the DIMACS convention (no code shared with `routing`).

Everything is integral at 10x scale: distance = time = floor(10 * euclidean), windows, service x10.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import vrplib


@dataclass(frozen=True)
class Instance:
    """A VRPTW instance as integer arrays; index i is file node i + 1, `depot` its index."""

    name: str
    depot: int
    vehicles: int
    capacity: int
    demand: np.ndarray
    ready: np.ndarray
    due: np.ndarray
    service: np.ndarray
    dist: np.ndarray

    @property
    def customers(self) -> list[int]:
        """File node numbers of every customer."""
        return [i + 1 for i in range(len(self.demand)) if i != self.depot]


def dimacs_matrix(xy: np.ndarray) -> np.ndarray:
    """floor(10 * euclidean) as int64, exact (integer square root) when coordinates are integral."""
    diff = xy[:, None, :] - xy[None, :, :]
    if np.all(xy == np.round(xy)):
        sq = 100 * (diff.astype(np.int64) ** 2).sum(axis=2)
        k = np.floor(np.sqrt(sq.astype(np.float64))).astype(np.int64)
        k -= (k * k > sq).astype(np.int64)
        k += ((k + 1) * (k + 1) <= sq).astype(np.int64)
        return k
    return np.floor(10.0 * np.sqrt((diff.astype(np.float64) ** 2).sum(axis=2))).astype(np.int64)


def _scaled(values: np.ndarray) -> np.ndarray:
    return np.round(10 * np.asarray(values, dtype=np.float64)).astype(np.int64)


def load_instance(path: str | Path) -> Instance:
    """Read a VRPLIB VRPTW file into integer arrays at the DIMACS 10x scale."""
    raw = vrplib.read_instance(str(path))
    xy = np.asarray(raw["node_coord"], dtype=np.float64)
    n = xy.shape[0]
    depot = int(np.atleast_1d(raw.get("depot", 0))[0])
    tw = np.asarray(raw["time_window"], dtype=np.float64)
    service_raw = raw.get("service_time", 0)
    service = _scaled(np.broadcast_to(np.asarray(service_raw, dtype=np.float64), (n,))).copy()
    if np.ndim(service_raw) == 0:
        service[depot] = 0
    return Instance(
        name=str(raw.get("name", Path(path).stem)), depot=depot,
        vehicles=int(raw.get("vehicles", n - 1)), capacity=int(raw["capacity"]),
        demand=np.asarray(raw["demand"], dtype=np.int64), ready=_scaled(tw[:, 0]),
        due=_scaled(tw[:, 1]), service=service, dist=dimacs_matrix(xy),
    )


def check(instance: Instance | str | Path, routes: list[list[int]]) -> tuple[bool, float, list[str]]:
    """Check routes (file node numbers, depot excluded); return (feasible, distance, violations)."""
    inst = instance if isinstance(instance, Instance) else load_instance(instance)
    n = len(inst.demand)
    violations: list[str] = []
    seen: dict[int, int] = {}
    total = 0
    used = 0
    for r, route in enumerate(routes):
        nodes = [int(v) for v in route]
        if not nodes:
            continue
        used += 1
        bad = [v for v in nodes if not 1 <= v <= n or v - 1 == inst.depot]
        if bad:
            violations.append(f"route {r}: unknown or depot nodes {bad}")
            continue
        for v in nodes:
            seen[v] = seen.get(v, 0) + 1
        idx = [inst.depot] + [v - 1 for v in nodes] + [inst.depot]
        total += int(sum(inst.dist[a, b] for a, b in zip(idx, idx[1:])))
        load = int(inst.demand[idx[1:-1]].sum())
        if load > inst.capacity:
            violations.append(f"route {r}: load {load} > capacity {inst.capacity}")
        t = int(inst.ready[inst.depot])
        for a, b in zip(idx, idx[1:]):
            t += (int(inst.service[a]) if a != inst.depot else 0) + int(inst.dist[a, b])
            if b == inst.depot:
                if t > inst.due[b]:
                    violations.append(f"route {r}: back at depot {t / 10} > closing {inst.due[b] / 10}")
                break
            t = max(t, int(inst.ready[b]))
            if t > inst.due[b]:
                violations.append(f"route {r}: node {b + 1} starts {t / 10} > due {inst.due[b] / 10}")
    missing = [c for c in inst.customers if c not in seen]
    repeated = sorted(c for c, k in seen.items() if k > 1)
    if missing:
        violations.append(f"{len(missing)} customers unserved: {missing[:10]}")
    if repeated:
        violations.append(f"customers served more than once: {repeated[:10]}")
    if used > inst.vehicles:
        violations.append(f"{used} routes > fleet of {inst.vehicles}")
    return not violations, total / 10, violations
