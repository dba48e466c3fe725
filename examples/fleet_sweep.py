"""A planner's fleet sweep from Python: every station's vans and e-tricycles times 0.8 .. 1.4 on
a generated Beijing day, the KPI table printed and written as CSV, and cost per order plotted.

    python examples/fleet_sweep.py [--ray] [--orders 5000] [--out out/fleet_sweep]

The same sweep as a scenarios file for `slot211 whatif` is examples/fleet_sweep.toml.
"""

from __future__ import annotations

import argparse
from datetime import date
from pathlib import Path

from slots.whatif import Base, Scenario, run

ROOT = Path(__file__).resolve().parent.parent


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--orders", type=int, default=5000)
    ap.add_argument("--ray", action="store_true", help="run on a local Ray instead of a pool")
    ap.add_argument("--out", type=Path, default=Path("out/fleet_sweep"))
    args = ap.parse_args()
    base = Base(ROOT / "data" / "beijing", date(2026, 12, 2), orders=args.orders, seed=1,
                time_limit=1.0, iterations_per_stop=25)
    sweep = [Scenario(f"fleet_{round(f * 100)}", fleet={"*": f}, sweep={"fleet": f})
             for f in (0.8, 1.0, 1.2, 1.4)]
    frame = run(sweep, base, "ray" if args.ray else "pool")
    print(frame[["fleet", "vehicles", "vehicles_used", "cost_per_order", "delta_cost_per_order",
                 "on_time_rate_211"]].to_string(float_format=lambda v: f"{v:.4g}"))
    args.out.mkdir(parents=True, exist_ok=True)
    frame.to_csv(args.out / "kpis.csv")

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    swept = frame.dropna(subset=["fleet"]).sort_values("fleet")
    fig, ax = plt.subplots(figsize=(6, 3.5))
    ax.plot(swept["fleet"], swept["cost_per_order"], marker="o")
    ax.set_xlabel("fleet multiplier")
    ax.set_ylabel("cost per order")
    fig.tight_layout()
    fig.savefig(args.out / "cost_per_order.png")
    print(f"written: {args.out / 'kpis.csv'}, {args.out / 'cost_per_order.png'}")


if __name__ == "__main__":
    main()
