"""Problem JSON: round trip, infinities as null, and errors that name the field."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from routing.problem_json import problem_from_dict, problem_to_dict, read_problem

SAMPLE = Path(__file__).resolve().parents[2] / "data" / "sample" / "wangjing_morning_wave.json"


def small() -> dict:
    return {
        "dimensions": ["weight"],
        "depots": [{"id": "d", "location": [39.9, 116.4]}],
        "stops": [{"id": "a", "location": [39.91, 116.41], "delivery": {"weight": 2},
                   "windows": [[3600, 7200]]}],
        "vehicle_types": [{"id": "van", "count": 1, "capacity": {"weight": 10},
                           "start_depot": "d", "max_duration": None, "shift": [0, None]}],
    }


def test_null_means_no_limit():
    p = problem_from_dict(small())
    vt = p.vehicle_types[0]
    assert math.isinf(vt.max_duration) and math.isinf(vt.shift[1])
    assert p.stops[0].windows == ((3600.0, 7200.0),)


def test_round_trip_through_json_text():
    p = problem_from_dict(small())
    again = problem_from_dict(json.loads(json.dumps(problem_to_dict(p))))
    assert problem_to_dict(again) == problem_to_dict(p)
    assert (again.distance_matrix == p.distance_matrix).all()


def test_matrices_round_trip_when_asked():
    p = problem_from_dict(small())
    d = problem_to_dict(p, matrices=True)
    assert len(d["distance_matrix"]) == 2
    assert problem_from_dict(d).duration_matrix.tolist() == p.duration_matrix.tolist()


@pytest.mark.parametrize("mutate, needle", [
    (lambda d: d["stops"][0].update(colour="red"), "stops[0]: unknown field 'colour'"),
    (lambda d: d.update(fleet=[]), "problem: unknown field 'fleet'"),
    (lambda d: d["stops"][0]["delivery"].update(weight=-1), "negative demand"),
    (lambda d: d["vehicle_types"][0].update(start_depot="nowhere"), "unknown depot 'nowhere'"),
    (lambda d: d.update(stops={}), "stops: expected a list"),
    (lambda d: d["depots"].append(7), "depots[1]: expected an object"),
])
def test_bad_input_names_the_field(mutate, needle):
    d = small()
    mutate(d)
    with pytest.raises(ValueError) as err:
        problem_from_dict(d)
    assert needle in str(err.value)


def test_read_problem_names_the_file(tmp_path):
    bad = tmp_path / "broken.json"
    bad.write_text("{not json")
    with pytest.raises(ValueError, match="broken.json: not valid JSON"):
        read_problem(bad)
    wrong = tmp_path / "wrong.json"
    wrong.write_text(json.dumps({"stops": [{"id": "a"}]}))
    with pytest.raises(ValueError, match=r"wrong.json: stops\[0\]"):
        read_problem(wrong)


def test_bundled_sample_loads():
    p = read_problem(SAMPLE)
    assert len(p.stops) == 80 and p.num_vehicles == 7
    assert any(s.pickup for s in p.stops) and any(s.windows for s in p.stops)
