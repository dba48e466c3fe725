"""Scenario files: a good one loads with paths relative to the file; a bad key or value is a
ValueError naming the file and the dotted key."""

from __future__ import annotations

import os
from datetime import date
from pathlib import Path

import pytest

from slots.whatif import Base, Scenario
from slots.whatif.config import load_scenarios

BEIJING = Path(__file__).resolve().parents[3] / "data" / "beijing"
EXAMPLE = Path(__file__).resolve().parents[3] / "examples" / "fleet_sweep.toml"

GOOD = """\
[base]
network = "net/beijing"
orders = 300
date = "2026-12-02"
seed = 4
time_limit = 0.5
iterations_per_stop = 25

[scenarios.more_vans]
fleet = { "*" = 1.2, "BJ-WJ" = { van = 12 } }
sweep = { fleet = 1.2 }

[scenarios.noon_cutoff]
cutoffs = { beijing = { same_day_cutoff = "12:00" } }
waves = { "BJ-WJ" = [{ id = "W1", departure = "08:00", latest_return = "12:00" }] }
remove_stations = ["BJ-CYM"]
add_stations = [{ id = "BJ-NEW", location = [39.99, 116.52], like = "BJ-WJ" }]
linehaul_delay = { "BJ-DC-GUAN>BJ-WJ" = 30 }
demand = 1.5
"""


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    """A folder holding a link to the Beijing network, so `net/beijing` is relative to it."""
    (tmp_path / "net").mkdir()
    (tmp_path / "net" / "beijing").symlink_to(BEIJING, target_is_directory=True)
    return tmp_path


def write(folder: Path, text: str, name: str = "whatif.toml") -> Path:
    path = folder / name
    path.write_text(text)
    return path


def message(path: Path) -> str:
    with pytest.raises(ValueError) as info:
        load_scenarios(path)
    return str(info.value)


def test_a_good_file_loads_with_paths_relative_to_it(folder, monkeypatch):
    monkeypatch.chdir(os.path.dirname(os.path.dirname(folder)))  # not the file's folder
    base, scenarios = load_scenarios(write(folder, GOOD))
    assert base == Base(network=(folder / "net" / "beijing").resolve(), day=date(2026, 12, 2),
                        orders=300, seed=4, time_limit=0.5, iterations_per_stop=25.0)
    assert base.network.is_absolute() and (base.network / "network.toml").is_file()
    assert [s.name for s in scenarios] == ["more_vans", "noon_cutoff"]
    more, noon = scenarios
    assert more.fleet == {"*": 1.2, "BJ-WJ": {"van": 12}} and more.sweep == {"fleet": 1.2}
    assert noon.remove_stations == ("BJ-CYM",) and noon.demand == 1.5
    assert noon.add_stations[0]["like"] == "BJ-WJ"
    assert noon.linehaul_delay == {"BJ-DC-GUAN>BJ-WJ": 30}
    assert isinstance(more, Scenario)


def test_defaults_and_an_orders_file_relative_to_the_file(folder):
    (folder / "orders.csv").write_text("id\n")
    base, _ = load_scenarios(write(folder, '[base]\nnetwork = "net/beijing"\n'
                                   'orders = "orders.csv"\ndate = 2026-12-02\n'
                                   '[scenarios.a]\n'))
    assert base.orders == (folder / "orders.csv").resolve()
    assert base.day == date(2026, 12, 2)  # a TOML date is fine too
    assert (base.seed, base.time_limit, base.iterations_per_stop) == (1, 2.0, None)


def test_the_example_file_loads():
    base, scenarios = load_scenarios(EXAMPLE)
    assert base.network == BEIJING.resolve()
    assert [s.sweep["fleet"] for s in scenarios] == [0.8, 1.0, 1.2, 1.4]


def replace_line(text: str, old: str, new: str) -> str:
    assert old in text
    return text.replace(old, new, 1)


