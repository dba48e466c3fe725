"""The `slot211` command line: parses arguments, calls the library, prints or writes the result."""

from __future__ import annotations

import json
import sys
from datetime import date
from pathlib import Path

import typer

app = typer.Typer(help="slot211: delivery promises and the routes that keep them.",
                  no_args_is_help=True, add_completion=False)


@app.callback()
def main() -> None:
    """slot211 command line."""


def _add_dispatch() -> None:
    from .dispatch_cli import app as dispatch

    app.add_typer(dispatch, name="dispatch")


_add_dispatch()


@app.command()
def solve(
    path: Path = typer.Argument(..., exists=True, dir_okay=False,
                                help="A problem: slot211 JSON, or a VRPLIB (.vrp) VRPTW instance."),
    time_limit: float = typer.Option(10.0, "--time-limit", "-t", help="Seconds of search."),
    seed: int = typer.Option(0, help="Random seed."),
    json_out: Path | None = typer.Option(None, "--json", help="Write the plan as JSON here."),
) -> None:
    """Solve one routing problem and print its plan."""
    from routing import solve as run, warmup
    from routing.problem_json import read_problem
    from routing.vrplib_io import read_vrptw

    try:
        problem = read_vrptw(path) if path.suffix.lower() in (".vrp", ".txt") else read_problem(path)
    except ValueError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2)
    typer.echo(f"{path.name}: {problem}", err=True)
    typer.echo(f"numba kernels ready in {warmup():.1f} s", err=True)
    plan = run(problem, time_limit=time_limit, seed=seed)
    typer.echo(plan.summary())
    if json_out is not None:
        json_out.write_text(plan.to_json(indent=1))
        typer.echo(f"plan written to {json_out}", err=True)


def _day(value: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        typer.echo(f"error: --date: expected YYYY-MM-DD, got {value!r}", err=True)
        raise typer.Exit(2)


def _orders(spec: str, network, day: date, seed: int) -> list:
    """`generated:N` or a CSV/Parquet file of orders."""
    from slots.generate import generate_orders
    from slots.orders_io import read_orders

    if spec.startswith("generated:"):
        try:
            n = int(spec.split(":", 1)[1])
        except ValueError:
            n = -1
        if n < 0:
            typer.echo(f"error: --orders: expected generated:N with N >= 0, got {spec!r}", err=True)
            raise typer.Exit(2)
        return generate_orders(network, n, day, seed)
    return read_orders(spec)


@app.command()
def plan(
    network_dir: Path = typer.Argument(..., exists=True, file_okay=False,
                                       help="A network folder, e.g. data/beijing."),
    orders: str = typer.Option(..., "--orders", help="An orders CSV/Parquet file, or generated:N."),
    day: str = typer.Option(..., "--date", help="The delivery day to plan, YYYY-MM-DD."),
    out: Path = typer.Option(..., "--out", help="Folder for plan.json, routes.csv, stops.geojson, "
                                                "map.html and kpis.json."),
    seed: int = typer.Option(0, help="Seed for generated orders and the search."),
    time_limit: float = typer.Option(2.0, "--time-limit", "-t",
                                     help="At most this many search seconds per station-wave."),
    workers: int = typer.Option(0, help="Worker processes (0: one per core)."),
    no_map: bool = typer.Option(False, "--no-map", help="Skip map.html."),
) -> None:
    """Plan a city's day: checkout, assignment to station-waves, routes, and the KPIs."""
    from rich.console import Console
    from rich.progress import Progress

    from api.citymap import write_map
    from api.outputs import write_plan
    from slots.checkout import simulate_checkout
    from slots.dayplan import plan_day
    from slots.kpis import kpis
    from warehouses import load_network

    the_day = _day(day)
    try:
        network = load_network(network_dir)
        order_list = _orders(orders, network, the_day, seed)
    except ValueError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2)
    console = Console(stderr=True)
    console.print(f"{len(order_list)} orders, {len(network.stations)} stations, day {the_day}")
    sales = simulate_checkout(order_list, network)
    with Progress(console=console, transient=True) as bar:
        task = bar.add_task("routing stations", total=None)

        def tick(done: int, total: int) -> None:
            bar.update(task, completed=done, total=total)

        result = plan_day(network, sales, the_day, time_limit=time_limit, seed=seed,
                          workers=workers or None, progress=tick)
    figures = kpis(result)
    paths = write_plan(result, figures, out)
    if not no_map:
        paths.append(write_map(result, network, out / "map.html"))
    typer.echo(kpi_table(figures))
    console.print("written: " + ", ".join(str(p) for p in paths))


