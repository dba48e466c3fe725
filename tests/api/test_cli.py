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


# -- slot211 dispatch ------------------------------------------------------------------------------

import csv  # noqa: E402
import io  # noqa: E402

import pytest  # noqa: E402


@pytest.fixture(scope="module")
def dispatch_db(tmp_path_factory):
    """A SQLite ledger with confirmed reservations at one station, made through the slot service."""
    from slots.ledger import open_ledger
    from tests.slots.dispatch.test_service import book

    url = f"sqlite:///{tmp_path_factory.mktemp('dispatch') / 'ledger.db'}"
    ledger = open_ledger(url)
    bookings = book(ledger, count=50, pickups=6)
    ledger.close()
    return url, bookings


def dispatch(*args: str, db: str):
    return runner.invoke(app, ["dispatch", *args, "--network", str(BEIJING), "--db", db])


@pytest.fixture(scope="module")
def dispatch_job(dispatch_db):
    url, _ = dispatch_db
    result = dispatch("plan", "BJ-XD", "--date", "2026-12-02", "--time-limit", "0.5", db=url)
    assert result.exit_code == 0, result.output
    job = json.loads(result.stdout)
    assert job["status"] == "done" and job["version"] == 1
    return job


def test_dispatch_plan_and_status(dispatch_db, dispatch_job):
    url, bookings = dispatch_db
    assert dispatch_job["station"] == "BJ-XD" and dispatch_job["error"] is None
    kpis = dispatch_job["kpis"]
    assert kpis["stops"] == kpis["routed"] + kpis["unassigned"] and kpis["routed"] > 0
    result = dispatch("status", dispatch_job["id"], db=url)
    assert result.exit_code == 0, result.output
    status = json.loads(result.stdout)
    assert (status["id"], status["status"], status["percent"], status["kpis"]) == (
        dispatch_job["id"], "done", 100.0, kpis)


def test_dispatch_routes_as_json_csv_and_geojson(dispatch_db, dispatch_job, tmp_path):
    from tests.slots.dispatch.test_service import check_routes

    url, bookings = dispatch_db
    out = tmp_path / "routes.json"
    result = dispatch("routes", dispatch_job["id"], "--out", str(out), db=url)
    assert result.exit_code == 0, result.output
    view = json.loads(out.read_text())
    check_routes(view, bookings)

    result = dispatch("routes", dispatch_job["id"], "--format", "csv", db=url)
    assert result.exit_code == 0, result.output
    rows = list(csv.DictReader(io.StringIO(result.stdout.strip() + "\n")))
    assert len(rows) == sum(len(r["stops"]) for r in view["routes"]) + len(view["unassigned"])
    assert sorted(o for row in rows for o in row["orders"].split(";")) == sorted(bookings)
    assert {row["vehicle"] for row in rows if row["vehicle"]} == {r["vehicle"]
                                                                  for r in view["routes"]}

    result = dispatch("routes", dispatch_job["id"], "--format", "geojson", db=url)
    assert result.exit_code == 0, result.output
    kinds = [f["geometry"]["type"] for f in json.loads(result.stdout)["features"]]
    assert kinds.count("LineString") == len(view["routes"])


def test_dispatch_events_eta_and_map(dispatch_db, dispatch_job, tmp_path):
    url, bookings = dispatch_db
    job = dispatch_job["id"]
    v1 = json.loads(dispatch("routes", job, db=url).stdout)
    route = next(r for r in v1["routes"] if r["wave"] == "W1")
    order = route["stops"][0]["orders"][0]
    eta = dispatch("eta", order, db=url)
    assert eta.exit_code == 0, eta.output
    first = json.loads(eta.stdout)
    assert (first["order"], first["job"], first["version"], first["vehicle"]) == (
        order, job, 1, route["vehicle"])
    assert first["planned_arrival"] == route["stops"][0]["start"]
    assert first["promise"]["due"] == (bookings[order].due.isoformat()
                                       if bookings[order].due else None)

    events = tmp_path / "events.json"
    events.write_text(json.dumps({"events": [
        {"type": "vehicle_unavailable", "vehicle": route["vehicle"],
         "at": route["stops"][0]["arrival"]}]}))
    result = dispatch("events", job, str(events), db=url)
    assert result.exit_code == 0, result.output
    replan = json.loads(result.stdout)
    assert replan["job"] == job and replan["version"] == 2 and "W1" in replan["changes"]["waves"]
    v2 = json.loads(dispatch("routes", job, db=url).stdout)
    assert v2["version"] == 2
    assert not any(r["vehicle"] == route["vehicle"] and any(
        s["status"] == "planned" for s in r["stops"]) for r in v2["routes"])
    assert json.loads(dispatch("routes", job, "--version", "1", db=url).stdout) == v1
    again = json.loads(dispatch("eta", order, db=url).stdout)
    assert again["version"] == 2 and again["vehicle"] != route["vehicle"]

    page = tmp_path / "map.html"
    result = dispatch("map", job, "--out", str(page), db=url)
    assert result.exit_code == 0, result.output
    html = page.read_text()
    assert "leaflet" in html.lower() and "BJ-XD 2026-12-02 v2" in html
    assert all(r["vehicle"] in html for r in v2["routes"] if r["status"] != "unavailable")


