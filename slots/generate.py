"""Seeded synthetic orders for one delivery day: a two-peak day curve, a realistic mix, real areas.

Every distribution is a named constant below; docs/orders.md describes them. Same arguments, same
orders: all randomness comes from numpy Generators seeded with `seed` (exchanges from their own
stream, so they leave every other order as it would be without them).
"""

from __future__ import annotations

import gc
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import fields
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
    Every column is drawn and arranged with numpy; only the Order objects are built one by one.
    """
    if n < 0:
        raise ValueError(f"n must be at least 0, got {n}")
    _check_order_fields()
    with _gc_paused():
        return _generate(network, n, day, seed, city)


def _generate(network: Any, n: int, day: date, seed: int, city: str | None) -> list[Order]:
    """generate_orders once n is checked: draw every column, then build the orders in order."""
    stations = _stations(network, city)
    rng = np.random.default_rng(seed)
    is_return = rng.random(n) < RETURN_SHARE
    regions = _regions(network, stations)
    where, station = _addresses(stations, regions, n, rng)
    city_ids = list(dict.fromkeys(s.city for s in stations))
    city_of = np.array([city_ids.index(s.city) for s in stations], dtype=np.int64)[station]
    cutoffs = np.array([getattr(network.cities.get(c), "same_day_cutoff", DEFAULT_CUTOFF)
                        for c in city_ids], dtype=np.int64)
    clock = _clocks(cutoffs[city_of], rng)
    submitted, paid, cod = _payments(clock, is_return, rng)
    weight, volume = _sizes(is_return, rng)
    parcels = rng.choice(len(PARCEL_SHARES), n, p=PARCEL_SHARES) + 1
    skus = _skus(network, city_ids, city_of, is_return, rng)
    tiers = rng.choice(len(MEMBER_TIER_SHARES), n, p=MEMBER_TIER_SHARES)
    wants = _wants(is_return, rng)
    lat, lon = _locations(regions, where, station, rng)
    is_exchange = _exchanges(is_return, seed)

    # An exchange is a drawn delivery turned prepaid, paid at its drawn clock (which is `paid`
    # for both payments), keeping a wish for a timed window but not for a pickup point.
    cod &= ~is_exchange
    kind = np.where(is_exchange, 2, is_return.astype(np.int64))
    wants = np.where(is_exchange & (wants != PromiseType.TIMED), None, wants)
    base = np.datetime64(datetime.combine(day - timedelta(days=1), time()), "s")
    by_submission = np.argsort(submitted, kind="stable")

    def column(values: np.ndarray) -> list[Any]:
        return values[by_submission].tolist()

    paid_at = np.where(cod, None, _shared(base + paid.astype("timedelta64[s]")))
    prefix = f"O{day:%Y%m%d}-"
    return list(map(
        Order,
        [f"{prefix}{number:06d}" for number in range(1, n + 1)],
        column(_labels(city_ids)[city_of]),
        column(_shared(base + submitted.astype("timedelta64[s]"))),
        column(_labels(("prepaid", "cod"))[cod.astype(np.int64)]),
        list(zip(column(lat), column(lon))),
        column(_shared(weight)), column(_shared(volume)), column(parcels),
        [skus[i] for i in by_submission.tolist()],
        column(tiers),
        column(_labels(("delivery", "return", "exchange"))[kind]),
        column(paid_at), column(wants)))


_ORDER_FIELDS = ("id", "city", "submitted_at", "payment", "location", "weight_kg", "volume_m3",
                 "parcels", "skus", "member_tier", "kind", "paid_at", "wants")


@contextmanager
def _gc_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector while up to millions of acyclic objects are made:
    otherwise its full passes over them take about as long as making them."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _check_order_fields() -> None:
    """Orders are built positionally, in _ORDER_FIELDS order: fail loudly if Order changes."""
    names = tuple(f.name for f in fields(Order))
    if names[:len(_ORDER_FIELDS)] != _ORDER_FIELDS:
        raise RuntimeError(f"Order's fields are {names}; update slots.generate._ORDER_FIELDS")


def _labels(values: Sequence[Any]) -> np.ndarray:
    """`values` as an object array, so indexing it hands out the same Python objects."""
    labels = np.empty(len(values), dtype=object)
    labels[:] = list(values)
    return labels


def _shared(values: np.ndarray) -> np.ndarray:
    """`values` as an object array holding one Python object per distinct value: a day has far
    fewer distinct seconds and rounded sizes than a million orders, so this saves memory."""
    distinct, inverse = np.unique(values, return_inverse=True)
    return _labels(distinct.tolist())[inverse]


def _groups(key: np.ndarray, size: int) -> list[np.ndarray]:
    """For each value 0..size-1 of `key`, the positions holding it, ascending."""
    by_key = np.argsort(key, kind="stable")
    bounds = np.searchsorted(key[by_key], np.arange(size + 1))
    return [by_key[a:b] for a, b in zip(bounds[:-1].tolist(), bounds[1:].tolist())]


def _exchanges(is_return: np.ndarray, seed: int) -> np.ndarray:
    """Which orders are exchanges: EXCHANGE_SHARE of all, among the non-returns, from their own
    stream (seeded with (seed, EXCHANGE_STREAM))."""
    draw = np.random.default_rng([seed, EXCHANGE_STREAM]).random(len(is_return))
    return ~is_return & (draw < EXCHANGE_SHARE / (1.0 - RETURN_SHARE))


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
    per_kind = len(regions[IN_211])
    groups = _groups(where * per_kind + station, 3 * per_kind)
    for kind in (IN_211, OUTER, OUTSIDE):
        for s in range(len(regions[kind])):
            mine = groups[kind * per_kind + s]
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


def _clocks(cutoff: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Each order's clock, in seconds after midnight before the delivery day, following
    HOURLY_WEIGHTS over the 24 hours that end at its city's same-day `cutoff` (minutes)."""
    clock = np.empty(len(cutoff), dtype=np.int64)
    for start in np.unique(cutoff).tolist():
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


