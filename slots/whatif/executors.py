"""Where scenarios run: a local process pool (the default) or a Ray cluster, the same code path.

Both prepare each scenario in workers: one task cuts its orders by city (`split`; the base
network travels once: Ray's object store, or the pool's task arguments), then a task per city
sells that city's orders and cuts its station jobs (`sell_part`), side by side. They solve the
station days biggest first, and assemble the plans in the caller. The pool runs a station day
per task; Ray runs a task per (scenario, station, wave), each taking the state the wave before
left (vehicles' return times, pickup-point room, carried stops) through the object store, so a
station's waves run in order while stations run side by side. Both step through the same
`run_wave`. A task that fails is retried, then its station day is reported as TASK_FAILED for
its orders, never lost.
"""

from __future__ import annotations

import multiprocessing
import os
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from typing import Any, Sequence

from warehouses.network import Network

from ..dayplan import Assembly
from ..station_day import DayState, end_day, run_station, run_wave, start_day
from .run import (
    Prepared,
    Progress,
    combine,
    failed_station,
    finish,
    part_names,
    sell_part,
    split,
)
from .scenario import Base, Scenario

RETRIES = 2  # a task is tried this many more times before its station day counts as failed


def make_executor(kind: Any, workers: int | None = None) -> Any:
    """"pool", "ray" (a local cluster, or `ray:ADDRESS` / "ray:auto"), or an executor object."""
    if kind == "pool":
        return PoolExecutor(workers)
    if isinstance(kind, str) and (kind == "ray" or kind.startswith("ray:")):
        return RayExecutor(kind.partition(":")[2] or None, workers)
    if hasattr(kind, "run"):
        return kind
    raise ValueError(f"executor: expected 'pool', 'ray' or 'ray:ADDRESS', got {kind!r}")


_warmed = False


def _warm() -> None:
    """Load the numba kernels once per worker process, before its first solve."""
    global _warmed
    if not _warmed:
        import routing

        routing.warmup()
        _warmed = True


_EMPTY: tuple = ([], [], 0.0)  # what selling a part with no orders gives


def _size(job: Any) -> int:
    return sum(len(w.stops) for w in job.waves)


def _by_size(prepared: Sequence[Prepared]) -> list[tuple[int, Any]]:
    tasks = [(i, job) for i, p in enumerate(prepared) for job in p.jobs]
    return sorted(tasks, key=lambda t: -_size(t[1]))


class PoolExecutor:
    """A local spawn process pool of `workers` processes (default: every core)."""

    def __init__(self, workers: int | None = None) -> None:
        self.workers = workers or os.cpu_count() or 1
        self.failures: list[str] = []
        self._pool = ProcessPoolExecutor(max_workers=self.workers,
                                         mp_context=multiprocessing.get_context("spawn"),
                                         initializer=_warm)

    def run(self, network: Network, base: Base, scenarios: Sequence[Scenario],
            progress: Progress | None) -> dict[str, tuple[dict, Any]]:
        cuts = [f.result() for f in [self._pool.submit(split, network, base, s)
                                     for s in scenarios]]
        sold = [[self._pool.submit(sell_part, cut.network, base, orders) for orders in parts]
                for cut, parts in cuts]
        prepared = [combine(cut, base, [f.result() for f in futures])
                    for (cut, _), futures in zip(cuts, sold)]
        results: list[list] = [[] for _ in prepared]
        pending = {}
        for i, job in _by_size(prepared):
            pending[self._pool.submit(run_station, job)] = (i, job, 0)
        while pending:
            done, _ = wait(pending, return_when=FIRST_COMPLETED)
            for fut in done:
                i, job, tries = pending.pop(fut)
                try:
                    results[i].append(fut.result())
                except Exception as exc:
                    if tries < RETRIES:
                        pending[self._pool.submit(run_station, job)] = (i, job, tries + 1)
                        continue
                    self.failures.append(f"{prepared[i].scenario.name}/{job.station}: {exc!r}")
                    results[i].append(failed_station(job, repr(exc)))
                _tick(progress, prepared[i], results[i])
        return _finish_all(prepared, results)

    def close(self) -> None:
        self._pool.shutdown(cancel_futures=True)


