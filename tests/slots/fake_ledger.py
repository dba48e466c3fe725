"""An in-memory ledger following slots/ledger/base.py's protocol, for service tests that need no
database: one lock stands for the per-group row lock, and a refused hold writes nothing."""

from __future__ import annotations

import itertools
import json
import threading
from dataclasses import replace
from datetime import datetime, timedelta

from slots.ledger.base import Code, LedgerError, Reservation, Status


class FakeLedger:
    """Holds, confirmations and cancellations in a dict; `calls` counts check invocations."""

    def __init__(self) -> None:
        self._lock = threading.RLock()
        self._by_id: dict[str, Reservation] = {}
        self._by_key: dict[str, str] = {}
        self._versions: dict[tuple, int] = {}
        self._ids = itertools.count(1)
        self.checks = 0

    def hold(self, *, key: str, slot: str, station: str, day: str, wave: str | None,
             order_id: str, payload: dict, capacity: int, now: datetime, ttl_seconds: float,
             check=None, pool=None, units: int = 1) -> Reservation:
        with self._lock:
            if key in self._by_key:
                found = self._by_id[self._by_key[key]]
                if found.slot != slot or found.order_id != order_id:
                    raise LedgerError(Code.KEY_REUSED, f"key {key} holds {found.slot}")
                return found
            group = (station, day, wave)
            self._expire_group(group, now)
            active = self.active(station, day, wave, now)
            if sum(1 for r in active if r.slot == slot) >= capacity:
                raise LedgerError(Code.SLOT_FULL, f"slot {slot} is full")
            if pool is not None and sum(
                    r.units for r in self._by_id.values() if r.station == station and r.day == day
                    and r.slot.endswith(pool.suffix) and r.is_active(now)) + units > pool.capacity:
                raise LedgerError(Code.SLOT_FULL, f"{pool.name} is full")
            if check is not None:
                self.checks += 1
                if not check(active):
                    raise LedgerError(Code.INFEASIBLE, "check refused")
            res = Reservation(id=f"R{next(self._ids)}", idempotency_key=key, slot=slot,
                              station=station, day=day, wave=wave, order_id=order_id,
                              status=Status.HELD, created_at=now,
                              expires_at=now + timedelta(seconds=ttl_seconds),
                              payload=json.loads(json.dumps(payload)), units=units)
            self._by_id[res.id] = res
            self._by_key[key] = res.id
            self._bump(group)
            return res

    def confirm(self, reservation_id: str, now: datetime) -> Reservation:
        with self._lock:
            res = self.get(reservation_id)
            if res.status == Status.CONFIRMED:
                return res
            if res.status == Status.CANCELLED:
                raise LedgerError(Code.CANCELLED, "cancelled")
            if res.status == Status.HELD and res.expires_at > now:
                return self._set(res, Status.CONFIRMED, confirmed_at=now)
            if res.status == Status.HELD:
                self._set(res, Status.EXPIRED)
            raise LedgerError(Code.EXPIRED, "expired")

    def cancel(self, reservation_id: str, now: datetime) -> Reservation:
        with self._lock:
            res = self.get(reservation_id)
            if res.status in (Status.CANCELLED, Status.EXPIRED):
                return res
            lapsed = res.status == Status.HELD and res.expires_at <= now
            return self._set(res, Status.EXPIRED if lapsed else Status.CANCELLED)

    def get(self, reservation_id: str) -> Reservation:
        with self._lock:
            if reservation_id not in self._by_id:
                raise LedgerError(Code.NOT_FOUND, f"no reservation {reservation_id}")
            return self._by_id[reservation_id]

    def expire(self, now: datetime) -> int:
        with self._lock:
            groups = {(r.station, r.day, r.wave) for r in self._by_id.values()}
            return sum(self._expire_group(g, now) for g in groups)

    def active(self, station: str, day: str, wave: str | None, now: datetime) -> list[Reservation]:
        with self._lock:
            return [r for r in self._by_id.values()
                    if (r.station, r.day, r.wave) == (station, day, wave) and _active(r, now)]

    def usage(self, station: str, day: str, now: datetime) -> dict[str, int]:
        return {slot: n for slot, (n, _) in self.usage_units(station, day, now).items()}

    def usage_units(self, station: str, day: str, now: datetime) -> dict[str, tuple[int, int]]:
        with self._lock:
            out: dict[str, tuple[int, int]] = {}
            for r in self._by_id.values():
                if r.station == station and r.day == day and _active(r, now):
                    n, u = out.get(r.slot, (0, 0))
                    out[r.slot] = (n + 1, u + r.units)
            return out

    def version(self, station: str, day: str, wave: str | None) -> int:
        return self._versions.get((station, day, wave), 0)

    def close(self) -> None:
        pass

    def _set(self, res: Reservation, status: str, **changes) -> Reservation:
        new = replace(res, status=status, **changes)
        self._by_id[res.id] = new
        self._bump((res.station, res.day, res.wave))
        return new

    def _expire_group(self, group: tuple, now: datetime) -> int:
        lapsed = [r for r in self._by_id.values() if (r.station, r.day, r.wave) == group
                  and r.status == Status.HELD and r.expires_at <= now]
        for r in lapsed:
            self._set(r, Status.EXPIRED)
        return len(lapsed)

    def _bump(self, group: tuple) -> None:
        self._versions[group] = self._versions.get(group, 0) + 1


def _active(r: Reservation, now: datetime) -> bool:
    return r.status == Status.CONFIRMED or (r.status == Status.HELD and r.expires_at > now)
