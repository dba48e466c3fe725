"""Write a day plan to disk: plan.json, routes.csv, stops.geojson and kpis.json."""

from __future__ import annotations

import csv
import json
from dataclasses import asdict
from datetime import date, datetime
from pathlib import Path
from typing import Any

from slots.dayplan import DayPlan


def _plain(value: Any) -> Any:
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value


def plan_dict(plan: DayPlan) -> dict:
    """The plan as plain JSON-ready data: every order, every route with its stops in order."""
    return {
        "date": plan.day.isoformat(),
        "orders": [_plain(asdict(o)) for o in plan.orders],
        "routes": [_plain(asdict(r)) for r in plan.routes],
        "stats": _plain(plan.stats),
    }


def write_plan(plan: DayPlan, kpis: dict, out: Path) -> list[Path]:
    """Write plan.json, routes.csv, stops.geojson and kpis.json into `out`; return the paths."""
    out.mkdir(parents=True, exist_ok=True)
    paths = [out / "plan.json", out / "routes.csv", out / "stops.geojson", out / "kpis.json"]
    paths[0].write_text(json.dumps(plan_dict(plan), indent=1))
    with paths[1].open("w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["station", "wave", "vehicle", "vehicle_type", "sequence", "stop", "orders",
                    "lat", "lon", "arrival", "start", "departure", "load_weight", "load_volume",
                    "load_parcels"])
        for r in plan.routes:
            for seq, s in enumerate(r.stops, start=1):
                w.writerow([r.station, r.wave, r.vehicle, r.vehicle_type, seq, s["stop"],
                            ";".join(s["orders"]), s["location"][0], s["location"][1],
                            s["arrival"].isoformat(), s["start"].isoformat(),
                            s["departure"].isoformat(), *(round(x, 4) for x in s["load"])])
    features = []
    for r in plan.routes:
        for seq, s in enumerate(r.stops, start=1):
            features.append({
                "type": "Feature",
                "geometry": {"type": "Point", "coordinates": [s["location"][1], s["location"][0]]},
                "properties": {"station": r.station, "wave": r.wave, "vehicle": r.vehicle,
                               "sequence": seq, "stop": s["stop"], "orders": s["orders"],
                               "kind": s["kind"], "start": s["start"].isoformat()},
            })
    paths[2].write_text(json.dumps({"type": "FeatureCollection", "features": features}))
    paths[3].write_text(json.dumps(_plain(kpis), indent=1))
    return paths
