"""Every loader check: a folder broken one way fails naming the file, the entity and the problem."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from warehouses import NetworkError, load_network

from .folders import box, feature, spec, write


def test_error_str_names_file_and_entity() -> None:
    error = NetworkError("stations.json", "station S1", "duplicate id")
    assert str(error) == "stations.json: station S1: duplicate id"
    assert (error.file, error.entity) == ("stations.json", "station S1")
    assert str(NetworkError("stock.csv", None, "bad header")) == "stock.csv: bad header"
    assert isinstance(error, ValueError)


def test_the_unbroken_spec_loads(tmp_path) -> None:
    network = load_network(write(tmp_path, spec()))
    assert sorted(network.stations) == ["S-EAST", "S-WEST"]


def set_in(path: list, value: object) -> Callable[[dict], None]:
    def apply(data: dict) -> None:
        target = data
        for key in path[:-1]:
            target = target[key]
        target[path[-1]] = value
    return apply


def delete(path: list) -> Callable[[dict], None]:
    def apply(data: dict) -> None:
        target = data
        for key in path[:-1]:
            target = target[key]
        del target[path[-1]]
    return apply


def append(path: list, value: object) -> Callable[[dict], None]:
    def apply(data: dict) -> None:
        target = data
        for key in path:
            target = target[key]
        target.append(value)
    return apply


WEST = ["stations", "stations", 0]
WEST_SERVICE = ["areas", "features", 0]
WEST_211 = ["areas", "features", 1]
EAST_SERVICE = ["areas", "features", 2]
OPEN_RING = {"type": "Polygon", "coordinates": [[[116.0, 39.8], [116.4, 39.8], [116.4, 40.0],
                                                 [116.0, 40.0]]]}
BOWTIE = {"type": "Polygon", "coordinates": [[[116.0, 39.8], [116.4, 40.0], [116.4, 39.8],
                                              [116.0, 40.0], [116.0, 39.8]]]}

CASES = [
    # areas.geojson
    ("ring not closed", set_in(WEST_SERVICE + ["geometry"], OPEN_RING), "areas.geojson",
     "station S-WEST service area", "ring 0 is not closed"),
    ("self-intersecting", set_in(WEST_SERVICE + ["geometry"], BOWTIE), "areas.geojson",
     "station S-WEST service area", "Self-intersection"),
    ("overlap at equal priority",
     set_in(EAST_SERVICE + ["geometry"], box(116.35, 39.8, 116.8, 40.0)), "areas.geojson",
     "station S-EAST service area", "overlaps the service area of station S-WEST by 95.07 km²"),
    ("211 outside service area", set_in(WEST_211 + ["geometry"], box(116.1, 39.85, 116.45, 39.95)),
     "areas.geojson", "station S-WEST 211 area",
     "not within the station's service area (47.53 km² outside)"),
    ("area of unknown station", set_in(EAST_SERVICE + ["properties", "station"], "S-NOPE"),
     "areas.geojson", "station S-NOPE service area", "unknown station 'S-NOPE'"),
    ("station without service area", delete(EAST_SERVICE), "areas.geojson", "station S-EAST",
     "no service area"),
    ("two service areas",
     append(["areas", "features"], feature("S-EAST", "service", box(116.5, 39.8, 116.6, 39.9))),
     "areas.geojson", "station S-EAST service area", "duplicate service area"),
    ("unknown area kind", set_in(EAST_SERVICE + ["properties", "kind"], "central"), "areas.geojson",
     "features[2]", "field 'kind' must be 'service' or '211'"),
    ("point geometry",
     set_in(EAST_SERVICE + ["geometry"], {"type": "Point", "coordinates": [116.5, 39.9]}),
     "areas.geojson", "station S-EAST service area", "Polygon or MultiPolygon"),
    ("lat/lon swapped in GeoJSON",
     set_in(EAST_SERVICE + ["geometry"], {"type": "Polygon", "coordinates": [
         [[39.8, 116.4], [39.8, 116.8], [40.0, 116.8], [39.8, 116.4]]]}),
     "areas.geojson", "station S-EAST service area", "out of range"),
    ("feature without properties", delete(EAST_SERVICE + ["properties"]), "areas.geojson",
     "features[2]", "missing field 'properties'"),
    ("unknown feature property", set_in(EAST_SERVICE + ["properties", "colour"], "red"),
     "areas.geojson", "features[2]", "unknown key 'colour'"),
    ("not a FeatureCollection", set_in(["areas", "type"], "Feature"), "areas.geojson", None,
     "field 'type' must be 'FeatureCollection'"),
    # stations.json
    ("station in unknown city", set_in(WEST + ["city"], "atlantis"), "stations.json",
     "station S-WEST", "unknown city 'atlantis'"),
    ("duplicate station", set_in(["stations", "stations", 1, "id"], "S-WEST"), "stations.json",
     "station S-WEST", "duplicate id"),
    ("station id of a warehouse", set_in(WEST + ["id"], "WH-A"), "stations.json", "station WH-A",
     "already used by a warehouse"),
    ("wave leaves at its return", set_in(WEST + ["waves", 0, "departure"], "11:30"),
     "stations.json", "station S-WEST wave W1",
     "departure 11:30 is not before latest_return 11:30"),
    ("wave leaves after its return", set_in(WEST + ["waves", 1, "latest_return"], "14:00"),
     "stations.json", "station S-WEST wave W2",
     "departure 15:00 is not before latest_return 14:00"),
    ("duplicate wave", set_in(WEST + ["waves", 1, "id"], "W1"), "stations.json",
     "station S-WEST wave W1", "duplicate id"),
    ("no waves", set_in(WEST + ["waves"], []), "stations.json", "station S-WEST",
     "at least one wave"),
    ("missing field", delete(WEST + ["sort_minutes"]), "stations.json", "station S-WEST",
     "missing field 'sort_minutes'"),
    ("mistyped field", set_in(WEST + ["sort_minutes"], "45"), "stations.json", "station S-WEST",
     "field 'sort_minutes' must be an integer"),
    ("bool is not an integer", set_in(WEST + ["sort_minutes"], True), "stations.json",
     "station S-WEST", "field 'sort_minutes' must be an integer"),
    ("mistyped wave time", set_in(WEST + ["waves", 0, "departure"], "8:00"), "stations.json",
     "station S-WEST wave W1", "field 'departure' must be \"HH:MM\""),
    ("unknown station key", set_in(WEST + ["colour"], "red"), "stations.json", "station S-WEST",
     "unknown key 'colour'"),
    ("unknown vehicle key", set_in(WEST + ["fleet", 0, "wings"], 2), "stations.json",
     "station S-WEST vehicle van", "unknown key 'wings'"),
    ("missing vehicle field", delete(WEST + ["fleet", 0, "parcels"]), "stations.json",
     "station S-WEST vehicle van", "missing field 'parcels'"),
    ("station without id", delete(WEST + ["id"]), "stations.json", "stations[0]",
     "missing field 'id'"),
    ("location out of range", set_in(WEST + ["location"], [116.2, 39.9]), "stations.json",
     "station S-WEST", "field 'location' must be [lat, lon]"),
    ("window ends before it starts", set_in(WEST + ["timed_windows"], [["11:00", "09:00"]]),
     "stations.json", "station S-WEST", "field 'timed_windows'"),
    ("unknown top-level key in stations.json", set_in(["stations", "depots"], []), "stations.json",
     None, "unknown key 'depots'"),
    # network.toml
    ("warehouse in unknown city", set_in(["network", "warehouses", 0, "cities"], ["atlantis"]),
     "network.toml", "warehouse WH-A", "unknown city 'atlantis'"),
    ("duplicate warehouse", set_in(["network", "warehouses", 1, "id"], "WH-A"), "network.toml",
     "warehouse WH-A", "duplicate id"),
    ("duplicate city", set_in(["network", "cities", 1, "id"], "testcity"), "network.toml",
     "city testcity", "duplicate id"),
    ("warehouse kind", set_in(["network", "warehouses", 0, "kind"], "depot"), "network.toml",
     "warehouse WH-A", "field 'kind' must be 'dc' or 'warehouse'"),
    ("link to unknown station", set_in(["network", "links", 0, "target"], "S-NOPE"), "network.toml",
     "link WH-A->S-NOPE", "unknown target 'S-NOPE'"),
    ("link from unknown warehouse", set_in(["network", "links", 0, "source"], "WH-NOPE"),
     "network.toml", "link WH-NOPE->S-WEST", "unknown source 'WH-NOPE'"),
    ("duplicate link",
     append(["network", "links"], {"source": "WH-A", "target": "S-WEST", "transit": 90}),
     "network.toml", "link WH-A->S-WEST", "duplicate link"),
    ("mistyped departure", set_in(["network", "links", 0, "departures"], ["25:00"]), "network.toml",
     "link WH-A->S-WEST", "field 'departures' must be \"HH:MM\""),
    ("zero transit", set_in(["network", "links", 0, "transit"], 0), "network.toml",
     "link WH-A->S-WEST", "field 'transit' must be an integer >= 1"),
    ("pickup point of unknown station",
     set_in(["network", "pickup_points", 0, "station"], "S-NOPE"), "network.toml",
     "pickup point P1", "unknown station 'S-NOPE'"),
    ("duplicate pickup point",
     append(["network", "pickup_points"], spec()["network"]["pickup_points"][0]), "network.toml",
     "pickup point P1", "duplicate id"),
    ("pickup point closes before it opens",
     set_in(["network", "pickup_points", 0, "closes"], "07:00"), "network.toml", "pickup point P1",
     "not before it closes"),
    ("missing carrier field", delete(["network", "carriers", 0, "lead_days"]), "network.toml",
     "carrier zto", "missing field 'lead_days'"),
    ("mistyped city cutoff", set_in(["network", "cities", 0, "same_day_cutoff"], 1100),
     "network.toml", "city testcity", "field 'same_day_cutoff' must be \"HH:MM\""),
    ("unknown top-level key", set_in(["network", "depots"], ["x"]), "network.toml", None,
     "unknown key 'depots'"),
    ("unknown warehouse key", set_in(["network", "warehouses", 0, "stock"], ["SKU1"]),
     "network.toml", "warehouse WH-A", "unknown key 'stock'"),
    # stock.csv
    ("stock of unknown warehouse", append(["stock"], ["WH-Z", "SKU1"]), "stock.csv",
     "warehouse WH-Z", "line 7: unknown warehouse"),
    ("stock row listed twice", append(["stock"], ["WH-A", "SKU1"]), "stock.csv", "warehouse WH-A",
     "SKU SKU1 listed twice"),
    ("stock row with three fields", append(["stock"], ["WH-A", "SKU7", "12"]), "stock.csv",
     "line 7", "expected 'warehouse,sku'"),
    # more shapes of the same checks
    ("link to itself", set_in(["network", "links", 0, "target"], "WH-A"), "network.toml",
     "link WH-A->WH-A", "a link must join two different places"),
    ("departure listed twice", set_in(["network", "links", 0, "departures"], ["08:00", "08:00"]),
     "network.toml", "link WH-A->S-WEST", "field 'departures' lists a time twice"),
    ("no fleet", set_in(WEST + ["fleet"], []), "stations.json", "station S-WEST",
     "field 'fleet': a station needs at least one vehicle type"),
    ("shift ends before it starts", set_in(WEST + ["fleet", 0, "shift"], ["23:00", "07:30"]),
     "stations.json", "station S-WEST vehicle van", "field 'shift': 23:00 is not before 07:30"),
    ("shift past midnight is fine but not past 47:59",
     set_in(WEST + ["fleet", 0, "shift"], ["07:30", "48:00"]), "stations.json",
     "station S-WEST vehicle van", "field 'shift' must be \"HH:MM\" (up to 47:59)"),
    ("ring too short", set_in(WEST_SERVICE + ["geometry", "coordinates"],
                              [[[116.0, 39.8], [116.4, 39.8], [116.0, 39.8]]]),
     "areas.geojson", "station S-WEST service area", "ring 0: a ring needs at least 4 positions"),
    ("record not a table", set_in(["stations", "stations", 1], ["S-EAST"]), "stations.json",
     "stations[1]", "expected a table of fields, got list"),
    ("wave without id", delete(WEST + ["waves", 1, "id"]), "stations.json",
     "station S-WEST waves[1]", "missing field 'id'"),
    # vehicle skills and the cash-on-delivery service time
    ("skills not a list", set_in(WEST + ["fleet", 0, "skills"], "pos"), "stations.json",
     "station S-WEST vehicle van", "field 'skills' must be a list, got 'pos'"),
    ("skill not a string", set_in(WEST + ["fleet", 0, "skills"], ["pos", 7]), "stations.json",
     "station S-WEST vehicle van", "field 'skills' must be a list of non-empty strings"),
    ("empty skill", set_in(WEST + ["fleet", 0, "skills"], [""]), "stations.json",
     "station S-WEST vehicle van", "field 'skills' must be a list of non-empty strings"),
    ("skill listed twice", set_in(WEST + ["fleet", 0, "skills"], ["pos", "pos"]),
     "stations.json", "station S-WEST vehicle van", "field 'skills' lists 'pos' twice"),
    ("cod service under the service time", set_in(WEST + ["cod_service_minutes"], 2.5),
     "stations.json", "station S-WEST",
     "field 'cod_service_minutes' must be a number >= service_minutes (3), got 2.5"),
    ("cod service not a number", set_in(WEST + ["cod_service_minutes"], "5"), "stations.json",
     "station S-WEST", "field 'cod_service_minutes' must be a number >= 0, got '5'"),
]


@pytest.mark.parametrize("mutate, file, entity, message",
                         [pytest.param(*case[1:], id=case[0]) for case in CASES])
def test_broken_folder(tmp_path, mutate: Callable[[dict], None], file: str, entity: str | None,
                       message: str) -> None:
    data = spec()
    mutate(data)
    with pytest.raises(NetworkError) as raised:
        load_network(write(tmp_path, data))
    error = raised.value
    assert (error.file, error.entity) == (file, entity), str(error)
    assert message in str(error)
    prefix = f"{file}: {entity}: " if entity else f"{file}: "
    assert str(error).startswith(prefix)


def test_overlap_allowed_when_priorities_differ(tmp_path) -> None:
    data = spec()
    data["areas"]["features"][2]["geometry"] = box(116.35, 39.8, 116.8, 40.0)
    data["stations"]["stations"][1]["priority"] = 1
    network = load_network(write(tmp_path, data))
    assert network.locate((39.9, 116.37)).id == "S-EAST"
    assert network.locate((39.9, 116.3)).id == "S-WEST"


def test_stock_header_is_checked(tmp_path) -> None:
    folder = write(tmp_path, spec())
    (folder / "stock.csv").write_text("sku,warehouse\nSKU1,WH-A\n")
    with pytest.raises(NetworkError, match=r"^stock.csv: the first line must be the header"):
        load_network(folder)


@pytest.mark.parametrize("file", ["network.toml", "stations.json", "areas.geojson", "stock.csv"])
def test_missing_file(tmp_path, file: str) -> None:
    folder = write(tmp_path, spec())
    (folder / file).unlink()
    with pytest.raises(NetworkError, match=rf"^{file}: file not found in "):
        load_network(folder)


@pytest.mark.parametrize("file, what", [("network.toml", "TOML"), ("stations.json", "JSON"),
                                        ("areas.geojson", "JSON")])
def test_unparsable_file(tmp_path, file: str, what: str) -> None:
    folder = write(tmp_path, spec())
    (folder / file).write_text("{ not [ valid")
    with pytest.raises(NetworkError, match=rf"^{file}: not valid {what}: "):
        load_network(folder)


def test_end_times_may_run_past_midnight(tmp_path) -> None:
    data = spec()
    data["stations"]["stations"][0]["fleet"][0]["shift"] = ["07:30", "24:30"]
    data["stations"]["stations"][0]["waves"][1]["latest_return"] = "25:15"
    west = load_network(write(tmp_path, data)).stations["S-WEST"]
    assert west.fleet[0].shift == (450, 1470)
    assert (west.waves[1].departure, west.waves[1].latest_return) == (900, 1515)


def test_skills_and_cod_service_time_are_read(tmp_path) -> None:
    data = spec()
    data["stations"]["stations"][0]["fleet"][0]["skills"] = ["pos", "fridge"]
    data["stations"]["stations"][0]["service_minutes"] = 4
    data["stations"]["stations"][0]["cod_service_minutes"] = 4
    data["stations"]["stations"][1]["service_minutes"] = 2.5
    network = load_network(write(tmp_path, data))
    west, east = network.stations["S-WEST"], network.stations["S-EAST"]
    assert west.fleet[0].skills == ("pos", "fridge") and east.fleet[0].skills == ()
    assert (west.cod_service_minutes, east.cod_service_minutes) == (4.0, 4.5)
