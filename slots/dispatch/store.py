"""Plan jobs, plan versions, the ETA index and the outbox, in the ledger's database.

The store shares the ledger's connections and dialect (slots/ledger/store.py), so plan state lives
wherever reservations do: one SQLite file, or PostgreSQL for several API replicas, and a job
survives an API restart.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any, Iterable, Sequence

from ..ledger.base import Code, LedgerError
from ..ledger.store import Session, SqlLedger

JOB_COLUMNS = ("id, station, day, wave, time_limit, seed, status, phase, percent, best_cost, "
               "error, attempts, version, created_at, updated_at, kpis")
UPDATABLE = {"status", "phase", "percent", "best_cost", "error", "attempts", "kpis"}


class JobStatus:
    """A plan job's life: queued -> running -> done | failed (stable strings)."""

    QUEUED = "queued"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"
    UNFINISHED = (QUEUED, RUNNING)


class PlanStore:
    """Plan jobs and their versions in the ledger's database (`ledger` is an SqlLedger)."""

    def __init__(self, ledger: SqlLedger) -> None:
        self.ledger = ledger

    # -- jobs -------------------------------------------------------------------------------

    def create_job(self, *, station: str, day: str, wave: str | None, time_limit: float,
                   seed: int, now: datetime) -> dict[str, Any]:
        """A new queued job; returns it."""
        job_id = "plan_" + uuid.uuid4().hex[:16]
        with self.ledger.write() as db:
            db.run(f"INSERT INTO plan_jobs ({JOB_COLUMNS}) VALUES "
                         "(?, ?, ?, ?, ?, ?, ?, ?, 0, NULL, NULL, 0, 0, ?, ?, NULL)",
                    (job_id, station, day, wave or "", float(time_limit), int(seed),
                     JobStatus.QUEUED, "queued", db.to_ts(now), db.to_ts(now)))
        return self.job(job_id)

    def job(self, job_id: str) -> dict[str, Any]:
        """The job as a dict; LedgerError NOT_FOUND if there is none."""
        with self.ledger.read() as db:
            row = db.run(f"SELECT {JOB_COLUMNS} FROM plan_jobs WHERE id = ?",
                          (job_id,)).fetchone()
        if row is None:
            raise LedgerError(Code.NOT_FOUND, f"no plan job {job_id}")
        return self._job(db, row)

    def update_job(self, job_id: str, now: datetime, **fields: Any) -> None:
        """Set some of a job's progress fields (status, phase, percent, best_cost, error, ...)."""
        bad = set(fields) - UPDATABLE
        if bad:
            raise ValueError(f"{sorted(bad)[0]}: not a job field that can be updated")
        names = sorted(fields)
        sets = ", ".join(f"{n} = ?" for n in names)
        with self.ledger.write() as db:
            values = [db.to_json(fields[n]) if n == "kpis" and fields[n] is not None
                      else fields[n] for n in names]
            db.run(f"UPDATE plan_jobs SET {sets}, updated_at = ? WHERE id = ?",
                   (*values, db.to_ts(now), job_id))

    def claim(self, job_id: str, attempts: int, now: datetime) -> bool:
        """Start run number `attempts + 1` of an unfinished job, unless another runner (a
        replica, or this server before a restart) claimed it since it was read: compare and set
        on the attempt count."""
        with self.ledger.write() as db:
            done = db.run("UPDATE plan_jobs SET attempts = ?, status = ?, phase = ?, "
                                "percent = 0, updated_at = ? WHERE id = ? AND attempts = ? AND "
                                "status IN (?, ?)",
                           (attempts + 1, JobStatus.RUNNING, "loading", db.to_ts(now), job_id,
                            attempts, *JobStatus.UNFINISHED)).rowcount
        return done == 1

    def unfinished(self) -> list[str]:
        """Jobs queued or running (after a restart, these are run again), oldest first."""
        with self.ledger.read() as db:
            rows = db.run("SELECT id FROM plan_jobs WHERE status IN (?, ?) ORDER BY "
                                "created_at", JobStatus.UNFINISHED).fetchall()
        return [r[0] for r in rows]

    def jobs(self, station: str | None = None, limit: int = 100) -> list[dict[str, Any]]:
        """The newest jobs, of one station or all."""
        where, args = ("WHERE station = ?", (station,)) if station else ("", ())
        with self.ledger.read() as db:
            rows = db.run(f"SELECT {JOB_COLUMNS} FROM plan_jobs {where} ORDER BY "
                                f"created_at DESC LIMIT {int(limit)}", args).fetchall()
        return [self._job(db, r) for r in rows]

    # -- versions ---------------------------------------------------------------------------

    def add_version(self, job_id: str, expect: int, *, plan: dict, cause: dict, changes: dict,
                    etas: Iterable[tuple[str, dict]], outbox: Iterable[tuple[str, str, dict]],
                    kpis: dict, now: datetime) -> int:
        """Write version `expect + 1` with its ETAs and outbox messages, in one transaction.

        If another writer got there first (the job is no longer at `expect`), nothing is written
        and it is a LedgerError CONFLICT: re-plan from the newer version.
        """
        with self.ledger.write() as db:
            row = db.run(f"SELECT version FROM plan_jobs WHERE id = ?{db.for_update}",
                          (job_id,)).fetchone()
            if row is None:
                raise LedgerError(Code.NOT_FOUND, f"no plan job {job_id}")
            if int(row[0]) != expect:
                raise LedgerError(Code.CONFLICT, f"plan {job_id} is at version {row[0]}, not "
                                                 f"{expect}: re-plan from the newer version")
            version = expect + 1
            db.run("INSERT INTO plan_versions (job_id, version, created_at, cause, changes, "
                         "plan) VALUES (?, ?, ?, ?, ?, ?)",
                    (job_id, version, db.to_ts(now), db.to_json(cause), db.to_json(changes),
                     db.to_json(plan)))
            db.run("UPDATE plan_jobs SET version = ?, kpis = ?, updated_at = ? WHERE id = ?",
                    (version, db.to_json(kpis), db.to_ts(now), job_id))
            for order, payload in etas:
                db.run("DELETE FROM order_etas WHERE order_id = ?", (order,))
                db.run("INSERT INTO order_etas (order_id, job_id, version, payload) VALUES "
                             "(?, ?, ?, ?)", (order, job_id, version, db.to_json(payload)))
            for topic, key, payload in outbox:
                db.run("INSERT INTO outbox (topic, msg_key, payload, created_at) VALUES "
                             "(?, ?, ?, ?)", (topic, key, db.to_json(payload), db.to_ts(now)))
        return version

    def version(self, job_id: str, version: int | None = None) -> dict[str, Any]:
        """One plan version (the latest by default): {version, created_at, cause, changes, plan}."""
        with self.ledger.read() as db:
            if version is None:
                row = db.run("SELECT version, created_at, cause, changes, plan FROM "
                                   "plan_versions WHERE job_id = ? ORDER BY version DESC LIMIT 1",
                              (job_id,)).fetchone()
            else:
                row = db.run("SELECT version, created_at, cause, changes, plan FROM "
                                   "plan_versions WHERE job_id = ? AND version = ?",
                              (job_id, int(version))).fetchone()
        if row is None:
            what = "version yet" if version is None else f"version {version}"
            raise LedgerError(Code.NOT_FOUND, f"plan {job_id} has no {what}")
        return {"version": int(row[0]), "created_at": db.from_ts(row[1]),
                "cause": db.from_json(row[2]), "changes": db.from_json(row[3]),
                "plan": db.from_json(row[4])}

    def versions(self, job_id: str) -> list[dict[str, Any]]:
        """Every version's number, time, cause and changes (not the plans), oldest first."""
        with self.ledger.read() as db:
            rows = db.run("SELECT version, created_at, cause, changes FROM plan_versions "
                                "WHERE job_id = ? ORDER BY version", (job_id,)).fetchall()
        return [{"version": int(r[0]), "created_at": db.from_ts(r[1]), "cause": db.from_json(r[2]),
                 "changes": db.from_json(r[3])} for r in rows]

    # -- ETAs and the outbox ---------------------------------------------------------------

    def eta(self, order_id: str) -> dict[str, Any] | None:
        """The order's entry from the latest plan version that holds it, or None."""
        with self.ledger.read() as db:
            row = db.run("SELECT job_id, version, payload FROM order_etas WHERE "
                               "order_id = ?", (order_id,)).fetchone()
        if row is None:
            return None
        return {"job": row[0], "version": int(row[1]), **db.from_json(row[2])}

    def pending(self, limit: int = 100) -> list[dict[str, Any]]:
        """Outbox messages not yet sent, oldest first."""
        with self.ledger.read() as db:
            rows = db.run("SELECT seq, topic, msg_key, payload, created_at FROM outbox "
                                f"WHERE sent_at IS NULL ORDER BY seq LIMIT {int(limit)}").fetchall()
        return [{"seq": int(r[0]), "topic": r[1], "key": r[2], "payload": db.from_json(r[3]),
                 "created_at": db.from_ts(r[4])} for r in rows]

    def mark_sent(self, seqs: Sequence[int], now: datetime) -> None:
        with self.ledger.write() as db:
            for seq in seqs:
                db.run("UPDATE outbox SET sent_at = ? WHERE seq = ?", (db.to_ts(now), seq))

    def _job(self, db: Session, row: Sequence[Any]) -> dict[str, Any]:
        return {"id": row[0], "station": row[1], "day": row[2], "wave": row[3] or None,
                "time_limit": float(row[4]), "seed": int(row[5]), "status": row[6],
                "phase": row[7], "percent": float(row[8]),
                "best_cost": None if row[9] is None else float(row[9]), "error": row[10],
                "attempts": int(row[11]), "version": int(row[12]),
                "created_at": db.from_ts(row[13]), "updated_at": db.from_ts(row[14]),
                "kpis": None if row[15] is None else db.from_json(row[15])}
