"""generate_orders: reproducible, exactly n orders, clocks in the day's window, documented shares.

The network is a stand-in with the attributes the generator reads: a 3x3 grid of Beijing stations
(each 211 area the middle 36% of its square), one Shanghai station and two warehouses.
"""

from __future__ import annotations

import re
from collections import Counter
from datetime import date, datetime
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
from shapely.geometry import Point, box

from slots.generate import MADE_UP_SKU, generate_orders
from slots.model import PromiseType
from slots.orders_io import read_orders, write_orders

DAY = date(2026, 12, 1)
N = 5000
BEIJING_STOCK = frozenset(f"SKU-{i:04d}" for i in range(200))
EAST_CHINA_STOCK = frozenset(f"SKU-{i:04d}" for i in range(150, 260))


def stand_in_network(east_china_stock: frozenset[str] = EAST_CHINA_STOCK) -> SimpleNamespace:
    """A tiny network object with cities, stations, warehouses and locate()."""
    stations = {}
    for row in range(3):
        for col in range(3):
            x, y = 116.30 + 0.05 * col, 39.85 + 0.05 * row
            stations[f"BJ{row}{col}"] = SimpleNamespace(
                id=f"BJ{row}{col}", city="beijing", location=(y + 0.025, x + 0.025),
                area=box(x, y, x + 0.05, y + 0.05),
                area_211=box(x + 0.01, y + 0.01, x + 0.04, y + 0.04))
    stations["SH0"] = SimpleNamespace(
        id="SH0", city="shanghai", location=(31.23, 121.47), area=box(121.44, 31.20, 121.50, 31.26),
        area_211=box(121.45, 31.21, 121.49, 31.25))
    cities = {"beijing": SimpleNamespace(id="beijing", same_day_cutoff=11 * 60),
              "shanghai": SimpleNamespace(id="shanghai", same_day_cutoff=10 * 60)}
    warehouses = {
        "bj-dc": SimpleNamespace(id="bj-dc", cities=("beijing",), stock=BEIJING_STOCK),
        "ec-dc": SimpleNamespace(id="ec-dc", cities=("shanghai",), stock=east_china_stock),
    }

    def locate(location: tuple[float, float]) -> SimpleNamespace | None:
        p = Point(location[1], location[0])
        return next((s for s in stations.values() if s.area.covers(p)), None)

    return SimpleNamespace(cities=cities, stations=stations, warehouses=warehouses, locate=locate)


@pytest.fixture(scope="module")
def network() -> SimpleNamespace:
    return stand_in_network()


@pytest.fixture(scope="module")
def orders(network):
    return generate_orders(network, N, DAY, seed=7, city="beijing")


def share(flags) -> float:
    flags = list(flags)
    return sum(flags) / len(flags)


def test_same_arguments_give_the_same_orders_and_another_seed_differs(network):
    first = generate_orders(network, 300, DAY, seed=3, city="beijing")
    assert first == generate_orders(network, 300, DAY, seed=3, city="beijing")
    other = generate_orders(network, 300, DAY, seed=4, city="beijing")
    assert first != other
    assert [o.location for o in first] != [o.location for o in other]


@pytest.mark.parametrize("n", [0, 1, 7, 1234])
def test_exactly_n_orders(network, n):
    assert len(generate_orders(network, n, DAY, seed=1)) == n


def test_negative_n_and_unknown_city_are_refused(network):
    with pytest.raises(ValueError, match="n must be"):
        generate_orders(network, -1, DAY, seed=1)
    with pytest.raises(ValueError, match="unknown city 'atlantis'"):
        generate_orders(network, 5, DAY, seed=1, city="atlantis")


def test_ids_are_unique_dated_and_follow_submission(orders):
    ids = [o.id for o in orders]
    assert len(set(ids)) == len(ids)
    assert all(re.fullmatch(r"O20261201-\d{6}", i) for i in ids)
    assert ids == sorted(ids)
    assert [o.submitted_at for o in orders] == sorted(o.submitted_at for o in orders)


def test_clocks_run_from_the_cutoff_the_day_before_to_the_cutoff_on_the_day(orders):
    clocks = [o.clock for o in orders]
    assert all(datetime(2026, 11, 30, 11) <= c < datetime(2026, 12, 1, 11) for c in clocks)
    next_day = share(c < datetime(2026, 11, 30, 23) for c in clocks)
    assert 0.55 < next_day < 0.85


def test_a_city_with_a_ten_oclock_cutoff_shifts_the_window(network):
    clocks = [o.clock for o in generate_orders(network, 2000, DAY, seed=2, city="shanghai")]
    assert all(datetime(2026, 11, 30, 10) <= c < datetime(2026, 12, 1, 10) for c in clocks)
    assert any(c.hour == 10 and c.day == 30 for c in clocks)


