"""The dispatcher as a library, on SQLite and PostgreSQL: plan jobs survive a restart, a job fails
with its reason (an unreadable reservation, a killed solver) and the next one still runs, every
version is kept, and the outbox tells the order system and the pickup points what changed.

The helpers at the top (confirmed reservations made through the slot service, and a checker of a
routes view against those reservations and the network) are shared with tests/api.
"""

from __future__ import annotations

import os
import signal
import time
from collections import Counter
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from functools import cache
from pathlib import Path
from typing import Any

import pytest

from slots.dispatch.outbox import PICKUP_POINT_ARRIVED, PROMISE_BROKEN
from slots.dispatch.service import MAX_ATTEMPTS, Dispatcher
from slots.dispatch.store import JobStatus
from slots.generate import generate_orders
from slots.ledger import open_ledger
from slots.service import SlotService
from warehouses import load_network

REPO = Path(__file__).resolve().parents[3]
BEIJING = REPO / "data" / "beijing"
STATION = "BJ-XD"
DAY = date(2026, 12, 2)
MIDNIGHT = datetime.combine(DAY, datetime.min.time())
TIME_LIMIT = 0.5
SLACK = timedelta(seconds=1.5)  # times are floats of seconds, shown to the microsecond


# -- shared helpers ------------------------------------------------------------------------------

@cache
def network():
    return load_network(BEIJING)


@dataclass(frozen=True)
class Booking:
    """A confirmed reservation as checkout made it: what the order was promised."""

    order: str
    reservation: str
    slot: str
    type: str
    wave: str
    due: datetime | None
    earliest: datetime | None
    pickup_point: str | None


def book(ledger: Any, count: int = 60, pickups: int = 12, seed: int = 3) -> dict[str, Booking]:
    """Quote, hold and confirm generated orders at STATION on DAY through the slot service (the
    first offered slot, a pickup point for the first `pickups` orders offered one)."""
    svc = SlotService(network(), ledger, reoptimise_every=None)
    out: dict[str, Booking] = {}
    at_points = 0
    for order in generate_orders(network(), 600, day=DAY, seed=seed):
        now = order.clock
        quotes = [q for q in svc.quote(order, now) if q.offered and q.station == STATION
                  and q.wave_date == DAY.isoformat()]
        if not quotes:
            continue
        points = [q for q in quotes if q.type == "pickup_point"]
        q = points[0] if points and at_points < pickups else quotes[0]
        res = svc.hold(order, q.slot, key=f"key-{order.id}", now=now)
        assert svc.confirm(res.id, now=now).status == "confirmed"
        at_points += q.type == "pickup_point"
        out[order.id] = Booking(order.id, res.id, q.slot, q.type, q.wave,
                                q.window[1] if q.window else q.deadline,
                                q.window[0] if q.window else None, q.pickup_point)
        if len(out) >= count:
            break
    assert len(out) >= 40 and at_points >= 3, (len(out), at_points)
    return out


def at(text: str | None) -> datetime | None:
    return None if text is None else datetime.fromisoformat(text)


