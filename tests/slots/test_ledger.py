"""The reservation ledger on SQLite and PostgreSQL: no overbooking under racing threads and
processes, idempotent holds, expiry, the check callback, durability across kill -9, transitions."""

from __future__ import annotations

import multiprocessing
import os
import signal
import sqlite3
import subprocess
import sys
import threading
import time
import uuid
from collections import Counter
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from slots.ledger import Code, LedgerError, Pool, Reservation, Status, open_ledger
from slots.ledger.sqlite import SqliteLedger
from tests.slots.ledger_helpers import (
    DAY, NOW, SLOT, STATION, WAVE, forked_hold, hold_args, process_race,
    race,
)

REPO = Path(__file__).resolve().parents[2]
LATER = NOW + timedelta(seconds=30)
TIMED_SLOT = SLOT.replace("211_same_day", "timed")
W4_SLOT = f"{STATION}|{DAY}|211_same_day|W4"


@pytest.fixture
def ledger(url):
    with open_ledger(url) as opened:
        yield opened


def codes(results: list[tuple[str, str | None]]) -> Counter:
    return Counter(code for code, _ in results)


# -- no overbooking ------------------------------------------------------------------------------

def test_racing_threads_with_own_ledgers_never_overbook(url):
    """64 threads open a fresh ledger at once (racing its migration too), then race for 10 units."""
    ledgers: list = []

    def own_ledger(i: int):
        ledgers.append(open_ledger(url))
        return ledgers[-1]

    try:
        results = race(own_ledger, list(range(64)), capacity=10)
    finally:
        for opened in ledgers:
            opened.close()
    assert codes(results) == {Status.CONFIRMED: 10, Code.SLOT_FULL: 54}
    with open_ledger(url) as ledger:
        active = ledger.active(STATION, DAY, WAVE, NOW)
        assert sorted(r.id for r in active) == sorted(rid for _, rid in results if rid)
        assert all(r.status == Status.CONFIRMED for r in active)
        assert ledger.usage(STATION, DAY, NOW) == {SLOT: 10}
        assert ledger.version(STATION, DAY, WAVE) == 20


def test_a_pool_shared_across_waves_never_overbooks(url):
    """32 threads hold one pickup point's slots in two waves (two groups); the point takes 7."""
    from concurrent.futures import ThreadPoolExecutor

    pool = Pool("pickup_point:PP1", "|PP1", 7)
    open_ledger(url).close()

    def one(i: int) -> str:
        wave = ("W1", "W3")[i % 2]
        with open_ledger(url) as ledger:
            try:
                ledger.hold(**hold_args(i, slot=f"{STATION}|{DAY}|pickup_point|{wave}|PP1",
                                        wave=wave, capacity=100), pool=pool)
                return "held"
            except LedgerError as exc:
                return exc.code

    with ThreadPoolExecutor(32) as ex:
        results = Counter(ex.map(one, range(32)))
    assert results == {"held": 7, Code.SLOT_FULL: 25}
    with open_ledger(url) as ledger:
        assert sum(ledger.usage(STATION, DAY, NOW).values()) == 7
        other = ledger.hold(**hold_args("other", slot=f"{STATION}|{DAY}|pickup_point|W1|PP2",
                                        wave="W1", capacity=100),
                            pool=Pool("pickup_point:PP2", "|PP2", 7))
        assert other.status == Status.HELD


def test_a_pool_counts_units_so_big_orders_take_more_of_it(url):
    """A 10-unit pool across two waves, raced by 24 holds of 1 to 3 units: the units held never
    pass 10, each reservation keeps its units, and one unit more than is left is refused."""
    from concurrent.futures import ThreadPoolExecutor

    pool = Pool("pickup_point:PP1", "|PP1", 10)
    open_ledger(url).close()

    def one(i: int) -> tuple[int, str]:
        wave, units = ("W1", "W3")[i % 2], 1 + i % 3
        with open_ledger(url) as ledger:
            try:
                ledger.hold(**hold_args(i, slot=f"{STATION}|{DAY}|pickup_point|{wave}|PP1",
                                        wave=wave, capacity=100), pool=pool, units=units)
                return units, "held"
            except LedgerError as exc:
                return units, exc.code

    with ThreadPoolExecutor(24) as ex:
        results = list(ex.map(one, range(24)))
    held = sum(u for u, code in results if code == "held")
    assert {code for _, code in results} == {"held", Code.SLOT_FULL}
    with open_ledger(url) as ledger:
        usage = ledger.usage_units(STATION, DAY, NOW)
        assert sum(u for _, u in usage.values()) == held <= 10
        assert sum(n for n, _ in usage.values()) == sum(1 for _, c in results if c == "held")
        assert all(r.units == 1 + int(r.order_id.split("-")[1]) % 3
                   for w in ("W1", "W3") for r in ledger.active(STATION, DAY, w, NOW))
        with pytest.raises(LedgerError) as refused:
            ledger.hold(**hold_args("big", slot=f"{STATION}|{DAY}|pickup_point|W1|PP1",
                                    wave="W1", capacity=100), pool=pool, units=11 - held)
        assert refused.value.code == Code.SLOT_FULL and "wanted" in refused.value.message


