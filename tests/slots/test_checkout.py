"""The customer-choice rule and the checkout simulation: one Sale per order, nothing oversold."""

from __future__ import annotations

from collections import Counter
from dataclasses import replace
from datetime import date, timedelta
from pathlib import Path

import pytest

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from slots import (Order, Promise, PromiseType, Reason, choose, promises, simulate_checkout,
                   wave_capacity)

from .sample_network import (HOME, NOWHERE, OUTSIDE_211, PP_NEAR_AT, at, make_network, north_of)

NET = make_network()
D0, D1 = "2026-03-02", "2026-03-03"
DOOR_TYPES = (PromiseType.SAME_DAY, PromiseType.NEXT_DAY, PromiseType.TIMED, PromiseType.PICKUP_POINT,
              PromiseType.RETURN)


def order(clock, oid="o", location=HOME, wants=None, kind="delivery", skus=("A",), **kw) -> Order:
    return Order(oid, "BJ", clock, kw.pop("payment", "cod"), location, kw.pop("weight", 2.0),
                 kw.pop("volume", 0.01), skus=skus, kind=kind, wants=wants, **kw)


def sell(o: Order, network=NET):
    return choose(o, promises(o, network, o.clock))


def test_door_211_is_preferred_to_an_earlier_closing_pickup_point():
    o = order(at(9))
    quoted = [Promise(PromiseType.SAME_DAY, True, deadline=at(23), station="S1", wave="W14",
                      wave_date=D0),
              Promise(PromiseType.PICKUP_POINT, True, deadline=at(20), station="S1", wave="W14",
                      wave_date=D0, pickup_point="PP_NEAR")]
    assert choose(o, quoted).promise.type == PromiseType.SAME_DAY
    assert choose(replace(o, wants=PromiseType.PICKUP_POINT), quoted).promise.type == \
        PromiseType.PICKUP_POINT


def test_default_choice_is_the_fastest_door_delivery():
    sale = sell(order(at(9)))
    assert sale.promise.type == PromiseType.SAME_DAY
    assert (sale.station, sale.wave_date, sale.wave, sale.due) == ("S1", D0, "W14", at(23))
    sale = sell(order(at(12)))
    assert sale.promise.type == PromiseType.NEXT_DAY
    assert (sale.wave_date, sale.wave, sale.due) == (D1, "W08", at(15, day=1))


def test_pickup_point_where_211_is_not_offered():
    sale = sell(order(at(9), location=north_of(PP_NEAR_AT, 0.3)))
    assert sale.promise.type == PromiseType.PICKUP_POINT
    assert (sale.promise.pickup_point, sale.due, sale.wave) == ("PP_NEAR", at(20), "W14")


def test_wanted_timed_books_its_first_window():
    sale = sell(order(at(9), wants=PromiseType.TIMED))
    assert sale.promise.type == PromiseType.TIMED
    assert sale.window == (at(19), at(21)) and sale.due == at(21)
    assert (sale.station, sale.wave_date, sale.wave) == ("S1", D0, "W18")


def test_wanted_but_not_offered_falls_back():
    sale = sell(order(at(9), wants=PromiseType.PICKUP_POINT))
    assert sale.promise.type == PromiseType.SAME_DAY


def test_timed_is_a_last_resort_when_nothing_faster_is_offered():
    sale = sell(order(at(9), location=OUTSIDE_211), make_network(carriers=False))
    assert sale.promise.type == PromiseType.TIMED and sale.window is not None


def test_third_party_sale_has_no_wave():
    sale = sell(order(at(9), location=NOWHERE))
    assert sale.promise.type == PromiseType.THIRD_PARTY and sale.promise.carrier == "ZTO"
    assert (sale.station, sale.wave, sale.wave_date, sale.window) == (None, None, None, None)


def test_nothing_offered_yields_the_refused_third_party_promise():
    sale = sell(order(at(9), location=NOWHERE), make_network(carriers=False))
    assert sale.promise == Promise(PromiseType.THIRD_PARTY, False, (Reason.NO_CARRIER,))
    assert sale.wave is None and sale.due is None


def test_return_sale_is_the_door_pickup():
    sale = sell(order(at(7, 30), kind="return"))
    assert (sale.promise.type, sale.wave_date, sale.wave) == (PromiseType.RETURN, D0, "W14")


def test_simulation_fills_waves_in_clock_order_and_keeps_input_order():
    net = make_network(wave_capacity=3)
    orders = [order(at(9) + timedelta(minutes=i), oid=f"o{i}") for i in range(14)]
    sales = simulate_checkout(list(reversed(orders)), net)
    assert [s.order.id for s in sales] == [o.id for o in reversed(orders)]
    by_id = {s.order.id: s for s in sales}
    got = [(by_id[o.id].promise.type, by_id[o.id].wave_date, by_id[o.id].wave) for o in orders]
    assert got == ([(PromiseType.SAME_DAY, D0, "W14")] * 3 + [(PromiseType.SAME_DAY, D0, "W18")] * 3
                   + [(PromiseType.NEXT_DAY, D1, "W08")] * 3 + [(PromiseType.NEXT_DAY, D1, "W14")] * 3
                   + [(PromiseType.THIRD_PARTY, None, None)] * 2)


def test_simulation_uses_the_payment_clock():
    net = make_network(wave_capacity=1)
    late_payer = order(at(8), oid="late", payment="prepaid", paid_at=at(10, 30))
    cod = order(at(10), oid="cod")
    sales = simulate_checkout([late_payer, cod], net)
    assert [(s.order.id, s.wave) for s in sales] == [("late", "W18"), ("cod", "W14")]


