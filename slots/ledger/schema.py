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
]

MIGRATIONS_TABLE = "CREATE TABLE IF NOT EXISTS ledger_migrations (version INTEGER PRIMARY KEY)"


def statements(dialect: Dialect, migration: list[str]) -> list[str]:
    """The migration's DDL with the dialect's column types filled in."""
    return [ddl.format(seq=dialect.seq, ts=dialect.ts, json=dialect.json) for ddl in migration]
