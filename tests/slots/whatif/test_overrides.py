"""apply_overrides: each override against the base Beijing network, and bad values named by key."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, datetime, timedelta
from pathlib import Path

import pytest
from shapely.geometry import box, mapping
from shapely.ops import unary_union

from slots.whatif import Base, Scenario, apply_overrides
from slots.whatif.run import prepare
from slots.whatif.scenario import scenario_from_dict
from warehouses import Wave, haversine_km, load_network

BEIJING = Path(__file__).resolve().parents[3] / "data" / "beijing"
DAY = date(2026, 12, 2)
AREA_TOL = 1e-9  # square degrees (~0.01 m² at Beijing): rounding of the overlays
CELL_TOL = 1e-4  # relative: a station's area "unchanged" by a re-tiling that leaves it alone


@pytest.fixture(scope="module")
def network():
    return load_network(BEIJING)


def city_union(net, city="beijing", attr="area"):
    return unary_union([getattr(s, attr) for s in net.stations.values() if s.city == city])


def overlaps(net, city="beijing"):
    members = sorted((s for s in net.stations.values() if s.city == city), key=lambda s: s.id)
    return [(a.id, b.id, a.area.intersection(b.area).area)
            for i, a in enumerate(members) for b in members[i + 1:]
            if a.area.intersection(b.area).area > AREA_TOL]


def same_area(a, b) -> bool:
    return a.symmetric_difference(b).area <= CELL_TOL * max(a.area, b.area)


def counts(station):
    return {vt.id: vt.count for vt in station.fleet}


def snapshot(net):
    """What 'the base is unchanged' means: the same station objects, fleets, links and cities."""
    return (dict(net.stations), {s: counts(st) for s, st in net.stations.items()}, net.links,
            dict(net.cities), dict(net.pickup_points))


def apply(net, **overrides):
    return apply_overrides(net, Scenario("x", **overrides))


def error(net, match, **overrides):
    with pytest.raises(ValueError, match=match) as info:
        apply_overrides(net, Scenario("x", **overrides))
    return str(info.value)


# -- fleet ---------------------------------------------------------------------------------------

def test_fleet_multiplier_scales_every_count_rounding_half_up(network):
    before = snapshot(network)
    out = apply(network, fleet={"*": 1.5})
    for sid, st in network.stations.items():
        assert counts(out.stations[sid]) == {t: int(c * 1.5 + 0.5) for t, c in counts(st).items()}
        # only the counts change
        assert [replace(vt, count=0) for vt in out.stations[sid].fleet] == \
            [replace(vt, count=0) for vt in st.fleet]
    assert snapshot(network) == before


def test_fleet_multiplier_on_one_station_leaves_the_others_alone(network):
    out = apply(network, fleet={"BJ-WJ": 0.5})
    assert counts(out.stations["BJ-WJ"]) == {"van": 4, "etrike-pos": 4, "etrike": 2}  # 8 7 3
    for sid, st in network.stations.items():
        if sid != "BJ-WJ":
            assert out.stations[sid] == st


def test_fleet_counts_are_exact_and_other_types_kept(network):
    before = snapshot(network)
    out = apply(network, fleet={"BJ-WJ": {"van": 13, "etrike": 0}})
    assert counts(out.stations["BJ-WJ"]) == {"van": 13, "etrike-pos": 7, "etrike": 0}
    assert counts(out.stations["BJ-CYM"]) == counts(network.stations["BJ-CYM"])
    assert sum(counts(out.stations["BJ-WJ"]).values()) == 20
    assert snapshot(network) == before
    assert counts(network.stations["BJ-WJ"]) == {"van": 8, "etrike-pos": 7, "etrike": 3}


@pytest.mark.parametrize("fleet, key", [
    ({"BJ-NOPE": 2.0}, "scenarios.x.fleet.BJ-NOPE"),
    ({"BJ-WJ": {"truck": 3}}, "scenarios.x.fleet.BJ-WJ.truck"),
    ({"*": {"truck": 3}}, "scenarios.x.fleet.*.truck"),
])
def test_bad_fleet_names_the_key(network, fleet, key):
    assert error(network, key, fleet=fleet).startswith(key)


@pytest.mark.parametrize("fleet, key", [
    ({"BJ-WJ": -1}, "scenarios.x.fleet.BJ-WJ"),
    ({"BJ-WJ": "lots"}, "scenarios.x.fleet.BJ-WJ"),
    ({"BJ-WJ": True}, "scenarios.x.fleet.BJ-WJ"),
    ({"BJ-WJ": {"van": 2.5}}, "scenarios.x.fleet.BJ-WJ.van"),
    ({"BJ-WJ": {"van": -1}}, "scenarios.x.fleet.BJ-WJ.van"),
])
def test_bad_fleet_value_is_rejected_when_the_scenario_is_made(fleet, key):
    with pytest.raises(ValueError) as info:
        Scenario("x", fleet=fleet)
    assert str(info.value).startswith(key + ":")


# -- cutoffs and waves -----------------------------------------------------------------------------

def test_cutoffs_set_the_city_fields_in_minutes(network):
    out = apply(network, cutoffs={"beijing": {"same_day_cutoff": "12:00",
                                              "next_day_deadline": "13:45"}})
    city, old = out.cities["beijing"], network.cities["beijing"]
    assert (city.same_day_cutoff, city.next_day_deadline) == (720, 825)
    assert (city.same_day_deadline, city.next_day_cutoff) == (old.same_day_deadline,
                                                              old.next_day_cutoff)
    assert old.same_day_cutoff == 660  # base untouched
    assert out.cities["shanghai"] == network.cities["shanghai"]


def test_cutoffs_star_applies_to_every_city(network):
    out = apply(network, cutoffs={"*": {"same_day_deadline": "22:00"}})
    assert {c.same_day_deadline for c in out.cities.values()} == {22 * 60}
    assert set(out.cities) == set(network.cities)


@pytest.mark.parametrize("cutoffs, key", [
    ({"paris": {"same_day_cutoff": "12:00"}}, "scenarios.x.cutoffs.paris"),
    ({"beijing": {"same_day_cutof": "12:00"}}, "scenarios.x.cutoffs.beijing.same_day_cutof"),
    ({"beijing": {"same_day_cutoff": "12h"}}, "scenarios.x.cutoffs.beijing.same_day_cutoff"),
    ({"beijing": {"same_day_cutoff": "12:75"}}, "scenarios.x.cutoffs.beijing.same_day_cutoff"),
    ({"beijing": {"same_day_cutoff": 720}}, "scenarios.x.cutoffs.beijing.same_day_cutoff"),
    ({"beijing": {}}, "scenarios.x.cutoffs.beijing"),
])
def test_bad_cutoffs_name_the_key(network, cutoffs, key):
    assert error(network, key, cutoffs=cutoffs).startswith(key + ":")


def test_waves_are_replaced(network):
    new = [{"id": "AM", "departure": "09:00", "latest_return": "12:30"},
           {"id": "PM", "departure": "14:00", "latest_return": "18:00"}]
    out = apply(network, waves={"BJ-WJ": new})
    assert out.stations["BJ-WJ"].waves == (Wave("AM", 540, 750), Wave("PM", 840, 1080))
    assert out.stations["BJ-CYM"].waves == network.stations["BJ-CYM"].waves
    assert len(network.stations["BJ-WJ"].waves) == 4
    star = apply(network, waves={"*": new})
    assert {s.waves for s in star.stations.values()} == {out.stations["BJ-WJ"].waves}


@pytest.mark.parametrize("waves, key", [
    ({"BJ-WJ": [{"id": "A", "departure": "8am", "latest_return": "12:00"}]},
     "scenarios.x.waves.BJ-WJ.0.departure"),
    ({"BJ-WJ": [{"id": "A", "departure": "08:00", "latest_return": "12:00"},
                {"id": "B", "departure": "13:00", "latest_return": "1pm"}]},
     "scenarios.x.waves.BJ-WJ.1.latest_return"),
    ({"BJ-WJ": [{"id": "A", "departure": "12:00", "latest_return": "08:00"}]},
     "scenarios.x.waves.BJ-WJ.0"),
    ({"BJ-WJ": [{"id": "A", "departure": "08:00"}]}, "scenarios.x.waves.BJ-WJ.0"),
    ({"BJ-WJ": []}, "scenarios.x.waves.BJ-WJ"),
    ({"BJ-WJ": [{"id": "A", "departure": "08:00", "latest_return": "10:00"},
                {"id": "A", "departure": "11:00", "latest_return": "13:00"}]},
     "scenarios.x.waves.BJ-WJ"),
    ({"BJ-NOPE": [{"id": "A", "departure": "08:00", "latest_return": "10:00"}]},
     "scenarios.x.waves.BJ-NOPE"),
])
def test_bad_waves_name_the_key(network, waves, key):
    assert error(network, key, waves=waves).startswith(key + ":")


# -- removing and adding stations ---------------------------------------------------------------

@pytest.mark.parametrize("sid", ["BJ-WJ", "BJ-CYM", "BJ-TZ"])
def test_removed_station_is_absorbed_by_its_neighbours(network, sid):
    before = snapshot(network)
    gone = network.stations[sid]
    out = apply(network, remove_stations=[sid])
    assert sid not in out.stations and sid in network.stations
    assert len(out.stations) == len(network.stations) - 1
    # the city covers the same ground (and the same 211 ground), without overlaps
    assert city_union(out).symmetric_difference(city_union(network)).area < AREA_TOL
    assert city_union(out, attr="area_211").symmetric_difference(
        city_union(network, attr="area_211")).area < AREA_TOL
    assert overlaps(out) == []
    # only its neighbours' borders move
    neighbours = {s.id for s in network.stations.values()
                  if s.id != sid and s.area.buffer(1e-6).intersects(gone.area)}
    assert neighbours
    for other in out.stations.values():
        if other.id not in neighbours:
            assert same_area(other.area, network.stations[other.id].area), other.id
    grown = [o for o in neighbours
             if out.stations[o].area.area > network.stations[o].area.area * (1 + CELL_TOL)]
    assert grown
    # a point that was in it now belongs to a neighbour
    for loc in (gone.location, (gone.area.centroid.y, gone.area.centroid.x)):
        assert network.locate(loc).id == sid
        assert out.locate(loc) is not None and out.locate(loc).id in neighbours
    # its pickup points go to the nearest station left; its links are gone
    moved = [p for p in network.pickup_points.values() if p.station == sid]
    assert moved
    left = [s for s in out.stations.values() if s.city == gone.city]
    for p in moved:
        nearest = min(left, key=lambda s: haversine_km(s.location, p.location))
        assert out.pickup_points[p.id].station == nearest.id
    assert set(out.pickup_points) == set(network.pickup_points)
    assert not [lk for lk in out.links if sid in (lk.source, lk.target)]
    assert len(out.links) == len(network.links) - sum(lk.target == sid for lk in network.links)
    assert sid not in out.graph
    assert snapshot(network) == before


def test_removing_two_stations(network):
    out = apply(network, remove_stations=["BJ-WJ", "BJ-DZM"])
    assert len(out.stations) == len(network.stations) - 2
    assert city_union(out).symmetric_difference(city_union(network)).area < AREA_TOL
    assert overlaps(out) == []
    assert {p.station for p in out.pickup_points.values()} <= set(out.stations)


@pytest.mark.parametrize("remove, key", [
    (["BJ-NOPE"], "scenarios.x.remove_stations.0"),
    (["BJ-WJ", "BJ-NOPE"], "scenarios.x.remove_stations.1"),
    (["BJ-WJ", "BJ-WJ"], "scenarios.x.remove_stations.1"),
])
def test_bad_removal_names_the_key(network, remove, key):
    assert error(network, key, remove_stations=remove).startswith(key + ":")


def test_removing_every_station_of_a_city_is_refused(network):
    every = sorted(network.stations)
    message = error(network, f"scenarios.x.remove_stations.{len(every) - 1}",
                    remove_stations=every)
    assert "last station" in message


NEW = {"id": "BJ-NEW", "name": "Wangjing East", "location": [39.99, 116.52], "like": "BJ-WJ"}


def test_added_station_takes_its_place_in_the_tiling(network):
    before = snapshot(network)
    out = apply(network, add_stations=[NEW])
    new, like = out.stations["BJ-NEW"], network.stations["BJ-WJ"]
    assert out.locate((39.99, 116.52)).id == "BJ-NEW"
    assert network.locate((39.99, 116.52)).id != "BJ-NEW"
    assert new.name == "Wangjing East" and new.location == (39.99, 116.52)
    assert (new.fleet, new.waves, new.city, new.timed_windows) == (like.fleet, like.waves,
                                                                    like.city, like.timed_windows)
    assert city_union(out).symmetric_difference(city_union(network)).area < AREA_TOL
    assert overlaps(out) == []
    assert new.area.area > 0 and new.area_211.area <= new.area.area + AREA_TOL
    # the line-haul links of `like`, now to the new station
    copied = sorted((lk.source, lk.transit, lk.departures) for lk in out.links
                    if lk.target == "BJ-NEW")
    assert copied == sorted((lk.source, lk.transit, lk.departures) for lk in network.links
                            if lk.target == "BJ-WJ")
    assert copied
    ready = datetime(2026, 12, 2, 6, 0)
    assert out.arrival("BJ-DC-GUAN", "BJ-NEW", ready) == network.arrival("BJ-DC-GUAN", "BJ-WJ",
                                                                          ready)
    assert len(out.links) == len(network.links) + len(copied)
    assert snapshot(network) == before


def test_a_station_moved_into_the_ground_of_a_removed_one(network):
    """Remove a station and add one where it was: the new one takes over its ground."""
    wj = network.stations["BJ-WJ"]
    out = apply(network, remove_stations=["BJ-WJ"],
                add_stations=[{"id": "BJ-WJ2", "location": list(wj.location), "like": "BJ-DZM"}])
    assert out.locate(wj.location).id == "BJ-WJ2"
    assert same_area(out.stations["BJ-WJ2"].area, wj.area)
    assert city_union(out).symmetric_difference(city_union(network)).area < AREA_TOL
    assert overlaps(out) == []
    assert {lk.source for lk in out.links if lk.target == "BJ-WJ2"} == {"BJ-DC-GUAN", "BJ-WH-MJQ"}


def test_a_station_like_one_added_before_it_gets_its_links(network):
    out = apply(network, add_stations=[NEW, {"id": "BJ-NEW2", "location": [39.80, 116.30],
                                             "like": "BJ-NEW"}])
    assert out.locate((39.80, 116.30)).id == "BJ-NEW2"
    assert sorted((lk.source, lk.transit) for lk in out.links if lk.target == "BJ-NEW2") == \
        sorted((lk.source, lk.transit) for lk in network.links if lk.target == "BJ-WJ")
    assert overlaps(out) == []


@pytest.mark.parametrize("raw, key", [
    ({**NEW, "location": [39.9245, 116.434]}, "scenarios.x.add_stations.0.location"),  # BJ-CYM
    ({**NEW, "like": "BJ-NOPE"}, "scenarios.x.add_stations.0.like"),
    ({**NEW, "id": "BJ-CYM"}, "scenarios.x.add_stations.0.id"),
    ({**NEW, "location": [31.2, 121.5]}, "scenarios.x.add_stations.0.location"),  # Shanghai
    ({**NEW, "location": "here"}, "scenarios.x.add_stations.0.location"),
    ({**NEW, "colour": "red"}, "scenarios.x.add_stations.0.colour"),
    ({"id": "BJ-NEW", "like": "BJ-WJ"}, "scenarios.x.add_stations.0"),
])
def test_bad_added_station_names_the_key(network, raw, key):
    assert error(network, key, add_stations=[raw]).startswith(key + ":")


# -- service areas ---------------------------------------------------------------------------------

def test_area_change_gives_the_station_the_polygon_and_neighbours_lose_it(network):
    wj = network.stations["BJ-WJ"]
    lat, lon = wj.location
    poly = box(lon - 0.06, lat - 0.05, lon + 0.06, lat + 0.05)  # reaches into the neighbours
    taken = [s.id for s in network.stations.values()
             if s.id != "BJ-WJ" and s.area.intersection(poly).area > 1e-5]
    assert taken
    out = apply(network, areas={"BJ-WJ": mapping(poly)})
    st = out.stations["BJ-WJ"]
    assert st.area.covers(poly) and st.area.symmetric_difference(poly).area < AREA_TOL
    assert st.area_211.area <= st.area.area + AREA_TOL
    for other in out.stations.values():
        if other.id != "BJ-WJ":
            assert other.area.intersection(poly).area < AREA_TOL, other.id
            assert other.area_211.intersection(poly).area < AREA_TOL, other.id
    for sid in taken:
        assert out.stations[sid].area.area < network.stations[sid].area.area
    # a point that was a neighbour's is now BJ-WJ's
    for sid in taken:
        inside = network.stations[sid].area.intersection(poly).representative_point()
        assert network.locate((inside.y, inside.x)).id == sid
        assert out.locate((inside.y, inside.x)).id == "BJ-WJ"
    assert network.stations["BJ-WJ"].area.equals(wj.area)


@pytest.mark.parametrize("areas, key", [
    ({"BJ-NOPE": mapping(box(116.4, 39.9, 116.5, 40.0))}, "scenarios.x.areas.BJ-NOPE"),
    ({"BJ-WJ": {"type": "Point", "coordinates": [116.4, 39.9]}}, "scenarios.x.areas.BJ-WJ"),
    ({"BJ-WJ": {"type": "Polygon"}}, "scenarios.x.areas.BJ-WJ"),
    ({"BJ-WJ": {"type": "Polygon", "coordinates": [[[116.4, 39.9], [116.5, 40.0], [116.5, 39.9],
                                                    [116.4, 40.0], [116.4, 39.9]]]}},
     "scenarios.x.areas.BJ-WJ"),  # a bow tie: not valid
])
def test_bad_area_names_the_key(network, areas, key):
    assert error(network, key, areas=areas).startswith(key + ":")


# -- line-haul -------------------------------------------------------------------------------------

READY = datetime(2026, 12, 2, 6, 0)


def transits(net):
    return {(lk.source, lk.target): lk.transit for lk in net.links}


@pytest.mark.parametrize("key, hit", [
    ("*", lambda s, t: True),
    ("BJ-WH-MJQ", lambda s, t: s == "BJ-WH-MJQ"),
    ("BJ-DC-GUAN>BJ-WJ", lambda s, t: (s, t) == ("BJ-DC-GUAN", "BJ-WJ")),
])
def test_linehaul_delay_adds_exactly_the_minutes(network, key, hit):
    before = transits(network)
    out = apply(network, linehaul_delay={key: 45})
    after = transits(out)
    assert after.keys() == before.keys()
    for link, transit in before.items():
        assert after[link] == transit + (45 if hit(*link) else 0), link
    assert transits(network) == before
    for (source, target) in before:
        old, new = network.arrival(source, target, READY), out.arrival(source, target, READY)
        assert new - old == timedelta(minutes=45 if hit(source, target) else 0), (source, target)


@pytest.mark.parametrize("delay, key", [
    ({"NOPE": 30}, "scenarios.x.linehaul_delay.NOPE"),
    ({"BJ-WJ>BJ-DC-GUAN": 30}, "scenarios.x.linehaul_delay.BJ-WJ>BJ-DC-GUAN"),
])
def test_linehaul_delay_on_no_link_names_the_key(network, delay, key):
    assert error(network, key, linehaul_delay=delay).startswith(key + ":")


@pytest.mark.parametrize("delay", [-5, "late", True])
def test_bad_linehaul_minutes_are_rejected(delay):
    with pytest.raises(ValueError, match=r"^scenarios\.x\.linehaul_delay\.\*:"):
        Scenario("x", linehaul_delay={"*": delay})


# -- demand ----------------------------------------------------------------------------------------

def test_demand_multiplies_the_orders_prepared(network):
    base = Base(network=BEIJING, day=DAY, orders=200, seed=4, time_limit=0.3)
    plain = prepare(network, base, Scenario("base"))
    peak = prepare(network, base, Scenario("peak", demand=1.5))
    low = prepare(network, base, Scenario("low", demand=0.25))
    assert (plain.orders, peak.orders, low.orders) == (200, 300, 50)
    assert (len(plain.sales), len(peak.sales), len(low.sales)) == (200, 300, 50)
    assert len({s.order.id for s in peak.sales}) == 300
    assert sum(len(w.stops) for j in peak.jobs for w in j.waves) > \
        sum(len(w.stops) for j in plain.jobs for w in j.waves)


def test_demand_on_an_orders_file_repeats_and_samples_it(network, tmp_path):
    from slots.generate import generate_orders
    from slots.orders_io import write_orders

    path = tmp_path / "orders.csv"
    orders = generate_orders(network, 100, DAY, seed=2)
    write_orders(path, orders)
    ids = {o.id for o in orders}
    base = Base(network=BEIJING, day=DAY, orders=path, seed=4, time_limit=0.3)
    assert prepare(network, base, Scenario("base")).orders == 100
    double = prepare(network, base, Scenario("double", demand=2.0))
    got = [s.order.id for s in double.sales]
    assert len(got) == len(set(got)) == 200 and ids <= set(got)
    more = prepare(network, base, Scenario("more", demand=1.5))
    assert 100 < more.orders < 200 and len({s.order.id for s in more.sales}) == more.orders
    half = prepare(network, base, Scenario("half", demand=0.5))
    assert 20 < half.orders < 80
    assert {s.order.id for s in half.sales} <= ids  # a sample of the file's own orders


@pytest.mark.parametrize("demand", [0, -1, 101, "x", True])
def test_bad_demand_is_named(demand):
    with pytest.raises(ValueError, match=r"^scenarios\.x\.demand:"):
        Scenario("x", demand=demand)


# -- tables ----------------------------------------------------------------------------------------

def test_no_overrides_is_the_base_network(network):
    out = apply(network)
    assert out is not network
    assert dict(out.stations) == dict(network.stations)
    assert out.links == network.links and dict(out.cities) == dict(network.cities)


@pytest.mark.parametrize("raw, key", [
    ({"demnad": 2}, "scenarios.x.demnad"),
    ({"fleet": 1.2}, "scenarios.x.fleet"),
    ({"remove_stations": "BJ-WJ"}, "scenarios.x.remove_stations"),
    ({"sweep": {"fleet": "big"}}, "scenarios.x.sweep.fleet"),
])
def test_scenario_tables_name_the_bad_key(raw, key):
    with pytest.raises(ValueError) as info:
        scenario_from_dict("x", raw)
    assert str(info.value).startswith(key + ":")
