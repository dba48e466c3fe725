"""Seeded synthetic orders for one delivery day: a two-peak day curve, a realistic mix, real areas.

Every distribution is a named constant below; docs/orders.md describes them. Same arguments, same
orders: all randomness comes from numpy Generators seeded with `seed` (exchanges from their own
stream, so they leave every other order as it would be without them).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import replace
from datetime import date, datetime, time, timedelta
from typing import TYPE_CHECKING, Any

import numpy as np
import shapely
from shapely.geometry import box
from shapely.geometry.base import BaseGeometry

from .model import Order, PromiseType

if TYPE_CHECKING:
    from warehouses import Network

HOURLY_WEIGHTS = (  # relative order rate in each hour of the day, 00h..23h
    1.2, 0.6, 0.35, 0.25, 0.25, 0.35, 0.7, 1.3, 2.2, 3.2, 3.4, 2.8,
    2.4, 2.2, 2.3, 2.3, 2.2, 2.0, 2.3, 3.0, 3.6, 3.8, 3.2, 2.2,
)
DEFAULT_CUTOFF = 11 * 60  # minutes; used when the city sets no same_day_cutoff

RETURN_SHARE = 0.06
EXCHANGE_SHARE = 0.02  # of all orders, drawn among the non-returns
EXCHANGE_STREAM = 1  # the exchanges' generator is seeded with (seed, EXCHANGE_STREAM)
COD_SHARE = 0.30  # of deliveries; returns and exchanges are prepaid and paid at submission
LATE_PAYER_SHARE = 0.05  # of prepaid deliveries: pay 1-3 hours after submitting
PAY_DELAY_MIN_S = 20
PAY_DELAY_MEAN_S = 150  # exponential, on top of the minimum
LATE_PAY_DELAY_S = (3600, 3 * 3600)  # uniform

WEIGHT_MEDIAN_KG = 1.8  # lognormal: about 4% of deliveries above 15 kg
WEIGHT_SIGMA = 1.23
WEIGHT_RANGE_KG = (0.05, 80.0)
DENSITY_MEDIAN_KG_M3 = 175.0  # lognormal volume = weight / density: about 3% above 0.12 m3
DENSITY_SIGMA = 0.5
VOLUME_RANGE_M3 = (0.0005, 2.5)
RETURN_WEIGHT_MEDIAN_KG = 1.0
RETURN_WEIGHT_SIGMA = 0.6
RETURN_MAX_KG = 10.0
RETURN_MAX_M3 = 0.1

PARCEL_SHARES = (0.70, 0.22, 0.08)  # 1, 2, 3 parcels
SKU_COUNT_SHARES = (0.55, 0.25, 0.12, 0.08)  # 1..4 SKUs per delivery
NON_LOCAL_SHARE = 0.03  # of deliveries: one SKU not stocked at any warehouse serving the city
MADE_UP_SKU = "SKU-NOLOCAL-00001"  # used when every SKU in the network is stocked locally

ADDRESS_SHARES = (0.90, 0.08, 0.02)  # inside a 211 area; served, outside it; outside every area
OUTSIDE_MARGIN = 0.25  # the outside band: the city's bounds grown by this share of their size
MEMBER_TIER_SHARES = (0.70, 0.20, 0.08, 0.02)  # tiers 0..3
WANTS_SHARES = ((PromiseType.TIMED, 0.10), (PromiseType.PICKUP_POINT, 0.05))  # of deliveries

IN_211, OUTER, OUTSIDE = 0, 1, 2


def generate_orders(network: Network, n: int, day: date, seed: int, *,
                    city: str | None = None) -> list[Order]:
    """`n` orders delivered on `day` in `city` (None: every city with stations), by submission.

    Clocks run from the same-day cutoff on the day before (11:00 by default) to the cutoff on
    `day`: those before 23:00 the day before are next-day 211 orders, the later ones same-day.
    """
    if n < 0:
        raise ValueError(f"n must be at least 0, got {n}")
    stations = _stations(network, city)
    rng = np.random.default_rng(seed)
    is_return = rng.random(n) < RETURN_SHARE
    regions = _regions(network, stations)
    where, station = _addresses(stations, regions, n, rng)
    cities = [stations[s].city for s in station]
    clock = _clocks(network, cities, day, rng)
    submitted, paid, cod = _payments(clock, is_return, rng)
    weight, volume = _sizes(is_return, rng)
    parcels = rng.choice(len(PARCEL_SHARES), n, p=PARCEL_SHARES) + 1
    skus = _skus(network, cities, is_return, rng)
    tiers = rng.choice(len(MEMBER_TIER_SHARES), n, p=MEMBER_TIER_SHARES)
    wants = _wants(is_return, rng)
    lat, lon = _locations(regions, where, station, rng)
    is_exchange = _exchanges(is_return, seed)

    base = np.datetime64(datetime.combine(day - timedelta(days=1), time()), "s")
    submitted_at = (base + submitted.astype("timedelta64[s]")).tolist()
    paid_at = (base + paid.astype("timedelta64[s]")).tolist()
    columns = (lat.tolist(), lon.tolist(), weight.tolist(), volume.tolist(), parcels.tolist(),
               tiers.tolist(), is_return.tolist(), cod.tolist(), is_exchange.tolist())
    orders = []
    for number, i in enumerate(np.argsort(submitted, kind="stable").tolist(), start=1):
        la, lo, w, v, p, t, ret, c, x = (column[i] for column in columns)
        order = Order(
            id=f"O{day:%Y%m%d}-{number:06d}", city=cities[i], submitted_at=submitted_at[i],
            payment="cod" if c else "prepaid", location=(la, lo), weight_kg=w, volume_m3=v,
            parcels=p, skus=skus[i], member_tier=t, kind="return" if ret else "delivery",
            paid_at=None if c else paid_at[i], wants=wants[i])
        orders.append(_as_exchange(order) if x else order)
    return orders


def _exchanges(is_return: np.ndarray, seed: int) -> np.ndarray:
    """Which orders are exchanges: EXCHANGE_SHARE of all, among the non-returns, from their own
    stream (seeded with (seed, EXCHANGE_STREAM))."""
    draw = np.random.default_rng([seed, EXCHANGE_STREAM]).random(len(is_return))
    return ~is_return & (draw < EXCHANGE_SHARE / (1.0 - RETURN_SHARE))


def _as_exchange(order: Order) -> Order:
    """A drawn delivery turned into an exchange: nothing to collect, so prepaid, its clock kept
    (paid at its drawn clock); it keeps a wish for a timed window, not for a pickup point."""
    return replace(order, kind="exchange", payment="prepaid", paid_at=order.clock,
                   wants=order.wants if order.wants == PromiseType.TIMED else None)


def _stations(network: Any, city: str | None) -> list[Any]:
    """The city's stations (every city's, if None) that have a service area, by id."""
    if city is not None and city not in network.cities:
        raise ValueError(f"unknown city {city!r}; the network has {', '.join(network.cities)}")
    stations = [network.stations[k] for k in sorted(network.stations)
                if city is None or network.stations[k].city == city]
    stations = [s for s in stations if not s.area.is_empty and s.area.area > 0]
    if not stations:
        raise ValueError(f"no station with a service area in {city or 'the network'}")
    return stations


def _demand(stations: Sequence[Any]) -> np.ndarray:
    """Station demand weights: 1 / (1 + (d / D)^2), d the distance to the city's mean station
    location and D the mean of d over the city, so central stations are busier."""
    weights = np.ones(len(stations))
    by_city: dict[str, list[int]] = {}
    for i, s in enumerate(stations):
        by_city.setdefault(s.city, []).append(i)
    for members in by_city.values():
        at = np.array([stations[i].location for i in members], dtype=float)
        centre = at.mean(axis=0)
        d = np.hypot(at[:, 0] - centre[0], (at[:, 1] - centre[1]) * np.cos(np.radians(centre[0])))
        scale = d.mean()
        weights[members] = 1.0 / (1.0 + (d / scale) ** 2) if scale > 0 else 1.0
    return weights


def _addresses(stations: Sequence[Any], regions: Mapping[int, Sequence[BaseGeometry]], n: int,
               rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Each order's address class (IN_211, OUTER, OUTSIDE) and station (its city, if OUTSIDE).

    A class no station can host (say every 211 area equals its service area) goes to IN_211.
    """
    demand = _demand(stations)
    where = rng.choice(len(ADDRESS_SHARES), n, p=ADDRESS_SHARES)
    station = np.empty(n, dtype=np.int64)
    for kind in (OUTER, OUTSIDE, IN_211):
        hosts = np.array([not region.is_empty for region in regions[kind]])
        if not hosts.any():
            if kind == IN_211:
                raise ValueError("no station has a 211 area to address orders to")
            where[where == kind] = IN_211
            continue
        mine = where == kind
        p = np.where(hosts, demand, 0.0)
        station[mine] = rng.choice(len(stations), int(mine.sum()), p=p / p.sum())
    return where, station


