"""Shared output for the benchmark scripts: a plain-text table on stdout and a JSON file beside it."""

from __future__ import annotations

import json
import os
import platform
import sys
import time
from importlib import metadata
from pathlib import Path
from typing import Any, Mapping, Sequence, TextIO


def _cell(value: Any) -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        if value == 0 or 0.01 <= abs(value) < 1e6:
            return f"{value:.3g}" if abs(value) < 10 else f"{value:.1f}"
        return f"{value:.3g}"
    return "" if value is None else str(value)


def print_table(rows: Sequence[Mapping[str, Any]], columns: Sequence[tuple[str, str]],
                file: TextIO = sys.stdout) -> None:
    """Print `rows` as aligned columns; `columns` is (key, header) pairs, in order."""
    cells = [[header for _, header in columns]]
    cells += [[_cell(row.get(key)) for key, _ in columns] for row in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(columns))]
    for n, r in enumerate(cells):
        print("  ".join(c.ljust(w) if i == 0 else c.rjust(w)
                        for i, (c, w) in enumerate(zip(r, widths))).rstrip(), file=file)
        if n == 0:
            print("  ".join("-" * w for w in widths), file=file)


def machine_meta(packages: Sequence[str] = ("numpy", "numba")) -> dict[str, Any]:
    """What the numbers depend on: cores, Python and the versions of `packages`."""
    versions = {}
    for name in packages:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = None
    affinity = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None
    return {
        "cpu_count": os.cpu_count(), "cpus_usable": affinity, "python": platform.python_version(),
        "platform": platform.platform(), "machine": platform.machine(), "versions": versions,
        "time": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
    }


def write_json(path: str | Path, rows: Sequence[Mapping[str, Any]],
               meta: Mapping[str, Any]) -> None:
    """Write {"meta": ..., "rows": [...]} to `path`, creating its folder."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"meta": dict(meta), "rows": list(rows)}, indent=2) + "\n")
