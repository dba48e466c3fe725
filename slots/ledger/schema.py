"""The ledger's tables, as numbered migrations shared by both stores.

Each migration is a list of DDL templates; `{seq}`, `{ts}` and `{json}` are the dialect's column
types (see `Dialect`), so SQLite and PostgreSQL run the same table definitions.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Dialect:
    """Column types a store substitutes into the DDL templates."""

    seq: str  # an auto-increasing integer primary key
    ts: str  # a naive timestamp
    json: str  # a JSON document


MIGRATIONS: list[tuple[int, list[str]]] = [
    (1, [
        """CREATE TABLE IF NOT EXISTS slot_groups (
            station TEXT NOT NULL,
            day TEXT NOT NULL,
            wave TEXT NOT NULL,
            version BIGINT NOT NULL DEFAULT 0,
            PRIMARY KEY (station, day, wave)
        )""",
        """CREATE TABLE IF NOT EXISTS reservations (
            seq {seq},
            id TEXT NOT NULL UNIQUE,
            idempotency_key TEXT NOT NULL UNIQUE,
            slot TEXT NOT NULL,
            station TEXT NOT NULL,
            day TEXT NOT NULL,
            wave TEXT NOT NULL,
            order_id TEXT NOT NULL,
            status TEXT NOT NULL,
            created_at {ts} NOT NULL,
            expires_at {ts} NOT NULL,
            confirmed_at {ts},
            payload {json} NOT NULL
        )""",
        "CREATE INDEX IF NOT EXISTS reservations_group ON reservations (station, day, wave, status)",
        "CREATE INDEX IF NOT EXISTS reservations_expiry ON reservations (status, expires_at)",
    ]),
    (2, [
        """CREATE TABLE IF NOT EXISTS plan_jobs (
            id TEXT PRIMARY KEY,
            station TEXT NOT NULL,
            day TEXT NOT NULL,
            wave TEXT NOT NULL,
            time_limit DOUBLE PRECISION NOT NULL,
            seed BIGINT NOT NULL,
            status TEXT NOT NULL,
            phase TEXT NOT NULL,
            percent DOUBLE PRECISION NOT NULL DEFAULT 0,
            best_cost DOUBLE PRECISION,
            error TEXT,
            attempts INTEGER NOT NULL DEFAULT 0,
            version INTEGER NOT NULL DEFAULT 0,
            created_at {ts} NOT NULL,
            updated_at {ts} NOT NULL,
            kpis {json}
        )""",
        "CREATE INDEX IF NOT EXISTS plan_jobs_status ON plan_jobs (status)",
        """CREATE TABLE IF NOT EXISTS plan_versions (
            job_id TEXT NOT NULL,
            version INTEGER NOT NULL,
            created_at {ts} NOT NULL,
            cause {json} NOT NULL,
            changes {json} NOT NULL,
            plan {json} NOT NULL,
            PRIMARY KEY (job_id, version)
        )""",
        """CREATE TABLE IF NOT EXISTS order_etas (
            order_id TEXT PRIMARY KEY,
            job_id TEXT NOT NULL,
            version INTEGER NOT NULL,
            payload {json} NOT NULL
        )""",
        """CREATE TABLE IF NOT EXISTS outbox (
            seq {seq},
            topic TEXT NOT NULL,
            msg_key TEXT NOT NULL,
            payload {json} NOT NULL,
            created_at {ts} NOT NULL,
            sent_at {ts}
        )""",
        "CREATE INDEX IF NOT EXISTS outbox_pending ON outbox (sent_at, seq)",
    ]),
    (3, [
        "ALTER TABLE reservations ADD COLUMN units INTEGER NOT NULL DEFAULT 1",
    ]),
]

MIGRATIONS_TABLE = "CREATE TABLE IF NOT EXISTS ledger_migrations (version INTEGER PRIMARY KEY)"


def statements(dialect: Dialect, migration: list[str]) -> list[str]:
    """The migration's DDL with the dialect's column types filled in."""
    return [ddl.format(seq=dialect.seq, ts=dialect.ts, json=dialect.json) for ddl in migration]
