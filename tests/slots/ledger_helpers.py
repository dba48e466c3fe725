"""Shared pieces of the ledger tests: backend URLs, the racing clients (threads and spawned
processes), and the writer the crash test kills (`python -m tests.slots.ledger_helpers URL`)."""

from __future__ import annotations

import os
import sys
import threading
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Any

from slots.ledger import Ledger, LedgerError, open_ledger

PG_URL = os.environ.get("SLOT211_TEST_PG_URL", "postgresql://postgres@127.0.0.1:5432/test")
NOW = datetime(2026, 12, 2, 9, 0)
STATION, DAY, WAVE = "BJ-WJ", "2026-12-02", "W3"
SLOT = f"{STATION}|{DAY}|211_same_day|{WAVE}"


def hold_args(i: int | str, **overrides: Any) -> dict[str, Any]:
    """Keyword arguments for `Ledger.hold` of client `i` on the test slot, overridable."""
    args: dict[str, Any] = dict(key=f"key-{i}", slot=SLOT, station=STATION, day=DAY, wave=WAVE,
                                order_id=f"order-{i}", payload={"order": f"order-{i}", "kg": 1.5},
                                capacity=10, now=NOW, ttl_seconds=600)
    args.update(overrides)
    return args


def pg_unreachable() -> str | None:
    """Why PostgreSQL tests cannot run (None when the server answers)."""
    import psycopg
    try:
        with psycopg.connect(PG_URL, connect_timeout=3):
            return None
    except Exception as exc:
        return f"no PostgreSQL server reachable at {PG_URL}: {exc}"


@contextmanager
def pg_test_schema() -> Iterator[str]:
    """A new PostgreSQL schema for one test, as PG_URL with its search_path set to it; dropped after."""
    import psycopg
    schema = f"ledger_test_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(PG_URL, autocommit=True) as conn:
        conn.execute(f"CREATE SCHEMA {schema}")
    try:
        yield f"{PG_URL}{'&' if '?' in PG_URL else '?'}options=-csearch_path%3D{schema}"
    finally:
        with psycopg.connect(PG_URL, autocommit=True) as conn:
            conn.execute("SET lock_timeout = '30s'")
            conn.execute(f"DROP SCHEMA {schema} CASCADE")


def hold_and_confirm(ledger: Ledger, i: int | str, capacity: int) -> tuple[str, str | None]:
    """One client's checkout: ("confirmed", id) or (error code, None)."""
    try:
        res = ledger.hold(**hold_args(i, capacity=capacity))
        return ledger.confirm(res.id, NOW).status, res.id
    except LedgerError as exc:
        return exc.code, None


def race(ledger_for: Callable[[int], Ledger], clients: list[int], capacity: int,
         before_start: Callable[[], None] | None = None) -> list[tuple[str, str | None]]:
    """Run `hold_and_confirm` for every client in its own thread (which calls `ledger_for(i)` and
    connects first), all released at once."""
    gate = threading.Barrier(len(clients), action=before_start)
    results: dict[int, tuple[str, str | None]] = {}

    def client(i: int) -> None:
        ledger = ledger_for(i)
        ledger.version(STATION, DAY, WAVE)
        gate.wait(timeout=120)
        results[i] = hold_and_confirm(ledger, i, capacity)

    threads = [threading.Thread(target=client, args=(i,)) for i in clients]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=300)
    return [results[i] for i in clients]


def process_race(url: str, clients: list[int], capacity: int, start: Any, out: Any) -> None:
    """A spawned process's share of the race: its clients share one ledger (a connection per
    thread) and start when every process is ready; puts (outcome counts, confirmed ids) on `out`."""
    ledger = open_ledger(url)
    try:
        results = race(lambda i: ledger, clients, capacity, before_start=lambda: start.wait(timeout=120))
        out.put((dict(Counter(code for code, _ in results)), [rid for _, rid in results if rid]))
    except BaseException as exc:
        out.put(({"crashed": repr(exc)}, []))
        raise
    finally:
        ledger.close()


def forked_hold(ledger: Ledger, out: Any) -> None:
    """In a forked child: hold with the parent's ledger object, then close it."""
    out.put(ledger.hold(**hold_args("child")).id)
    ledger.close()


def crash_writer(url: str, threads: int = 4) -> None:
    """Hold and confirm forever from several threads, printing "held ID KEY" and "confirmed ID"
    once each is acknowledged; the crash test kills it with SIGKILL."""
    ledger = open_ledger(url)
    printing = threading.Lock()

    def say(line: str) -> None:
        with printing:
            sys.stdout.write(line + "\n")
            sys.stdout.flush()

    def writer(t: int) -> None:
        while True:
            key = f"crash-{t}-{uuid.uuid4().hex[:8]}"
            res = ledger.hold(**hold_args(key, key=key, capacity=10**9, ttl_seconds=3600))
            say(f"held {res.id} {key}")
            ledger.confirm(res.id, NOW)
            say(f"confirmed {res.id}")

    for t in range(threads):
        threading.Thread(target=writer, args=(t,), daemon=True).start()
    threading.Event().wait()


if __name__ == "__main__":
    crash_writer(sys.argv[1])
