"""The slot service: every slot for an order, from the promise rules and the live routes, and
holds, confirmations and cancellations through the reservation ledger.

The ledger is the truth shared by API replicas: a hold's feasibility check runs inside its group
lock and first brings the wave's live plan up to the ledger's active reservations. docs/slots.md
documents slot ids, quote fields, quotas and error codes.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import threading
import time
from collections.abc import Mapping
from concurrent.futures import ProcessPoolExecutor
from datetime import date, datetime, timedelta
from datetime import time as clock_time
from functools import lru_cache
from typing import Any
from zoneinfo import ZoneInfo

import routing
from warehouses.model import City, Station, Wave

from .capacity import pickup_key, wave_capacity
from .clock import clock_of
from .ledger.base import Code, Ledger, LedgerError, Pool, Reservation, Status
from .live import LivePlan, Member, Window, solve_snapshot
from .model import Order, Promise, PromiseType, Reason
from .order_json import order_from_dict, order_to_dict, validate_order
from .quotes import SlotQuote, SlotStatus
from .rules import Facts, Quoter
from .slot_ids import CARRIER, UNKNOWN_SLOT, SlotRef, parse_slot

log = logging.getLogger(__name__)

NOT_OFFERED = "NOT_OFFERED"
FULL = 1 << 40  # a count that makes any wave or pickup point look sold out to the rules
UNLIMITED = 10**9  # the ledger capacity of a slot without a quota
REOPTIMISE_SECONDS = 2.0  # solve time per plan in the background
PLAN_DAYS_KEPT = 1  # plans of days before today minus this are dropped
REF_PREFIX = "key:"  # live-plan ref of a reservation: this + its idempotency key


class _Usage:
    """One station-day's active reservations: orders per slot and per wave, and parcels per
    pickup point (a point's room is in parcels, as the rules and the day plan count it)."""

    __slots__ = ("by_slot", "by_wave", "by_point")

    def __init__(self, by_slot: Mapping[str, tuple[int, int]]) -> None:
        self.by_slot = {slot: n for slot, (n, _) in by_slot.items()}
        self.by_wave: dict[str, int] = {}
        self.by_point: dict[str, int] = {}
        for slot, (n, parcels) in by_slot.items():
            try:
                ref = parse_slot(slot)
            except LedgerError:
                continue
            self.by_wave[ref.wave] = self.by_wave.get(ref.wave, 0) + n
            if ref.pickup_point is not None:
                self.by_point[ref.pickup_point] = self.by_point.get(ref.pickup_point, 0) + parcels


class _Booked:
    """The rules' bookings (slots.capacity keys) read from the ledger, once per station-day."""

    def __init__(self, service: SlotService, now: datetime) -> None:
        self._service, self._now = service, now
        self._days: dict[tuple[str, str], _Usage] = {}

    def usage(self, station: str, day: str) -> _Usage:
        key = (station, day)
        found = self._days.get(key)
        if found is None:
            found = self._days[key] = _Usage(self._service.ledger.usage_units(station, day,
                                                                              self._now))
        return found

    def get(self, key: tuple[str, str, str], default: int = 0) -> int:
        if key[0] == "pickup_point":
            point = self._service.network.pickup_points.get(key[1])
            if point is None:
                return default
            return self.usage(point.station, key[2]).by_point.get(key[1], default)
        return self.usage(key[0], key[1]).by_wave.get(key[2], default)


class _Blocked:
    """Bookings with some waves marked sold out: the rules then look for the next wave."""

    def __init__(self, base: Any, blocked: set) -> None:
        self._base, self._blocked = base, blocked

    def get(self, key: tuple[str, str, str], default: int = 0) -> int:
        return FULL if key in self._blocked else self._base.get(key, default)


class _Only:
    """Bookings that leave one wave (and pickup point) open and everything else sold out, so the
    rules say whether that slot itself keeps the promise, whatever the capacity."""

    def __init__(self, ref: SlotRef) -> None:
        self._key, self._point = ref.wave_key, ref.pickup_point

    def get(self, key: tuple[str, str, str], default: int = 0) -> int:
        if key[0] == "pickup_point":
            return 0 if key[1] == self._point else FULL
        return 0 if key == self._key else FULL


class SlotService:
    """Quotes, holds, confirms and cancels delivery slots. Thread-safe.

    `quotas` caps slots: a key is a slot id or a prefix of one ending at a "|" boundary (e.g.
    "BJ-WJ|2026-12-02|timed_window"); the longest matching key gives each matching slot its own
    quota. Every station slot is also capped by its wave's `wave_capacity`, shared by the wave's
    slots, and a pickup slot by the point's daily capacity. `reoptimise_every` seconds (None: off)
    a background thread re-solves changed live plans in a worker process.
    """

    def __init__(self, network: Any, ledger: Ledger, *, quotas: Mapping[str, int] | None = None,
                 hold_ttl: float = 900.0, reoptimise_every: float | None = 30.0,
                 reoptimise_seconds: float = REOPTIMISE_SECONDS) -> None:
        if not hold_ttl > 0:
            raise ValueError(f"hold_ttl: must be > 0 seconds, got {hold_ttl!r}")
        if reoptimise_every is not None and not reoptimise_every > 0:
            raise ValueError(f"reoptimise_every: must be > 0 seconds or None, got {reoptimise_every!r}")
        self.network, self.ledger = network, ledger
        self.hold_ttl = float(hold_ttl)
        self.reoptimise_seconds = float(reoptimise_seconds)
        self._quotas = dict(quotas or {})
        for k, v in self._quotas.items():
            if not isinstance(v, int) or isinstance(v, bool) or v < 0:
                raise ValueError(f"quotas[{k!r}]: must be an integer >= 0, got {v!r}")
        self._quota_of = lru_cache(maxsize=65536)(self._match_quota)
        self._quoter = Quoter(network)
        self._plans: dict[tuple[str, str, str], LivePlan] = {}
        self._plans_lock = threading.Lock()
        self._waves = {s.id: {w.id: w for w in s.waves} for s in network.stations.values()}
        self._solved: dict[tuple[str, str, str], int] = {}
        self._stop = threading.Event()
        self._pool: ProcessPoolExecutor | None = None
        self._thread: threading.Thread | None = None
        if reoptimise_every is not None:
            self._thread = threading.Thread(target=self._background, args=(reoptimise_every,),
                                            name="slot211-reoptimise", daemon=True)
            self._thread.start()

    # -- quotes ------------------------------------------------------------------------------

    def quote(self, order: Order, now: datetime | None = None) -> list[SlotQuote]:
        """Every slot for the order, offered or not with reasons (see docs/slots.md)."""
        validate_order(order)
        now = self._local(now, order.city)
        booked = _Booked(self, now)
        if order.kind == "return":
            return [self._quote_waved(PromiseType.RETURN, order, None, booked)]
        facts = self._facts(order, now)
        out = [self._quote_waved(PromiseType.SAME_DAY, order, facts, booked),
               self._quote_waved(PromiseType.NEXT_DAY, order, facts, booked)]
        out += self._quote_timed(facts, booked)
        out.append(self._quote_waved(PromiseType.PICKUP_POINT, order, facts, booked))
        out.append(self._quote_third_party(facts, booked))
        return out

    def _facts(self, order: Order, now: datetime) -> Facts:
        city = self.network.cities.get(order.city) or City(id=order.city, name=order.city)
        return Facts(order, self.network, clock_of(order, now), city,
                     self.network.locate(order.location))

    def _promise(self, kind: str, order: Order, facts: Facts | None, booked: Any) -> Promise:
        q = self._quoter
        if kind == PromiseType.SAME_DAY:
            return q.same_day(facts, booked)
        if kind == PromiseType.NEXT_DAY:
            return q.next_day(facts, booked)
        if kind == PromiseType.PICKUP_POINT:
            return q.pickup(facts, booked)
        return q.return_pickup(order, booked)

    def _quote_waved(self, kind: str, order: Order, facts: Facts | None,
                     booked: _Booked) -> SlotQuote:
        """A one-wave promise: the first wave the rules offer whose quota and routes take it."""
        blocked: set = set()
        refused: set[str] = set()
        deadline = None
        while True:
            p = self._promise(kind, order, facts, _Blocked(booked, blocked))
            if not p.offered:
                return SlotQuote("", kind, False, _refusal(p.reasons, refused),
                                 deadline=deadline, station=p.station)
            deadline = p.deadline
            ref = SlotRef(p.station, date.fromisoformat(p.wave_date), kind, p.wave,
                          pickup_point=p.pickup_point)
            window = (None, None) if kind == PromiseType.RETURN else (None, p.deadline)
            found = self._try(ref, order, window, p.deadline, booked)
            if isinstance(found, SlotQuote):
                return found
            refused.add(found)
            if ref.wave_key in blocked:
                return SlotQuote("", kind, False, _refusal((), refused), deadline=deadline)
            blocked.add(ref.wave_key)

    def _quote_timed(self, facts: Facts, booked: _Booked) -> list[SlotQuote]:
        """Each timed window the rules offer, on the first wave whose quota and routes take it."""
        kind = PromiseType.TIMED
        p = self._quoter.timed(facts, booked)
        if not p.offered:
            return [SlotQuote("", kind, False, p.reasons)]
        station = facts.station
        out = []
        for start, end in p.windows:
            blocked: set = set()
            refused: set[str] = set()
            while True:
                hit, _ = self._quoter.first_wave(station, facts.ready, facts.travel(), start, end,
                                                 _Blocked(booked, blocked))
                if hit is None:
                    out.append(SlotQuote("", kind, False, _refusal((), refused),
                                         deadline=end, window=(start, end), station=station.id))
                    break
                day = date.fromisoformat(hit[0])
                midnight = datetime.combine(day, clock_time())
                minutes = (int((start - midnight).total_seconds() // 60),
                           int((end - midnight).total_seconds() // 60))
                ref = SlotRef(station.id, day, kind, hit[1].id, window=minutes)
                found = self._try(ref, facts.order, (start, end), end, booked)
                if not isinstance(found, SlotQuote):
                    refused.add(found)
                if isinstance(found, SlotQuote) or ref.wave_key in blocked:
                    out.append(found if isinstance(found, SlotQuote) else SlotQuote(
                        "", kind, False, _refusal((), refused), deadline=end,
                        window=(start, end), station=station.id))
                    break
                blocked.add(ref.wave_key)
        return out

    def _try(self, ref: SlotRef, order: Order, window: Window, deadline: datetime | None,
             booked: _Booked) -> SlotQuote | str:
        """The offered quote for this slot, or the reason it cannot take the order."""
        if self._departure(ref) < booked._now:
            return Reason.NO_WAVE_IN_TIME
        remaining = self._remaining(ref, booked, order.parcels)
        if remaining <= 0:
            return Reason.STATION_FULL
        plan = self._fresh_plan(ref, booked)
        found = plan.test(order, window, ref.pickup_point)
        if found is None:
            return Reason.NO_ROUTE_ROOM
        return SlotQuote(ref.id, ref.type, True, (), deadline=deadline,
                         window=ref.window_at(), station=ref.station, wave=ref.wave,
                         wave_date=ref.day.isoformat(), pickup_point=ref.pickup_point,
                         remaining=remaining, marginal_km=round(found.km, 3) + 0.0,
                         marginal_minutes=round(found.minutes, 2) + 0.0)

    def _departure(self, ref: SlotRef) -> datetime:
        wave = self._waves[ref.station][ref.wave]
        return datetime.combine(ref.day, clock_time()) + timedelta(minutes=wave.departure)

    def _quote_third_party(self, facts: Facts, booked: _Booked) -> SlotQuote:
        kind = PromiseType.THIRD_PARTY
        p = self._quoter.third_party(facts)
        if not p.offered:
            return SlotQuote("", kind, False, p.reasons)
        ref = SlotRef(CARRIER, p.deadline.date(), kind, p.carrier)
        remaining = self._carrier_remaining(ref, booked)
        if remaining is not None and remaining <= 0:
            return SlotQuote("", kind, False, (Reason.STATION_FULL,), deadline=p.deadline,
                             carrier=p.carrier, remaining=0)
        return SlotQuote(ref.id, kind, True, (), deadline=p.deadline, wave_date=ref.day.isoformat(),
                         carrier=p.carrier, remaining=remaining)

    # -- capacity ----------------------------------------------------------------------------

    def _match_quota(self, slot: str) -> int | None:
        best, best_len = None, -1
        for key, value in self._quotas.items():
            if (slot == key or slot.startswith(key + "|")) and len(key) > best_len:
                best, best_len = value, len(key)
        return best

    def _limits(self, ref: SlotRef) -> tuple[int, int | None, int | None]:
        """(wave capacity, slot quota or None, pickup point capacity or None)."""
        station = self.network.stations[ref.station]
        cap = wave_capacity(station, self._waves[ref.station][ref.wave])
        pp = self.network.pickup_points.get(ref.pickup_point) if ref.pickup_point else None
        point = pp.capacity if pp is not None else None
        return cap, self._quota_of(ref.id), point

    def _remaining(self, ref: SlotRef, booked: _Booked, parcels: int = 1) -> int:
        """Orders of `parcels` each a station slot can still take: the least of its quota's,
        its wave's and its pickup point's room (the point's counted in parcels)."""
        cap, quota, point = self._limits(ref)
        usage = booked.usage(ref.station, ref.day.isoformat())
        left = cap - usage.by_wave.get(ref.wave, 0)
        if quota is not None:
            left = min(left, quota - usage.by_slot.get(ref.id, 0))
        if point is not None:
            used = booked.get(pickup_key(ref.pickup_point, ref.day.isoformat()))
            left = min(left, (point - used) // max(1, parcels))
        return max(0, left)

    def _carrier_remaining(self, ref: SlotRef, booked: _Booked) -> int | None:
        quota = self._quota_of(ref.id)
        if quota is None:
            return None
        used = booked.usage(CARRIER, ref.day.isoformat()).by_slot.get(ref.id, 0)
        return max(0, quota - used)

    # -- live plans --------------------------------------------------------------------------

    def _plan(self, station: str, day: date, wave: str) -> LivePlan:
        key = (station, day.isoformat(), wave)
        plan = self._plans.get(key)
        if plan is None:
            with self._plans_lock:
                plan = self._plans.get(key)
                if plan is None:
                    st = self.network.stations[station]
                    plan = LivePlan(st, day, self._waves[station][wave],
                                    self.network.pickup_points_of(station))
                    self._plans[key] = plan
        return plan

    def _fresh_plan(self, ref: SlotRef, booked: _Booked) -> LivePlan:
        """The slot's live plan, synced from the ledger if its size differs from the ledger's
        count (another replica's holds, expiries). Never calls the ledger under the plan lock."""
        plan = self._plan(ref.station, ref.day, ref.wave)
        used = booked.usage(ref.station, ref.day.isoformat()).by_wave.get(ref.wave, 0)
        if used != len(plan):
            active = self.ledger.active(ref.station, ref.day.isoformat(), ref.wave, booked._now)
            with plan.lock:
                plan.sync(self._members(plan, active))
        return plan

    def _members(self, plan: LivePlan, active: list[Reservation]) -> list[Member]:
        """Plan members for the ledger's reservations (known ones reused, new ones parsed)."""
        have = plan.members
        out = []
        for r in active:
            ref = REF_PREFIX + r.idempotency_key
            member = have.get(ref)
            if member is None:
                member = _member_of(ref, r)
            if member is not None:
                out.append(member)
        return out

    # -- reservations ------------------------------------------------------------------------

    def hold(self, order: Order, slot: str, key: str, now: datetime | None = None,
             ttl_seconds: float | None = None) -> Reservation:
        """Hold `slot` for the order under idempotency `key` (a replay returns the same hold)."""
        validate_order(order)
        if not isinstance(key, str) or not key:
            raise ValueError("key: must be a non-empty string")
        ttl = self.hold_ttl if ttl_seconds is None else ttl_seconds
        if isinstance(ttl, bool) or not isinstance(ttl, (int, float)) or not ttl > 0:
            raise ValueError(f"ttl_seconds: must be > 0, got {ttl_seconds!r}")
        ref = self._resolve(slot)
        now = self._local(now, order.city)
        day = ref.day.isoformat()
        args = dict(key=key, slot=ref.id, station=ref.station, day=day, wave=ref.wave,
                    order_id=order.id, now=now, ttl_seconds=float(ttl))
        offered = self._offered(order, ref, now)
        if offered is None:
            return self.ledger.hold(**args, payload={}, capacity=UNLIMITED,
                                    check=_refuse(NOT_OFFERED, f"slot {ref.id} is not offered "
                                                  f"for order {order.id} now"))
        return self._hold(order, ref, offered, args)

    def _hold(self, order: Order, ref: SlotRef, window: Window, args: dict) -> Reservation:
        """The ledger hold of an offered slot, with the live-plan check for a station slot."""
        day, key = args["day"], args["key"]
        payload = {"order": order_to_dict(order),
                   "window": [None if t is None else t.isoformat() for t in window],
                   "pickup_point": ref.pickup_point}
        if ref.type == PromiseType.THIRD_PARTY:
            quota = self._quota_of(ref.id)
            return self.ledger.hold(**args, payload=payload,
                                    capacity=UNLIMITED if quota is None else quota)
        cap, quota, point = self._limits(ref)
        capacity = cap if quota is None else min(cap, quota)
        pool = (Pool(f"pickup_point:{ref.pickup_point}", f"|{ref.pickup_point}", point)
                if point is not None else None)
        plan = self._plan(ref.station, ref.day, ref.wave)
        mref = REF_PREFIX + key
        added = []

        def check(active: list[Reservation]) -> bool:
            if len(active) >= cap:
                raise LedgerError(Code.SLOT_FULL, f"wave {ref.wave} of {ref.station} on {day} has "
                                                  f"{len(active)} of {cap} taken")
            with plan.lock:
                plan.sync(self._members(plan, active))
                if plan.add(mref, order, window, ref.pickup_point) is None:
                    raise LedgerError(Code.INFEASIBLE, f"the routes of {ref.station} wave "
                                      f"{ref.wave} on {day} cannot take order {order.id}")
                added.append(plan.version)
            return True

        try:
            return self.ledger.hold(**args, payload=payload, capacity=capacity, check=check,
                                    pool=pool, units=order.parcels)
        except BaseException:
            if added:
                plan.remove(mref)
            raise

    def _resolve(self, slot: str) -> SlotRef:
        """The parsed slot, naming a station, wave and pickup point (or carrier) that exist."""
        ref = parse_slot(slot)
        if ref.type == PromiseType.THIRD_PARTY:
            if ref.wave not in self.network.carriers:
                raise LedgerError(UNKNOWN_SLOT, f"slot {slot!r}: unknown carrier {ref.wave!r}")
            return ref
        if ref.station not in self.network.stations:
            raise LedgerError(UNKNOWN_SLOT, f"slot {slot!r}: unknown station {ref.station!r}")
        if ref.wave not in self._waves[ref.station]:
            raise LedgerError(UNKNOWN_SLOT, f"slot {slot!r}: station {ref.station} has no wave "
                                            f"{ref.wave!r}")
        if ref.pickup_point is not None:
            point = self.network.pickup_points.get(ref.pickup_point)
            if point is None or point.station != ref.station:
                raise LedgerError(UNKNOWN_SLOT, f"slot {slot!r}: {ref.station} has no pickup "
                                                f"point {ref.pickup_point!r}")
        return ref

    def _offered(self, order: Order, ref: SlotRef, now: datetime) -> Window | None:
        """The member window if the rules offer exactly this slot to the order now, whatever the
        capacity (that is checked under the ledger's lock); None if they do not. A wave that
        has already left is not offered."""
        if ref.type != PromiseType.THIRD_PARTY and self._departure(ref) < now:
            return None
        if order.kind == "return" or ref.type == PromiseType.RETURN:
            if order.kind != "return" or ref.type != PromiseType.RETURN:
                return None
            p = self._quoter.return_pickup(order, _Only(ref))
            return (None, None) if _on(p, ref) else None
        facts = self._facts(order, now)
        if ref.type == PromiseType.THIRD_PARTY:
            p = self._quoter.third_party(facts)
            ok = p.offered and p.carrier == ref.wave and p.deadline.date() == ref.day
            return (None, p.deadline) if ok else None
        if ref.type == PromiseType.TIMED:
            p = self._quoter.timed(facts, _Only(ref))
            window = ref.window_at()
            return window if p.offered and window in p.windows else None
        p = self._promise(ref.type, order, facts, _Only(ref))
        if not _on(p, ref) or p.pickup_point != ref.pickup_point:
            return None
        return (None, p.deadline)

    def confirm(self, reservation_id: str, now: datetime | None = None) -> Reservation:
        """Confirm a live hold (idempotent). An expired hold leaves its live plan too."""
        now = self._local(now, None)
        try:
            return self.ledger.confirm(reservation_id, now)
        except LedgerError as exc:
            if exc.code == Code.EXPIRED:
                self._forget(self.ledger.get(reservation_id))
            raise

    def cancel(self, reservation_id: str, now: datetime | None = None) -> Reservation:
        """Cancel a hold or confirmation (idempotent) and take it out of its live plan."""
        now = self._local(now, None)
        res = self.ledger.cancel(reservation_id, now)
        self._forget(res)
        return res

    def get(self, reservation_id: str) -> Reservation:
        """The reservation as stored."""
        return self.ledger.get(reservation_id)

    def _forget(self, res: Reservation) -> None:
        if res.status in (Status.HELD, Status.CONFIRMED) or res.wave is None:
            return
        plan = self._plans.get((res.station, res.day, res.wave))
        if plan is not None:
            plan.remove(REF_PREFIX + res.idempotency_key)

    # -- overview ----------------------------------------------------------------------------

    def overview(self, station: str, day: date, now: datetime | None = None) -> list[SlotStatus]:
        """Every slot of a station-day with its capacity, holds, confirmations and what is left."""
        st = self.network.stations.get(station)
        if st is None:
            raise LedgerError(Code.NOT_FOUND, f"no station {station!r}")
        now = self._local(now, st.city)
        iso = day.isoformat()
        usage = _Usage(self.ledger.usage_units(station, iso, now))
        out = []
        for wave in sorted(st.waves, key=lambda w: (w.departure, w.id)):
            counts: dict[str, list[int]] = {}
            for r in self.ledger.active(station, iso, wave.id, now):
                c = counts.setdefault(r.slot, [0, 0])
                c[r.status == Status.CONFIRMED] += 1
            slots = {r.id: r for r in self._wave_slots(st, day, wave)}
            for slot in counts:
                ref = _parse_or_none(slot)
                if ref is not None and ref.wave == wave.id:
                    slots.setdefault(slot, ref)
            for slot, ref in slots.items():
                held, confirmed = counts.get(slot, (0, 0))
                cap, quota, point = self._limits(ref)
                capacity = min(x for x in (cap, quota, point) if x is not None)
                left = cap - usage.by_wave.get(wave.id, 0)
                if quota is not None:
                    left = min(left, quota - usage.by_slot.get(slot, 0))
                if point is not None:
                    left = min(left, point - usage.by_point.get(ref.pickup_point, 0))
                out.append(SlotStatus(slot, ref.type, wave.id, ref.window_at(), capacity, held,
                                      confirmed, max(0, left),
                                      (held + confirmed) / capacity if capacity else 1.0))
        return out

    def _wave_slots(self, st: Station, day: date, wave: Wave) -> list[SlotRef]:
        """The slots a wave can carry: both 211 types, returns, windows it overlaps, its points."""
        refs = [SlotRef(st.id, day, t, wave.id) for t in
                (PromiseType.SAME_DAY, PromiseType.NEXT_DAY, PromiseType.RETURN)]
        refs += [SlotRef(st.id, day, PromiseType.TIMED, wave.id, window=(a, b))
                 for a, b in st.timed_windows if a < wave.latest_return and b > wave.departure]
        refs += [SlotRef(st.id, day, PromiseType.PICKUP_POINT, wave.id, pickup_point=p.id)
                 for p in self.network.pickup_points_of(st.id)
                 if p.opens < wave.latest_return and p.closes > wave.departure]
        return refs

    # -- lifecycle ---------------------------------------------------------------------------

    def warmup(self) -> float:
        """Compile or load every kernel (routing's and the live plan's); return the seconds taken."""
        started = time.perf_counter()
        routing.warmup()
        station = next((s for s in sorted(self.network.stations.values(), key=lambda s: s.id)
                        if s.waves and s.fleet), None)
        if station is not None:
            _exercise(station, self.network.pickup_points_of(station.id))
        if self._thread is not None:
            self._worker().submit(routing.warmup).result()
        return time.perf_counter() - started

    def _worker(self) -> ProcessPoolExecutor:
        """The re-optimisation process, started on first use (warmup starts it before traffic)."""
        if self._pool is None:
            self._pool = ProcessPoolExecutor(
                max_workers=1, mp_context=multiprocessing.get_context("spawn"),
                initializer=_worker_start, initargs=(os.getpid(),))
        return self._pool

    def close(self) -> None:
        """Stop the background re-optimisation and its worker process."""
        self._stop.set()
        pool, self._pool = self._pool, None
        if pool is not None:
            workers = list((getattr(pool, "_processes", None) or {}).values())
            pool.shutdown(wait=False, cancel_futures=True)
            for worker in workers:
                worker.terminate()
        if self._thread is not None:
            self._thread.join(timeout=10.0)

    def _reoptimise_all(self) -> int:
        """Re-solve every live plan changed since its last re-solve; return how many improved."""
        improved = 0
        for key, plan in list(self._plans.items()):
            if self._stop.is_set():
                break
            if self._solved.get(key) == plan.version or (len(plan) < 2 and not plan.unplaced):
                continue
            raw, initial, _ = plan.snapshot()
            routes = self._solve(raw, initial, plan.version)
            if routes is not None and plan.adopt(routes):
                improved += 1
            self._solved[key] = plan.version
        return improved

    def _solve(self, raw: dict, initial: dict, seed: int) -> dict[int, list[str]] | None:
        """Solve in the worker process (so the solver never holds this process's GIL)."""
        if self._stop.is_set():
            return None
        try:
            future = self._worker().submit(solve_snapshot, raw, initial, self.reoptimise_seconds,
                                           seed)
            return future.result(timeout=self.reoptimise_seconds + 120.0)
        except Exception:
            if self._stop.is_set():
                return None
            log.exception("re-optimisation failed")
            return None

    def _background(self, every: float) -> None:
        while not self._stop.wait(every):
            try:
                self._drop_old_plans()
                self._reoptimise_all()
            except Exception:
                log.exception("background re-optimisation failed")

    def _drop_old_plans(self) -> None:
        oldest = (self._local(None, None).date() - timedelta(days=PLAN_DAYS_KEPT)).isoformat()
        with self._plans_lock:
            for key in [k for k in self._plans if k[1] < oldest]:
                del self._plans[key]
                self._solved.pop(key, None)

    def _local(self, now: datetime | None, city: str | None) -> datetime:
        """`now` as the city's naive local time (the network's first city if None)."""
        c = self.network.cities.get(city) if city else None
        if c is None:
            c = next(iter(self.network.cities.values()), None)
        zone = ZoneInfo(c.timezone if c is not None else "Asia/Shanghai")
        if now is None:
            return datetime.now(zone).replace(tzinfo=None)
        if not isinstance(now, datetime):
            raise ValueError(f"now: must be a datetime, got {type(now).__name__}")
        if now.tzinfo is not None and now.utcoffset() is not None:
            return now.astimezone(zone).replace(tzinfo=None)
        return now


def _worker_start(parent: int) -> None:
    """Initialise the re-optimisation worker: load the kernels, and exit if the parent dies."""
    routing.warmup()

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(1.0)
        os._exit(0)

    threading.Thread(target=watch, name="parent-watch", daemon=True).start()


def _on(p: Promise, ref: SlotRef) -> bool:
    return p.offered and p.station == ref.station and p.wave == ref.wave \
        and p.wave_date == ref.day.isoformat()


def _refusal(reasons: tuple[str, ...], refused: set[str]) -> tuple[str, ...]:
    """The rules' reasons, with their STATION_FULL replaced by why the service passed over the
    waves the rules offered (quota full, routes full, wave already gone)."""
    if not refused:
        return reasons or (Reason.STATION_FULL,)
    rest = tuple(r for r in reasons if r != Reason.STATION_FULL)
    return rest + tuple(r for r in _PASSED_OVER if r in refused)


_PASSED_OVER = (Reason.NO_WAVE_IN_TIME, Reason.STATION_FULL, Reason.NO_ROUTE_ROOM)


def _refuse(code: str, message: str) -> Any:
    def check(active: list[Reservation]) -> bool:
        raise LedgerError(code, message)
    return check


def _parse_or_none(slot: str) -> SlotRef | None:
    try:
        return parse_slot(slot)
    except LedgerError:
        return None


def _member_of(ref: str, res: Reservation) -> Member | None:
    """A live-plan member from a reservation's payload; None (logged) if it cannot be read."""
    try:
        payload = res.payload
        order = order_from_dict(payload["order"])
        window = tuple(None if t is None else datetime.fromisoformat(t)
                       for t in payload.get("window") or (None, None))
        return Member(ref, order, window, payload.get("pickup_point"))
    except (KeyError, TypeError, ValueError):
        log.warning("reservation %s: unreadable payload; it counts, but is not routed", res.id)
        return None


def _exercise(station: Station, points: Any) -> None:
    """One pass over every live-plan path on a throwaway plan, to compile or load the kernels."""
    wave = sorted(station.waves, key=lambda w: w.departure)[0]
    day = date(2026, 1, 5)
    plan = LivePlan(station, day, wave, points, capacity=2)
    lat, lon = station.location
    at = datetime.combine(day, clock_time()) + timedelta(minutes=wave.departure - 120)
    orders = [Order(id=f"warmup-{i}", city=station.city, submitted_at=at, payment="cod",
                    location=(lat + 0.002 * i, lon + 0.001 * i), weight_kg=1.0, volume_m3=0.01,
                    kind="return" if i == 2 else "delivery") for i in range(4)]
    for i, o in enumerate(orders):
        plan.test(o)
        plan.add(f"w{i}", o)
    for point in list(points)[:1]:
        plan.test(orders[0], pickup_point=point.id)
        plan.add("p0", orders[0], pickup_point=point.id)
        plan.test(orders[1], pickup_point=point.id)
        plan.add("p1", orders[1], pickup_point=point.id)
        plan.remove("p0")
    plan.remove("w0")
    members = list(plan.members.values())
    plan.rebuild(members)
    plan.sync(members[:1])
    plan.adopt({v: r for v, r in enumerate(plan.routes()) if r})
    plan.totals()


__all__ = ["SlotRef", "SlotService", "parse_slot"]
