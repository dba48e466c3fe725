"""`slot211 dispatch ...`: the dispatcher's plan jobs, re-plans, routes, maps and ETAs from the
command line, against the same database the API uses."""

from __future__ import annotations

import json
from contextlib import contextmanager
from datetime import date
from pathlib import Path
from typing import Iterator

import typer

app = typer.Typer(help="Plan jobs, events and ETAs for dispatchers (docs/dispatch.md).",
                  no_args_is_help=True)
NETWORK = typer.Option(Path("data/beijing"), "--network", exists=True, file_okay=False,
                       help="The network folder.")
DB = typer.Option("sqlite:///slot211.db", "--db", help="sqlite:///FILE or postgresql://...")


@contextmanager
def _dispatcher(network_dir: Path, db: str, start: bool = False) -> Iterator:
    from slots.dispatch.service import Dispatcher
    from slots.ledger import LedgerError, open_ledger
    from warehouses import load_network

    try:
        network = load_network(network_dir)
        ledger = open_ledger(db)
    except (ValueError, OSError) as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2)
    d = Dispatcher(network, ledger)
    try:
        if start:
            d.start()
        yield d
    except (ValueError, LookupError, LedgerError) as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2)
    finally:
        d.close()
        ledger.close()


def _echo(value: object) -> None:
    typer.echo(json.dumps(value, indent=2, default=str))


@app.command()
def plan(station: str = typer.Argument(..., help="Station id, e.g. BJ-WJ."),
         day: str = typer.Option(..., "--date", help="YYYY-MM-DD"),
         wave: str | None = typer.Option(None, "--wave", help="One wave only."),
         time_limit: float = typer.Option(2.0, "--time-limit", help="Seconds per station-wave."),
         seed: int = typer.Option(0, "--seed"), network_dir: Path = NETWORK, db: str = DB) -> None:
    """Plan a station's confirmed orders for a day and wait for the job."""
    try:
        when = date.fromisoformat(day)
    except ValueError:
        typer.echo(f"error: --date: not YYYY-MM-DD: {day!r}", err=True)
        raise typer.Exit(2)
    with _dispatcher(network_dir, db, start=True) as d:
        job = d.wait(d.submit(station, when, wave, time_limit, seed)["id"], timeout=3600)
        _echo(job)
        if job["status"] != "done":
            raise typer.Exit(1)


@app.command()
def status(job: str, network_dir: Path = NETWORK, db: str = DB) -> None:
    """A job's status, progress and KPIs."""
    with _dispatcher(network_dir, db) as d:
        _echo(d.job(job))


@app.command()
def routes(job: str, format: str = typer.Option("json", "--format",
                                                help="json, csv or geojson"),
           version: int | None = typer.Option(None, "--version"),
           out: Path | None = typer.Option(None, "--out", help="Write here, not to stdout."),
           network_dir: Path = NETWORK, db: str = DB) -> None:
    """A plan version's routes."""
    from slots.dispatch.views import routes_csv, routes_geojson

    if format not in ("json", "csv", "geojson"):
        typer.echo(f"error: --format: expected json, csv or geojson, got {format!r}", err=True)
        raise typer.Exit(2)
    with _dispatcher(network_dir, db) as d:
        view = d.routes(job, version)
        if format == "csv":
            text = routes_csv(view)
        elif format == "geojson":
            text = json.dumps(routes_geojson(view, d.network.stations[view["station"]].location))
        else:
            text = json.dumps(view, indent=2)
        if out is None:
            typer.echo(text)
        else:
            out.write_text(text)


@app.command()
def events(job: str, path: Path = typer.Argument(..., exists=True, dir_okay=False,
                                                 help="A JSON list of events (docs/api.md)."),
           time_limit: float | None = typer.Option(None, "--time-limit"),
           network_dir: Path = NETWORK, db: str = DB) -> None:
    """Apply events to a job's latest version and re-plan."""
    try:
        raw = json.loads(path.read_text())
    except json.JSONDecodeError as exc:
        typer.echo(f"error: {path}: not JSON: {exc}", err=True)
        raise typer.Exit(2)
    with _dispatcher(network_dir, db, start=True) as d:
        _echo(d.post_events(job, raw.get("events", raw) if isinstance(raw, dict) else raw,
                            time_limit=time_limit))


@app.command()
def map(job: str, out: Path = typer.Option(..., "--out", help="The HTML file to write."),
        version: int | None = typer.Option(None, "--version"),
        network_dir: Path = NETWORK, db: str = DB) -> None:
    """A plan version on a self-contained Leaflet map."""
    from api.citymap import routes_map_html

    with _dispatcher(network_dir, db) as d:
        view = d.routes(job, version)
        station = d.network.stations[view["station"]]
        out.write_text(routes_map_html([{"station": station.id, **r} for r in view["routes"]],
                                       [station],
                                       title=f"{station.id} {view['day']} v{view['version']}"))
        typer.echo(str(out))


@app.command()
def eta(order: str, network_dir: Path = NETWORK, db: str = DB) -> None:
    """An order's ETA from the latest plan version."""
    with _dispatcher(network_dir, db) as d:
        _echo(d.eta(order))
