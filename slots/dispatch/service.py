"""The dispatcher's service: plan jobs solved in a worker process from the ledger's confirmed
orders, events that re-plan a job's latest version, ETAs, and the outbox.

Solves run in spawned processes (one pool for jobs, one for re-plans), so a solver that crashes
fails its job, with the reason, and the server keeps running. Jobs and versions are in the
database, so a restart resumes the jobs that were queued or running.
"""

from __future__ import annotations

import logging
import multiprocessing
import threading
import time
from concurrent.futures import Future, ProcessPoolExecutor, ThreadPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from datetime import date, datetime
from typing import Any, Callable, Sequence

from warehouses.network import Network

from ..ledger.base import Code, LedgerError
from ..station_day import MIN_SECONDS, SECONDS_PER_STOP
from .day import (Outcome, Waves, apply_events, check_station_wave, order_loads, sales_of,
                  station_job, totals, waves_of)
from .events import parse_events
from .outbox import PICKUP_POINT_ARRIVED, PROMISE_BROKEN, LoggingSender, Sender, deliver
from .state import WaveState
from .store import JobStatus, PlanStore
from .views import etas, routes_view

log = logging.getLogger("slot211.dispatch")

DEFAULT_TIME_LIMIT = 2.0  # seconds per station-wave, as `slot211 plan`
MAX_TIME_LIMIT = 300.0
MAX_ATTEMPTS = 3  # a job the server was restarted under this many times is failed