def _regions(network: Any, stations: Sequence[Any]) -> dict[int, list[BaseGeometry]]:
    """Where to put each class's addresses, per station.

    IN_211 and OUTER use only the part of the station's area no other station covers, so the
    address belongs to that station whatever `locate` does with overlaps (all of it, if none
    is exclusive). OUTSIDE is the city's grown bounds minus every station's area.
    """
    keys = sorted(network.stations)
    every = [network.stations[k].area for k in keys]
    position = {id(network.stations[k]): j for j, k in enumerate(keys)}
    tree = shapely.STRtree(every)
    covered = shapely.union_all(every)
    regions: dict[int, list[BaseGeometry]] = {IN_211: [], OUTER: [], OUTSIDE: []}
    city_bounds: dict[str, BaseGeometry] = {}
    for s in stations:
        others = shapely.union_all([every[j] for j in tree.query(s.area, predicate="intersects")
                                    if j != position[id(s)]])
        core = s.area_211.intersection(s.area)
        outer = s.area.difference(s.area_211)
        regions[IN_211].append(_exclusive(core, others))
        regions[OUTER].append(_exclusive(outer, others))
        grown = city_bounds.get(s.city)
        city_bounds[s.city] = s.area.envelope if grown is None else grown.union(s.area.envelope)
    bands = {}
    for name, bounds in city_bounds.items():
        x0, y0, x1, y1 = bounds.bounds
        dx, dy = OUTSIDE_MARGIN * (x1 - x0), OUTSIDE_MARGIN * (y1 - y0)
        bands[name] = box(x0 - dx, y0 - dy, x1 + dx, y1 + dy).difference(covered)
    regions[OUTSIDE] = [bands[s.city] for s in stations]
    return regions


