"""Independent checker for a day plan (plan.json): it recomputes every route's schedule itself.

It reads the network's data (station places, fleets and their skills, waves, pickup-point hours
and capacities) and, if given, the input orders, but nothing the planner or the router computed
except each route's stop order and loads. From its own haversine travel times it judges every
order against what was sold, and checks capacity (with pickups and exchanges along the route),
shifts, waves, cash on delivery on POS vehicles, and one stop per pickup point per wave within
its hours and its daily parcel capacity.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any

from warehouses.geo import ROAD_FACTOR
from warehouses.network import Network

EARTH_RADIUS_M = 6_371_008.8
TOLERANCE_S = 1.0
PROMISE_211 = ("211_same_day", "211_next_day")
POS = "pos"  # the vehicle skill a cash-on-delivery door needs
DOORS = ("door", "exchange")  # stops where a courier hands over goods (and may collect cash)
LOAD_TOLERANCE = 1e-6


def _metres(a: list[float], b: list[float]) -> float:
    la1, lo1, la2, lo2 = map(math.radians, (a[0], a[1], b[0], b[1]))
    h = (math.sin((la2 - la1) / 2) ** 2
         + math.cos(la1) * math.cos(la2) * math.sin((lo2 - lo1) / 2) ** 2)
    return 2 * EARTH_RADIUS_M * math.asin(min(1.0, math.sqrt(h))) * ROAD_FACTOR


def check_day(plan: dict, order_ids: list[str], network: Network,
              orders: Iterable[Any] | None = None) -> dict:
    """Return {"violations": [...], "on_time_211": rate, ...} for a plan.json dict.

    `orders` are the input orders (anything with id, payment, kind, weight_kg, volume_m3 and
    parcels); with them, each stop's loads, kind and vehicle are checked against the orders
    themselves (cash on delivery, exchanges), not against what the plan says about its stops.
    """
    bad: list[str] = []
    given = {o.id: o for o in orders} if orders is not None else {}
    seen = Counter(o["order"] for o in plan["orders"])
    for oid in order_ids:
        if seen[oid] != 1:
            bad.append(f"order {oid} appears {seen[oid]} times in plan.orders")
    extra = set(seen) - set(order_ids)
    if extra:
        bad.append(f"{len(extra)} orders in the plan that were not input, e.g. {sorted(extra)[0]}")
    info = {o["order"]: o for o in plan["orders"]}
    on_route: dict[str, datetime] = {}
    busy: dict[str, list[tuple[datetime, datetime]]] = {}
    point_stops: Counter = Counter()
    point_parcels: Counter = Counter()
    for r in plan["routes"]:
        where = f"route {r['vehicle']} wave {r['wave']}"
        station = network.stations[r["station"]]
        vt = next((v for v in station.fleet if v.id == r["vehicle_type"]), None)
        if vt is None:
            bad.append(f"{where}: unknown vehicle type {r['vehicle_type']}")
            continue
        wave = next(w for w in station.waves if w.id == r["wave"])
        day = datetime.fromisoformat(r["wave_departure"]).replace(hour=0, minute=0, second=0)
        dep = day + timedelta(minutes=wave.departure)
        back_by = day + timedelta(minutes=min(wave.latest_return, vt.shift[1]))
        t = max(datetime.fromisoformat(r["start"]), dep)
        here = list(station.location)
        speed = vt.speed_kmh / 3.6
        load = [sum(s["delivery"][k] for s in r["stops"]) for k in range(3)]
        caps = (vt.weight_kg, vt.volume_m3, vt.parcels)
        if any(load[k] > caps[k] + 1e-6 for k in range(3)):
            bad.append(f"{where}: leaves loaded {load} over capacity {caps}")
        for s in r["stops"]:
            t += timedelta(seconds=_metres(here, s["location"]) / speed)
            lo = _earliest(s, info, network, dep)
            start = max(t, lo)
            bad += _stop_faults(where, s, vt, station, given)
            if s["kind"] == "pickup_point":
                pid = _point_id(s)
                point_stops[pid, r["wave"], day.date()] += 1
                point_parcels[pid, day.date()] += _parcels(s, given)
                bad += _hours_faults(where, s, network.pickup_points[pid], day, start)
            for oid in s["orders"]:
                if oid in on_route:
                    bad.append(f"order {oid} is on two routes")
                on_route[oid] = start
                if info.get(oid, {}).get("vehicle") != r["vehicle"]:
                    bad.append(f"order {oid}: plan.orders says vehicle "
                               f"{info.get(oid, {}).get('vehicle')}, route says {r['vehicle']}")
            service = s["service_seconds"]
            if s["kind"] in ("door", "return", "exchange") and \
                    service < station.service_minutes * 60 - 1e-6:
                bad.append(f"{where}: stop {s['stop']} serves in {service}s, under the station's")
            t = start + timedelta(seconds=service)
            for k in range(3):
                load[k] += s["pickup"][k] - s["delivery"][k]
            if any(load[k] > caps[k] + 1e-6 for k in range(3)):
                bad.append(f"{where}: over capacity after stop {s['stop']}")
            here = s["location"]
        t += timedelta(seconds=_metres(here, list(station.location)) / speed)
        if t > back_by + timedelta(seconds=TOLERANCE_S):
            bad.append(f"{where}: back at {t:%H:%M:%S}, after {back_by:%H:%M}")
        if vt.max_duration and (t - datetime.fromisoformat(r["start"])).total_seconds() > \
                vt.max_duration * 60 + TOLERANCE_S:
            bad.append(f"{where}: longer than the vehicle's max duration")
        busy.setdefault(r["vehicle"], []).append((datetime.fromisoformat(r["start"]), t))
    for (pid, wave, day), n in sorted(point_stops.items()):
        if n > 1:
            bad.append(f"pickup point {pid}: {n} stops in wave {wave} on {day}, not one")
    for (pid, day), n in sorted(point_parcels.items()):
        if n > network.pickup_points[pid].capacity:
            bad.append(f"pickup point {pid}: {n} parcels delivered on {day}, over its capacity "
                       f"{network.pickup_points[pid].capacity}")
    for vid, spans in busy.items():
        spans.sort()
        for (a0, a1), (b0, b1) in zip(spans, spans[1:]):
            if b0 < a1 - timedelta(seconds=TOLERANCE_S):
                bad.append(f"vehicle {vid}: a wave starts at {b0:%H:%M} before it is back {a1:%H:%M}")
    kept = Counter()
    sold = Counter()
    for o in plan["orders"]:
        if o["outcome"] not in ("kept", "broken"):
            continue
        sold[o["promise"]] += 1
        start = on_route.get(o["order"])
        if start is not None and _on_time(o, start):
            kept[o["promise"]] += 1
        elif o["outcome"] == "kept":
            bad.append(f"order {o['order']}: plan says kept, recomputed start "
                       f"{start} misses its promise")
    n211 = sum(sold[p] for p in PROMISE_211)
    return {
        "violations": bad,
        "sold_211": n211,
        "kept_211": sum(kept[p] for p in PROMISE_211),
        "on_time_211": sum(kept[p] for p in PROMISE_211) / n211 if n211 else None,
        "on_time_own_fleet": sum(kept.values()) / sum(sold.values()) if sold else None,
    }


def _stop_faults(where: str, stop: dict, vt: Any, station: Any, given: dict) -> list[str]:
    """What is wrong with one stop on its vehicle: skills, an exchange without both loads, and
    (with the input orders) loads, kind, COD service time and COD without a POS terminal."""
    out = []
    name = f"{where}: stop {stop['stop']}"
    skills = set(vt.skills)
    if not set(stop.get("skills", ())) <= skills:
        out.append(f"{name} needs {sorted(stop['skills'])}, {vt.id} has {sorted(skills)}")
    if stop["kind"] == "exchange" and not (stop["delivery"][2] > 0 and stop["pickup"][2] > 0):
        out.append(f"{name}: an exchange must deliver and pick up, got delivery "
                   f"{stop['delivery']} and pickup {stop['pickup']}")
    orders = [given[o] for o in stop["orders"] if o in given]
    if not orders:
        return out
    cod = [o.id for o in orders if o.payment == "cod" and o.kind != "return"]
    if cod and stop["kind"] in DOORS:
        if POS not in skills:
            out.append(f"{name}: cash on delivery for {cod[0]} on {vt.id}, which has no POS terminal")
        if stop["service_seconds"] < station.cod_service_minutes * 60 - 1e-6:
            out.append(f"{name}: cash on delivery served in {stop['service_seconds']}s, under the "
                       f"station's {station.cod_service_minutes} min")
    want = _loads(stop["kind"], orders)
    if want is None:
        out.append(f"{name}: a {stop['kind']} stop for orders of kind "
                   f"{sorted({o.kind for o in orders})}")
    else:
        for field, need in zip(("delivery", "pickup"), want):
            if any(abs(a - b) > LOAD_TOLERANCE for a, b in zip(stop[field], need)):
                out.append(f"{name}: {field} {stop[field]}, its orders need {list(need)}")
    return out


def _loads(kind: str, orders: list) -> tuple[tuple, tuple] | None:
    """(delivery, pickup) the orders need at a stop of this kind; None if they do not belong."""
    total = tuple(sum(getattr(o, f) for o in orders) for f in ("weight_kg", "volume_m3", "parcels"))
    none = (0.0, 0.0, 0)
    kinds = {o.kind for o in orders}
    if kind == "pickup_point" and kinds == {"delivery"}:
        return total, none
    if len(orders) != 1:
        return None
    return {("door", "delivery"): (total, none), ("return", "return"): (none, total),
            ("exchange", "exchange"): (total, total)}.get((kind, orders[0].kind))


def _point_id(stop: dict) -> str:
    return stop["stop"][len("PP:"):].rsplit(":", 1)[0]


def _parcels(stop: dict, given: dict) -> int:
    """Parcels left at a pickup point: the input orders' if known, else the stop's delivery."""
    if all(o in given for o in stop["orders"]):
        return sum(given[o].parcels for o in stop["orders"])
    return int(round(stop["delivery"][2]))


def _hours_faults(where: str, stop: dict, point: Any, day: datetime, start: datetime) -> list[str]:
    """A pickup point's stop must start (recomputed and as planned) while the point is open."""
    opens = day + timedelta(minutes=point.opens)
    closes = day + timedelta(minutes=point.closes)
    slack = timedelta(seconds=TOLERANCE_S)
    out = []
    for what, at in (("recomputed", start), ("planned", datetime.fromisoformat(stop["start"]))):
        if not opens - slack <= at <= closes + slack:
            out.append(f"{where}: stop {stop['stop']} {what} start {at:%H:%M:%S} outside "
                       f"{point.id}'s hours {opens:%H:%M}-{closes:%H:%M}")
    if any(abs(a - b) > 1e-9 for a, b in zip(stop["location"], point.location)):
        out.append(f"{where}: stop {stop['stop']} is not at {point.id}")
    return out


def _earliest(stop: dict, info: dict, network: Network, dep: datetime) -> datetime:
    """The earliest service start the promise allows: a timed window's start, or opening hours."""
    lo = dep
    if stop["kind"] == "pickup_point":
        pid = _point_id(stop)
        lo = max(lo, dep.replace(hour=0, minute=0) + timedelta(minutes=network.pickup_points[pid].opens))
    for oid in stop["orders"]:
        w = info.get(oid, {}).get("window")
        if w:
            lo = max(lo, datetime.fromisoformat(w[0]))
    return lo


def _on_time(order: dict, start: datetime) -> bool:
    slack = timedelta(seconds=TOLERANCE_S)
    if order.get("window"):
        a, b = (datetime.fromisoformat(x) for x in order["window"])
        return a - slack <= start <= b + slack
    if order.get("deadline"):
        return start <= datetime.fromisoformat(order["deadline"]) + slack
    return True