class Dispatcher:
    """Plan jobs and re-plans for the network's stations, stored beside the ledger."""

    def __init__(self, network: Network, ledger: Any, *, workers: int = 1,
                 sender: Sender | None = None, clock: Callable[[], datetime] | None = None
                 ) -> None:
        self.network = network
        self.ledger = ledger
        self.store = PlanStore(ledger)
        self.sender = sender or LoggingSender()
        self.clock = clock or datetime.now
        self.workers = max(1, workers)
        self._lock = threading.Lock()
        self._pools: dict[str, ProcessPoolExecutor] = {}
        self._threads = ThreadPoolExecutor(max_workers=self.workers,
                                           thread_name_prefix="plan-job")
        self._running: dict[str, Future] = {}
        self._closed = False

    # -- lifecycle ---------------------------------------------------------------------------

    def start(self) -> list[str]:
        """Start the worker processes and resume unfinished jobs; returns the resumed ids."""
        self._pool("jobs")
        self._pool("replan")
        resumed = self.store.unfinished()
        for job_id in resumed:
            self._queue(job_id)
        return resumed

    def close(self) -> None:
        self._closed = True
        self._threads.shutdown(wait=False, cancel_futures=True)
        with self._lock:
            for pool in self._pools.values():
                pool.shutdown(wait=False, cancel_futures=True)
            self._pools.clear()

    def wait(self, job_id: str, timeout: float = 120.0) -> dict[str, Any]:
        """Block until the job is done or failed (for scripts and tests); returns the job."""
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            job = self.store.job(job_id)
            if job["status"] not in JobStatus.UNFINISHED:
                return job
            time.sleep(0.05)
        raise TimeoutError(f"plan job {job_id} still {job['status']} after {timeout:g} s")

    # -- jobs ----------------------------------------------------------------------------------

    def submit(self, station: str, day: date, wave: str | None = None,
               time_limit: float | None = None, seed: int = 0) -> dict[str, Any]:
        """Queue a plan of the station's confirmed orders for `day` (one wave, or all)."""
        check_station_wave(self.network, station, wave)
        limit = _time_limit(DEFAULT_TIME_LIMIT if time_limit is None else time_limit)
        job = self.store.create_job(station=station, day=day.isoformat(), wave=wave,
                                    time_limit=limit, seed=int(seed), now=self.clock())
        self._queue(job["id"])
        return job

    def job(self, job_id: str) -> dict[str, Any]:
        return self.store.job(job_id)

    def _queue(self, job_id: str) -> None:
        if self._closed:
            raise RuntimeError("the dispatcher is closed")
        self._running[job_id] = self._threads.submit(self._run, job_id)

    def _run(self, job_id: str) -> None:
        store = self.store
        job = store.job(job_id)
        if job["status"] not in JobStatus.UNFINISHED:
            return
        if job["attempts"] >= MAX_ATTEMPTS:
            store.update_job(job_id, self.clock(), status=JobStatus.FAILED, phase="failed",
                             error=f"gave up after {MAX_ATTEMPTS} attempts (the server stopped "
                                   "during each)")
            return
        if not store.claim(job_id, job["attempts"], self.clock()):
            return
        try:
            day = date.fromisoformat(job["day"])
            sales = sales_of(self.ledger.confirmed(job["station"], job["day"]))
            sjob = station_job(self.network, sales, day, job["station"], job["wave"],
                               job["time_limit"], job["seed"])
            expected = 2.0 + sum(min(sjob.time_limit, max(MIN_SECONDS, SECONDS_PER_STOP *
                                                          len(w.stops))) for w in sjob.waves)
            store.update_job(job_id, self.clock(), phase="solving", percent=5.0)
            future = self._pool("jobs").submit(_solve, sjob, _url_of(self.ledger), job_id)
            started = time.monotonic()
            while True:
                if self._closed:
                    return
                try:
                    result = future.result(timeout=0.5)
                    break
                except TimeoutError:
                    share = min(0.95, (time.monotonic() - started) / expected)
                    store.update_job(job_id, self.clock(), percent=round(5 + 90 * share, 1))
            if self._closed:
                return
            store.update_job(job_id, self.clock(), phase="writing", percent=95.0)
            waves = waves_of(sjob, result, day, order_loads(sales))
            plan = _plan_json(job["station"], day, waves)
            try:
                self.store.add_version(job_id, 0, plan=plan, cause={"type": "plan"},
                                       changes={}, etas=etas(waves, day, job["station"]),
                                       outbox=[], kpis=totals(waves), now=self.clock())
            except LedgerError as exc:
                if exc.code == Code.CONFLICT:
                    return
                raise
            store.update_job(job_id, self.clock(), status=JobStatus.DONE, phase="done",
                             percent=100.0, best_cost=totals(waves)["cost"])
        except BrokenProcessPool:
            self._reset("jobs")
            if not self._closed:
                store.update_job(job_id, self.clock(), status=JobStatus.FAILED, phase="failed",
                                 error="the solver process died while planning (it was "
                                       "restarted)")
        except Exception as exc:
            if self._closed:
                return
            log.exception("plan job %s failed", job_id)
            store.update_job(job_id, self.clock(), status=JobStatus.FAILED, phase="failed",
                             error=f"{type(exc).__name__}: {exc}")

    # -- versions ------------------------------------------------------------------------------

    def waves(self, job_id: str, version: int | None = None) -> tuple[int, Waves, date]:
        """A version's wave states (the latest by default)."""
        v = self.store.version(job_id, version)
        plan = v["plan"]
        return (v["version"], {w: WaveState.from_dict(s) for w, s in plan["waves"].items()},
                date.fromisoformat(plan["day"]))

    def routes(self, job_id: str, version: int | None = None) -> dict[str, Any]:
        """The version's routes, unassigned stops and orders (see slots/dispatch/views.py)."""
        job = self.store.job(job_id)
        number, waves, day = self.waves(job_id, version)
        return {"job": job_id, "station": job["station"], "day": job["day"], "version": number,
                "totals": totals(waves), **routes_view(waves, day)}

    def versions(self, job_id: str) -> list[dict[str, Any]]:
        self.store.job(job_id)
        return self.store.versions(job_id)

    def post_events(self, job_id: str, raw: Sequence[dict], *, time_limit: float | None = None,
                    seed: int = 0) -> dict[str, Any]:
        """Apply events to the latest version, re-plan, and store the result as a new version."""
        job = self.store.job(job_id)
        if job["status"] != JobStatus.DONE:
            raise LedgerError(Code.CONFLICT, f"plan job {job_id} is {job['status']}: events "
                                             "apply once it is done")
        if time_limit is not None:
            _time_limit(time_limit)
        number, waves, day = self.waves(job_id)
        events = parse_events(raw, day)
        try:
            outcome: Outcome = self._pool("replan").submit(
                _replan, self.network, waves, events, day, time_limit, seed).result()
        except BrokenProcessPool:
            self._reset("replan")
            raise RuntimeError("the re-planning process died; the plan is unchanged") from None
        changes = _changes(outcome, day)
        out = []
        for b in outcome.broken:
            out.append((PROMISE_BROKEN, b["order"], {"job": job_id, "station": job["station"],
                                                     "day": job["day"], **_times(b, day)}))
        for a in outcome.arrivals:
            out.append((PICKUP_POINT_ARRIVED, a["order"], {"station": job["station"],
                                                           **_times(a, day)}))
        version = self.store.add_version(
            job_id, number, plan=_plan_json(job["station"], day, outcome.waves),
            cause={"type": "events", "events": [e.to_dict(day) for e in events]},
            changes=changes, etas=etas(outcome.waves, day, job["station"]), outbox=out,
            kpis=totals(outcome.waves), now=self.clock())
        self.deliver()
        return {"job": job_id, "version": version, "changes": changes,
                "totals": totals(outcome.waves)}

    # -- the order system --------------------------------------------------------------------

    def eta(self, order_id: str) -> dict[str, Any]:
        """The order's ETA from the latest plan version that holds it (LedgerError NOT_FOUND)."""
        found = self.store.eta(order_id)
        if found is None:
            raise LedgerError(Code.NOT_FOUND, f"order {order_id} is in no plan yet")
        return found

    def deliver(self) -> int:
        """Send what the outbox holds (failures stay queued)."""
        return deliver(self.store, self.sender, self.clock())

    # -- worker processes --------------------------------------------------------------------

    def _pool(self, name: str) -> ProcessPoolExecutor:
        with self._lock:
            if self._closed:
                raise RuntimeError("the dispatcher is closed")
            pool = self._pools.get(name)
            if pool is None:
                pool = ProcessPoolExecutor(max_workers=1,
                                           mp_context=multiprocessing.get_context("spawn"),
                                           initializer=_warm)
                self._pools[name] = pool
            return pool

    def _reset(self, name: str) -> None:
        with self._lock:
            pool = self._pools.pop(name, None)
        if pool is not None:
            pool.shutdown(wait=False, cancel_futures=True)

    def worker_pids(self, name: str = "jobs") -> list[int]:
        """The worker processes' ids (for operators, and for tests that kill one)."""
        pool = self._pool(name)
        return [p.pid for p in getattr(pool, "_processes", {}).values()]


