"""The numbers planners and dispatchers read off a day plan."""

from __future__ import annotations

from collections import Counter

from .dayplan import DayPlan, Outcome
from .model import PromiseType

OWN_FLEET = (PromiseType.SAME_DAY, PromiseType.NEXT_DAY, PromiseType.TIMED,
             PromiseType.PICKUP_POINT, PromiseType.RETURN)
PROMISE_211 = (PromiseType.SAME_DAY, PromiseType.NEXT_DAY)


def kpis(plan: DayPlan) -> dict:
    """Orders by promise type and outcome, on-time rates, broken promises by reason, fleet use."""
    orders = plan.orders
    judged = [o for o in orders if o.promise in OWN_FLEET and o.outcome in (Outcome.KEPT, Outcome.BROKEN)]
    sold_211 = [o for o in judged if o.promise in PROMISE_211]
    broken = Counter(r for o in judged if o.outcome == Outcome.BROKEN for r in o.reasons
                     if r != "PROMISE_BROKEN")
    routes = plan.routes
    km = sum(r.distance_km for r in routes)
    cost = sum(r.cost for r in routes)
    delivered = sum(len(s["orders"]) for r in routes for s in r.stops)
    util = {"weight": [], "volume": [], "time": []}
    for r in routes:
        peak = [max(s["load"][k] for s in r.stops) for k in range(3)]
        start_load = [sum(s["delivery"][k] for s in r.stops) for k in range(3)]
        util["weight"].append(max(peak[0], start_load[0]) / r.capacity["weight"])
        util["volume"].append(max(peak[1], start_load[1]) / r.capacity["volume"])
        wave = (r.wave_return - r.wave_departure).total_seconds()
        util["time"].append((r.end - r.start).total_seconds() / wave if wave > 0 else 0.0)

    def rate(xs: list) -> float | None:
        return sum(o.outcome == Outcome.KEPT for o in xs) / len(xs) if xs else None

    return {
        "orders": len(orders),
        "by_promise": dict(sorted(Counter(o.promise for o in orders).items())),
        "by_outcome": dict(sorted(Counter(o.outcome for o in orders).items())),
        "on_time_rate": rate(judged),
        "on_time_rate_211": rate(sold_211),
        "broken_by_reason": dict(sorted(broken.items())),
        "vehicles_used": len({(r.station, r.vehicle) for r in routes}),
        "routes": len(routes),
        "km": km,
        "cost": cost,
        "cost_per_order": cost / delivered if delivered else None,
        "utilisation": {k: (sum(v) / len(v) if v else None) for k, v in util.items()},
    }
