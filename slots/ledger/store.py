"""The ledger's transactions, written once for both stores.

`SqlLedger` holds every operation; a store subclass supplies the connection, the write transaction
and a few dialect hooks (placeholders, row locks, column types, value conversion, error mapping).
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any

from . import queries as q
from .base import Check, Code, LedgerError, Pool, Reservation, Status
from .schema import MIGRATIONS, MIGRATIONS_TABLE, Dialect, statements

Group = tuple[str, str, str]  # (station, day, wave column); the wave column is "" for no wave
POOL_PREFIX = "pool:"  # the wave column of a pool's lock row


class Session:
    """One transaction (or autocommitted read) on the ledger's database, for a store that keeps
    its own tables beside the reservations (slots/dispatch/store.py): SQL with `?` placeholders
    and the dialect's timestamp and JSON conversions, so it runs on SQLite and PostgreSQL alike."""

    def __init__(self, ledger: SqlLedger, cur: Any) -> None:
        self._ledger, self._cur = ledger, cur
        self.for_update = ledger.for_update

    def run(self, sql: str, params: Sequence[Any] = ()) -> Any:
        """Execute `sql`; the cursor is returned for fetchone, fetchall and rowcount."""
        return self._ledger._exec(self._cur, sql, params)

    def to_ts(self, value: datetime) -> Any:
        return self._ledger._ts_in(value)

    def from_ts(self, value: Any) -> datetime:
        return self._ledger._ts_out(value)

    def to_json(self, value: Any) -> Any:
        return self._ledger._json_in(value)

    def from_json(self, value: Any) -> Any:
        return self._ledger._json_out(value)


