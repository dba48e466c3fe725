"""Slot ids: `STATION|DAY|TYPE|WAVE`, with `|HH:MM-HH:MM` for a timed window and
`|PICKUP_POINT` for a pickup point; third party is `carrier|DAY|third_party|CARRIER`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from datetime import time as clock_time
from functools import lru_cache

from .capacity import wave_key
from .ledger.base import LedgerError
from .model import PromiseType

CARRIER = "carrier"  # the station field of a third-party slot id
UNKNOWN_SLOT = "UNKNOWN_SLOT"
STATION_TYPES = (PromiseType.SAME_DAY, PromiseType.NEXT_DAY, PromiseType.TIMED,
                 PromiseType.PICKUP_POINT, PromiseType.RETURN)


@dataclass(frozen=True)
class SlotRef:
    """A parsed slot id. `wave` is the carrier's id for a third-party slot; `window` is minutes
    after the day's midnight (the end may pass 24:00)."""

    station: str
    day: date
    type: str
    wave: str
    window: tuple[int, int] | None = None
    pickup_point: str | None = None

    @property
    def id(self) -> str:
        head = f"{self.station}|{self.day.isoformat()}|{self.type}|{self.wave}"
        if self.window is not None:
            return f"{head}|{_hhmm(self.window[0])}-{_hhmm(self.window[1])}"
        if self.pickup_point is not None:
            return f"{head}|{self.pickup_point}"
        return head

    @property
    def wave_key(self) -> tuple[str, str, str]:
        return wave_key(self.station, self.day.isoformat(), self.wave)

    def window_at(self) -> tuple[datetime, datetime] | None:
        """The timed window as datetimes."""
        if self.window is None:
            return None
        midnight = datetime.combine(self.day, clock_time())
        return (midnight + timedelta(minutes=self.window[0]),
                midnight + timedelta(minutes=self.window[1]))


@lru_cache(maxsize=65536)
def parse_slot(text: str) -> SlotRef:
    """The SlotRef of a slot id; LedgerError UNKNOWN_SLOT if it is not well formed."""
    if not isinstance(text, str):
        raise LedgerError(UNKNOWN_SLOT, "slot: expected a string")
    parts = text.split("|")
    if len(parts) < 4 or not all(parts):
        raise LedgerError(UNKNOWN_SLOT, f"slot {text!r}: expected STATION|DAY|TYPE|WAVE[|...]")
    station, day_text, kind, wave = parts[:4]
    try:
        day = date.fromisoformat(day_text)
    except ValueError:
        raise LedgerError(UNKNOWN_SLOT, f"slot {text!r}: {day_text!r} is not an ISO date") from None
    extra = parts[4:]
    if kind == PromiseType.THIRD_PARTY:
        if station != CARRIER or extra:
            raise LedgerError(UNKNOWN_SLOT, f"slot {text!r}: expected carrier|DAY|third_party|CARRIER")
        return SlotRef(station, day, kind, wave)
    if kind not in STATION_TYPES or station == CARRIER:
        raise LedgerError(UNKNOWN_SLOT, f"slot {text!r}: unknown slot type {kind!r}")
    if kind == PromiseType.TIMED:
        if len(extra) != 1:
            raise LedgerError(UNKNOWN_SLOT, f"slot {text!r}: a timed slot ends with |HH:MM-HH:MM")
        window = _window(extra[0])
        if window is None:
            raise LedgerError(UNKNOWN_SLOT, f"slot {text!r}: {extra[0]!r} is not HH:MM-HH:MM")
        return SlotRef(station, day, kind, wave, window=window)
    if kind == PromiseType.PICKUP_POINT:
        if len(extra) != 1:
            raise LedgerError(UNKNOWN_SLOT, f"slot {text!r}: a pickup slot ends with |PICKUP_POINT")
        return SlotRef(station, day, kind, wave, pickup_point=extra[0])
    if extra:
        raise LedgerError(UNKNOWN_SLOT, f"slot {text!r}: unexpected {'|'.join(extra)!r}")
    return SlotRef(station, day, kind, wave)


def _hhmm(minutes: int) -> str:
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


def _window(text: str) -> tuple[int, int] | None:
    try:
        a, b = text.split("-")
        lo, hi = (_minutes(x) for x in (a, b))
    except ValueError:
        return None
    return (lo, hi) if lo < hi else None


def _minutes(text: str) -> int:
    hh, mm = text.split(":")
    if len(hh) != 2 or len(mm) != 2 or not (hh.isdigit() and mm.isdigit()):
        raise ValueError(text)
    h, m = int(hh), int(mm)
    if h >= 48 or m >= 60:
        raise ValueError(text)
    return 60 * h + m