def test_morning_and_evening_peaks_over_a_quiet_night(orders):
    hours = Counter(o.clock.hour for o in orders)
    night = hours[2] + hours[3] + hours[4]
    assert hours[9] + hours[10] > 4 * night
    assert hours[19] + hours[20] + hours[21] > 5 * night
    assert hours[10] > hours[15] and hours[21] > hours[15]


def test_cod_and_prepaid_payment_times(orders):
    deliveries = [o for o in orders if o.kind == "delivery"]
    cod = [o for o in deliveries if o.payment == "cod"]
    assert share(o.payment == "cod" for o in deliveries) == pytest.approx(0.30, abs=0.025)
    assert all(o.paid_at is None for o in cod)
    delays = np.array([(o.paid_at - o.submitted_at).total_seconds()
                       for o in deliveries if o.payment == "prepaid"])
    assert delays.min() >= 0 and delays.max() <= 3 * 3600
    assert np.median(delays) < 10 * 60
    assert share(delays >= 3600) == pytest.approx(0.05, abs=0.015)


def test_weights_volumes_and_parcels(orders):
    weight = np.array([o.weight_kg for o in orders])
    volume = np.array([o.volume_m3 for o in orders])
    assert share(weight > 15) == pytest.approx(0.04, abs=0.012)
    assert share(volume > 0.12) == pytest.approx(0.03, abs=0.01)
    assert weight.min() > 0 and volume.min() > 0
    assert np.corrcoef(np.log(weight), np.log(volume))[0, 1] > 0.6
    assert {o.parcels for o in orders} == {1, 2, 3}


def test_returns_are_small_prepaid_pickups_without_skus(orders):
    returns = [o for o in orders if o.kind == "return"]
    assert len(returns) / len(orders) == pytest.approx(0.06, abs=0.012)
    assert all(o.skus == () and o.weight_kg <= 15 and o.volume_m3 <= 0.12 for o in returns)
    assert all(o.payment == "prepaid" and o.paid_at == o.submitted_at for o in returns)
    assert all(o.wants is None for o in returns)


def test_exchanges_are_two_percent_prepaid_with_their_new_item(orders):
    exchanges = [o for o in orders if o.kind == "exchange"]
    assert len(exchanges) / len(orders) == pytest.approx(0.02, abs=0.006)
    assert all(o.skus and o.payment == "prepaid" and o.paid_at is not None for o in exchanges)
    assert all(o.paid_at >= o.submitted_at for o in exchanges)
    assert {o.wants for o in exchanges} <= {None, PromiseType.TIMED}


def test_exchanges_leave_every_other_order_as_it_was(network, orders, monkeypatch):
    import slots.generate as generate

    monkeypatch.setattr(generate, "EXCHANGE_SHARE", 0.0)
    without = generate_orders(network, N, DAY, seed=7, city="beijing")
    assert not any(o.kind == "exchange" for o in without)
    changed = [(a, b) for a, b in zip(orders, without) if a != b]
    assert changed and all(a.kind == "exchange" and b.kind == "delivery" for a, b in changed)
    for a, b in changed:
        assert (a.id, a.submitted_at, a.clock, a.location, a.skus) == (
            b.id, b.submitted_at, b.clock, b.location, b.skus)


def test_addresses_split_between_211_areas_outer_areas_and_outside(network, orders):
    located = [(o, network.locate(o.location)) for o in orders]
    outside = share(s is None for _, s in located)
    in_211 = share(s is not None and s.area_211.covers(Point(o.location[1], o.location[0]))
                   for o, s in located)
    assert outside == pytest.approx(0.02, abs=0.008)
    assert in_211 == pytest.approx(0.90, abs=0.02)
    assert 1 - outside - in_211 == pytest.approx(0.08, abs=0.015)
    lats = [o.location[0] for o, s in located if s is None]
    assert min(lats) > 39.85 - 0.05 and max(lats) < 40.0 + 0.05


def test_central_stations_are_busier(network, orders):
    counts = Counter(s.id for s in map(network.locate, (o.location for o in orders)) if s)
    corners = [counts[k] for k in ("BJ00", "BJ02", "BJ20", "BJ22")]
    assert counts["BJ11"] > 1.5 * max(corners)


def test_skus_come_from_the_catalogue_and_a_few_are_not_local(orders):
    deliveries = [o for o in orders if o.kind == "delivery"]
    assert all(1 <= len(o.skus) <= 4 and len(set(o.skus)) == len(o.skus) for o in deliveries)
    assert all(set(o.skus) <= BEIJING_STOCK | EAST_CHINA_STOCK for o in deliveries)
    not_local = [o for o in deliveries if not set(o.skus) <= BEIJING_STOCK]
    assert len(not_local) / len(deliveries) == pytest.approx(0.03, abs=0.01)
    assert all(len(set(o.skus) - BEIJING_STOCK) == 1 for o in not_local)