@pytest.mark.parametrize("args, message", [
    (["plan", "BJ-NOPE", "--date", "2026-12-02"], "station"),
    (["plan", "BJ-XD", "--date", "02/12/2026"], "--date"),
    (["plan", "BJ-XD", "--date", "2026-12-02", "--wave", "W9"], "wave"),
    (["status", "plan_nope"], "no plan job plan_nope"),
    (["routes", "plan_nope"], "no plan job plan_nope"),
    (["eta", "O-NOT-AN-ORDER"], "O-NOT-AN-ORDER"),
])
def test_dispatch_errors_exit_2_with_a_message(dispatch_db, args, message):
    url, _ = dispatch_db
    result = dispatch(*args, db=url)
    assert result.exit_code == 2, (result.exit_code, result.output)
    assert message in result.output and "Traceback" not in result.output


def test_dispatch_routes_rejects_an_unknown_format(dispatch_db, dispatch_job):
    result = dispatch("routes", dispatch_job["id"], "--format", "xlsx", db=dispatch_db[0])
    assert result.exit_code == 2 and "--format" in result.output


def test_dispatch_events_rejects_a_bad_file(dispatch_db, dispatch_job, tmp_path):
    url, _ = dispatch_db
    bad = tmp_path / "events.json"
    bad.write_text("{not json")
    result = dispatch("events", dispatch_job["id"], str(bad), db=url)
    assert result.exit_code == 2 and "not JSON" in result.output
    bad.write_text(json.dumps([{"type": "vehicle_unavailable", "at": "2026-12-02T09:00:00"}]))
    result = dispatch("events", dispatch_job["id"], str(bad), db=url)
    assert result.exit_code == 2 and "events.0.vehicle" in result.output


# -- slot211 whatif --------------------------------------------------------------------------------

PNG = b"\x89PNG\r\n\x1a\n"
WHATIF = f"""\
[base]
network = "{BEIJING}"
orders = 300
date = "2026-12-02"
seed = 2
time_limit = 0.3
iterations_per_stop = 20

[scenarios."vans 12"]
fleet = {{ "*" = {{ van = 12 }} }}
sweep = {{ vans = 12 }}

[scenarios.vans_2]
fleet = {{ "*" = {{ van = 2 }} }}
sweep = {{ vans = 2 }}
"""


def test_whatif_writes_the_table_plots_maps_and_report(tmp_path):
    toml = tmp_path / "fleet.toml"
    toml.write_text(WHATIF)
    out = tmp_path / "whatif"
    result = runner.invoke(app, ["whatif", str(toml), "--out", str(out), "--workers", "2"])
    assert result.exit_code == 0, result.output
    assert "vans 12" in result.stdout and "vans_2" in result.stdout

    rows = list(csv.DictReader((out / "kpis.csv").open()))
    assert [r["scenario"] for r in rows] == ["base", "vans 12", "vans_2"]
    by = {r["scenario"]: r for r in rows}
    assert {r["orders"] for r in rows} == {"300"}
    assert int(by["vans 12"]["vehicles"]) > int(by["base"]["vehicles"]) > int(
        by["vans_2"]["vehicles"])
    assert float(by["base"]["delta_cost"]) == 0.0
    assert float(by["vans_2"]["delta_vehicles_used"]) == pytest.approx(
        float(by["vans_2"]["vehicles_used"]) - float(by["base"]["vehicles_used"]))
    assert (by["vans 12"]["vans"], by["base"]["vans"]) == ("12.0", "")

    pngs = sorted(p.name for p in out.glob("*.png"))
    assert pngs == ["cost_per_order.png", "on_time_rate_211.png"]
    for name in pngs:
        data = (out / name).read_bytes()
        assert data[:8] == PNG and len(data) > 1000, name

    maps = sorted(p.name for p in (out / "maps").glob("*.html"))
    assert maps == ["base.html", "vans_12.html", "vans_2.html"]
    for name in maps:
        assert "leaflet" in (out / "maps" / name).read_text().lower(), name

    report = (out / "report.html").read_text()
    for name in pngs:
        assert f'src="{name}"' in report
    for name in maps:
        assert f'src="maps/{name}"' in report
    assert 'href="kpis.csv"' in report and "vans 12" in report and "delta_cost" in report


def test_whatif_unknown_key_exits_2_naming_it(tmp_path):
    toml = tmp_path / "typo.toml"
    toml.write_text(WHATIF.replace("sweep = { vans = 2 }", "demnad = 2"))
    result = runner.invoke(app, ["whatif", str(toml), "--out", str(tmp_path / "o")])
    assert result.exit_code == 2, result.output
    assert f"{toml}: scenarios.vans_2.demnad: unknown key" in result.output
    assert "Traceback" not in result.output
    assert not (tmp_path / "o").exists()


@pytest.mark.parametrize("where", [[], ["--ray", "local"]], ids=["pool", "ray"])
def test_whatif_override_that_does_not_fit_exits_2_naming_it(tmp_path, where):
    """Checked before any worker starts, so the message has no worker's traceback in it."""
    toml = tmp_path / "nope.toml"
    toml.write_text(WHATIF.replace("sweep = { vans = 2 }", 'remove_stations = ["BJ-NOPE"]'))
    result = runner.invoke(app, ["whatif", str(toml), "--out", str(tmp_path / "o"),
                                 "--workers", "1", *where])
    assert result.exit_code == 2, result.output
    assert "error: scenarios.vans_2.remove_stations.0: no station 'BJ-NOPE'" in result.output
    assert "Traceback" not in result.output and "File " not in result.output
