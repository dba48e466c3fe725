"""Independent checker for a day plan (plan.json): it recomputes every route's schedule itself.

It reads the network's data (station places, fleets, waves, pickup-point hours) but nothing the
planner or the router computed except each route's stop order. From its own haversine travel
times it judges every order against what was sold, and checks capacity, shifts and waves.
"""

from __future__ import annotations

import math
from collections import Counter
from datetime import datetime, timedelta

from warehouses.geo import ROAD_FACTOR
from warehouses.network import Network

EARTH_RADIUS_M = 6_371_008.8
TOLERANCE_S = 1.0
PROMISE_211 = ("211_same_day", "211_next_day")


def _metres(a: list[float], b: list[float]) -> float:
    la1, lo1, la2, lo2 = map(math.radians, (a[0], a[1], b[0], b[1]))
    h = (math.sin((la2 - la1) / 2) ** 2
         + math.cos(la1) * math.cos(la2) * math.sin((lo2 - lo1) / 2) ** 2)
    return 2 * EARTH_RADIUS_M * math.asin(min(1.0, math.sqrt(h))) * ROAD_FACTOR


def check_day(plan: dict, order_ids: list[str], network: Network) -> dict:
    """Return {"violations": [...], "on_time_211": rate, ...} for a plan.json dict."""
    bad: list[str] = []
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
            for oid in s["orders"]:
                if oid in on_route:
                    bad.append(f"order {oid} is on two routes")
                on_route[oid] = start
                if info.get(oid, {}).get("vehicle") != r["vehicle"]:
                    bad.append(f"order {oid}: plan.orders says vehicle "
                               f"{info.get(oid, {}).get('vehicle')}, route says {r['vehicle']}")
            service = s["service_seconds"]
            if s["kind"] in ("door", "return") and service < station.service_minutes * 60 - 1e-6:
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


def _earliest(stop: dict, info: dict, network: Network, dep: datetime) -> datetime:
    """The earliest service start the promise allows: a timed window's start, or opening hours."""
    lo = dep
    if stop["kind"] == "pickup_point":
        pid = stop["stop"].split(":")[1]
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