def kpi_table(k: dict) -> str:
    """The KPI table printed after `plan`."""
    def pct(x: float | None) -> str:
        return "-" if x is None else f"{100 * x:.2f}%"

    lines = [f"{'orders':<28}{k['orders']:>10}"]
    lines += [f"  {t:<26}{n:>10}" for t, n in k["by_promise"].items()]
    lines.append("outcomes")
    lines += [f"  {t:<26}{n:>10}" for t, n in k["by_outcome"].items()]
    lines.append(f"{'on time (own fleet)':<28}{pct(k['on_time_rate']):>10}")
    lines.append(f"{'on time (211 promises)':<28}{pct(k['on_time_rate_211']):>10}")
    lines.append("broken promises by reason" + ("" if k["broken_by_reason"] else ": none"))
    lines += [f"  {r:<26}{n:>10}" for r, n in k["broken_by_reason"].items()]
    lines.append(f"{'vehicles used':<28}{k['vehicles_used']:>10}")
    lines.append(f"{'routes':<28}{k['routes']:>10}")
    lines.append(f"{'km':<28}{k['km']:>10.1f}")
    cpo = k["cost_per_order"]
    lines.append(f"{'cost per order':<28}{'-' if cpo is None else f'{cpo:.2f}':>10}")
    for dim, v in k["utilisation"].items():
        lines.append(f"{'utilisation ' + dim:<28}{pct(v):>10}")
    return "\n".join(lines)


@app.command()
def generate(
    network_dir: Path = typer.Argument(..., exists=True, file_okay=False),
    n: int = typer.Option(1000, "--n", min=0, help="How many orders."),
    day: str = typer.Option(..., "--date", help="The delivery day the orders are for."),
    seed: int = typer.Option(0),
    out: Path = typer.Option(..., "--out", help="A .csv or .parquet file."),
) -> None:
    """Generate a reproducible day of orders for a network."""
    from slots.generate import generate_orders
    from slots.orders_io import write_orders
    from warehouses import load_network

    try:
        network = load_network(network_dir)
    except ValueError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2)
    write_orders(out, generate_orders(network, n, _day(day), seed))
    typer.echo(f"{n} orders written to {out}", err=True)


@app.command()
def serve(
    network_dir: Path = typer.Argument(..., exists=True, file_okay=False,
                                       help="A network folder, e.g. data/beijing."),
    db: str = typer.Option("sqlite:///slot211.db", "--db",
                           help="The reservation ledger: sqlite:///FILE or postgresql://..."),
    port: int = typer.Option(8211, "--port", min=1, max=65535),
    host: str = typer.Option("127.0.0.1", "--host"),
    keys: Path | None = typer.Option(None, "--keys", exists=True, dir_okay=False,
                                     help="API keys: JSON or TOML {key or sha256:HEX: role}; "
                                          "SLOT211_API_KEYS adds role:key,role:key."),
    production: bool = typer.Option(False, "--production",
                                    help="Refuse to start without API keys."),
    quotas: Path | None = typer.Option(None, "--quotas", exists=True, dir_okay=False,
                                       help="Hard quotas per slot, as JSON (see docs/api.md)."),
    hold_ttl: float = typer.Option(900.0, "--hold-ttl", min=1.0, help="Default hold seconds."),
    access_log: bool = typer.Option(False, "--access-log", help="Log every request."),
) -> None:
    """Serve the HTTP API (docs/api.md) with uvicorn, after warming the numba kernels."""
    import time

    import uvicorn

    from api.app import create_app
    from api.auth import ADMIN, KeyStore
    from slots.ledger import open_ledger
    from slots.dispatch.service import Dispatcher
    from slots.service import SlotService
    from warehouses import load_network

    try:
        key_store = KeyStore.load(keys)
        if production and len(key_store) == 0:
            raise ValueError("--production needs API keys (--keys FILE or SLOT211_API_KEYS)")
        network = load_network(network_dir)
        quota_map = json.loads(quotas.read_text()) if quotas is not None else None
        ledger = open_ledger(db)
        service = SlotService(network, ledger, quotas=quota_map, hold_ttl=hold_ttl)
        dispatcher = Dispatcher(network, ledger)
    except (ValueError, OSError) as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2)
    if len(key_store) == 0:
        typer.echo(f"no API keys configured: this run's admin key is {key_store.generate(ADMIN)}",
                   err=True)
    try:
        started = time.perf_counter()
        service.warmup()
        resumed = dispatcher.start()
        if resumed:
            typer.echo(f"resuming {len(resumed)} unfinished plan jobs", err=True)
        typer.echo(f"warm in {time.perf_counter() - started:.1f} s; serving on "
                   f"http://{host}:{port}", err=True)
        uvicorn.run(create_app(service, key_store, production=production, dispatcher=dispatcher),
                    host=host, port=port,
                    workers=1, access_log=access_log, server_header=False, log_level="info")
    finally:
        dispatcher.close()
        service.close()
        ledger.close()