def _time_limit(value: Any) -> float:
    """A search time limit in seconds, checked; a ValueError names `time_limit`."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not (
            0 < value <= MAX_TIME_LIMIT):
        raise ValueError(f"time_limit: expected seconds in (0, {MAX_TIME_LIMIT:g}], got "
                         f"{value!r}")
    return float(value)


def _warm() -> None:
    import routing

    routing.warmup()


_STORES: dict[str, PlanStore] = {}


def _solve(job, url: str | None, job_id: str):
    """Worker: the day plan's solver, reporting the cost so far after each wave to the job row."""
    from ..ledger import open_ledger
    from ..station_day import run_station

    if url is None:
        return run_station(job)
    store = _STORES.get(url)
    if store is None:
        store = _STORES[url] = PlanStore(open_ledger(url))

    def report(wave: str, done: int, total: int, cost: float) -> None:
        store.update_job(job_id, datetime.now(), best_cost=round(cost, 2))

    return run_station(job, on_wave=report)


def _url_of(ledger: Any) -> str | None:
    """The database URL a worker process can open the ledger with (None: in memory only)."""
    if getattr(ledger, "url", None):
        return ledger.url
    path = getattr(ledger, "path", None)
    return f"sqlite:///{path}" if path else None


def _replan(network: Network, waves: Waves, events, day: date, time_limit, seed) -> Outcome:
    return apply_events(network, waves, events, day, time_limit=time_limit, seed=seed)


def _plan_json(station: str, day: date, waves: Waves) -> dict[str, Any]:
    return {"station": station, "day": day.isoformat(),
            "waves": {w: s.to_dict() for w, s in waves.items()}}


def _changes(outcome: Outcome, day: date) -> dict[str, Any]:
    """What a re-plan changed, per wave, and the orders whose promise it broke."""
    waves = {}
    for wid, r in outcome.replans.items():
        waves[wid] = {"touched": len(r.touched), "moved": list(r.moved), "dropped": list(r.dropped),
                      "stability": round(r.stability, 4), "cost_before": round(r.cost_before, 2),
                      "cost_after": round(r.cost_after, 2), "seconds": round(r.seconds, 3)}
    return {"waves": waves, "broken": [_times(b, day) for b in outcome.broken],
            "arrivals": [_times(a, day) for a in outcome.arrivals]}


def _times(entry: dict, day: date) -> dict:
    from ..waves import at_seconds

    return {k: at_seconds(v, day).isoformat() if k in ("due", "planned", "at") and v is not None
            else v for k, v in entry.items()}
