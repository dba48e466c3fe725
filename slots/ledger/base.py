"""The reservation ledger's contract: reservations, their states, and the operations every store
(SQLite, PostgreSQL) implements atomically.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol


class Status:
    HELD = "held"
    CONFIRMED = "confirmed"
    CANCELLED = "cancelled"
    EXPIRED = "expired"


class Code:
    """The stable `LedgerError.code` values (docs/ledger.md says when each is raised)."""

    NOT_FOUND = "NOT_FOUND"
    SLOT_FULL = "SLOT_FULL"
    INFEASIBLE = "INFEASIBLE"
    EXPIRED = "EXPIRED"
    CANCELLED = "CANCELLED"
    KEY_REUSED = "KEY_REUSED"
    CONFLICT = "CONFLICT"


class LedgerError(Exception):
    """A ledger operation refused: `code` is stable (NOT_FOUND, SLOT_FULL, INFEASIBLE, EXPIRED,
    CANCELLED, KEY_REUSED, CONFLICT), `message` says why."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message


@dataclass(frozen=True)
class Reservation:
    """One hold on one slot for one order; `payload` is the order as JSON, so plans can be rebuilt."""

    id: str
    idempotency_key: str
    slot: str  # slot id, e.g. "BJ-WJ|2026-12-02|211_same_day|W3"
    station: str
    day: str  # ISO date of the wave
    wave: str | None
    order_id: str
    status: str
    created_at: datetime
    expires_at: datetime
    confirmed_at: datetime | None = None
    payload: dict[str, Any] = field(default_factory=dict)
    units: int = 1  # what it takes of a Pool (a pickup point's parcels); slots count reservations

    def is_active(self, now: datetime) -> bool:
        """Whether it takes capacity at `now`: confirmed, or held and not yet past `expires_at`."""
        return self.status == Status.CONFIRMED or (self.status == Status.HELD and self.expires_at > now)


@dataclass(frozen=True)
class Pool:
    """Capacity shared by slots in several groups, such as a pickup point's day across waves:
    holds in the pool also lock `name`, and the `units` of every active reservation of the
    station-day whose slot id ends with `suffix` count against `capacity`."""

    name: str
    suffix: str
    capacity: int


Check = Callable[[list[Reservation]], bool]
"""Called by `Ledger.hold` inside the group lock with the group's active reservations; False refuses."""


class Ledger(Protocol):
    """What a store does. Every write is one transaction that serialises per slot group
    (station × day × wave), so concurrent callers and replicas never overbook (docs/ledger.md)."""

    def hold(self, *, key: str, slot: str, station: str, day: str, wave: str | None,
             order_id: str, payload: dict, capacity: int, now: datetime, ttl_seconds: float,
             check: Check | None = None, pool: Pool | None = None, units: int = 1
             ) -> Reservation: ...

    def confirm(self, reservation_id: str, now: datetime) -> Reservation: ...

    def cancel(self, reservation_id: str, now: datetime) -> Reservation: ...

    def get(self, reservation_id: str) -> Reservation: ...

    def expire(self, now: datetime) -> int: ...

    def active(self, station: str, day: str, wave: str | None, now: datetime) -> list[Reservation]: ...

    def usage(self, station: str, day: str, now: datetime) -> dict[str, int]: ...

    def usage_units(self, station: str, day: str, now: datetime
                    ) -> dict[str, tuple[int, int]]: ...

    def version(self, station: str, day: str, wave: str | None) -> int: ...

    def close(self) -> None: ...

    def __enter__(self) -> Ledger: ...

    def __exit__(self, *exc: object) -> None: ...