def test_a_pool_refuses_what_does_not_fit_and_a_cancel_gives_the_units_back(ledger):
    pool = Pool("pickup_point:PP1", "|PP1", 5)
    slot = f"{STATION}|{DAY}|pickup_point|{WAVE}|PP1"

    def hold(i: int, units: int):
        return ledger.hold(**hold_args(i, slot=slot), pool=pool, units=units)

    three = hold(1, 3)
    with pytest.raises(LedgerError) as full:
        hold(2, 3)
    assert full.value.code == Code.SLOT_FULL
    hold(3, 2)
    with pytest.raises(LedgerError):
        hold(4, 1)
    assert ledger.usage_units(STATION, DAY, NOW) == {slot: (2, 5)}
    assert ledger.usage(STATION, DAY, NOW) == {slot: 2}
    ledger.cancel(three.id, NOW)
    assert hold(5, 3).units == 3 and ledger.get(three.id).units == 3
    for bad in (0, -1, True, 1.5, "2"):
        with pytest.raises(ValueError, match="units"):
            hold(9, bad)


def test_migration_3_upgrades_an_old_ledger_whose_reservations_take_one_unit(url, monkeypatch):
    from slots.ledger import store
    from slots.ledger.schema import MIGRATIONS

    monkeypatch.setattr(store, "MIGRATIONS", [m for m in MIGRATIONS if m[0] < 3])
    with open_ledger(url) as old, old.write() as db:
        db.run("INSERT INTO reservations (id, idempotency_key, slot, station, day, wave, "
               "order_id, status, created_at, expires_at, confirmed_at, payload) "
               "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
               ("old-1", "k-old", SLOT, STATION, DAY, WAVE, "o-old", Status.CONFIRMED,
                db.to_ts(NOW), db.to_ts(NOW), db.to_ts(NOW), db.to_json({})))
    monkeypatch.undo()
    with open_ledger(url) as new:
        assert new.get("old-1").units == 1
        assert new.usage_units(STATION, DAY, NOW) == {SLOT: (1, 1)}
        assert new.hold(**hold_args(1), units=4).units == 4
        assert new.usage_units(STATION, DAY, NOW) == {SLOT: (2, 5)}


def test_racing_processes_share_capacity_through_the_database(url):
    open_ledger(url).close()
    ctx = multiprocessing.get_context("spawn")
    start, out = ctx.Barrier(2), ctx.Queue()
    procs = [ctx.Process(target=process_race, args=(url, list(range(p * 32, p * 32 + 32)), 10, start, out))
             for p in range(2)]
    for proc in procs:
        proc.start()
    try:
        reports = [out.get(timeout=180) for _ in procs]
    finally:
        for proc in procs:
            proc.join(timeout=60)
    total = sum((Counter(counts) for counts, _ in reports), Counter())
    assert total == {Status.CONFIRMED: 10, Code.SLOT_FULL: 54}
    with open_ledger(url) as ledger:
        confirmed = sorted(rid for _, ids in reports for rid in ids)
        assert sorted(r.id for r in ledger.active(STATION, DAY, WAVE, NOW)) == confirmed
    assert [proc.exitcode for proc in procs] == [0, 0]


def test_capacity_is_per_slot_and_zero_capacity_refuses(ledger):
    ledger.hold(**hold_args(1, capacity=1))
    ledger.hold(**hold_args(2, slot=TIMED_SLOT, capacity=1))
    with pytest.raises(LedgerError) as err:
        ledger.hold(**hold_args(3, capacity=1))
    assert err.value.code == Code.SLOT_FULL
    with pytest.raises(LedgerError) as err:
        ledger.hold(**hold_args(4, slot="elsewhere", capacity=0))
    assert err.value.code == Code.SLOT_FULL
    assert ledger.usage(STATION, DAY, NOW) == {SLOT: 1, TIMED_SLOT: 1}


