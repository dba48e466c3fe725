"""The 211 clock and the cutoffs: when an order's clock starts and which deadline it earns.

Midnight rollover: a clock at or after the city's next-day cutoff (23:00) counts as the start of
the next day, so it earns that day's same-day promise and is past the next-day cutoff.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

from warehouses.model import City

from .model import Order

MINUTE = timedelta(minutes=1)
ONE_DAY = timedelta(days=1)


def clock_of(order: Order, now: datetime) -> datetime:
    """When the order's clock starts: submission (COD), payment (prepaid), or `now` if not yet paid."""
    if order.payment == "prepaid":
        return order.paid_at if order.paid_at is not None else now
    return order.submitted_at


def at(day: date, minutes: float) -> datetime:
    """The datetime `minutes` after midnight of `day` (above 1440 runs into the next day)."""
    return datetime.combine(day, time()) + minutes * MINUTE


def rolls_over(clock: datetime, city: City) -> bool:
    """True if the clock is at or after the next-day cutoff, so it counts toward tomorrow."""
    return clock >= at(clock.date(), city.next_day_cutoff)


def same_day_deadline(clock: datetime, city: City) -> datetime | None:
    """The same-day deadline the clock earns, or None if it is past the same-day cutoff."""
    day = clock.date()
    if rolls_over(clock, city):
        return at(day + ONE_DAY, city.same_day_deadline)
    if clock < at(day, city.same_day_cutoff):
        return at(day, city.same_day_deadline)
    return None


def next_day_deadline(clock: datetime, city: City) -> datetime | None:
    """The next-day deadline the clock earns, or None if it is at or after the next-day cutoff."""
    day = clock.date()
    if clock < at(day, city.next_day_cutoff):
        return at(day + ONE_DAY, city.next_day_deadline)
    return None


def promise_day(clock: datetime, city: City) -> date:
    """The day a 211-style promise is kept: today before the same-day cutoff, else tomorrow."""
    day = clock.date()
    if same_day_deadline(clock, city) is not None and not rolls_over(clock, city):
        return day
    return day + ONE_DAY