def _exclusive(region: BaseGeometry, others: BaseGeometry) -> BaseGeometry:
    """The part of `region` outside `others`; all of it if that part is empty."""
    only = region.difference(others)
    chosen = only if only.area > 0 else region
    return chosen if chosen.area > 0 else shapely.Polygon()


def _locations(regions: Mapping[int, Sequence[BaseGeometry]], where: np.ndarray,
               station: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """(lat, lon) per order, drawn uniformly in its class's region, rounded to 6 decimals."""
    lat, lon = np.empty(len(where)), np.empty(len(where))
    for kind in (IN_211, OUTER, OUTSIDE):
        for s in range(len(regions[kind])):
            mine = np.flatnonzero((where == kind) & (station == s))
            if len(mine):
                lon[mine], lat[mine] = _uniform_in(regions[kind][s], len(mine), rng)
    return lat, lon


def _uniform_in(region: BaseGeometry, k: int, rng: np.random.Generator
                ) -> tuple[np.ndarray, np.ndarray]:
    """k points (x, y) uniformly in `region` by rejection sampling in its bounds."""
    x0, y0, x1, y1 = region.bounds
    shapely.prepare(region)
    accept = region.area / ((x1 - x0) * (y1 - y0))
    xs, ys, got = [], [], 0
    while got < k:
        m = int((k - got) / accept * 1.2) + 16
        x = np.round(rng.uniform(x0, x1, m), 6)
        y = np.round(rng.uniform(y0, y1, m), 6)
        inside = shapely.contains_xy(region, x, y)
        xs.append(x[inside])
        ys.append(y[inside])
        got += int(inside.sum())
    return np.concatenate(xs)[:k], np.concatenate(ys)[:k]


def _clocks(network: Any, cities: Sequence[str], day: date,
            rng: np.random.Generator) -> np.ndarray:
    """Each order's clock, in seconds after midnight before `day`, following HOURLY_WEIGHTS
    over the 24 hours that end at the city's same-day cutoff on `day`."""
    cutoff = np.array([getattr(network.cities.get(c), "same_day_cutoff", DEFAULT_CUTOFF)
                       for c in cities], dtype=np.int64)
    clock = np.empty(len(cities), dtype=np.int64)
    for start in sorted(set(cutoff.tolist())):
        minutes = start + np.arange(1440)
        rate = np.asarray(HOURLY_WEIGHTS)[(minutes // 60) % 24]
        mine = np.flatnonzero(cutoff == start)
        picked = rng.choice(minutes, len(mine), p=rate / rate.sum())
        clock[mine] = picked * 60 + rng.integers(0, 60, len(mine))
    return clock


def _payments(clock: np.ndarray, is_return: np.ndarray, rng: np.random.Generator
              ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(submitted, paid, cod): a prepaid order's clock is its payment, a few minutes (or, for
    late payers, 1-3 hours) after it was submitted."""
    n = len(clock)
    cod = (rng.random(n) < COD_SHARE) & ~is_return
    late = rng.random(n) < LATE_PAYER_SHARE
    delay = np.where(late, rng.integers(*LATE_PAY_DELAY_S, n, endpoint=True),
                     PAY_DELAY_MIN_S + np.round(rng.exponential(PAY_DELAY_MEAN_S, n)))
    delay = np.where(cod | is_return, 0, delay).astype(np.int64)
    return clock - delay, clock, cod


def _sizes(is_return: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Weights (kg, 2 decimals) and volumes (m3, 4 decimals) correlated through a density."""
    n = len(is_return)
    weight = np.where(
        is_return,
        np.minimum(rng.lognormal(np.log(RETURN_WEIGHT_MEDIAN_KG), RETURN_WEIGHT_SIGMA, n),
                   RETURN_MAX_KG),
        rng.lognormal(np.log(WEIGHT_MEDIAN_KG), WEIGHT_SIGMA, n))
    weight = np.round(np.clip(weight, *WEIGHT_RANGE_KG), 2)
    volume = weight / rng.lognormal(np.log(DENSITY_MEDIAN_KG_M3), DENSITY_SIGMA, n)
    volume = np.clip(volume, VOLUME_RANGE_M3[0], np.where(is_return, RETURN_MAX_M3,
                                                          VOLUME_RANGE_M3[1]))
    return weight, np.round(volume, 4)


def _skus(network: Any, cities: Sequence[str], is_return: np.ndarray,
          rng: np.random.Generator) -> list[tuple[str, ...]]:
    """1-4 distinct local SKUs per delivery (none for returns); NON_LOCAL_SHARE of deliveries
    swap one for a SKU stocked only at warehouses that do not serve the city."""
    n = len(cities)
    count = rng.choice(len(SKU_COUNT_SHARES), n, p=SKU_COUNT_SHARES) + 1
    picks = rng.random((n, len(SKU_COUNT_SHARES)))
    non_local = rng.random(n) < NON_LOCAL_SHARE
    swap_at = rng.random(n)
    swap_with = rng.random(n)
    stock = _stock(network, set(cities))
    out: list[tuple[str, ...]] = []
    for i in range(n):
        if is_return[i]:
            out.append(())
            continue
        local, elsewhere = stock[cities[i]]
        chosen = [local[int(u * len(local))] for u in picks[i, :count[i]]]
        if non_local[i]:
            chosen[int(swap_at[i] * len(chosen))] = elsewhere[int(swap_with[i] * len(elsewhere))]
        out.append(tuple(dict.fromkeys(chosen)))
    return out


def _stock(network: Any, cities: Iterable[str]) -> dict[str, tuple[list[str], list[str]]]:
    """Per city: the SKUs stocked at warehouses serving it, and those stocked only elsewhere."""
    warehouses = network.warehouses
    warehouses = list(warehouses.values() if isinstance(warehouses, Mapping) else warehouses)
    catalogue = set().union(*(w.stock for w in warehouses))
    stock = {}
    for city in cities:
        local = set().union(*(w.stock for w in warehouses if city in w.cities))
        if not local:
            raise ValueError(f"no warehouse serving {city!r} stocks anything")
        elsewhere = sorted(catalogue - local) or [MADE_UP_SKU]
        stock[city] = (sorted(local), elsewhere)
    return stock


def _wants(is_return: np.ndarray, rng: np.random.Generator) -> list[str | None]:
    """The promise type each delivery prefers, per WANTS_SHARES; None for the rest and returns."""
    types = [t for t, _ in WANTS_SHARES] + [None]
    shares = [p for _, p in WANTS_SHARES]
    picked = rng.choice(len(types), len(is_return), p=shares + [1.0 - sum(shares)])
    return [None if r else types[k] for k, r in zip(picked.tolist(), is_return.tolist())]