def _skus(network: Any, city_ids: Sequence[str], city_of: np.ndarray, is_return: np.ndarray,
          rng: np.random.Generator) -> list[tuple[str, ...]]:
    """1-4 distinct local SKUs per delivery (none for returns); NON_LOCAL_SHARE of deliveries
    swap one for a SKU stocked only at warehouses that do not serve the city.

    Each draw u picks item int(u * len) of the sorted list; repeats keep their first place.
    """
    n, width = len(city_of), len(SKU_COUNT_SHARES)
    count = rng.choice(width, n, p=SKU_COUNT_SHARES) + 1
    picks = rng.random((n, width))
    non_local = rng.random(n) < NON_LOCAL_SHARE
    swap_at = rng.random(n)
    swap_with = rng.random(n)
    present = np.unique(city_of).tolist()
    stock = _stock(network, [city_ids[c] for c in present])
    catalogue = sorted(set().union(*(set(a) | set(b) for a, b in stock.values())))
    code = {sku: k for k, sku in enumerate(catalogue)}
    codes = np.full((n, width), -1, dtype=np.int64)
    groups = _groups(np.where(is_return, len(city_ids), city_of), len(city_ids))
    for c in present:
        rows = groups[c]
        local, elsewhere = (np.array([code[sku] for sku in skus], dtype=np.int64)
                            for skus in stock[city_ids[c]])
        codes[rows] = local[(picks[rows] * len(local)).astype(np.int64)]
        swap = rows[non_local[rows]]
        at = (swap_at[swap] * count[swap]).astype(np.int64)
        codes[swap, at] = elsewhere[(swap_with[swap] * len(elsewhere)).astype(np.int64)]
    codes[np.arange(width) >= count[:, None]] = -1
    for j in range(1, width):
        for k in range(j):
            codes[(codes[:, j] == codes[:, k]) & (codes[:, j] >= 0), j] = -1
    kept = codes >= 0
    packed = np.take_along_axis(codes, np.argsort(~kept, axis=1, kind="stable"), axis=1)
    sizes = kept.sum(axis=1)
    labels = _labels(catalogue)
    out: list[tuple[str, ...]] = [()] * n
    for k in range(1, width + 1):
        rows = np.flatnonzero(sizes == k)
        for i, chosen in zip(rows.tolist(), map(tuple, labels[packed[rows, :k]].tolist())):
            out[i] = chosen
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


def _wants(is_return: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """The promise type each delivery prefers, per WANTS_SHARES; None for the rest and returns."""
    types = _labels([t for t, _ in WANTS_SHARES] + [None])
    shares = [p for _, p in WANTS_SHARES]
    picked = rng.choice(len(types), len(is_return), p=shares + [1.0 - sum(shares)])
    return np.where(is_return, None, types[picked])
