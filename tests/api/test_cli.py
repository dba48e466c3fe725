"""The `slot211` command line: solves the bundled sample, and rejects bad files with a message."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from api.cli import app

SAMPLE = Path(__file__).resolve().parents[2] / "data" / "sample" / "wangjing_morning_wave.json"
runner = CliRunner()


def test_solve_sample_prints_plan_and_writes_json(tmp_path):
    out = tmp_path / "plan.json"
    result = runner.invoke(app, ["solve", str(SAMPLE), "--time-limit", "1", "--json", str(out)])
    assert result.exit_code == 0, result.output
    assert "served 80" in result.stdout
    plan = json.loads(out.read_text())
    assert sum(len(r["visits"]) for r in plan["routes"]) + len(plan["unassigned"]) == 80


def test_bad_problem_file_exits_2_naming_the_field(tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"stops": [{"id": "a", "location": [0, 0], "windows": [[5, 1]]}]}))
    result = runner.invoke(app, ["solve", str(bad)])
    assert result.exit_code == 2
    assert "stops['a'].windows[0]" in result.output


BEIJING = Path(__file__).resolve().parents[2] / "data" / "beijing"


def test_plan_generated_day_writes_every_output(tmp_path):
    from warehouses import load_network

    from benchmarks.cityday_checker import check_day

    out = tmp_path / "day"
    result = runner.invoke(app, ["plan", str(BEIJING), "--orders", "generated:300", "--seed", "3",
                                 "--date", "2026-12-02", "--out", str(out), "--time-limit", "0.2",
                                 "--workers", "1"])
    assert result.exit_code == 0, result.output
    assert "on time (211 promises)" in result.stdout
    for name in ("plan.json", "routes.csv", "stops.geojson", "map.html", "kpis.json"):
        assert (out / name).stat().st_size > 0, name
    plan = json.loads((out / "plan.json").read_text())
    ids = [o["order"] for o in plan["orders"]]
    assert len(ids) == len(set(ids)) == 300
    assert check_day(plan, ids, load_network(BEIJING))["violations"] == []
    assert "leaflet" in (out / "map.html").read_text().lower()
    rows = (out / "routes.csv").read_text().splitlines()
    assert len(rows) - 1 == sum(len(r["stops"]) for r in plan["routes"])


def test_plan_orders_file_with_a_bad_cell_names_row_and_column(tmp_path):
    from slots.generate import generate_orders
    from slots.orders_io import write_orders
    from warehouses import load_network

    from datetime import date

    path = tmp_path / "orders.csv"
    write_orders(path, generate_orders(load_network(BEIJING), 5, date(2026, 12, 2), seed=1))
    lines = path.read_text().splitlines()
    header = lines[0].split(",")
    cells = lines[2].split(",")
    cells[header.index("weight_kg")] = "heavy"
    lines[2] = ",".join(cells)
    path.write_text("\n".join(lines) + "\n")
    result = runner.invoke(app, ["plan", str(BEIJING), "--orders", str(path), "--date",
                                 "2026-12-02", "--out", str(tmp_path / "o")])
    assert result.exit_code == 2
    assert "row 2, column weight_kg" in result.output


def test_plan_rejects_a_bad_date(tmp_path):
    result = runner.invoke(app, ["plan", str(BEIJING), "--orders", "generated:5", "--date",
                                 "02/12/2026", "--out", str(tmp_path)])
    assert result.exit_code == 2
    assert "--date" in result.output
