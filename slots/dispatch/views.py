"""A plan version as dispatchers and the order system read it: routes (JSON, CSV, GeoJSON), every
order exactly once with its status, and each order's ETA."""

from __future__ import annotations

import csv
import io
from datetime import date
from typing import Any, Mapping

from ..waves import at_seconds
from .replan import on_time
from .state import WaveState

ETA_MARGIN = 600.0  # seconds either side of a planned arrival ...
ETA_MARGIN_PER_STOP = 60.0  # ... plus this per unserved stop before it on the route
CSV_COLUMNS = ("wave", "vehicle", "vehicle_type", "sequence", "stop", "kind", "orders", "lat",
               "lon", "arrival", "start", "departure", "status", "due", "on_time", "reason")


def _t(value: float | None, day: date) -> str | None:
    return None if value is None else at_seconds(value, day).isoformat()


def routes_view(waves: Mapping[str, WaveState], day: date) -> dict[str, Any]:
    """Routes with their stops in order, unassigned stops with reasons, and every order once."""
    routes, unassigned, orders = [], [], []
    for state in sorted(waves.values(), key=lambda s: s.departure):
        for v in sorted(state.vehicles.values(), key=lambda v: v.id):
            if not v.route:
                continue
            stops = []
            for seq, sid in enumerate(v.route, start=1):
                stop, visit = state.stops[sid], state.visits[sid]
                status = "served" if sid in state.served else "planned"
                stops.append({
                    "sequence": seq, "stop": sid, "kind": stop.kind, "orders": list(stop.orders),
                    "location": list(stop.location), "arrival": _t(visit.arrival, day),
                    "start": _t(visit.start, day), "departure": _t(visit.departure, day),
                    "load": list(visit.load), "delivery": list(stop.delivery),
                    "pickup": list(stop.pickup), "skills": list(getattr(stop, "skills", ())),
                    "status": status, "due": _t(stop.due, day), "on_time": on_time(state, sid)})
                orders += [{"order": o, "wave": state.wave, "stop": sid, "vehicle": v.id,
                            "sequence": seq, "planned_arrival": _t(visit.start, day),
                            "status": status, "on_time": on_time(state, sid), "reason": None}
                           for o in stop.orders]
            vt = state.types[v.type]
            routes.append({
                "wave": state.wave, "vehicle": v.id, "vehicle_type": v.type,
                "skills": list(getattr(vt, "skills", ())),
                "capacity": [vt.weight_kg, vt.volume_m3, vt.parcels],
                "status": _vehicle_status(state, v),
                "start": _t(v.started_at if v.started_at is not None else v.departs, day),
                "end": _t(state.visits[v.route[-1]].departure, day), "stops": stops})
        for sid, reason in sorted(state.unassigned.items()):
            stop = state.stops[sid]
            unassigned.append({"wave": state.wave, "stop": sid, "kind": stop.kind,
                               "orders": list(stop.orders), "location": list(stop.location),
                               "reason": reason})
            orders += [{"order": o, "wave": state.wave, "stop": sid, "vehicle": None,
                        "sequence": None, "planned_arrival": None, "status": "unassigned",
                        "on_time": False, "reason": reason} for o in stop.orders]
    return {"routes": routes, "unassigned": unassigned, "orders": orders}


def _vehicle_status(state: WaveState, v) -> str:
    if not v.available(state.now):
        return "unavailable"
    if v.route and all(s in state.served for s in v.route):
        return "finished"
    return "started" if v.started_at is not None else "planned"


def routes_csv(view: Mapping[str, Any]) -> str:
    """One row per routed stop, then one per unassigned stop (vehicle empty, with the reason)."""
    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow(CSV_COLUMNS)
    for r in view["routes"]:
        for s in r["stops"]:
            w.writerow([r["wave"], r["vehicle"], r["vehicle_type"], s["sequence"], s["stop"],
                        s["kind"], ";".join(s["orders"]), s["location"][0], s["location"][1],
                        s["arrival"], s["start"], s["departure"], s["status"], s["due"] or "",
                        "" if s["on_time"] is None else str(s["on_time"]).lower(), ""])
    for u in view["unassigned"]:
        w.writerow([u["wave"], "", "", "", u["stop"], u["kind"], ";".join(u["orders"]),
                    u["location"][0], u["location"][1], "", "", "", "unassigned", "", "false",
                    u["reason"]])
    return buf.getvalue()


def routes_geojson(view: Mapping[str, Any], depot: tuple[float, float]) -> dict[str, Any]:
    """A LineString per route (station, stops, station) and a Point per stop; GeoJSON is lon, lat."""
    features = []
    home = [depot[1], depot[0]]
    for r in view["routes"]:
        line = [home] + [[s["location"][1], s["location"][0]] for s in r["stops"]] + [home]
        features.append({"type": "Feature", "geometry": {"type": "LineString", "coordinates": line},
                         "properties": {k: r[k] for k in ("wave", "vehicle", "vehicle_type",
                                                          "status", "start", "end")}})
        for s in r["stops"]:
            props = {k: v for k, v in s.items() if k != "location"}
            features.append({"type": "Feature", "properties": {"vehicle": r["vehicle"], **props},
                             "geometry": {"type": "Point",
                                          "coordinates": [s["location"][1], s["location"][0]]}})
    for u in view["unassigned"]:
        features.append({"type": "Feature", "properties": {k: v for k, v in u.items()
                                                           if k != "location"},
                         "geometry": {"type": "Point",
                                      "coordinates": [u["location"][1], u["location"][0]]}})
    return {"type": "FeatureCollection", "features": features}


def etas(waves: Mapping[str, WaveState], day: date, station: str) -> list[tuple[str, dict]]:
    """Each order's ETA entry: the planned arrival, a window around it that narrows as the stops
    before it are served, its promise, and whether that promise is at risk."""
    out = []
    for state in waves.values():
        ahead: dict[str, int] = {}
        for v in state.vehicles.values():
            left = 0
            for sid in v.route:
                if sid not in state.served:
                    ahead[sid] = left
                    left += 1
        for sid, stop in state.stops.items():
            visit = state.visits.get(sid)
            served = sid in state.served
            lo = hi = None
            if visit is not None:
                margin = 0.0 if served else ETA_MARGIN + ETA_MARGIN_PER_STOP * ahead.get(sid, 0)
                lo = max(visit.start - margin, visit.arrival if served else state.departure)
                hi = visit.start + margin
                if stop.early is not None:
                    lo = max(lo, stop.early)
            kept = on_time(state, sid)
            risk = visit is None or kept is False or (
                stop.due is not None and not served and hi is not None and hi > stop.due)
            entry = {
                "station": station, "wave": state.wave, "stop": sid, "kind": stop.kind,
                "vehicle": visit.vehicle if visit else None,
                "status": "served" if served else "planned" if visit else "unassigned",
                "planned_arrival": _t(visit.start if visit else None, day),
                "window": [_t(lo, day), _t(hi, day)] if visit else None,
                "promise": {"due": _t(stop.due, day), "earliest": _t(stop.early, day)},
                "at_risk": bool(risk), "reason": state.unassigned.get(sid)}
            out += [(o, {"order": o, **entry}) for o in stop.orders]
    return out
