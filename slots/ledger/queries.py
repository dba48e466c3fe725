"""The SQL both stores run, written with `?` placeholders (the PostgreSQL store turns them into `%s`).

`{for_update}` is filled by the store: " FOR UPDATE" on PostgreSQL, empty on SQLite, whose
`BEGIN IMMEDIATE` already holds the database's write lock.
"""

from __future__ import annotations

from .base import Status

COLUMNS = ("id, idempotency_key, slot, station, day, wave, order_id, status, created_at, expires_at, "
           "confirmed_at, payload, units")

GROUP = "station = ? AND day = ? AND wave = ?"
ACTIVE = f"(status = '{Status.CONFIRMED}' OR (status = '{Status.HELD}' AND expires_at > ?))"

ENSURE_GROUP = "INSERT INTO slot_groups (station, day, wave, version) VALUES (?, ?, ?, 0) ON CONFLICT DO NOTHING"
LOCK_GROUP = f"SELECT version FROM slot_groups WHERE {GROUP}{{for_update}}"
BUMP_GROUP = f"UPDATE slot_groups SET version = version + 1 WHERE {GROUP}"
GROUP_VERSION = f"SELECT version FROM slot_groups WHERE {GROUP}"

BY_ID = f"SELECT {COLUMNS} FROM reservations WHERE id = ?"
BY_KEY = f"SELECT {COLUMNS} FROM reservations WHERE idempotency_key = ?"
GROUP_OF = "SELECT station, day, wave FROM reservations WHERE id = ?"
INSERT = (f"INSERT INTO reservations ({COLUMNS}) "
          "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)")
SET_STATUS = "UPDATE reservations SET status = ? WHERE id = ?"
SET_CONFIRMED = f"UPDATE reservations SET status = '{Status.CONFIRMED}', confirmed_at = ? WHERE id = ?"

EXPIRE_GROUP = (f"UPDATE reservations SET status = '{Status.EXPIRED}' "
                f"WHERE {GROUP} AND status = '{Status.HELD}' AND expires_at <= ?")
LAPSED_GROUPS = (f"SELECT DISTINCT station, day, wave FROM reservations "
                 f"WHERE status = '{Status.HELD}' AND expires_at <= ? ORDER BY station, day, wave")

COUNT_SLOT = f"SELECT count(*) FROM reservations WHERE {GROUP} AND slot = ? AND {ACTIVE}"
COUNT_POOL = (f"SELECT coalesce(sum(units), 0) FROM reservations WHERE station = ? AND day = ? "
              f"AND substr(slot, length(slot) - ? + 1) = ? AND {ACTIVE}")
ACTIVE_IN_GROUP = f"SELECT {COLUMNS} FROM reservations WHERE {GROUP} AND {ACTIVE} ORDER BY created_at, seq"
USAGE = (f"SELECT slot, count(*), coalesce(sum(units), 0) FROM reservations WHERE station = ? AND day = ? AND {ACTIVE} "
         "GROUP BY slot ORDER BY slot")

APPLIED_MIGRATIONS = "SELECT version FROM ledger_migrations"
RECORD_MIGRATION = "INSERT INTO ledger_migrations (version) VALUES (?)"
CONFIRMED_IN_DAY = (f"SELECT {COLUMNS} FROM reservations WHERE station = ? AND day = ? "
                    f"AND status = '{Status.CONFIRMED}' ORDER BY seq")