class RayExecutor:
    """Ray tasks: one per scenario to cut its orders by city (the base network put once in the
    object store), one per (scenario, city) to sell them, and one per (scenario, station, wave)
    to solve it, retried by Ray on failure. Each city's orders go from the cutting task to its
    selling task through the object store, and a station's job is put there once and shared by
    its wave tasks. A city's station days are sent to solve as soon as it is sold, so the caller
    reads one city's sales while the workers sell and solve the others.

    `address` None starts a local Ray with `workers` CPUs; "auto" or an address joins a cluster.
    """

    def __init__(self, address: str | None = None, workers: int | None = None) -> None:
        try:
            import ray
        except ImportError:
            raise RuntimeError("Ray is not installed: pip install 'slot211[cluster]'") from None
        self.ray = ray
        self.failures: list[str] = []
        self.peak_mb: dict[int, float] = {}  # worker pid -> its peak resident MB
        self._started = not ray.is_initialized()
        if self._started:
            if address:
                ray.init(address=address, ignore_reinit_error=True, log_to_driver=False)
            else:
                ray.init(num_cpus=workers or os.cpu_count() or 1, include_dashboard=False,
                         ignore_reinit_error=True, log_to_driver=False)
        self._split = ray.remote(_ray_split)
        self._sell = ray.remote(max_retries=RETRIES, retry_exceptions=True)(_ray_sell)
        self._wave = ray.remote(max_retries=RETRIES, retry_exceptions=True)(_ray_wave)

    def run(self, network: Network, base: Base, scenarios: Sequence[Scenario],
            progress: Progress | None) -> dict[str, tuple[dict, Any]]:
        ray = self.ray
        shared = ray.put(network)
        width = len(part_names(network)) + 2
        cuts = [self._split.options(num_returns=width).remote(shared, base, s)
                for s in scenarios]
        splits = ray.get([refs[0] for refs in cuts])
        parts = [[_EMPTY] * len(cut.index) for cut in splits]
        selling: dict[Any, tuple[int, int]] = {}
        for k, (refs, cut) in enumerate(zip(cuts, splits)):
            for q in sorted(range(len(cut.index)), key=lambda q: -len(cut.index[q])):
                if cut.index[q]:
                    selling[self._sell.remote(refs[1], base, refs[2 + q])] = (k, q)
        unsold = [sum(1 for idx in cut.index if idx) for cut in splits]
        prepared: list[Prepared | None] = [None] * len(splits)
        submitted = [0] * len(splits)
        results: list[list] = [[] for _ in splits]
        assemblies = [Assembly(cut.network, base.day) for cut in splits]
        pending: dict[Any, tuple[int, Any]] = {}
        while selling or pending:
            ready, _ = ray.wait([*selling, *pending], num_returns=1)
            for ref in ready:
                if ref in selling:  # a city sold: solve its station days while others sell
                    k, q = selling.pop(ref)
                    parts[k][q] = ray.get(ref)
                    for job in sorted(parts[k][q][1], key=_size, reverse=True):
                        submitted[k] += 1
                        state = None
                        if job.waves:
                            shared_job = ray.put(job)
                            for _ in job.waves:
                                state = self._wave.remote(shared_job, state)
                        if state is None:
                            results[k].append(end_day(job, start_day(job)))
                            assemblies[k].add(results[k][-1])
                        else:
                            pending[state] = (k, job)
                    unsold[k] -= 1
                    if not unsold[k]:
                        prepared[k] = combine(splits[k], base, parts[k])
                    continue
                k, job = pending.pop(ref)
                try:
                    state = ray.get(ref)
                    for pid, peak in state.peaks.items():
                        self.peak_mb[pid] = max(peak, self.peak_mb.get(pid, 0.0))
                    results[k].append(end_day(job, state))
                except Exception as exc:
                    self.failures.append(f"{splits[k].scenario.name}/{job.station}: {exc!r}")
                    results[k].append(failed_station(job, repr(exc)))
                assemblies[k].add(results[k][-1])
                if progress is not None:
                    progress(splits[k].scenario.name, len(results[k]),
                             len(prepared[k].jobs) if prepared[k] else submitted[k])
        prepared = [p if p is not None else combine(cut, base, part)
                    for p, cut, part in zip(prepared, splits, parts)]
        return _finish_all(prepared, results, assemblies)

    def close(self) -> None:
        if self._started:
            self.ray.shutdown()


def _ray_split(network: Network, base: Base, scenario: Scenario) -> tuple:
    """(the Split, the scenario's network, then each city's orders): separate objects, so each
    selling task fetches only its own city's orders."""
    cut, parts = split(network, base, scenario)
    return (cut, cut.network, *parts)


def _ray_sell(network: Network, base: Base, orders: list) -> tuple:
    return sell_part(network, base, orders)


def _ray_wave(job, state: DayState | None) -> DayState:
    """The next wave of a station day in a Ray worker (None: its first), noting the worker's
    pid and peak resident MB in the state."""
    import resource

    _warm()
    after = run_wave(job, start_day(job) if state is None else state)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
    after.peaks[os.getpid()] = max(peak, after.peaks.get(os.getpid(), 0.0))
    return after


def _tick(progress: Progress | None, p: Prepared, done: list) -> None:
    if progress is not None:
        progress(p.scenario.name, len(done), len(p.jobs))


def _finish_all(prepared: Sequence[Prepared], results: Sequence[list],
                assemblies: Sequence[Assembly] | None = None) -> dict[str, tuple[dict, Any]]:
    out = {}
    for k, (p, res) in enumerate(zip(prepared, results)):
        plan, row = finish(p, res, assemblies[k] if assemblies is not None else None)
        row["prepare_seconds"] = p.seconds
        row["station_seconds"] = sum(r.seconds for r in res)
        row["capped_waves"] = sum(len(r.capped) for r in res)
        out[p.scenario.name] = (row, plan)
    return out
