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
