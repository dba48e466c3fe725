"""Independent checker for a dispatch plan version (slots.dispatch.views.routes_view's JSON).

It trusts nothing the planner computed except each route's stop order, the orders on each stop
and the reported times: loads come from the orders' own weights, travel times from its own
haversine, hours and capacities from the station's facts. It imports nothing from routing/ or
slots/, so a bug there cannot hide itself here.

Inputs (plain JSON-able data):

- `view`: {"routes": [{wave, vehicle, vehicle_type, status, start, stops: [{sequence, stop, kind,
  orders, location, arrival, start, departure, status, due, on_time}]}], "unassigned": [{wave,
  stop, kind, orders, reason}], "orders": [...]}; times are ISO datetimes.
- `facts`: {"day": ISO date, "depot": [lat, lon],
  "waves": {id: {"departure": min, "latest_return": min}},
  "vehicle_types": {id: {"capacity": [kg, m3, parcels], "speed_kmh", "skills": [...],
  "shift": [min, min] (optional)}},
  "pickup_points": {id: {"opens": min, "closes": min, "capacity": parcels, "location": [lat, lon]}},
  "overtime_minutes": min (optional, default 0: how long past its wave's return a vehicle that
  has already left may come back, if the dispatch policy lets it finish its load)}.
  Times of day are minutes after midnight, as in the network files.
- `orders`: {order_id: {"payment": "cod"|"prepaid", "kind": "delivery"|"return"|"exchange"|
  "pickup_point", "weight_kg", "volume_m3", "parcels", "pickup_point"?, "due"?, "earliest"?}}.
"""

from __future__ import annotations

import math
from collections import Counter
from datetime import date, datetime, timedelta
from typing import Any, Iterable, Mapping

EARTH_RADIUS_M = 6_371_008.8
ROAD_FACTOR = 1.3  # road km per straight-line km, as warehouses.geo.ROAD_FACTOR
TOLERANCE_S = 2.0  # ISO times are whole seconds: two roundings of half a second, and some slack
LOAD_TOLERANCE = 1e-6
SAME_PLACE_M = 50.0
POS = "pos"
DELIVERS = ("delivery", "door", "exchange", "pickup_point")
COLLECTS = ("return", "exchange")
PICKUP_PREFIX = "PP:"

View = Mapping[str, Any]
Facts = Mapping[str, Any]
Orders = Mapping[str, Mapping[str, Any]]


def metres(a: Iterable[float], b: Iterable[float]) -> float:
    """Road metres between two (lat, lon) points: great-circle distance times the road factor."""
    la1, lo1, la2, lo2 = map(math.radians, (*a, *b))
    h = (math.sin((la2 - la1) / 2) ** 2
         + math.cos(la1) * math.cos(la2) * math.sin((lo2 - lo1) / 2) ** 2)
    return 2 * EARTH_RADIUS_M * math.asin(min(1.0, math.sqrt(h))) * ROAD_FACTOR


def travel(a: Iterable[float], b: Iterable[float], speed_kmh: float) -> timedelta:
    """Driving time between two points at a vehicle type's speed."""
    return timedelta(seconds=metres(a, b) / (speed_kmh / 3.6))


def check_dispatch(view: View, facts: Facts, orders: Orders, *, previous: View | None = None,
                   unavailable: Mapping[str, Any] | None = None) -> list[str]:
    """Every check's violations for one plan version (empty: the plan is sound)."""
    bad = (check_orders_once(view, orders) + check_capacity(view, facts, orders)
           + check_times(view, facts) + check_promises(view, orders)
           + check_pickup_points(view, facts, orders) + check_cod(view, facts, orders))
    if previous is not None:
        bad += check_locked(view, previous, orders)
    if unavailable:
        bad += check_unavailable(view, unavailable)
    return bad


