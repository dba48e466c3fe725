"""What-if outputs: kpis.csv, PNG plots of cost per order and on-time rate against the swept
parameter, a map per scenario, and report.html tying them together. Plotting stays out of the
library (slots/whatif)."""

from __future__ import annotations

import html
from pathlib import Path
from typing import Any, Mapping

PLOTS = (("cost_per_order", "cost per order"), ("on_time_rate_211", "211 on-time rate"))


def write_outputs(frame: Any, plans: Mapping[str, Any], network_of: Mapping[str, Any],
                  out: Path, title: str) -> list[Path]:
    """Write everything to `out`; returns the files written."""
    out.mkdir(parents=True, exist_ok=True)
    written = [out / "kpis.csv"]
    frame.to_csv(written[0])
    written += _plots(frame, out)
    maps = out / "maps"
    maps.mkdir(exist_ok=True)
    from .citymap import write_map

    for name, plan in plans.items():
        written.append(write_map(plan, network_of[name], maps / f"{_slug(name)}.html"))
    written.append(_report(frame, out, title, [p for p in written if p.suffix == ".png"]))
    return written


def sweep_column(frame: Any) -> str | None:
    """The swept parameter: the first column that is neither a KPI nor a delta, if any."""
    from slots.whatif.run import kpi_columns

    extra = [c for c in frame.columns if c not in kpi_columns() and not c.startswith("delta_")
             and not c.endswith("_seconds")]
    return extra[0] if extra else None


def _plots(frame: Any, out: Path) -> list[Path]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    x = sweep_column(frame)
    files = []
    for col, label in PLOTS:
        fig, ax = plt.subplots(figsize=(6, 3.6), dpi=110)
        if x is not None and frame[x].notna().sum() >= 2:
            data = frame[frame[x].notna()].sort_values(x)
            ax.plot(data[x], data[col], marker="o")
            for name, row in data.iterrows():
                ax.annotate(str(name), (row[x], row[col]), fontsize=7, xytext=(3, 3),
                            textcoords="offset points")
            ax.set_xlabel(x)
        else:
            ax.bar([str(i) for i in frame.index], frame[col])
            ax.tick_params(axis="x", rotation=30, labelsize=8)
        ax.set_ylabel(label)
        ax.set_title(f"{label} by scenario")
        ax.grid(alpha=0.3)
        fig.tight_layout()
        path = out / f"{col}.png"
        fig.savefig(path)
        plt.close(fig)
        files.append(path)
    return files


def _report(frame: Any, out: Path, title: str, plots: list[Path]) -> Path:
    table = frame.to_html(float_format=lambda v: f"{v:,.4g}", border=0, classes="kpis")
    images = "\n".join(f'<figure><img src="{p.name}" alt="{html.escape(p.stem)}"></figure>'
                       for p in plots)
    maps = "\n".join(f'<section><h3>{html.escape(str(n))}</h3><iframe src="maps/{_slug(n)}.html" '
                     f'title="{html.escape(str(n))}" width="100%" height="420" loading="lazy">'
                     f'</iframe></section>' for n in frame.index)
    page = f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{html.escape(title)}</title>
<style>body{{font-family:sans-serif;margin:2em;max-width:70em}}table.kpis{{border-collapse:collapse;
font-size:0.85em}}table.kpis td,table.kpis th{{padding:0.2em 0.6em;text-align:right;
border-bottom:1px solid #ddd}}figure{{display:inline-block;margin:0.5em}}</style></head>
<body><h1>{html.escape(title)}</h1>
<h2>KPIs</h2>{table}
<h2>Plots</h2>{images}
<h2>Maps</h2>{maps}
<p>Every KPI is as <code>slot211 plan</code> reports it; <code>delta_*</code> columns are against
the base. The raw table is <a href="kpis.csv">kpis.csv</a>.</p>
</body></html>
"""
    path = out / "report.html"
    path.write_text(page, encoding="utf-8")
    return path


def _slug(name: Any) -> str:
    return "".join(c if c.isalnum() or c in "-_" else "_" for c in str(name))