def check_routes(view: dict, bookings: dict[str, Booking]) -> None:
    """Check a routes view against the confirmed reservations and the station's fleet and waves:
    every order once, vehicles of the fleet within capacity and skills, times that add up, waves
    respected, promises as booked and `on_time` true to them."""
    st = network().stations[view["station"]]
    fleet = {vt.id: vt for vt in st.fleet}
    waves = {w.id: w for w in st.waves}
    # every confirmed order exactly once, in orders[] and across the stops
    listed = Counter(o["order"] for o in view["orders"])
    assert listed == Counter(bookings.keys()), "orders[] is not every confirmed order once"
    placed = Counter(o for r in view["routes"] for s in r["stops"] for o in s["orders"])
    placed.update(o for u in view["unassigned"] for o in u["orders"])
    assert placed == Counter(bookings.keys()), "routes + unassigned do not hold every order once"
    by_order = {o["order"]: o for o in view["orders"]}
    busy: dict[str, list[tuple[datetime, datetime]]] = {}
    seen = set()
    for r in view["routes"]:
        assert (r["wave"], r["vehicle"]) not in seen
        seen.add((r["wave"], r["vehicle"]))
        vt = fleet[r["vehicle_type"]]
        assert r["vehicle"].startswith(f"{st.id}-{vt.id}-")
        assert int(r["vehicle"].rsplit("-", 1)[1]) <= vt.count
        assert r["capacity"] == [vt.weight_kg, vt.volume_m3, vt.parcels]
        wave = waves[r["wave"]]
        leave = at(r["start"])
        assert leave >= MIDNIGHT + timedelta(minutes=wave.departure) - SLACK, r["vehicle"]
        assert r["stops"], r
        prev = leave
        for seq, s in enumerate(r["stops"], start=1):
            assert s["sequence"] == seq
            arrive, start, depart = at(s["arrival"]), at(s["start"]), at(s["departure"])
            assert prev - SLACK <= arrive <= start + SLACK and start <= depart + SLACK, s
            prev = depart
            assert all(x <= cap + 1e-6 for x, cap in zip(s["load"], r["capacity"])), s
            assert set(s["skills"]) <= set(vt.skills), (s["stop"], r["vehicle_type"])
            due, early = at(s["due"]), None
            for o in s["orders"]:
                b = bookings[o]
                if b.due is not None:
                    assert due is not None and due <= b.due + SLACK, (o, s["due"], b.due)
                if b.pickup_point:
                    assert s["kind"] == "pickup_point" and s["stop"] == (
                        f"PP:{b.pickup_point}:{r['wave']}"), (o, s["stop"])
                else:
                    assert s["kind"] != "pickup_point"
                early = b.earliest if b.earliest is not None else early
                row = by_order[o]
                assert (row["vehicle"], row["stop"], row["sequence"], row["status"]) == (
                    r["vehicle"], s["stop"], seq, s["status"])
                assert row["planned_arrival"] == s["start"]
            if due is not None or early is not None:
                kept = (due is None or start <= due + SLACK) and (
                    early is None or start >= early - SLACK)
                assert s["on_time"] == kept, (s["stop"], s["start"], s["due"], s["on_time"])
        assert at(r["end"]) == at(r["stops"][-1]["departure"])
        assert at(r["end"]) <= MIDNIGHT + timedelta(minutes=wave.latest_return) + SLACK, r
        busy.setdefault(r["vehicle"], []).append((leave, at(r["end"])))
    for vehicle, spans in busy.items():  # one vehicle drives one wave's route at a time
        spans.sort()
        for (_, end), (start, _) in zip(spans, spans[1:]):
            assert end <= start + SLACK, vehicle
    for u in view["unassigned"]:
        assert u["reason"], u
        for o in u["orders"]:
            assert by_order[o]["status"] == "unassigned" and by_order[o]["vehicle"] is None
            assert by_order[o]["reason"] == u["reason"]


def fleet_ids(station: str = STATION) -> list[str]:
    """Every vehicle of the station, named as the day plan names them."""
    return [f"{station}-{vt.id}-{k + 1:02d}" for vt in network().stations[station].fleet
            for k in range(vt.count)]


def wait_for(predicate, timeout: float = 60.0, what: str = "condition") -> Any:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        found = predicate()
        if found:
            return found
        time.sleep(0.02)
    raise AssertionError(f"timed out waiting for {what}")


# -- fixtures -----------------------------------------------------------------------------------

@pytest.fixture
def ledger(url):
    opened = open_ledger(url)
    yield opened
    opened.close()


@pytest.fixture
def sqlite_ledger(tmp_path):
    opened = open_ledger(f"sqlite:///{tmp_path / 'ledger.db'}")
    yield opened
    opened.close()


@pytest.fixture
def dispatchers():
    """Dispatchers made by a test, all closed after it."""
    made: list[Dispatcher] = []
    yield made
    for d in made:
        d.close()


def started(made: list[Dispatcher], ledger: Any) -> Dispatcher:
    d = Dispatcher(network(), ledger)
    made.append(d)
    d.start()
    return d