@pytest.mark.parametrize("old, new, key", [
    ('seed = 4', 'seed = 4\nsede = 5', "base.sede"),
    ('orders = 300', 'orders = 0', "base.orders"),
    ('orders = 300', 'orders = -3', "base.orders"),
    ('orders = 300', 'orders = 2.5', "base.orders"),
    ('orders = 300', 'orders = true', "base.orders"),
    ('orders = 300', 'orders = "missing.csv"', "base.orders"),
    ('date = "2026-12-02"', 'date = "2026-13-02"', "base.date"),
    ('date = "2026-12-02"', 'date = "tomorrow"', "base.date"),
    ('date = "2026-12-02"', 'date = 20261202', "base.date"),
    ('date = "2026-12-02"', 'date = 2026-12-02T10:00:00', "base.date"),
    ('date = "2026-12-02"', '', "base.date"),
    ('time_limit = 0.5', 'time_limit = 0', "base.time_limit"),
    ('time_limit = 0.5', 'time_limit = "fast"', "base.time_limit"),
    ('time_limit = 0.5', 'time_limit = 1000', "base.time_limit"),
    ('seed = 4', 'seed = -1', "base.seed"),
    ('iterations_per_stop = 25', 'iterations_per_stop = 0', "base.iterations_per_stop"),
    ('network = "net/beijing"', 'network = "net/nowhere"', "base.network"),
    ('network = "net/beijing"', 'network = 5', "base.network"),
    ('demand = 1.5', 'demnad = 1.5', "scenarios.noon_cutoff.demnad"),
    ('demand = 1.5', 'demand = 0', "scenarios.noon_cutoff.demand"),
    ('fleet = { "*" = 1.2, ', 'fleet = { "*" = "lots", ', "scenarios.more_vans.fleet.*"),
    ('fleet = { "*" = 1.2, ', 'fleet = { "*" = -1, ', "scenarios.more_vans.fleet.*"),
    ('van = 12', 'van = 1.5', "scenarios.more_vans.fleet.BJ-WJ.van"),
    ('sweep = { fleet = 1.2 }', 'sweep = { fleet = "big" }', "scenarios.more_vans.sweep.fleet"),
    ('remove_stations = ["BJ-CYM"]', 'remove_stations = "BJ-CYM"',
     "scenarios.noon_cutoff.remove_stations"),
    ('linehaul_delay = { "BJ-DC-GUAN>BJ-WJ" = 30 }', 'linehaul_delay = { "*" = -30 }',
     "scenarios.noon_cutoff.linehaul_delay.*"),
])
def test_a_bad_key_or_value_names_the_file_and_the_key(folder, old, new, key):
    path = write(folder, replace_line(GOOD, old, new))
    text = message(path)
    assert text.startswith(f"{path}: {key}:"), text


def test_an_unknown_table_or_no_scenarios(folder):
    path = write(folder, GOOD + "\n[scenario.typo]\ndemand = 2\n")
    assert message(path).startswith(f"{path}: scenario: unknown table")
    head = GOOD.split("[scenarios.")[0]
    path = write(folder, head)
    assert message(path).startswith(f"{path}: scenarios:")
    path = write(folder, GOOD.replace("[base]", "[bsae]"))
    assert message(path).startswith(f"{path}: base:")


def test_not_toml_names_the_file(folder):
    path = write(folder, "[base\nnetwork = ")
    assert message(path).startswith(f"{path}: not TOML")


def test_a_relative_path_is_never_taken_from_the_working_directory(folder, monkeypatch):
    """`network = "data/beijing"` exists from the repository root, but not next to the file."""
    monkeypatch.chdir(BEIJING.parents[1])
    path = write(folder, replace_line(GOOD, 'network = "net/beijing"', 'network = "data/beijing"'))
    text = message(path)
    assert text.startswith(f"{path}: base.network:"), text
    assert str(folder / "data" / "beijing") in text
