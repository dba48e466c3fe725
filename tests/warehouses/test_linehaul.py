"""arrival and stock_arrival: waiting for trucks, multi-hop, rollover past midnight, unreachable."""

from __future__ import annotations

from datetime import datetime

import pytest
from shapely.geometry import Polygon, box

from warehouses import City, Link, Network, Station, VehicleType, Warehouse, Wave


def t(day: int, hhmm: str) -> datetime:
    hours, minutes = map(int, hhmm.split(":"))
    return datetime(2026, 12, day, hours, minutes)


def station(ident: str, west: float) -> Station:
    return Station(ident, ident, "city", (39.9, west + 0.1), box(west, 39.8, west + 0.2, 40.0),
                   Polygon(), sort_minutes=45, waves=(Wave("W1", 480, 690),),
                   fleet=(VehicleType("van", 1, 800, 4.5, 150, (450, 1380)),))


def warehouse(ident: str, stock: set[str], city: str = "city") -> Warehouse:
    return Warehouse(ident, ident, "dc", (39.5, 116.4), (city,), frozenset(stock))


@pytest.fixture(scope="module")
def network() -> Network:
    # A -> S1 direct at 08:00/14:00 (60 min). A -> B any time (30), B -> S2 at 10:00/23:30 (45),
    # A -> S2 direct only at 12:00 but slow (300). FAR serves another city and links nowhere.
    links = (Link("A", "S1", 60, (840, 480)), Link("A", "B", 30), Link("B", "S2", 45, (600, 1410)),
             Link("A", "S2", 300, (720,)))
    return Network(
        cities={"city": City("city", "City"), "far": City("far", "Far")},
        warehouses={w.id: w for w in (warehouse("A", {"K1", "K2"}), warehouse("B", {"K2", "K3"}),
                                      warehouse("FAR", {"K9"}, city="far"))},
        stations={s.id: s for s in (station("S1", 116.0), station("S2", 116.2))},
        pickup_points={}, carriers={}, links=links)


@pytest.mark.parametrize("ready, expected", [
    ("09:00", "15:00"),  # waits for the 14:00 truck
    ("08:00", "09:00"),  # leaves on the 08:00 exactly
    ("07:10", "09:00"),
    ("14:00", "15:00"),
])
def test_waits_for_the_next_departure(network: Network, ready: str, expected: str) -> None:
    assert network.arrival("A", "S1", t(1, ready)) == t(1, expected)


def test_a_second_late_misses_the_truck(network: Network) -> None:
    assert network.arrival("A", "S1", datetime(2026, 12, 1, 8, 0, 1)) == t(1, "15:00")


def test_rolls_over_to_tomorrows_first_departure(network: Network) -> None:
    assert network.arrival("A", "S1", t(1, "14:01")) == t(2, "09:00")
    assert network.arrival("A", "S1", t(31, "23:59")) == datetime(2027, 1, 1, 9, 0)


def test_multi_hop_through_a_warehouse(network: Network) -> None:
    assert network.arrival("A", "B", t(1, "09:00")) == t(1, "09:30")  # no timetable: leaves at once
    assert network.arrival("A", "S2", t(1, "09:00")) == t(1, "10:45")  # via B, 10:00 truck


def test_direct_link_wins_when_the_hop_misses_its_truck(network: Network) -> None:
    # Via B: at B 10:50, next truck 23:30, there 00:15; direct: 12:00 + 300 min = 17:00.
    assert network.arrival("A", "S2", t(1, "10:20")) == t(1, "17:00")


def test_arrival_past_midnight(network: Network) -> None:
    # At B 23:20, 23:30 truck, there 00:15 the next day (the direct 12:00 has gone).
    assert network.arrival("A", "S2", t(1, "22:50")) == t(2, "00:15")
    assert network.arrival("B", "S2", t(1, "23:31")) == t(2, "10:45")


def test_unreachable_is_none(network: Network) -> None:
    assert network.arrival("S1", "A", t(1, "09:00")) is None
    assert network.arrival("FAR", "S1", t(1, "09:00")) is None
    assert network.arrival("S1", "S2", t(1, "09:00")) is None


def test_same_place_is_ready(network: Network) -> None:
    assert network.arrival("S1", "S1", t(1, "09:17")) == t(1, "09:17")


def test_unknown_place_raises(network: Network) -> None:
    with pytest.raises(KeyError):
        network.arrival("A", "NOPE", t(1, "09:00"))


def test_arrival_is_memoised(network: Network) -> None:
    first = network.arrival("A", "S2", t(3, "09:00"))
    assert network.arrival("A", "S2", t(3, "09:00")) == first == t(3, "10:45")


def test_stock_arrival_takes_the_first_source_per_sku_and_the_last_sku(network: Network) -> None:
    ready = t(1, "09:00")
    assert network.stock_arrival(["K1"], "city", "S1", ready) == t(1, "15:00")
    assert network.stock_arrival(["K3"], "city", "S2", ready) == t(1, "10:45")  # from B
    # At 09:40, A's load reaches B too late for the 10:00 truck and takes the direct 12:00: 17:00.
    assert network.stock_arrival(["K2"], "city", "S2", t(1, "09:40")) == t(1, "10:45")  # B, not A
    assert network.stock_arrival(["K1"], "city", "S2", t(1, "09:40")) == t(1, "17:00")
    assert network.stock_arrival(["K1", "K2"], "city", "S2", t(1, "09:40")) == t(1, "17:00")


def test_stock_arrival_none_when_a_sku_cannot_come(network: Network) -> None:
    ready = t(1, "09:00")
    assert network.stock_arrival(["K1", "K3"], "city", "S1", ready) is None  # B cannot reach S1
    assert network.stock_arrival(["K9"], "city", "S1", ready) is None  # only in another city's DC
    assert network.stock_arrival(["K404"], "city", "S1", ready) is None


def test_stock_arrival_without_skus_is_ready(network: Network) -> None:
    assert network.stock_arrival([], "city", "S1", t(1, "09:00")) == t(1, "09:00")


def test_has_local_stock(network: Network) -> None:
    assert network.has_local_stock(["K1", "K3"], "city")
    assert not network.has_local_stock(["K1", "K9"], "city")
    assert network.has_local_stock(["K9"], "far")
    assert network.has_local_stock([], "city")


def test_whole_minute_arrivals_match_the_exact_dijkstra_on_the_china_network() -> None:
    """The per-minute-of-day offsets give exactly what a Dijkstra from the datetime gives, for
    every warehouse, every station and readies all over two days (with half-minute transits)."""
    import random
    from dataclasses import replace
    from pathlib import Path

    from warehouses import load_network
    from warehouses.linehaul import earliest_arrivals

    china = load_network(Path(__file__).resolve().parents[2] / "data" / "china")
    rng = random.Random(4)
    links = tuple(replace(lk, transit=lk.transit + 0.5) if rng.random() < 0.3 else lk
                  for lk in china.links)
    net = Network(china.cities, china.warehouses, china.stations, china.pickup_points,
                  china.carriers, links)
    checked = 0
    for _ in range(60):
        source = rng.choice(sorted(net.warehouses))
        ready = datetime(2026, 12, 1 + rng.randrange(2), rng.randrange(24), rng.randrange(60))
        exact = earliest_arrivals(net.graph, source, ready)
        for target in net.stations:
            assert net.arrival(source, target, ready) == exact.get(target), (source, target, ready)
            checked += exact.get(target) is not None
    assert checked > 1000
