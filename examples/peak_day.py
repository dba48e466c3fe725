"""A planner's script: a Double-11 peak (three times today's orders) with and without 40% more
vans, a 12:00 same-day cutoff, and a new station in the north-east, compared with the base day.

    python examples/peak_day.py            # local process pool
    python examples/peak_day.py --ray      # the same on a local Ray
"""

from __future__ import annotations

import sys
from datetime import date
from pathlib import Path

from slots.whatif import Base, Scenario, run

ROOT = Path(__file__).resolve().parent.parent


def main() -> None:
    base = Base(ROOT / "data" / "beijing", date(2026, 12, 2), orders=3000, seed=7, time_limit=1.0)
    scenarios = [
        Scenario("peak_x3", demand=3.0),
        Scenario("peak_x3_more_vans", demand=3.0, fleet={"*": {"van": 6}}),
        Scenario("cutoff_12", cutoffs={"*": {"same_day_cutoff": "12:00"}}),
        Scenario("new_station", add_stations=({"id": "BJ-NEW", "name": "Wangjing North",
                                               "location": [40.02, 116.49], "like": "BJ-WJ"},)),
    ]
    frame = run(scenarios, base, "ray" if "--ray" in sys.argv else "pool")
    cols = ["orders", "vehicles", "on_time_rate_211", "cost_per_order", "delta_cost_per_order",
            "broken", "third_party"]
    print(frame[cols].to_string(float_format=lambda v: f"{v:.4g}"))


if __name__ == "__main__":
    main()