def check_orders_once(view: View, orders: Orders) -> list[str]:
    """Each input order is on exactly one route stop or unassigned stop, and nothing else is."""
    seen = Counter(o for r in view["routes"] for s in r["stops"] for o in s["orders"])
    seen.update(o for u in view["unassigned"] for o in u["orders"])
    bad = [f"order {oid} appears {seen[oid]} times in routes and unassigned"
           for oid in sorted(orders) if seen[oid] != 1]
    bad += [f"order {oid} is in the plan but not an input order"
            for oid in sorted(set(seen) - set(orders))]
    if "orders" in view:
        listed = Counter(o["order"] for o in view["orders"])
        bad += [f"order {oid} is listed {listed[oid]} times in view.orders"
                for oid in sorted(orders) if listed[oid] != 1]
        bad += [f"order {oid}: view.orders lists it but no stop carries it"
                for oid in sorted(set(listed) - set(seen))]
    return bad


Load = tuple[float, float, float]


def order_load(order: Mapping[str, Any]) -> tuple[Load, Load]:
    """(delivery, pickup) of one order from its own weight, volume and parcels."""
    load = (float(order["weight_kg"]), float(order["volume_m3"]), float(order["parcels"]))
    none = (0.0, 0.0, 0.0)
    return (load if order["kind"] in DELIVERS else none,
            load if order["kind"] in COLLECTS else none)


def stop_load(stop: Mapping[str, Any], orders: Orders) -> tuple[list[float], list[float]]:
    """(delivery, pickup) of a stop: the sum over its input orders (unknown ones count nothing)."""
    delivery, pickup = [0.0, 0.0, 0.0], [0.0, 0.0, 0.0]
    for oid in stop["orders"]:
        if oid not in orders:
            continue
        d, p = order_load(orders[oid])
        for k in range(3):
            delivery[k] += d[k]
            pickup[k] += p[k]
    return delivery, pickup


def check_capacity(view: View, facts: Facts, orders: Orders) -> list[str]:
    """Along each route the load (all its deliveries on board at the station, less each delivery,
    plus each pickup) never exceeds the vehicle type's capacity in any dimension."""
    bad = []
    for r in view["routes"]:
        where = _where(r)
        vt = facts["vehicle_types"].get(r["vehicle_type"])
        if vt is None:
            bad.append(f"{where}: unknown vehicle type {r['vehicle_type']!r}")
            continue
        caps = [float(c) for c in vt["capacity"]]
        loads = [stop_load(s, orders) for s in r["stops"]]
        load = [sum(d[k] for d, _ in loads) for k in range(3)]
        if _over(load, caps):
            bad.append(f"{where}: leaves the station loaded {_fmt(load)}, over capacity {caps}")
        for s, (d, p) in zip(r["stops"], loads):
            load = [load[k] - d[k] + p[k] for k in range(3)]
            if _over(load, caps):
                bad.append(f"{where}: loaded {_fmt(load)} after stop {s['stop']}, over capacity "
                           f"{caps}")
    return bad


def check_times(view: View, facts: Facts) -> list[str]:
    """Each stop starts after it is reached and ends after it starts; each leg takes at least its
    driving time at the vehicle's speed; the route leaves in its wave and is back by the return
    (plus the policy's overtime once it has left)."""
    bad = []
    midnight = _midnight(facts)
    slack = timedelta(seconds=TOLERANCE_S)
    depot = facts["depot"]
    for r in view["routes"]:
        where = _where(r)
        vt = facts["vehicle_types"].get(r["vehicle_type"])
        wave = facts["waves"].get(r["wave"])
        if vt is None or wave is None:
            bad.append(f"{where}: unknown vehicle type or wave")
            continue
        leaves = midnight + timedelta(minutes=wave["departure"])
        back_by = midnight + timedelta(minutes=wave["latest_return"])
        if vt.get("shift"):
            leaves = max(leaves, midnight + timedelta(minutes=vt["shift"][0]))
            back_by = min(back_by, midnight + timedelta(minutes=vt["shift"][1]))
        t = _at(r["start"]) if r.get("start") else leaves
        if t < leaves - slack:
            bad.append(f"{where}: leaves at {t:%H:%M:%S}, before {leaves:%H:%M:%S}")
        here = depot
        for s in r["stops"]:
            arrival, start, departure = _at(s["arrival"]), _at(s["start"]), _at(s["departure"])
            earliest = t + travel(here, s["location"], vt["speed_kmh"])
            if arrival < earliest - slack:
                bad.append(f"{where}: stop {s['stop']} reached at {arrival:%H:%M:%S}, but the "
                           f"drive there ends {earliest:%H:%M:%S} at the earliest")
            if start < arrival - slack:
                bad.append(f"{where}: stop {s['stop']} starts {start:%H:%M:%S} before it is "
                           f"reached {arrival:%H:%M:%S}")
            if departure < start - slack:
                bad.append(f"{where}: stop {s['stop']} left {departure:%H:%M:%S} before it "
                           f"starts {start:%H:%M:%S}")
            t, here = departure, s["location"]
        if _has_left(r):
            back_by += timedelta(minutes=facts.get("overtime_minutes", 0))
        home = t + travel(here, depot, vt["speed_kmh"])
        if r["stops"] and home > back_by + slack:
            bad.append(f"{where}: back at {home:%H:%M:%S}, after {back_by:%H:%M:%S}")
    return bad