@app.command()
def whatif(
    scenarios: Path = typer.Argument(..., exists=True, dir_okay=False,
                                     help="A scenarios TOML file (docs/whatif.md)."),
    out: Path = typer.Option(..., "--out", help="Folder for kpis.csv, plots, maps, report.html."),
    ray: str | None = typer.Option(None, "--ray", help="Run on Ray: 'local', 'auto' or an "
                                                       "ADDRESS (default: a local process pool)."),
    workers: int | None = typer.Option(None, "--workers", min=1, help="Pool processes or local "
                                                                      "Ray CPUs."),
) -> None:
    """Run what-if scenarios against a base day and compare their KPIs."""
    from rich.console import Console
    from rich.progress import Progress

    from api.whatif_report import write_outputs
    from slots.whatif import run as run_scenarios
    from slots.whatif.config import load_scenarios
    from slots.whatif.overrides import apply_overrides
    from warehouses import load_network

    console = Console(stderr=True)
    try:
        base, todo = load_scenarios(scenarios)
    except (ValueError, OSError) as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2)
    executor = "pool" if ray is None else ("ray" if ray == "local" else f"ray:{ray}")
    plans: dict = {}
    with Progress(console=console, transient=True) as bars:
        tasks: dict[str, int] = {}

        def tick(name: str, done: int, total: int) -> None:
            if name not in tasks:
                tasks[name] = bars.add_task(name, total=total)
            bars.update(tasks[name], completed=done, total=total)

        try:
            frame = run_scenarios(todo, base, executor, workers=workers, progress=tick,
                                  plans=plans)
        except (ValueError, RuntimeError) as exc:
            typer.echo(f"error: {exc}", err=True)
            raise typer.Exit(2)
    network = load_network(base.network)
    by_name = {s.name: s for s in todo}
    networks = {n: apply_overrides(network, by_name[n]) if n in by_name else network
                for n in plans}
    written = write_outputs(frame, plans, networks, out, f"What if: {scenarios.name}")
    shown = [c for c in ("orders", "vehicles", "on_time_rate_211", "cost_per_order",
                         "delta_cost_per_order", "vehicles_used", "broken", "third_party")
             if c in frame]
    typer.echo(frame[shown].to_string(float_format=lambda v: f"{v:,.4g}"))
    capped = frame["capped_waves"].sum() if "capped_waves" in frame else 0
    if capped:
        typer.echo(f"warning: {int(capped)} station-waves stopped at their safety time cap; "
                   "those routes depend on this machine's speed (raise time_limit)", err=True)
    typer.echo(f"written: {', '.join(str(p) for p in written[:3])} ... report: "
               f"{out / 'report.html'}", err=True)


if __name__ == "__main__":
    sys.exit(app())