# -- idempotency ---------------------------------------------------------------------------------

def test_replayed_key_yields_one_reservation(ledger):
    first = ledger.hold(**hold_args(1))
    replays = {ledger.hold(**hold_args(1)).id for _ in range(100)}
    assert replays == {first.id}
    assert ledger.get(first.id) == first
    assert ledger.usage(STATION, DAY, NOW) == {SLOT: 1}
    assert ledger.version(STATION, DAY, WAVE) == 1


def test_concurrent_replays_of_a_new_key_yield_one_reservation(ledger):
    gate = threading.Barrier(20)
    ids: list[str] = []

    def client() -> None:
        ledger.version(STATION, DAY, WAVE)
        gate.wait(timeout=60)
        for _ in range(5):
            ids.append(ledger.hold(**hold_args("same", capacity=1)).id)

    threads = [threading.Thread(target=client) for _ in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert len(ids) == 100 and len(set(ids)) == 1
    assert [r.id for r in ledger.active(STATION, DAY, WAVE, NOW)] == ids[:1]


def test_replay_when_full_returns_the_reservation(ledger):
    res = ledger.hold(**hold_args(1, capacity=1))
    assert ledger.hold(**hold_args(1, capacity=1)) == res


def test_key_reused_for_another_order_or_slot(ledger):
    ledger.hold(**hold_args(1))
    for changed in (dict(order_id="order-2"), dict(slot=TIMED_SLOT)):
        with pytest.raises(LedgerError) as err:
            ledger.hold(**hold_args(1, **changed))
        assert err.value.code == Code.KEY_REUSED


# -- expiry --------------------------------------------------------------------------------------

def test_lapsed_hold_releases_capacity_and_cannot_be_confirmed(ledger):
    first = ledger.hold(**hold_args(1, capacity=1, ttl_seconds=60))
    with pytest.raises(LedgerError) as err:
        ledger.hold(**hold_args(2, capacity=1, now=NOW + timedelta(seconds=59)))
    assert err.value.code == Code.SLOT_FULL
    expiry = NOW + timedelta(seconds=60)
    assert ledger.active(STATION, DAY, WAVE, expiry) == []
    second = ledger.hold(**hold_args(2, capacity=1, now=expiry))
    assert ledger.get(first.id).status == Status.EXPIRED
    with pytest.raises(LedgerError) as err:
        ledger.confirm(first.id, expiry)
    assert err.value.code == Code.EXPIRED
    assert ledger.confirm(second.id, expiry).status == Status.CONFIRMED


def test_confirm_after_ttl_marks_expired(ledger):
    res = ledger.hold(**hold_args(1, ttl_seconds=60))
    version = ledger.version(STATION, DAY, WAVE)
    with pytest.raises(LedgerError) as err:
        ledger.confirm(res.id, NOW + timedelta(seconds=60))
    assert err.value.code == Code.EXPIRED
    assert ledger.get(res.id).status == Status.EXPIRED
    assert ledger.version(STATION, DAY, WAVE) == version + 1
    with pytest.raises(LedgerError) as err:
        ledger.confirm(res.id, NOW)
    assert err.value.code == Code.EXPIRED


def test_expire_marks_lapsed_holds_in_every_group(ledger):
    a = ledger.hold(**hold_args(1, ttl_seconds=60))
    b = ledger.hold(**hold_args(2, wave="W4", slot=W4_SLOT, ttl_seconds=60))
    kept = ledger.hold(**hold_args(3, ttl_seconds=60))
    ledger.confirm(kept.id, NOW)
    late = ledger.hold(**hold_args(4, ttl_seconds=600))
    before = ledger.version(STATION, DAY, WAVE), ledger.version(STATION, DAY, "W4")
    assert ledger.expire(NOW + timedelta(seconds=60)) == 2
    assert ledger.expire(NOW + timedelta(seconds=60)) == 0
    assert [ledger.get(r.id).status for r in (a, b, kept, late)] == [
        Status.EXPIRED, Status.EXPIRED, Status.CONFIRMED, Status.HELD]
    assert (ledger.version(STATION, DAY, WAVE), ledger.version(STATION, DAY, "W4")) == (
        before[0] + 1, before[1] + 1)


# -- the check callback --------------------------------------------------------------------------

def test_check_sees_the_committed_active_group_and_false_writes_nothing(ledger):
    confirmed = ledger.hold(**hold_args(1))
    ledger.confirm(confirmed.id, NOW)
    held = ledger.hold(**hold_args(2, now=NOW + timedelta(seconds=1)))
    ledger.cancel(ledger.hold(**hold_args(3)).id, NOW)
    ledger.hold(**hold_args(4, ttl_seconds=10))
    other_slot = ledger.hold(**hold_args(5, slot=TIMED_SLOT, now=NOW + timedelta(seconds=2)))
    ledger.hold(**hold_args(6, wave="W4", slot=W4_SLOT))
    seen: list[list[Reservation]] = []
    version = ledger.version(STATION, DAY, WAVE)

    def refuse(active: list[Reservation]) -> bool:
        seen.append(active)
        return False

    with pytest.raises(LedgerError) as err:
        ledger.hold(**hold_args(7, now=LATER, check=refuse))
    assert err.value.code == Code.INFEASIBLE
    assert [r.id for r in seen[0]] == [confirmed.id, held.id, other_slot.id]
    assert seen[0] == ledger.active(STATION, DAY, WAVE, LATER)
    assert ledger.version(STATION, DAY, WAVE) == version
    assert ledger.usage(STATION, DAY, LATER) == {SLOT: 2, TIMED_SLOT: 1, W4_SLOT: 1}
    made = ledger.hold(**hold_args(7, now=LATER, check=lambda active: True))
    assert made.status == Status.HELD and ledger.get(made.id) == made


def test_check_runs_inside_the_group_lock(ledger):
    """A check admitting at most 5 in the group admits exactly 5 of 16 racing clients: each check
    sees every hold committed before it."""
    gate = threading.Barrier(16)
    outcomes: list[str] = []

    def client(i: int) -> None:
        ledger.version(STATION, DAY, WAVE)
        gate.wait(timeout=60)
        try:
            ledger.hold(**hold_args(i, capacity=100, check=lambda active: len(active) < 5))
            outcomes.append("held")
        except LedgerError as exc:
            outcomes.append(exc.code)

    threads = [threading.Thread(target=client, args=(i,)) for i in range(16)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert Counter(outcomes) == {"held": 5, Code.INFEASIBLE: 11}


def test_check_exception_rolls_back(ledger):
    def boom(active: list[Reservation]) -> bool:
        raise RuntimeError("planner failed")

    with pytest.raises(RuntimeError):
        ledger.hold(**hold_args(1, check=boom))
    assert ledger.version(STATION, DAY, WAVE) == 0
    assert ledger.hold(**hold_args(1)).status == Status.HELD


def test_a_lock_not_had_in_time_is_conflict(url):
    """A writer that cannot get the lock in time (SQLite busy timeout, PostgreSQL lock_timeout)
    fails with CONFLICT and leaves the ledger usable."""
    with open_ledger(url) as ledger:
        res = ledger.hold(**hold_args(1))
    if url.startswith("sqlite:///"):
        path = url[len("sqlite:///"):]
        impatient = SqliteLedger(path, busy_timeout=0.2)
        blocker = sqlite3.connect(path, isolation_level=None)
        blocker.execute("BEGIN IMMEDIATE")
    else:
        import psycopg
        impatient = open_ledger(url + "%20-clock_timeout%3D200")
        blocker = psycopg.connect(url)
        blocker.execute("SELECT version FROM slot_groups WHERE station = %s FOR UPDATE", (STATION,))
    try:
        with pytest.raises(LedgerError) as err:
            impatient.confirm(res.id, NOW)
        assert err.value.code == Code.CONFLICT
        blocker.rollback()
        assert impatient.confirm(res.id, NOW).status == Status.CONFIRMED
    finally:
        blocker.close()
        impatient.close()


# -- durability ----------------------------------------------------------------------------------

def test_acknowledged_writes_survive_kill_9(url):
    open_ledger(url).close()
    proc = subprocess.Popen([sys.executable, "-m", "tests.slots.ledger_helpers", url], cwd=REPO,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    lines: list[str] = []
    deadline = time.monotonic() + 60
    try:
        while len(lines) < 200 and time.monotonic() < deadline:
            line = proc.stdout.readline()
            if not line:
                break
            lines.append(line)
    finally:
        os.kill(proc.pid, signal.SIGKILL)
        rest, errors = proc.communicate(timeout=30)
    lines += rest.splitlines(keepends=True)
    acked = [line.split() for line in lines if line.endswith("\n")]
    held = {words[1]: words[2] for words in acked if words[0] == "held"}
    confirmed = {words[1] for words in acked if words[0] == "confirmed"}
    assert len(held) >= 50, errors
    assert proc.returncode == -signal.SIGKILL

    if url.startswith("sqlite:///"):
        with sqlite3.connect(url[len("sqlite:///"):]) as conn:
            assert conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    with open_ledger(url) as ledger:
        active = ledger.active(STATION, DAY, WAVE, NOW)
        by_id = Counter(r.id for r in active)
        assert all(by_id[rid] == 1 for rid in held)
        for rid, key in held.items():
            assert ledger.get(rid).idempotency_key == key
        assert all(ledger.get(rid).status == Status.CONFIRMED for rid in confirmed)
        assert len({r.idempotency_key for r in active}) == len(active)


# -- transitions ---------------------------------------------------------------------------------

def test_confirm_and_cancel_transitions(ledger):
    res = ledger.hold(**hold_args(1))
    confirmed = ledger.confirm(res.id, LATER)
    assert (confirmed.status, confirmed.confirmed_at) == (Status.CONFIRMED, LATER)
    assert ledger.confirm(res.id, LATER + timedelta(hours=1)) == confirmed
    assert ledger.get(res.id) == confirmed
    confirmed_after_ttl = ledger.confirm(res.id, NOW + timedelta(days=1))
    assert confirmed_after_ttl == confirmed
    cancelled = ledger.cancel(res.id, LATER)
    assert cancelled.status == Status.CANCELLED
    assert ledger.cancel(res.id, LATER) == cancelled
    with pytest.raises(LedgerError) as err:
        ledger.confirm(res.id, LATER)
    assert err.value.code == Code.CANCELLED
    assert ledger.active(STATION, DAY, WAVE, LATER) == []
    assert ledger.version(STATION, DAY, WAVE) == 3


def test_cancel_releases_capacity(ledger):
    first = ledger.hold(**hold_args(1, capacity=1))
    assert ledger.cancel(first.id, NOW).status == Status.CANCELLED
    assert ledger.hold(**hold_args(2, capacity=1)).status == Status.HELD
    confirmed = ledger.confirm(ledger.hold(**hold_args(3, capacity=2)).id, NOW)
    assert ledger.cancel(confirmed.id, NOW).status == Status.CANCELLED


def test_cancel_of_a_lapsed_hold_reports_it_expired(ledger):
    res = ledger.hold(**hold_args(1, ttl_seconds=60))
    assert ledger.cancel(res.id, NOW + timedelta(seconds=60)).status == Status.EXPIRED
    assert ledger.cancel(res.id, NOW + timedelta(seconds=61)).status == Status.EXPIRED


def test_unknown_ids_are_not_found(ledger):
    for call in (lambda: ledger.get("nope"), lambda: ledger.confirm("nope", NOW),
                 lambda: ledger.cancel("nope", NOW)):
        with pytest.raises(LedgerError) as err:
            call()
        assert err.value.code == Code.NOT_FOUND
    assert ledger.version("nowhere", DAY, None) == 0
    assert ledger.usage("nowhere", DAY, NOW) == {}


def test_round_trip_of_fields_and_a_missing_wave(ledger):
    payload = {"order": "o-1", "items": [{"sku": "A", "qty": 2}], "kg": 1.25, "note": "门口"}
    now = datetime(2026, 12, 2, 9, 0, 0, 123456)
    res = ledger.hold(**hold_args(1, wave=None, slot="PP-7|2026-12-02|pickup", payload=payload, now=now,
                                  ttl_seconds=90.5))
    assert res.expires_at == now + timedelta(seconds=90.5)
    assert ledger.get(res.id) == res and res.payload == payload and res.wave is None
    assert ledger.active(STATION, DAY, None, now) == [res]
    assert ledger.version(STATION, DAY, None) == 1
    assert ledger.active(STATION, DAY, WAVE, now) == []


def test_aware_datetimes_and_bad_arguments_are_refused(ledger):
    with pytest.raises(ValueError):
        ledger.hold(**hold_args(1, now=NOW.replace(tzinfo=timezone.utc)))
    with pytest.raises(ValueError):
        ledger.hold(**hold_args(1, ttl_seconds=0))
    with pytest.raises(ValueError):
        ledger.hold(**hold_args(1, wave=""))


def test_reopening_keeps_data_and_is_idempotent(url):
    with open_ledger(url) as ledger:
        res = ledger.hold(**hold_args(1))
    with open_ledger(url) as again, open_ledger(url) as third:
        assert again.get(res.id) == res == third.get(res.id)


def test_a_forked_child_leaves_the_parents_connections_alone(ledger):
    ledger.hold(**hold_args("parent"))
    ctx = multiprocessing.get_context("fork")
    out = ctx.Queue()
    child = ctx.Process(target=forked_hold, args=(ledger, out))
    child.start()
    child_id = out.get(timeout=60)
    child.join(timeout=60)
    assert child.exitcode == 0
    assert ledger.get(child_id).order_id == "order-child"
    assert ledger.usage(STATION, DAY, NOW) == {SLOT: 2}


def test_open_ledger_urls(tmp_path):
    with pytest.raises(ValueError, match="mysql://u:\\*\\*\\*@h/db"):
        open_ledger("mysql://u:secret@h/db")
    for bad in ("sqlite:///:memory:", "sqlite:///", "sqlite://relative.db"):
        with pytest.raises(ValueError):
            open_ledger(bad)
    with open_ledger(f"sqlite:///{tmp_path / 'a.db'}") as ledger:
        ledger.hold(**hold_args(1))
    with sqlite3.connect(tmp_path / "a.db") as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone() == ("wal",)


# -- against a model -----------------------------------------------------------------------------

OPS = st.lists(st.tuples(st.sampled_from(["hold", "confirm", "cancel", "tick", "expire"]),
                         st.integers(0, 5)), max_size=25)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(ops=OPS)
def test_random_operations_match_a_model(ledger, ops):
    """Holds (capacity 2 over keys 0..5), confirms, cancels, clock ticks and expiry sweeps agree
    with a dict model; each example uses a fresh station, so examples share the ledger."""
    station = f"S-{uuid.uuid4().hex[:8]}"
    slot = f"{station}|{DAY}|211_same_day|{WAVE}"
    now = NOW
    model: dict[int, dict] = {}

    def active(entry: dict) -> bool:
        return entry["status"] == Status.CONFIRMED or (entry["status"] == Status.HELD and entry["exp"] > now)

    for op, n in ops:
        if op == "tick":
            now += timedelta(seconds=20 * n)
        elif op == "expire":
            lapsed = [e for e in model.values() if e["status"] == Status.HELD and e["exp"] <= now]
            for entry in lapsed:
                entry["status"] = Status.EXPIRED
            assert ledger.expire(now) >= len(lapsed)
        elif op == "hold":
            args = hold_args(f"{station}-{n}", station=station, slot=slot, capacity=2, now=now,
                             ttl_seconds=60)
            expected = None
            if n not in model and sum(active(e) for e in model.values()) >= 2:
                expected = Code.SLOT_FULL
            try:
                res = ledger.hold(**args)
                assert expected is None
                if n in model:
                    assert res.id == model[n]["id"]
                else:
                    for entry in model.values():
                        if entry["status"] == Status.HELD and entry["exp"] <= now:
                            entry["status"] = Status.EXPIRED
                    model[n] = {"id": res.id, "status": Status.HELD, "exp": now + timedelta(seconds=60)}
            except LedgerError as exc:
                assert exc.code == expected
        elif n in model:
            entry = model[n]
            call = ledger.confirm if op == "confirm" else ledger.cancel
            lapsed = entry["status"] == Status.HELD and entry["exp"] <= now
            if op == "confirm":
                expected = {Status.CANCELLED: Code.CANCELLED, Status.EXPIRED: Code.EXPIRED}.get(
                    entry["status"], Code.EXPIRED if lapsed else None)
                after = Status.EXPIRED if lapsed or entry["status"] == Status.EXPIRED else (
                    entry["status"] if expected else Status.CONFIRMED)
            else:
                expected = None
                after = entry["status"] if entry["status"] in (Status.CANCELLED, Status.EXPIRED) else (
                    Status.EXPIRED if lapsed else Status.CANCELLED)
            try:
                assert call(entry["id"], now).status == after
                assert expected is None
            except LedgerError as exc:
                assert exc.code == expected
            entry["status"] = after
        assert {e["id"]: ledger.get(e["id"]).status for e in model.values()} == {
            e["id"]: e["status"] for e in model.values()}
        assert {r.id for r in ledger.active(station, DAY, WAVE, now)} == {
            e["id"] for e in model.values() if active(e)}