def check_promises(view: View, orders: Orders) -> list[str]:
    """A stop reported on time starts by its due time and not before its earliest start (the
    orders' own promises if given, else the stop's `due`)."""
    bad = []
    slack = timedelta(seconds=TOLERANCE_S)
    for r in view["routes"]:
        for s in r["stops"]:
            if s.get("on_time") is not True:
                continue
            start = _at(s["start"])
            dues = [_at(orders[o]["due"]) for o in s["orders"] if orders.get(o, {}).get("due")]
            if not dues and s.get("due"):
                dues = [_at(s["due"])]
            early = [_at(orders[o]["earliest"]) for o in s["orders"]
                     if orders.get(o, {}).get("earliest")]
            if dues and start > min(dues) + slack:
                bad.append(f"{_where(r)}: stop {s['stop']} is reported on time but starts "
                           f"{start:%H:%M:%S}, after its due {min(dues):%H:%M:%S}")
            if early and start < max(early) - slack:
                bad.append(f"{_where(r)}: stop {s['stop']} is reported on time but starts "
                           f"{start:%H:%M:%S}, before its earliest {max(early):%H:%M:%S}")
    return bad


def check_locked(view: View, previous: View, orders: Orders | None = None) -> list[str]:
    """What the previous version had served is unchanged (served, same vehicle, position in the
    route's stop list and times), and a vehicle that had left gets no parcel that was not
    already on board."""
    bad = []
    now = {s["stop"]: (r, k, s) for r in view["routes"] for k, s in enumerate(r["stops"], 1)}
    for r in previous["routes"]:
        for k, s in enumerate(r["stops"], start=1):
            if s["status"] != "served":
                continue
            if s["stop"] not in now:
                bad.append(f"stop {s['stop']} was served by {r['vehicle']} and is no longer routed")
                continue
            nr, nk, ns = now[s["stop"]]
            if ns["status"] != "served":
                bad.append(f"stop {s['stop']} was served and is now {ns['status']}")
            if (nr["wave"], nr["vehicle"]) != (r["wave"], r["vehicle"]):
                bad.append(f"stop {s['stop']} was served by {r['vehicle']}, now on {nr['vehicle']}")
            if nk != k:
                bad.append(f"stop {s['stop']} was served as stop {k} of {r['vehicle']}, now "
                           f"stop {nk}")
            for key in ("arrival", "start", "departure"):
                if _at(ns[key]) != _at(s[key]):
                    bad.append(f"stop {s['stop']}: served {key} {s[key]} changed to {ns[key]}")
    before = {(r["wave"], r["vehicle"]): r for r in previous["routes"]}
    for r in view["routes"]:
        old = before.get((r["wave"], r["vehicle"]))
        if old is None or not _has_left(old):
            continue
        aboard = {o for s in old["stops"] for o in s["orders"]}
        for s in r["stops"]:
            for oid in s["orders"]:
                if oid not in aboard and _delivers(oid, s, orders):
                    bad.append(f"{_where(r)}: had left, yet order {oid} (stop {s['stop']}) is "
                               f"now to be delivered by it")
    return bad


