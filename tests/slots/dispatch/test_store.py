"""The plan store on both backends: jobs, versions written once each (a stale writer is refused),
the ETA index following the latest version, and the outbox delivered in order, at least once."""

from __future__ import annotations

import threading
from datetime import datetime, timedelta

import pytest

from slots.dispatch.outbox import LoggingSender, deliver
from slots.dispatch.store import JobStatus, PlanStore
from slots.ledger import LedgerError, open_ledger


NOW = datetime(2026, 12, 2, 7, 30)


@pytest.fixture
def store(url):
    ledger = open_ledger(url)
    yield PlanStore(ledger)
    ledger.close()


def new_job(store: PlanStore) -> dict:
    return store.create_job(station="BJ-WJ", day="2026-12-02", wave="W1", time_limit=1.0, seed=3,
                            now=NOW)


def write(store: PlanStore, job: str, expect: int, etas=(), outbox=(), label: str = "") -> int:
    return store.add_version(job, expect, plan={"label": label}, cause={"type": label},
                             changes={"n": expect}, etas=list(etas), outbox=list(outbox),
                             kpis={"cost": float(expect)}, now=NOW + timedelta(minutes=expect))


def test_a_job_is_stored_and_updated(store):
    job = new_job(store)
    assert (job["status"], job["phase"], job["version"], job["wave"]) == (JobStatus.QUEUED,
                                                                          "queued", 0, "W1")
    store.update_job(job["id"], NOW, status=JobStatus.RUNNING, phase="solving", percent=40.0,
                     attempts=1)
    got = store.job(job["id"])
    assert (got["status"], got["phase"], got["percent"], got["attempts"]) == (
        "running", "solving", 40.0, 1)
    assert store.unfinished() == [job["id"]]
    store.update_job(job["id"], NOW, status=JobStatus.DONE, kpis={"cost": 1.5})
    assert store.unfinished() == [] and store.job(job["id"])["kpis"] == {"cost": 1.5}
    with pytest.raises(ValueError, match="station"):
        store.update_job(job["id"], NOW, station="X")
    with pytest.raises(LedgerError, match="no plan job"):
        store.job("plan_nope")


def test_versions_are_kept_and_a_stale_writer_is_refused(store):
    job = new_job(store)["id"]
    assert write(store, job, 0, label="plan") == 1
    assert write(store, job, 1, label="events") == 2
    with pytest.raises(LedgerError) as refused:
        write(store, job, 1, label="late")
    assert refused.value.code == "CONFLICT"
    assert [v["version"] for v in store.versions(job)] == [1, 2]
    assert store.version(job)["plan"] == {"label": "events"}
    assert store.version(job, 1)["cause"] == {"type": "plan"}
    assert store.job(job)["version"] == 2 and store.job(job)["kpis"] == {"cost": 1.0}
    with pytest.raises(LedgerError):
        store.version(job, 9)


def test_concurrent_writers_of_one_version_get_one_winner(store):
    job = new_job(store)["id"]
    write(store, job, 0)
    results = []

    def attempt(i: int) -> None:
        try:
            results.append(write(store, job, 1, label=f"w{i}"))
        except LedgerError as exc:
            results.append(exc.code)

    threads = [threading.Thread(target=attempt, args=(i,)) for i in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(results, key=str) == [2] + ["CONFLICT"] * 5
    assert [v["version"] for v in store.versions(job)] == [1, 2]


def test_the_eta_index_follows_the_latest_version(store):
    job = new_job(store)["id"]
    write(store, job, 0, etas=[("o1", {"status": "planned"}), ("o2", {"status": "planned"})])
    write(store, job, 1, etas=[("o1", {"status": "served"})])
    assert store.eta("o1") == {"job": job, "version": 2, "status": "served"}
    assert store.eta("o2") == {"job": job, "version": 1, "status": "planned"}
    assert store.eta("o3") is None


class Flaky:
    """Fails on the n-th message it is given, once."""

    def __init__(self, fail_at: int) -> None:
        self.fail_at, self.calls, self.sent = fail_at, 0, []

    def send(self, topic, key, payload):
        self.calls += 1
        if self.calls == self.fail_at:
            raise ConnectionError("SMS gateway down")
        self.sent.append(key)


def test_the_outbox_is_delivered_in_order_and_a_failure_is_retried(store):
    job = new_job(store)["id"]
    msgs = [("promise.broken", f"o{i}", {"i": i}) for i in range(5)]
    write(store, job, 0, outbox=msgs)
    flaky = Flaky(fail_at=3)
    assert deliver(store, flaky, NOW) == 2
    assert flaky.sent == ["o0", "o1"] and len(store.pending()) == 3
    assert deliver(store, flaky, NOW) == 3
    assert flaky.sent == ["o0", "o1", "o2", "o3", "o4"] and store.pending() == []
    logged = LoggingSender()
    assert deliver(store, logged, NOW) == 0 and logged.sent == []
