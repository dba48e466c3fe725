"""Preparing a scenario city by city gives exactly the whole day's checkout and station jobs."""

from __future__ import annotations

from collections import Counter
from dataclasses import replace
from datetime import date
from pathlib import Path

import pytest

from slots.checkout import simulate_checkout
from slots.dayplan import build_jobs
from slots.generate import generate_orders
from slots.whatif import Base, Scenario
from slots.whatif.run import part_names, prepare, split
from warehouses import Network, load_network

CHINA = Path(__file__).resolve().parents[3] / "data" / "china"
DAY = date(2026, 12, 2)


@pytest.fixture(scope="module")
def china():
    return load_network(CHINA)


@pytest.fixture(scope="module")
def tight(china):
    """Three orders a wave and two parcels a pickup point a day: capacity binds everywhere, so
    a part that saw another part's bookings (or missed its own) would sell differently."""
    return Network(china.cities, china.warehouses,
                   {k: replace(st, wave_capacity=3) for k, st in china.stations.items()},
                   {k: replace(pp, capacity=2) for k, pp in china.pickup_points.items()},
                   china.carriers, china.links)


def test_locate_many_answers_as_locate_does(china):
    orders = generate_orders(china, 3000, DAY, 5)
    spots = [o.location for o in orders] + [(0.0, 0.0), (39.9, 116.4), (31.23, 121.47)]
    assert china.locate_many(spots) == [china.locate(p) for p in spots]
    assert china.locate_many([]) == []


@pytest.mark.parametrize("scenario", [Scenario("base"), Scenario("peak", demand=1.5),
                                      Scenario("late", linehaul_delay={"*": 120})])
def test_selling_city_by_city_is_selling_the_whole_day(tight, scenario):
    base = Base(network=CHINA, day=DAY, orders=4000, seed=9, time_limit=0.3)
    cut, parts = split(tight, base, scenario)
    assert len(parts) == len(part_names(tight)) == len(tight.cities) + 1
    assert sum(len(p) for p in parts) == cut.orders and sum(1 for p in parts if p) > 3
    assert sorted(i for idx in cut.index for i in idx) == list(range(cut.orders))
    for name, orders in zip(part_names(tight), parts):
        located = {None if s is None else s.city for s in cut.network.locate_many(
            [o.location for o in orders])}
        assert located <= {name}, (name, located)
    prepared = prepare(tight, base, scenario)
    orders = generate_orders(tight, round(4000 * scenario.demand), DAY, base.seed)
    assert [s.order for s in prepared.sales] == orders
    whole = simulate_checkout(orders, cut.network)
    per_wave = Counter((s.station, s.wave_date, s.wave) for s in whole if s.wave is not None)
    assert max(per_wave.values()) == 3  # capacity bound
    assert prepared.sales == whole
    assert prepared.jobs == build_jobs(cut.network, whole, DAY, base.time_limit, base.seed)
