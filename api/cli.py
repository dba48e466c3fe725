"""The `slot211` command line: parses arguments, calls the library, prints or writes the result."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import typer

app = typer.Typer(help="slot211: delivery promises and the routes that keep them.",
                  no_args_is_help=True, add_completion=False)


@app.callback()
def main() -> None:
    """slot211 command line."""


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


if __name__ == "__main__":
    sys.exit(app())