def test_a_sku_is_made_up_when_every_sku_is_stocked_locally():
    network = stand_in_network(east_china_stock=frozenset({"SKU-0001"}))
    orders = generate_orders(network, 2000, DAY, seed=5, city="beijing")
    foreign = {s for o in orders for s in o.skus if s not in BEIJING_STOCK}
    assert foreign == {MADE_UP_SKU}


def test_member_tiers_and_wanted_promises(orders):
    tiers = Counter(o.member_tier for o in orders)
    for tier, expected in enumerate((0.70, 0.20, 0.08, 0.02)):
        assert tiers[tier] / len(orders) == pytest.approx(expected, abs=0.02)
    wants = Counter(o.wants for o in orders if o.kind == "delivery")
    deliveries = sum(wants.values())
    assert wants[PromiseType.TIMED] / deliveries == pytest.approx(0.10, abs=0.015)
    assert wants[PromiseType.PICKUP_POINT] / deliveries == pytest.approx(0.05, abs=0.012)
    assert set(wants) == {None, PromiseType.TIMED, PromiseType.PICKUP_POINT}


def test_every_city_when_none_is_given(network):
    orders = generate_orders(network, 3000, DAY, seed=9)
    cities = Counter(o.city for o in orders)
    assert set(cities) == {"beijing", "shanghai"}
    assert cities["beijing"] > cities["shanghai"]
    shanghai = [o for o in orders if o.city == "shanghai"]
    assert all(network.locate(o.location) in (None, network.stations["SH0"]) for o in shanghai)


@pytest.mark.parametrize("suffix", [".csv", ".parquet"])
def test_generated_orders_round_trip_through_files(network, tmp_path, suffix):
    orders = generate_orders(network, 500, DAY, seed=11)
    write_orders(tmp_path / f"orders{suffix}", orders)
    assert read_orders(tmp_path / f"orders{suffix}") == orders


def test_sample_beijing_network():
    try:
        from warehouses import load_network
    except ImportError as e:
        pytest.skip(f"warehouses.load_network is not importable yet ({e})")
    data = Path(__file__).resolve().parents[2] / "data" / "beijing"
    if not data.exists():
        pytest.skip(f"{data} does not exist yet")
    network = load_network(str(data))
    served = {s.city for s in network.stations.values()}
    city = "beijing" if "beijing" in served else min(served)
    orders = generate_orders(network, 3000, DAY, seed=211, city=city)
    assert len(orders) == 3000 and all(o.city == city for o in orders)
    located = [network.locate(o.location) for o in orders]
    assert share(s is None for s in located) == pytest.approx(0.02, abs=0.01)
    in_211 = share(s is not None and s.area_211.covers(Point(o.location[1], o.location[0]))
                   for o, s in zip(orders, located))
    assert in_211 == pytest.approx(0.90, abs=0.03)


CHINA = Path(__file__).resolve().parents[2] / "data" / "china"


@pytest.fixture(scope="module")
def china():
    from warehouses import load_network

    return load_network(CHINA)


def demand_shares(network) -> dict[str, float]:
    """Each city's share of the summed station demand weights 1 / (1 + (d / D)^2)."""
    by_city: dict[str, list] = {}
    for s in network.stations.values():
        by_city.setdefault(s.city, []).append(s.location)
    totals = {}
    for city, at in by_city.items():
        at = np.array(at)
        mid = at.mean(axis=0)
        d = np.hypot(at[:, 0] - mid[0], (at[:, 1] - mid[1]) * np.cos(np.radians(mid[0])))
        totals[city] = float((1.0 / (1.0 + (d / d.mean()) ** 2)).sum())
    return {city: total / sum(totals.values()) for city, total in totals.items()}


def test_china_orders_spread_over_every_city_by_station_demand(china):
    orders = generate_orders(china, 40_000, DAY, seed=21)
    cities = Counter(o.city for o in orders)
    expected = demand_shares(china)
    assert set(cities) == set(expected) and len(expected) == 20
    for city, share_ in expected.items():
        assert cities[city] / len(orders) == pytest.approx(share_, abs=0.006), city
    assert cities["beijing"] > 2 * cities["kunming"]
    for o in orders[:4000]:
        station = china.locate(o.location)
        assert station is None or station.city == o.city
    early = {c.id for c in china.cities.values() if c.same_day_cutoff == 10 * 60}
    assert early and any(o.city in early for o in orders)
    for o in orders:
        cutoff = 10 if o.city in early else 11
        assert datetime(2026, 11, 30, cutoff) <= o.clock < datetime(2026, 12, 1, cutoff)


def test_china_orders_are_seeded_and_reproducible(china):
    first = generate_orders(china, 3000, DAY, seed=5)
    assert first == generate_orders(china, 3000, DAY, seed=5)
    assert first != generate_orders(china, 3000, DAY, seed=6)
    kunming = generate_orders(china, 500, DAY, seed=5, city="kunming")
    assert {o.city for o in kunming} == {"kunming"}