# -- restarts -----------------------------------------------------------------------------------

def test_a_restart_resumes_queued_and_running_jobs(ledger, dispatchers):
    bookings = book(ledger)
    crashed = Dispatcher(network(), ledger)  # never started: it only writes job rows
    t0 = datetime(2026, 12, 1, 18, 0)
    queued = crashed.store.create_job(station=STATION, day=DAY.isoformat(), wave=None,
                                      time_limit=TIME_LIMIT, seed=0, now=t0)
    running = crashed.store.create_job(station=STATION, day=DAY.isoformat(), wave="W1",
                                       time_limit=TIME_LIMIT, seed=1, now=t0 + timedelta(seconds=1))
    crashed.store.update_job(running["id"], t0 + timedelta(seconds=2), status=JobStatus.RUNNING,
                             phase="solving", percent=40.0, attempts=1)
    hopeless = crashed.store.create_job(station=STATION, day=DAY.isoformat(), wave=None,
                                        time_limit=TIME_LIMIT, seed=0,
                                        now=t0 + timedelta(seconds=3))
    crashed.store.update_job(hopeless["id"], t0 + timedelta(seconds=4), status=JobStatus.RUNNING,
                             phase="solving", attempts=MAX_ATTEMPTS)
    finished = crashed.store.create_job(station=STATION, day=DAY.isoformat(), wave=None,
                                        time_limit=TIME_LIMIT, seed=0,
                                        now=t0 + timedelta(seconds=5))
    crashed.store.update_job(finished["id"], t0, status=JobStatus.FAILED, phase="failed",
                             error="an old failure")

    d = started(dispatchers, ledger)  # the restarted server
    assert crashed.store.unfinished() == [queued["id"], running["id"], hopeless["id"]]
    jobs = {j: d.wait(j) for j in (queued["id"], running["id"], hopeless["id"])}

    for job_id, attempts in ((queued["id"], 1), (running["id"], 2)):
        job = jobs[job_id]
        assert (job["status"], job["phase"], job["percent"], job["error"]) == (
            "done", "done", 100.0, None), job
        assert job["attempts"] == attempts and job["version"] == 1
        assert [v["version"] for v in d.versions(job_id)] == [1]
        view = d.routes(job_id)
        mine = {o: b for o, b in bookings.items() if job["wave"] in (None, b.wave)}
        assert view["version"] == 1
        if job["wave"] is None:
            check_routes(view, mine)
        else:  # one wave only: just its orders, once each
            got = Counter(o["order"] for o in view["orders"])
            assert got == Counter(mine.keys()) and {o["wave"] for o in view["orders"]} == {"W1"}
        assert job["kpis"]["routed"] + job["kpis"]["unassigned"] == job["kpis"]["stops"]
    gave_up = jobs[hopeless["id"]]
    assert gave_up["status"] == "failed" and gave_up["version"] == 0
    assert f"gave up after {MAX_ATTEMPTS} attempts" in gave_up["error"]
    assert d.job(finished["id"])["error"] == "an old failure"  # finished jobs are left alone
    assert d.store.unfinished() == []


def test_a_job_closed_mid_solve_is_resumed_and_ends_done(sqlite_ledger, dispatchers):
    book(sqlite_ledger)
    first = started(dispatchers, sqlite_ledger)
    job = first.submit(STATION, DAY, time_limit=TIME_LIMIT)
    wait_for(lambda: first.job(job["id"])["phase"] == "solving", what="solving")
    first.close()
    second = started(dispatchers, sqlite_ledger)
    assert job["id"] in second.store.unfinished() or second.job(job["id"])["status"] == "done"
    second.wait(job["id"])
    for d in (first, second):  # let every run of the job finish (private: the job's futures)
        run = d._running.get(job["id"])
        if run is not None:
            run.exception(timeout=60)
    final = second.job(job["id"])
    assert final["status"] == "done", final["error"]
    assert final["version"] == 1 and [v["version"] for v in second.versions(job["id"])] == [1]


# -- failures -----------------------------------------------------------------------------------

