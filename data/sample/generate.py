"""Generate `wangjing_morning_wave.json`: one Beijing station's morning wave (seeded, reproducible)."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np

STATION = (39.9965, 116.4700)  # Wangjing, Chaoyang district
H = 3600


def generate(n_stops: int = 80, seed: int = 211) -> dict:
    rng = np.random.default_rng(seed)
    stops = []
    for i in range(n_stops):
        r = 4000 * math.sqrt(rng.random())
        a = rng.random() * 2 * math.pi
        lat = STATION[0] + r * math.cos(a) / 111_320
        lon = STATION[1] + r * math.sin(a) / (111_320 * math.cos(math.radians(STATION[0])))
        weight = round(float(rng.uniform(0.3, 15.0)), 2)
        stop = {
            "id": f"JD{26120100000 + i}",
            "location": [round(lat, 6), round(lon, 6)],
            "delivery": {"weight": weight, "volume": round(float(rng.uniform(0.002, 0.12)), 4),
                         "parcels": int(rng.integers(1, 4))},
            "service_time": 180.0,
        }
        kind = rng.random()
        if kind < 0.15:
            start = int(rng.integers(10, 12)) * H
            stop["windows"] = [[start, start + 2 * H]]
        elif kind < 0.25:
            stop["delivery"] = {}
            stop["pickup"] = {"weight": round(float(rng.uniform(0.5, 8.0)), 2), "volume": 0.03,
                              "parcels": 1}
            stop["service_time"] = 300.0
        elif kind < 0.30:
            stop["pickup"] = {"weight": round(weight * 0.8, 2), "volume": 0.02, "parcels": 1}
            stop["service_time"] = 360.0
        if rng.random() < 0.1:
            stop["priority"] = 2
        stops.append(stop)
    fleet = [
        {"id": "van", "count": 3, "capacity": {"weight": 500.0, "volume": 3.0, "parcels": 120},
         "start_depot": "BJ-WJ", "shift": [8.5 * H, 14 * H], "fixed_cost": 50.0,
         "cost_per_km": 1.2, "cost_per_hour": 40.0},
        {"id": "etrike", "count": 4, "capacity": {"weight": 150.0, "volume": 1.0, "parcels": 50},
         "start_depot": "BJ-WJ", "shift": [8.5 * H, 14 * H], "max_duration": 4.5 * H,
         "fixed_cost": 20.0, "cost_per_km": 0.3, "cost_per_hour": 30.0, "speed_factor": 0.8},
    ]
    return {
        "dimensions": ["weight", "volume", "parcels"],
        "coordinates": "latlon",
        "speed": 20 / 3.6,
        "depots": [{"id": "BJ-WJ", "location": list(STATION), "window": [7 * H, 22 * H]}],
        "stops": stops,
        "vehicle_types": fleet,
    }


if __name__ == "__main__":
    out = Path(__file__).with_name("wangjing_morning_wave.json")
    out.write_text(json.dumps(generate(), indent=1) + "\n")
    print(f"wrote {out}")