def check_pickup_points(view: View, facts: Facts, orders: Orders) -> list[str]:
    """One stop per pickup point per wave, at the point, served while it is open, holding only
    pickup-point orders; the parcels a point receives over the day fit its capacity."""
    bad = []
    points = facts.get("pickup_points", {})
    midnight = _midnight(facts)
    slack = timedelta(seconds=TOLERANCE_S)
    per_wave: Counter = Counter()
    parcels: Counter = Counter()
    stops = [(r, s) for r in view["routes"] for s in r["stops"]]
    stops += [(None, u) for u in view["unassigned"]]
    for r, s in stops:
        kinds = {orders[o]["kind"] for o in s["orders"] if o in orders}
        is_point = s["kind"] == "pickup_point" or s["stop"].startswith(PICKUP_PREFIX)
        if not is_point:
            if "pickup_point" in kinds:
                bad.append(f"stop {s['stop']}: a pickup-point order at a {s['kind']} stop")
            continue
        if kinds - {"pickup_point"}:
            bad.append(f"stop {s['stop']}: a pickup point stop holds {sorted(kinds)} orders")
        pid = _point_of(s, orders)
        wave = r["wave"] if r is not None else s.get("wave")
        per_wave[(wave, pid)] += 1
        point = points.get(pid)
        if point is None:
            bad.append(f"stop {s['stop']}: unknown pickup point {pid!r}")
            continue
        for oid in s["orders"]:
            named = orders.get(oid, {}).get("pickup_point")
            if named and named != pid:
                bad.append(f"order {oid} was sold for pickup point {named}, is at {pid}")
        if r is None:
            continue
        if metres(s["location"], point["location"]) > SAME_PLACE_M * ROAD_FACTOR:
            bad.append(f"stop {s['stop']}: at {s['location']}, not at pickup point {pid}")
        start = _at(s["start"])
        opens = midnight + timedelta(minutes=point["opens"])
        closes = midnight + timedelta(minutes=point["closes"])
        if not opens - slack <= start <= closes + slack:
            bad.append(f"stop {s['stop']}: served at {start:%H:%M:%S}, pickup point {pid} is "
                       f"open {opens:%H:%M}-{closes:%H:%M}")
        parcels[pid] += sum(int(orders[o]["parcels"]) for o in s["orders"] if o in orders)
    bad += [f"pickup point {pid} has {n} stops in wave {wave}"
            for (wave, pid), n in sorted(per_wave.items(), key=str) if n > 1]
    bad += [f"pickup point {pid} receives {n} parcels, over its capacity {points[pid]['capacity']}"
            for pid, n in sorted(parcels.items()) if n > points[pid]["capacity"]]
    return bad


def check_cod(view: View, facts: Facts, orders: Orders) -> list[str]:
    """A cash-on-delivery order at a door rides only with a vehicle type that has a POS terminal
    (at a pickup point the customer pays the point; a return collects no money)."""
    bad = []
    for r in view["routes"]:
        skills = set(facts["vehicle_types"].get(r["vehicle_type"], {}).get("skills", ()))
        if POS in skills:
            continue
        for s in r["stops"]:
            for oid in s["orders"]:
                o = orders.get(oid)
                if o and o["payment"] == "cod" and o["kind"] not in ("return", "pickup_point"):
                    bad.append(f"{_where(r)}: COD order {oid} on a {r['vehicle_type']}, which "
                               f"has no {POS!r} skill")
    return bad


def check_unavailable(view: View, unavailable: Mapping[str, Any]) -> list[str]:
    """A vehicle reported unavailable at t has no planned stop that would end after t."""
    bad = []
    for r in view["routes"]:
        if r["vehicle"] not in unavailable:
            continue
        t = _at(unavailable[r["vehicle"]])
        for s in r["stops"]:
            if s["status"] != "served" and _at(s["departure"]) > t:
                bad.append(f"{_where(r)}: unavailable from {t:%H:%M:%S}, yet stop {s['stop']} "
                           f"is planned until {s['departure']}")
    return bad


