"""Checkout: which offered promise a customer takes, and a day of orders sold without overselling.

docs/promises.md states the choice rule.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, MutableMapping, Sequence
from datetime import datetime
from typing import Any

from .capacity import pickup_key, wave_key
from .model import Order, Promise, PromiseType, Reason, Sale
from .rules import Quoter

PREFERENCE = (PromiseType.SAME_DAY, PromiseType.NEXT_DAY, PromiseType.PICKUP_POINT,
              PromiseType.THIRD_PARTY)  # the default choice: the first of these that is offered


def choose(order: Order, offered: Sequence[Promise]) -> Sale:
    """The one Sale for an order, from the promises quoted for it (offered or not).

    The customer's `wants` if offered (timed: its first window); else the first offered of
    PREFERENCE (door 211 before a pickup point, own fleet before a carrier); else a timed window;
    else the not-offered third-party (or return) promise. An exchange never takes a pickup point
    or a carrier; with no door promise it gets a not-offered 211_next_day with every door reason.
    """
    on = [p for p in offered if p.offered]
    if order.kind == "return":
        returns = [p for p in offered if p.type == PromiseType.RETURN]
        return _sale(order, returns[0] if returns
                     else Promise(PromiseType.RETURN, False, (Reason.OUT_OF_SERVICE_AREA,)))
    wanted = [p for p in on if p.type == order.wants]
    if wanted:
        return _sale(order, wanted[0])
    fast = [p for p in on if p.type in PREFERENCE]
    if fast:
        return _sale(order, min(fast, key=lambda p: PREFERENCE.index(p.type)))
    timed = [p for p in on if p.type == PromiseType.TIMED]
    if timed:
        return _sale(order, timed[0])
    if order.kind == "exchange":
        return _sale(order, _no_door_promise(offered))
    third = [p for p in offered if p.type == PromiseType.THIRD_PARTY]
    return _sale(order, third[0] if third
                 else Promise(PromiseType.THIRD_PARTY, False, (Reason.NO_CARRIER,)))


def _no_door_promise(quoted: Sequence[Promise]) -> Promise:
    """An exchange with no door promise: a not-offered 211_next_day carrying every door reason."""
    door = (PromiseType.SAME_DAY, PromiseType.NEXT_DAY, PromiseType.TIMED)
    reasons = [r for p in quoted if p.type in door for r in p.reasons]
    return Promise(PromiseType.NEXT_DAY, False,
                   tuple(dict.fromkeys(reasons)) or (Reason.OUT_OF_SERVICE_AREA,))


def _sale(order: Order, promise: Promise) -> Sale:
    if not promise.offered:
        return Sale(order, promise)
    window = promise.windows[0] if promise.type == PromiseType.TIMED and promise.windows else None
    return Sale(order, promise, window=window, station=promise.station, wave=promise.wave,
                wave_date=promise.wave_date)


def book(booked: MutableMapping[tuple[str, str, str], int], sale: Sale) -> None:
    """Count a sale: one door stop on its wave, and its parcels at its pickup point on the
    deadline's date."""
    if sale.wave is not None:
        key = wave_key(sale.station, sale.wave_date, sale.wave)
        booked[key] = booked.get(key, 0) + 1
    promise = sale.promise
    if promise.offered and promise.pickup_point is not None:
        key = pickup_key(promise.pickup_point, promise.deadline.date().isoformat())
        booked[key] = booked.get(key, 0) + sale.order.parcels


def simulate_checkout(orders: Iterable[Order], network: Any) -> list[Sale]:
    """Sell every order in clock order, each quoted at its clock with what is already booked.

    Returns one Sale per order, in the input order.
    """
    orders = list(orders)
    quoter = Quoter(network)
    booked: dict[tuple[str, str, str], int] = defaultdict(int)
    sales: list[Sale | None] = [None] * len(orders)
    for i in sorted(range(len(orders)), key=lambda i: (_clock(orders[i]), i)):
        order = orders[i]
        sale = choose(order, quoter.quote(order, _clock(order), booked))
        book(booked, sale)
        sales[i] = sale
    return sales  # type: ignore[return-value]


def _clock(order: Order) -> datetime:
    return order.submitted_at if order.kind == "return" else order.clock