BAD_PAYLOADS = {  # a confirmed reservation a plan cannot read, three ways
    "order missing its fields": {"order": {"id": "O-BROKEN"}},
    "no order at all": {"parcel": 1},
    "window not a time": None,  # a good order with a window that is not a time
}


def test_an_unreadable_reservation_fails_the_job_naming_it(ledger, dispatchers):
    bookings = book(ledger, count=45, pickups=5)
    good = ledger.get(next(iter(bookings.values())).reservation)
    now = datetime(2026, 12, 1, 20, 0)
    d = started(dispatchers, ledger)
    for n, (case, payload) in enumerate(BAD_PAYLOADS.items()):
        if payload is None:
            payload = {**good.payload, "window": ["half past nine", None]}
        bad = ledger.hold(key=f"bad-{n}", slot=f"{STATION}|{DAY}|211_next_day|W1",
                          station=STATION, day=DAY.isoformat(), wave="W1", order_id="O-BROKEN",
                          payload=payload, capacity=10_000, now=now, ttl_seconds=600)
        ledger.confirm(bad.id, now)
        failed = d.wait(d.submit(STATION, DAY, time_limit=TIME_LIMIT)["id"])
        assert (failed["status"], failed["phase"], failed["version"]) == (
            "failed", "failed", 0), case
        assert bad.id in failed["error"] and "unreadable payload" in failed["error"], (
            case, failed["error"])
        assert d.versions(failed["id"]) == []
        ledger.cancel(bad.id, now)  # the dispatcher fixes the data

    job = d.wait(d.submit(STATION, DAY, time_limit=TIME_LIMIT)["id"])  # the next job runs
    assert job["status"] == "done", job["error"]
    check_routes(d.routes(job["id"]), bookings)


def test_a_killed_solver_fails_its_job_and_the_next_job_gets_a_new_worker(sqlite_ledger,
                                                                          dispatchers):
    bookings = book(sqlite_ledger)
    d = started(dispatchers, sqlite_ledger)
    job = d.submit(STATION, DAY, time_limit=30.0)
    wait_for(lambda: d.job(job["id"])["phase"] == "solving", what="the job to solve")
    pids = wait_for(lambda: d.worker_pids("jobs"), what="a solver process")
    assert os.getpid() not in pids
    os.kill(pids[0], signal.SIGKILL)

    failed = d.wait(job["id"])
    assert (failed["status"], failed["phase"], failed["version"]) == ("failed", "failed", 0)
    assert "solver process died" in failed["error"], failed["error"]

    again = d.wait(d.submit(STATION, DAY, time_limit=TIME_LIMIT)["id"])
    assert again["status"] == "done", again["error"]
    check_routes(d.routes(again["id"]), bookings)
    fresh = d.worker_pids("jobs")
    assert fresh and pids[0] not in fresh


# -- versions and the outbox --------------------------------------------------------------------

