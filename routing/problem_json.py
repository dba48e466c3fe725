"""A `Problem` to and from plain JSON-ready dicts (the format of `data/sample/*.json`).

Fields are those of `Depot`, `Stop` and `VehicleType`; `null` stands for infinity in windows,
shifts and `max_duration`. Unknown keys are errors, so a typo never silently changes a plan.
"""

from __future__ import annotations

import json
import math
from dataclasses import fields
from pathlib import Path
from typing import Any

from .problem import DEFAULT_DIMENSIONS, Depot, Problem, Stop, VehicleType

_TOP = {"dimensions", "coordinates", "speed", "depots", "stops", "vehicle_types",
        "distance_matrix", "duration_matrix"}


def _num(x: Any) -> float:
    return math.inf if x is None else float(x)


def _build(cls: type, raw: Any, where: str) -> Any:
    if not isinstance(raw, dict):
        raise ValueError(f"{where}: expected an object, got {type(raw).__name__}")
    names = {f.name for f in fields(cls)}
    unknown = set(raw) - names
    if unknown:
        raise ValueError(f"{where}: unknown field {sorted(unknown)[0]!r}")
    args = dict(raw)
    try:
        if "window" in args:
            args["window"] = tuple(_num(x) for x in args["window"])
        if "shift" in args:
            args["shift"] = tuple(_num(x) for x in args["shift"])
        if "max_duration" in args:
            args["max_duration"] = _num(args["max_duration"])
        if "windows" in args:
            args["windows"] = tuple(tuple(_num(x) for x in w) for w in args["windows"])
        if "location" in args:
            args["location"] = tuple(args["location"])
        return cls(**args)
    except TypeError as exc:
        raise ValueError(f"{where}: {exc}") from None


def problem_from_dict(raw: dict[str, Any]) -> Problem:
    """Build and validate a `Problem`; errors name the field, e.g. `stops[3]`."""
    if not isinstance(raw, dict):
        raise ValueError("problem: expected a JSON object")
    unknown = set(raw) - _TOP
    if unknown:
        raise ValueError(f"problem: unknown field {sorted(unknown)[0]!r}")
    for key in ("depots", "stops", "vehicle_types"):
        if not isinstance(raw.get(key, []), list):
            raise ValueError(f"{key}: expected a list")
    return Problem(
        depots=[_build(Depot, d, f"depots[{i}]") for i, d in enumerate(raw.get("depots", []))],
        stops=[_build(Stop, s, f"stops[{i}]") for i, s in enumerate(raw.get("stops", []))],
        vehicle_types=[_build(VehicleType, t, f"vehicle_types[{i}]")
                       for i, t in enumerate(raw.get("vehicle_types", []))],
        dimensions=raw.get("dimensions", DEFAULT_DIMENSIONS),
        coordinates=raw.get("coordinates", "latlon"),
        speed=raw.get("speed", 25 / 3.6),
        distance_matrix=raw.get("distance_matrix"),
        duration_matrix=raw.get("duration_matrix"),
    )


def _jsonable(x: Any) -> Any:
    if isinstance(x, float) and math.isinf(x):
        return None
    if isinstance(x, (tuple, list)):
        return [_jsonable(y) for y in x]
    if hasattr(x, "items"):
        return {k: _jsonable(v) for k, v in x.items()}
    return x


def problem_to_dict(problem: Problem, matrices: bool = False) -> dict[str, Any]:
    """The dict `problem_from_dict` reads back; matrices only when asked (they are large)."""
    def obj(item: Any) -> dict[str, Any]:
        return {f.name: _jsonable(getattr(item, f.name)) for f in fields(item)}

    out: dict[str, Any] = {
        "dimensions": list(problem.dimensions), "coordinates": problem.coordinates,
        "speed": problem.speed, "depots": [obj(d) for d in problem.depots],
        "stops": [obj(s) for s in problem.stops],
        "vehicle_types": [obj(t) for t in problem.vehicle_types],
    }
    if matrices:
        out["distance_matrix"] = problem.distance_matrix.tolist()
        out["duration_matrix"] = problem.duration_matrix.tolist()
    return out


def read_problem(path: str | Path) -> Problem:
    """Read a problem JSON file; errors name the file."""
    try:
        raw = json.loads(Path(path).read_text())
    except json.JSONDecodeError as exc:
        raise ValueError(f"{path}: not valid JSON: {exc}") from None
    try:
        return problem_from_dict(raw)
    except ValueError as exc:
        raise ValueError(f"{path}: {exc}") from None