# -- facts from the network's own data (duck-typed: no import of the planner's packages) ------

def station_facts(network: Any, station: str, day: date | str) -> dict[str, Any]:
    """The facts the checks need, read from a network's station data (warehouses.Network)."""
    st = network.stations[station]
    return {
        "day": str(day), "depot": list(st.location),
        "waves": {w.id: {"departure": w.departure, "latest_return": w.latest_return}
                  for w in st.waves},
        "vehicle_types": {vt.id: {"capacity": [vt.weight_kg, vt.volume_m3, vt.parcels],
                                  "speed_kmh": vt.speed_kmh, "skills": list(vt.skills),
                                  "shift": list(vt.shift)} for vt in st.fleet},
        "pickup_points": {p.id: {"opens": p.opens, "closes": p.closes, "capacity": p.capacity,
                                 "location": list(p.location)}
                          for p in network.pickup_points.values() if p.station == station}}


def order_facts(sales: Iterable[Any]) -> dict[str, dict[str, Any]]:
    """The orders' own facts from sales (an order and the promise it was sold): kind is
    "pickup_point" for a pickup-point sale, else the order's kind; due and earliest are the
    promise's (a return's promise is its wave, which the stop's own due already says)."""
    out = {}
    for s in sales:
        o, p = s.order, s.promise
        point = p.type == "pickup_point"
        fact = {"payment": o.payment, "kind": "pickup_point" if point else o.kind,
                "weight_kg": o.weight_kg, "volume_m3": o.volume_m3, "parcels": o.parcels}
        if point:
            fact["pickup_point"] = p.pickup_point
        window = getattr(s, "window", None)
        if window and window[0] is not None:
            fact["earliest"] = window[0].isoformat()
        due = getattr(s, "due", None)
        if due is not None and o.kind != "return":
            fact["due"] = due.isoformat()
        out[o.id] = fact
    return out


# -- helpers -----------------------------------------------------------------------------------

def _where(route: Mapping[str, Any]) -> str:
    return f"route {route['vehicle']} wave {route['wave']}"


def _at(value: Any) -> datetime:
    at = value if isinstance(value, datetime) else datetime.fromisoformat(value)
    return at.replace(tzinfo=None)


def _midnight(facts: Facts) -> datetime:
    return datetime.combine(date.fromisoformat(str(facts["day"])), datetime.min.time())


def _over(load: list[float], caps: list[float]) -> bool:
    return any(load[k] > caps[k] + LOAD_TOLERANCE for k in range(3))


def _fmt(load: list[float]) -> str:
    return "[" + ", ".join(f"{x:g}" for x in (round(v, 6) for v in load)) + "]"


def _has_left(route: Mapping[str, Any]) -> bool:
    """Whether a route's vehicle had left the station: reported started, or something served."""
    return route.get("status") in ("started", "finished") or any(
        s["status"] == "served" for s in route["stops"])


def _delivers(oid: str, stop: Mapping[str, Any], orders: Orders | None) -> bool:
    if orders and oid in orders:
        return orders[oid]["kind"] in DELIVERS
    return any(x > 0 for x in stop.get("delivery", ()))


def _point_of(stop: Mapping[str, Any], orders: Orders) -> str | None:
    """A pickup-point stop's point: from its id ("PP:<point>:<wave>"), else its orders."""
    if stop["stop"].startswith(PICKUP_PREFIX):
        return stop["stop"][len(PICKUP_PREFIX):].rsplit(":", 1)[0]
    named = {orders[o].get("pickup_point") for o in stop["orders"] if o in orders}
    named.discard(None)
    return named.pop() if len(named) == 1 else None


__all__ = ["check_dispatch", "check_orders_once", "check_capacity", "check_times",
           "check_promises", "check_locked", "check_pickup_points", "check_cod",
           "check_unavailable", "station_facts", "order_facts", "metres", "travel"]