def test_versions_are_kept_and_the_outbox_tells_who_needs_to_know(ledger, dispatchers):
    bookings = book(ledger)
    d = started(dispatchers, ledger)
    job = d.wait(d.submit(STATION, DAY, time_limit=TIME_LIMIT)["id"])
    assert job["status"] == "done", job["error"]
    v1 = d.routes(job["id"])
    check_routes(v1, bookings)
    assert d.sender.sent == [] and d.store.pending() == []

    # 1. a W1 vehicle reports every stop up to its last pickup point served
    route = next(r for r in v1["routes"] if r["wave"] == "W1"
                 and any(s["kind"] == "pickup_point" for s in r["stops"]))
    last = max(s["sequence"] for s in route["stops"] if s["kind"] == "pickup_point")
    target = route["stops"][last - 1]
    served_at = at(target["departure"]) + timedelta(minutes=2)
    res = d.post_events(job["id"], [{"type": "stops_served", "vehicle": route["vehicle"],
                                     "stop": target["stop"], "at": served_at.isoformat()}])
    assert res["version"] == 2
    v2 = d.routes(job["id"])
    check_routes(v2, bookings)
    done_stops = [s for s in route["stops"] if s["sequence"] <= last]
    served = {o for s in done_stops for o in s["orders"]}
    at_points = {o: s for s in done_stops if s["kind"] == "pickup_point" for o in s["orders"]}
    assert {o["order"] for o in v2["orders"] if o["status"] == "served"} == served
    arrived = [(k, p) for t, k, p in d.sender.sent if t == PICKUP_POINT_ARRIVED]
    assert sorted(k for k, _ in arrived) == sorted(at_points)
    for key, payload in arrived:
        assert payload["order"] == key and payload["station"] == STATION
        assert payload["pickup_point"] == bookings[key].pickup_point
        assert payload["stop"] == at_points[key]["stop"]
        if payload["stop"] == target["stop"]:
            assert at(payload["at"]) == served_at
    assert not any(t == PROMISE_BROKEN for t, _, _ in d.sender.sent)

    # 2. every vehicle is withdrawn for the rest of the day an hour later: the unserved orders'
    # promises break (W1's orders are carried from wave to wave, and no wave has a vehicle)
    later = served_at + timedelta(hours=1)
    res = d.post_events(job["id"], [{"type": "vehicle_unavailable", "vehicle": v,
                                     "at": later.isoformat()} for v in fleet_ids()])
    assert res["version"] == 3
    v3 = d.routes(job["id"])
    check_routes(v3, bookings)
    before = {o["order"]: o for o in v2["orders"]}
    after = {o["order"]: o for o in v3["orders"]}
    w1_open = {o for o, row in before.items() if row["wave"] == "W1" and row["status"] != "served"}
    assert w1_open
    for o in w1_open:  # nothing W1 had left is planned in W1 any more (unassigned, or carried on)
        assert after[o]["status"] == "unassigned" or after[o]["wave"] != "W1", after[o]
    for o in served:
        assert after[o]["status"] == "served" and after[o]["wave"] == "W1"
    # a promise is broken when it was kept before and now the order is late or unassigned,
    # wherever it is now (an order carried to the next wave may still make its due time);
    # served orders keep theirs
    expected = {o for o, row in before.items()
                if row["on_time"] is True and row["status"] != "served"
                and after[o]["on_time"] is not True}
    assert expected >= {o for o in w1_open if before[o]["on_time"] is True}
    assert not expected & served
    broken = [(k, p) for t, k, p in d.sender.sent if t == PROMISE_BROKEN]
    assert sorted(k for k, _ in broken) == sorted(expected)
    assert sorted(b["order"] for b in res["changes"]["broken"]) == sorted(expected)
    for key, payload in broken:
        assert payload["order"] == key and payload["job"] == job["id"]
        assert payload["station"] == STATION and payload["day"] == DAY.isoformat()
        assert payload["wave"] == after[key]["wave"] and payload["stop"] == after[key]["stop"]
        assert at(payload["due"]) == bookings[key].due
        assert payload["reason"] in ("NO_FREE_VEHICLE", "VEHICLE_UNAVAILABLE", "REPLANNED")

    # every version is kept, each as it was written
    versions = d.versions(job["id"])
    assert [v["version"] for v in versions] == [1, 2, 3]
    assert [v["cause"]["type"] for v in versions] == ["plan", "events", "events"]
    assert versions[1]["cause"]["events"][0]["stop"] == target["stop"]
    assert {e["vehicle"] for e in versions[2]["cause"]["events"]} == set(fleet_ids())
    assert d.routes(job["id"], 1) == v1 and d.routes(job["id"], 2) == v2
    assert d.job(job["id"])["version"] == 3
    # everything in the outbox went out, exactly once
    assert d.store.pending() == []
    assert len(d.sender.sent) == len(at_points) + len(expected)
    assert d.deliver() == 0
    # the ETA index answers from the latest version
    for o in expected:
        eta = d.eta(o)
        assert (eta["job"], eta["version"], eta["wave"], eta["stop"], eta["status"]) == (
            job["id"], 3, after[o]["wave"], after[o]["stop"], after[o]["status"])
    for o in served:
        assert d.eta(o)["status"] == "served"