class SqlLedger:
    """A `Ledger` over a SQL database; see docs/ledger.md for the states and the locking."""

    dialect: Dialect
    for_update: str = ""
    unique_violation: tuple[type[BaseException], ...] = ()

    # -- hooks a store provides --------------------------------------------------------------

    def _write(self) -> AbstractContextManager[Any]:
        """A cursor inside one write transaction that serialises with other writers of a group
        once `_lock` has run; commits on normal exit, rolls back on an exception."""
        raise NotImplementedError

    def _read(self) -> AbstractContextManager[Any]:
        """A cursor for autocommitted reads."""
        raise NotImplementedError

    def _sql(self, text: str) -> str:
        return text

    def _ts_in(self, value: datetime) -> Any:
        return value

    def _ts_out(self, value: Any) -> datetime:
        return value

    def _json_in(self, value: dict) -> Any:
        return json.dumps(value)

    def _json_out(self, value: Any) -> dict:
        return json.loads(value) if isinstance(value, str) else value

    def _migration_lock(self, cur: Any) -> None:
        """Serialise concurrent openers while they migrate (a no-op where `_write` already does)."""

    def _is_conflict(self, exc: BaseException) -> bool:
        """Whether a database error means "lost a race for a lock" (reported as CONFLICT)."""
        return False

    def close(self) -> None:
        raise NotImplementedError

    # -- the ledger ----------------------------------------------------------------------------

    def hold(self, *, key: str, slot: str, station: str, day: str, wave: str | None,
             order_id: str, payload: dict, capacity: int, now: datetime, ttl_seconds: float,
             check: Check | None = None, pool: Pool | None = None, units: int = 1
             ) -> Reservation:
        """Hold one place in `slot` for `order_id`, or return the reservation already made under `key`.

        Refuses with SLOT_FULL when the slot has `capacity` active reservations (or `pool` has
        no room for `units` more: the pool's lock is taken too, in sorted order), INFEASIBLE when
        `check(active reservations of the group)` is False, KEY_REUSED when `key` was used for
        another slot or order. A refusal writes nothing.
        """
        _require_naive(now)
        if capacity < 0 or ttl_seconds <= 0:
            raise ValueError(f"capacity must be >= 0 and ttl_seconds > 0, got {capacity}, {ttl_seconds}")
        if isinstance(units, bool) or not isinstance(units, int) or units < 1:
            raise ValueError(f"units must be a whole number >= 1, got {units!r}")
        group = (station, day, _wave_column(wave))
        found = self._find_by_key(key)
        if found is not None:
            return _replayed(found, key, slot, order_id)
        stored = json.loads(json.dumps(payload))
        made = Reservation(id=uuid.uuid4().hex, idempotency_key=key, slot=slot, station=station,
                           day=day, wave=wave, order_id=order_id, status=Status.HELD,
                           created_at=now, expires_at=now + timedelta(seconds=ttl_seconds),
                           payload=stored, units=units)
        try:
            with self._transaction() as cur:
                shared = (station, day, POOL_PREFIX + pool.name) if pool is not None else None
                for g in sorted({group, shared} - {None}):
                    self._lock(cur, g)
                found = self._fetch_one(cur, q.BY_KEY, (key,))
                if found is not None:
                    return _replayed(found, key, slot, order_id)
                self._expire_group(cur, group, now)
                taken = self._exec(cur, q.COUNT_SLOT, (*group, slot, self._ts_in(now))).fetchone()[0]
                if taken >= capacity:
                    raise LedgerError(Code.SLOT_FULL, f"slot {slot} has {taken} of {capacity} taken")
                if pool is not None:
                    used = self._exec(cur, q.COUNT_POOL, (station, day, len(pool.suffix),
                                                          pool.suffix, self._ts_in(now))).fetchone()[0]
                    if used + units > pool.capacity:
                        raise LedgerError(Code.SLOT_FULL, f"{pool.name} has {used} of "
                                                          f"{pool.capacity} taken, {units} wanted")
                if check is not None and not check(self._fetch_all(cur, q.ACTIVE_IN_GROUP,
                                                                   (*group, self._ts_in(now)))):
                    raise LedgerError(Code.INFEASIBLE, f"the plan of {station} {day} {wave} "
                                                       f"cannot take order {order_id}")
                self._exec(cur, q.INSERT, self._params(made))
                self._exec(cur, q.BUMP_GROUP, group)
        except self.unique_violation:
            found = self._find_by_key(key)
            if found is None:
                raise
            return _replayed(found, key, slot, order_id)
        return made

    def confirm(self, reservation_id: str, now: datetime) -> Reservation:
        """Turn a live hold into a confirmed reservation; confirming twice returns it unchanged.

        A hold past its expiry is marked expired and refused with EXPIRED; a cancelled one with
        CANCELLED.
        """
        _require_naive(now)
        group = self._group_of(reservation_id)
        with self._transaction() as cur:
            self._lock(cur, group)
            res = self._fetch_existing(cur, reservation_id)
            if res.status == Status.CONFIRMED:
                return res
            if res.status == Status.CANCELLED:
                raise LedgerError(Code.CANCELLED, f"reservation {reservation_id} was cancelled")
            if res.status == Status.HELD and res.expires_at > now:
                self._exec(cur, q.SET_CONFIRMED, (self._ts_in(now), reservation_id))
                self._exec(cur, q.BUMP_GROUP, group)
                return replace(res, status=Status.CONFIRMED, confirmed_at=now)
            if res.status == Status.HELD:
                self._exec(cur, q.SET_STATUS, (Status.EXPIRED, reservation_id))
                self._exec(cur, q.BUMP_GROUP, group)
        raise LedgerError(Code.EXPIRED, f"reservation {reservation_id} expired at {res.expires_at}")

    def cancel(self, reservation_id: str, now: datetime) -> Reservation:
        """Release a held or confirmed reservation; cancelling twice returns it unchanged.

        A hold already past its expiry is marked (and returned) expired rather than cancelled.
        """
        _require_naive(now)
        group = self._group_of(reservation_id)
        with self._transaction() as cur:
            self._lock(cur, group)
            res = self._fetch_existing(cur, reservation_id)
            if res.status in (Status.CANCELLED, Status.EXPIRED):
                return res
            lapsed = res.status == Status.HELD and res.expires_at <= now
            status = Status.EXPIRED if lapsed else Status.CANCELLED
            self._exec(cur, q.SET_STATUS, (status, reservation_id))
            self._exec(cur, q.BUMP_GROUP, group)
            return replace(res, status=status)

    def get(self, reservation_id: str) -> Reservation:
        """The reservation as last written (a lapsed hold reads "held" until something expires it)."""
        with self._read() as cur:
            return self._fetch_existing(cur, reservation_id)

    def expire(self, now: datetime) -> int:
        """Mark every hold whose expiry is at or before `now` expired; returns how many."""
        _require_naive(now)
        with self._read() as cur:
            groups = [tuple(row) for row in self._exec(cur, q.LAPSED_GROUPS, (self._ts_in(now),)).fetchall()]
        total = 0
        for group in groups:
            with self._transaction() as cur:
                self._lock(cur, group)
                count = self._expire_group(cur, group, now)
                if count:
                    self._exec(cur, q.BUMP_GROUP, group)
            total += count
        return total

    def active(self, station: str, day: str, wave: str | None, now: datetime) -> list[Reservation]:
        """The group's reservations taking capacity at `now`, oldest first."""
        _require_naive(now)
        with self._read() as cur:
            return self._fetch_all(cur, q.ACTIVE_IN_GROUP,
                                   (station, day, _wave_column(wave), self._ts_in(now)))

    def confirmed(self, station: str, day: str) -> list[Reservation]:
        """The station's confirmed reservations for waves on `day`, oldest first (what a
        dispatcher plans)."""
        with self._read() as cur:
            return self._fetch_all(cur, q.CONFIRMED_IN_DAY, (station, day))

    def usage(self, station: str, day: str, now: datetime) -> dict[str, int]:
        """Active reservations per slot of a station's day (slots with none are left out)."""
        return {slot: count for slot, (count, _) in self.usage_units(station, day, now).items()}

    def usage_units(self, station: str, day: str, now: datetime) -> dict[str, tuple[int, int]]:
        """(active reservations, their units) per slot of a station's day, in one read."""
        _require_naive(now)
        with self._read() as cur:
            rows = self._exec(cur, q.USAGE, (station, day, self._ts_in(now))).fetchall()
        return {slot: (int(count), int(units)) for slot, count, units in rows}

    def version(self, station: str, day: str, wave: str | None) -> int:
        """How many writes have changed the group (0 for a group never written)."""
        with self._read() as cur:
            row = self._exec(cur, q.GROUP_VERSION, (station, day, _wave_column(wave))).fetchone()
        return 0 if row is None else int(row[0])

    @contextmanager
    def write(self) -> Iterator[Session]:
        """A write transaction for tables beside the ledger's: commits on normal exit, rolls
        back on an exception, and a lost lock race is a LedgerError CONFLICT."""
        with self._transaction() as cur:
            yield Session(self, cur)

    @contextmanager
    def read(self) -> Iterator[Session]:
        """Autocommitted reads of tables beside the ledger's."""
        with self._read() as cur:
            yield Session(self, cur)

    def __enter__(self) -> SqlLedger:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- shared machinery ----------------------------------------------------------------------

    @contextmanager
    def _transaction(self) -> Iterator[Any]:
        try:
            with self._write() as cur:
                yield cur
        except LedgerError:
            raise
        except Exception as exc:
            if self._is_conflict(exc):
                raise LedgerError(Code.CONFLICT, f"lost a race for a lock: {exc}") from exc
            raise

    def _migrate(self) -> None:
        with self._transaction() as cur:
            self._migration_lock(cur)
            self._exec(cur, MIGRATIONS_TABLE)
            applied = {row[0] for row in self._exec(cur, q.APPLIED_MIGRATIONS).fetchall()}
            for version, ddl in MIGRATIONS:
                if version in applied:
                    continue
                for statement in statements(self.dialect, ddl):
                    self._exec(cur, statement)
                self._exec(cur, q.RECORD_MIGRATION, (version,))

    def _exec(self, cur: Any, sql: str, params: Sequence[Any] = ()) -> Any:
        cur.execute(self._sql(sql), tuple(params))
        return cur

    def _lock(self, cur: Any, group: Group) -> None:
        self._exec(cur, q.ENSURE_GROUP, group)
        self._exec(cur, q.LOCK_GROUP.format(for_update=self.for_update), group).fetchall()

    def _expire_group(self, cur: Any, group: Group, now: datetime) -> int:
        return max(0, self._exec(cur, q.EXPIRE_GROUP, (*group, self._ts_in(now))).rowcount)

    def _group_of(self, reservation_id: str) -> Group:
        with self._read() as cur:
            row = self._exec(cur, q.GROUP_OF, (reservation_id,)).fetchone()
        if row is None:
            raise LedgerError(Code.NOT_FOUND, f"no reservation {reservation_id}")
        return (row[0], row[1], row[2])

    def _find_by_key(self, key: str) -> Reservation | None:
        with self._read() as cur:
            return self._fetch_one(cur, q.BY_KEY, (key,))

    def _fetch_existing(self, cur: Any, reservation_id: str) -> Reservation:
        res = self._fetch_one(cur, q.BY_ID, (reservation_id,))
        if res is None:
            raise LedgerError(Code.NOT_FOUND, f"no reservation {reservation_id}")
        return res

    def _fetch_one(self, cur: Any, sql: str, params: Sequence[Any]) -> Reservation | None:
        row = self._exec(cur, sql, params).fetchone()
        return None if row is None else self._reservation(row)

    def _fetch_all(self, cur: Any, sql: str, params: Sequence[Any]) -> list[Reservation]:
        return [self._reservation(row) for row in self._exec(cur, sql, params).fetchall()]

    def _params(self, res: Reservation) -> tuple[Any, ...]:
        return (res.id, res.idempotency_key, res.slot, res.station, res.day, _wave_column(res.wave),
                res.order_id, res.status, self._ts_in(res.created_at), self._ts_in(res.expires_at),
                None if res.confirmed_at is None else self._ts_in(res.confirmed_at),
                self._json_in(res.payload), res.units)

    def _reservation(self, row: Sequence[Any]) -> Reservation:
        return Reservation(id=row[0], idempotency_key=row[1], slot=row[2], station=row[3], day=row[4],
                           wave=row[5] or None, order_id=row[6], status=row[7],
                           created_at=self._ts_out(row[8]), expires_at=self._ts_out(row[9]),
                           confirmed_at=None if row[10] is None else self._ts_out(row[10]),
                           payload=self._json_out(row[11]), units=int(row[12]))


def _wave_column(wave: str | None) -> str:
    """The stored wave: "" stands for "no wave", so (station, day, wave) can be a primary key."""
    if wave == "":
        raise ValueError('wave must be None or a non-empty id, not ""')
    return "" if wave is None else wave


def _replayed(found: Reservation, key: str, slot: str, order_id: str) -> Reservation:
    if found.slot != slot or found.order_id != order_id:
        raise LedgerError(Code.KEY_REUSED, f"key {key} already holds {found.slot} for order "
                                           f"{found.order_id}")
    return found


def _require_naive(now: datetime) -> None:
    if now.tzinfo is not None and now.utcoffset() is not None:
        raise ValueError(f"the ledger takes naive local datetimes, got {now.isoformat()}")