def test_an_exchange_takes_a_door_promise_never_a_pickup_point_or_a_carrier():
    near_point = north_of(PP_NEAR_AT, 0.3)
    sale = sell(order(at(9), kind="exchange", location=near_point, wants=PromiseType.PICKUP_POINT))
    assert sale.promise.type == PromiseType.TIMED or sale.promise.type in (
        PromiseType.SAME_DAY, PromiseType.NEXT_DAY)
    assert sale.promise.pickup_point is None and sale.station == "S1"
    assert sell(order(at(9), kind="exchange")).promise.type == PromiseType.SAME_DAY
    refused = sell(order(at(9), kind="exchange", location=NOWHERE))
    assert (refused.promise.type, refused.promise.offered) == (PromiseType.NEXT_DAY, False)
    assert refused.promise.reasons == (Reason.OUT_OF_SERVICE_AREA,) and refused.wave is None
    no_stock = sell(order(at(9), kind="exchange", skus=("Z",)))
    assert no_stock.promise.reasons == (Reason.NOT_IN_LOCAL_STOCK,)


def test_simulation_books_pickup_points_in_parcels():
    home = north_of(PP_NEAR_AT, 0.3)
    orders = [order(at(9) + timedelta(minutes=i), oid=f"p{i}", location=home, parcels=2)
              for i in range(3)]
    points = [s.promise.pickup_point for s in simulate_checkout(orders, NET)]
    assert points == ["PP_NEAR", "PP_FAR", None]  # each point holds 2 parcels


def test_simulation_counts_pickup_point_capacity():
    home = north_of(PP_NEAR_AT, 0.3)
    orders = [order(at(9) + timedelta(minutes=i), oid=f"p{i}", location=home) for i in range(5)]
    points = [s.promise.pickup_point for s in simulate_checkout(orders, NET)]
    assert points == ["PP_NEAR", "PP_NEAR", "PP_FAR", "PP_FAR", None]


LOCATIONS = st.sampled_from([HOME, OUTSIDE_211, NOWHERE, north_of(PP_NEAR_AT, 0.3),
                             north_of(PP_NEAR_AT, 2.9)])
orders_strategy = st.lists(
    st.builds(
        lambda minute, location, weight, volume, skus, kind, payment, delay, wants: Order(
            "x", "BJ", at(0) + timedelta(minutes=minute), payment, location, weight, volume,
            skus=tuple(skus), kind=kind, wants=wants,
            paid_at=at(0) + timedelta(minutes=minute + delay) if payment == "prepaid" and delay else None),
        st.integers(0, 2 * 24 * 60), LOCATIONS, st.floats(0.1, 32), st.floats(0.001, 0.2),
        st.lists(st.sampled_from("ABCZ"), max_size=3), st.sampled_from(["delivery"] * 4 + ["return", "exchange"]),
        st.sampled_from(["cod", "prepaid"]), st.integers(0, 120),
        st.sampled_from([None, *PromiseType.ALL])),
    max_size=60)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(orders_strategy, st.integers(1, 4), st.booleans())
def test_every_order_gets_one_sale_and_no_wave_is_oversold(orders, capacity, carriers):
    orders = [replace(o, id=f"o{i}") for i, o in enumerate(orders)]
    net = make_network(wave_capacity=capacity, carriers=carriers, pickup_capacity=capacity)
    sales = simulate_checkout(orders, net)
    assert [s.order for s in sales] == orders
    known = set(PromiseType.ALL) | {PromiseType.RETURN}
    assert all(s.promise.type in known for s in sales)
    for s in sales:
        if s.order.kind == "return":
            assert s.promise.type == PromiseType.RETURN
        if s.promise.offered:
            assert s.due is not None and s.due > s.order.clock
            assert (s.wave is not None) == (s.promise.type in DOOR_TYPES)
        else:
            assert s.promise.reasons and s.wave is None
    station = net.stations["S1"]
    caps = {w.id: wave_capacity(station, w) for w in station.waves}
    per_wave = Counter((s.station, s.wave_date, s.wave) for s in sales if s.wave is not None)
    assert all(n <= caps[wave] for (_, _, wave), n in per_wave.items())
    per_point = Counter()
    for s in sales:
        if s.promise.type == PromiseType.PICKUP_POINT and s.promise.offered:
            per_point[s.promise.pickup_point, s.due.date()] += s.order.parcels
    assert all(n <= capacity for n in per_point.values())


BEIJING = Path(__file__).resolve().parents[2] / "data" / "beijing"


@pytest.mark.skipif(not (BEIJING / "network.toml").exists(), reason="no bundled Beijing network")
def test_bundled_beijing_day_sells_without_overselling():
    from slots.generate import generate_orders
    from warehouses import load_network

    network = load_network(BEIJING)
    orders = generate_orders(network, 8_000, date(2026, 3, 2), seed=1, city="beijing")
    sales = simulate_checkout(orders, network)
    assert [s.order for s in sales] == orders
    per_wave = Counter((s.station, s.wave_date, s.wave) for s in sales if s.wave is not None)
    for (station_id, _, wave_id), n in per_wave.items():
        station = network.stations[station_id]
        assert n <= wave_capacity(station, next(w for w in station.waves if w.id == wave_id))
    types = Counter(s.promise.type for s in sales if s.promise.offered)
    assert types[PromiseType.SAME_DAY] + types[PromiseType.NEXT_DAY] > len(orders) // 2
