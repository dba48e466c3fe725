"""Write the bundled national network folder: network.toml, stations.json, areas.geojson, stock.csv.

The six regional DCs, secondary warehouses (front distribution centres, FDCs) in a few big cities,
and delivery stations in the N largest cities (the six DC cities always among them). Cities are
synthetic but placed at their real centres: a wobbly disc sized by station count, stations on a
centre-and-two-rings layout, service areas the Voronoi cells clipped to that disc, 211 areas their
part of a smaller central disc. Deterministic (no randomness). Run it from anywhere:
`.venv/bin/python data/china/build.py [OUT_DIR] [--cities N]`; it loads the result to check it.
"""

from __future__ import annotations

import argparse
import math
import sys
import zlib
from pathlib import Path

from shapely.geometry import Polygon

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE.parents[1]), str(HERE.parent)]

from _build_common import (  # noqa: E402
    CARRIERS, CATALOGUE, CITY_RULES, COD_SERVICE_MINUTES, LatLon, area_features, pickup_points,
    road_minutes, service_cells, toml_tables, vehicle_types, write_folder)
from warehouses.geo import METRES_PER_DEGREE, haversine_km  # noqa: E402
from warehouses.load import load_network  # noqa: E402

# id, code, name, centre (lat, lon), stations: roughly by size; --cities N keeps the six DC cities
# and the first N - 6 others
CITIES = [
    ("beijing", "BJ", "Beijing", (39.9042, 116.4074), 14),
    ("shanghai", "SH", "Shanghai", (31.2304, 121.4737), 14),
    ("guangzhou", "GZ", "Guangzhou", (23.1291, 113.2644), 12),
    ("shenzhen", "SZ", "Shenzhen", (22.5431, 114.0579), 12),
    ("chongqing", "CQ", "Chongqing", (29.5630, 106.5516), 10),
    ("chengdu", "CD", "Chengdu", (30.5728, 104.0668), 10),
    ("wuhan", "WH", "Wuhan", (30.5928, 114.3055), 10),
    ("tianjin", "TJ", "Tianjin", (39.1256, 117.1909), 9),
    ("hangzhou", "HZ", "Hangzhou", (30.2741, 120.1551), 9),
    ("xian", "XA", "Xi'an", (34.3416, 108.9398), 8),
    ("nanjing", "NJ", "Nanjing", (32.0603, 118.7969), 8),
    ("suzhou", "SUZ", "Suzhou", (31.2990, 120.5853), 7),
    ("zhengzhou", "ZZ", "Zhengzhou", (34.7466, 113.6253), 7),
    ("shenyang", "SY", "Shenyang", (41.8057, 123.4315), 7),
    ("changsha", "CS", "Changsha", (28.2282, 112.9388), 6),
    ("qingdao", "QD", "Qingdao", (36.0671, 120.3826), 6),
    ("jinan", "JN", "Jinan", (36.6512, 117.1201), 5),
    ("dalian", "DL", "Dalian", (38.9140, 121.6147), 5),
    ("harbin", "HRB", "Harbin", (45.8038, 126.5350), 5),
    ("kunming", "KM", "Kunming", (24.8801, 102.8329), 4),
    ("hefei", "HF", "Hefei", (31.8206, 117.2272), 5),
    ("xiamen", "XM", "Xiamen", (24.4798, 118.0894), 4),
    ("fuzhou", "FZ", "Fuzhou", (26.0745, 119.2965), 4),
    ("changchun", "CC", "Changchun", (43.8171, 125.3235), 4),
    ("shijiazhuang", "SJZ", "Shijiazhuang", (38.0428, 114.5149), 4),
    ("ningbo", "NB", "Ningbo", (29.8683, 121.5440), 4),
    ("dongguan", "DG", "Dongguan", (23.0207, 113.7518), 4),
    ("nanning", "NN", "Nanning", (22.8170, 108.3665), 4),
    ("guiyang", "GY", "Guiyang", (26.6470, 106.6302), 4),
    ("nanchang", "NC", "Nanchang", (28.6820, 115.8579), 4),
    ("taiyuan", "TY", "Taiyuan", (37.8706, 112.5489), 4),
    ("wenzhou", "WZ", "Wenzhou", (27.9939, 120.6994), 4),
    ("xuzhou", "XZ", "Xuzhou", (34.2058, 117.2843), 4),
    ("lanzhou", "LZ", "Lanzhou", (36.0611, 103.8343), 4),
    ("urumqi", "URC", "Urumqi", (43.8256, 87.6168), 4),
    ("hohhot", "HHT", "Hohhot", (40.8424, 111.7490), 4),
    ("haikou", "HK", "Haikou", (20.0440, 110.1999), 4),
    ("yinchuan", "YC", "Yinchuan", (38.4872, 106.2309), 4),
    ("xining", "XN", "Xining", (36.6171, 101.7782), 4),
    ("lhasa", "LS", "Lhasa", (29.6520, 91.1721), 4),
]
DEFAULT_CITIES = 20
# region, city, site, location: the six regional DCs (DOMAIN.md)
DCS = [
    ("North China", "beijing", "Daxing", (39.7260, 116.3400)),
    ("East China", "shanghai", "Jiading", (31.3440, 121.2320)),
    ("South China", "guangzhou", "Huangpu", (23.1800, 113.4800)),
    ("Southwest", "chengdu", "Shuangliu", (30.4950, 103.9600)),
    ("Central China", "wuhan", "Dongxihu", (30.6700, 114.1400)),
    ("Northeast", "shenyang", "Yuhong", (41.8000, 123.3000)),
]
# city, site, location: the secondary warehouses (front distribution centres)
FDCS = [
    ("tianjin", "Wuqing", (39.3840, 117.0440)),
    ("hangzhou", "Xiaoshan", (30.1840, 120.2640)),
    ("nanjing", "Jiangning", (31.9530, 118.8400)),
    ("shenzhen", "Longhua", (22.6960, 114.0450)),
    ("chongqing", "Liangjiang", (29.7000, 106.6300)),
    ("xian", "Weiyang", (34.4100, 108.9500)),
    ("zhengzhou", "Jingkai", (34.7200, 113.7500)),
    ("kunming", "Guandu", (24.9700, 102.7800)),
]
FDC_REACH_KM = 250  # an FDC also serves the cities of its region this close
FAST_MOVERS = 800  # an FDC holds the first 800 SKUs of its DC's range
DC_MISSING_PERCENT = 3  # each DC lacks about 3% of the catalogue, a different 3% each

KM2_PER_STATION = 120.0  # the city disc's area per station (Beijing's 6th ring: ~130)
CITY_WOBBLE = ((3, 0.07), (5, 0.04))  # (harmonic, amplitude) of the disc's radius
CENTRAL_SHARE = 0.72  # the central 211 disc's radius, as a share of the city's
RINGS = (0.38, 0.72)  # the station rings' radii, as a share of the city's
BOUNDARY_VERTICES = 24

FLEETS = {"central": (8, 7, 3), "standard": (6, 5, 3), "outer": (8, 4, 2)}  # vans, POS, plain
WAVES = [("W1", "08:00", "11:30"), ("W2", "11:30", "15:00"), ("W3", "15:00", "18:30"),
         ("W4", "19:00", "22:45")]
TIMED_WINDOWS = [["09:00", "11:00"], ["11:00", "13:00"], ["14:00", "16:00"], ["16:00", "18:00"],
                 ["19:00", "21:00"]]
TIMED_MIN_STATIONS = 9  # cities this big offer timed windows at their centre and inner ring
SORT_MINUTES = 45
EARLY_CUTOFF = "10:00"  # the same-day cutoff of a city with no warehouse of its own

CITY_DEPARTURES = ["04:30", "08:00", "12:00", "15:30", "20:00"]  # a warehouse to its own city
INTERCITY_DEPARTURES = ["06:00", "14:00", "23:30"]
TRUNK_DEPARTURES = ["09:00", "21:00"]  # DC to DC, and DC to the FDCs of its region
LOCAL_KM = 100  # nearer than this, a link is a city run
CITY_KMH, CITY_HANDLING_MIN = 45.0, 20
HIGHWAY_KMH, HIGHWAY_HANDLING_MIN = 65.0, 60
COMPASS = ["North", "Northeast", "East", "Southeast", "South", "Southwest", "West", "Northwest"]


def offset(at: LatLon, north_km: float, east_km: float) -> LatLon:
    """The point `north_km` north and `east_km` east of `at`."""
    lat, lon = at
    return (lat + north_km * 1000 / METRES_PER_DEGREE,
            lon + east_km * 1000 / (METRES_PER_DEGREE * math.cos(math.radians(lat))))


def phase(key: str) -> float:
    """A stable angle in radians for `key`, so each city's shapes differ."""
    return zlib.crc32(key.encode()) % 3600 / 3600 * 2 * math.pi


def disc(centre: LatLon, radius_km: float, key: str) -> Polygon:
    """A star-shaped polygon around `centre` whose radius wobbles by CITY_WOBBLE."""
    ring = []
    for k in range(BOUNDARY_VERTICES):
        theta = 2 * math.pi * k / BOUNDARY_VERTICES
        r = radius_km * (1 + sum(a * math.sin(h * theta + phase(f"{key}{h}"))
                                 for h, a in CITY_WOBBLE))
        lat, lon = offset(centre, r * math.sin(theta), r * math.cos(theta))
        ring.append((round(lon, 6), round(lat, 6)))
    return Polygon(ring)


class City:
    """One city of the sample: its stations' layout and its boundary and central 211 discs."""

    def __init__(self, ident: str, code: str, name: str, centre: LatLon, count: int) -> None:
        self.id, self.code, self.name, self.centre, self.count = ident, code, name, centre, count
        self.radius_km = math.sqrt(count * KM2_PER_STATION / math.pi)
        self.boundary = disc(centre, self.radius_km, ident)
        self.central = disc(centre, CENTRAL_SHARE * self.radius_km, f"{ident}/211")
        self.stations = self._layout()

    def _layout(self) -> list[tuple[str, str, LatLon, str]]:
        """(id, name, location, fleet profile): the centre, an inner ring and an outer one."""
        others = self.count - 1
        inner = min(others, max(3, round(0.4 * others)))
        if others - inner < 3:
            inner = others
        rotation = zlib.crc32(self.id.encode()) % 40 - 20
        placed = [("Centre", self.centre, "central")]
        for ring, k, start, profile in ((0, inner, 0.0, "standard"),
                                        (1, others - inner, 7.0, "outer")):
            for j in range(k):
                bearing = (rotation + start + (180 / k if ring else 0) + 360 * j / k) % 360
                r = RINGS[ring] * self.radius_km
                at = offset(self.centre, r * math.cos(math.radians(bearing)),
                            r * math.sin(math.radians(bearing)))
                side = COMPASS[round(bearing / 45) % 8]
                placed.append((("Outer " if ring else "") + side, at, profile))
        names = [f"{self.name} {label}" for label, _, _ in placed]
        assert len(set(names)) == len(names), names
        return [(f"{self.code}-{i:02d}", name, (round(at[0], 4), round(at[1], 4)), profile)
                for i, (name, (_, at, profile)) in enumerate(zip(names, placed), 1)]

    def timed(self, profile: str) -> bool:
        return self.count >= TIMED_MIN_STATIONS and profile != "outer"


def select(n: int) -> list[City]:
    """The six DC cities and the n - 6 largest others, in table order."""
    if not len(DCS) <= n <= len(CITIES):
        raise ValueError(f"--cities must be from {len(DCS)} to {len(CITIES)}, got {n}")
    dc_cities = {city for _, city, _, _ in DCS}
    others = [c[0] for c in CITIES if c[0] not in dc_cities][:n - len(DCS)]
    cities = [City(*c) for c in CITIES if c[0] in dc_cities or c[0] in others]
    for i, a in enumerate(cities):
        for b in cities[i + 1:]:
            assert not a.boundary.intersects(b.boundary), (a.id, b.id)
    return cities


def region_of(city: City) -> str:
    """A city belongs to the region of the nearest DC city."""
    centres = {c[0]: c[3] for c in CITIES}
    return min(DCS, key=lambda dc: haversine_km(city.centre, centres[dc[1]]))[0]


def dc_id(region_city: str) -> str:
    return f"{next(c[1] for c in CITIES if c[0] == region_city)}-DC"


def warehouses(cities: list[City]) -> list[dict]:
    """The six DCs, each serving its region's cities, and the FDCs of the selected cities."""
    by_id = {c.id: c for c in cities}
    result = []
    for region, home, site, location in DCS:
        served = [c.id for c in cities if region_of(c) == region]
        result.append(dict(id=dc_id(home), name=f"{region} DC ({by_id[home].name} {site})",
                           kind="dc", location=list(location), cities=served))
    for home, site, location in FDCS:
        if home not in by_id:
            continue
        city = by_id[home]
        served = [c.id for c in cities if c.id == home or (
            region_of(c) == region_of(city) and haversine_km(city.centre, c.centre) < FDC_REACH_KM)]
        result.append(dict(id=f"{city.code}-FDC", name=f"{city.name} FDC ({site})",
                           kind="warehouse", location=list(location), cities=served))
    return result


def transit_minutes(source: LatLon, target: LatLon) -> int:
    """Road time rounded to 5 minutes, at least an hour: a city run or a highway haul."""
    if haversine_km(source, target) < LOCAL_KM:
        minutes = road_minutes(source, target, CITY_KMH, CITY_HANDLING_MIN)
    else:
        minutes = road_minutes(source, target, HIGHWAY_KMH, HIGHWAY_HANDLING_MIN)
    return int(max(60, 5 * round(minutes / 5)))


def links(cities: list[City], sites: list[dict]) -> list[dict]:
    """Each warehouse to the stations of the cities it serves; DC to DC; DC to its FDCs."""
    by_id = {c.id: c for c in cities}
    dcs = [w for w in sites if w["kind"] == "dc"]
    result = []
    for wh in sites:
        source = tuple(wh["location"])
        for city in wh["cities"]:
            local = haversine_km(source, by_id[city].centre) < LOCAL_KM
            for sid, _, at, _ in by_id[city].stations:
                result.append(dict(source=wh["id"], target=sid, transit=transit_minutes(source, at),
                                   departures=CITY_DEPARTURES if local else INTERCITY_DEPARTURES))
    for dc in dcs:
        for other in sites:
            feeds = other["kind"] == "dc" or set(other["cities"]) <= set(dc["cities"])
            if other is dc or not feeds:
                continue
            result.append(dict(source=dc["id"], target=other["id"],
                               transit=transit_minutes(tuple(dc["location"]),
                                                       tuple(other["location"])),
                               departures=TRUNK_DEPARTURES))
    return result


def in_range(dc: str, sku: str) -> bool:
    """Whether `dc` stocks `sku`: all but about DC_MISSING_PERCENT of the catalogue."""
    return zlib.crc32(f"{dc}/{sku}".encode()) % 100 >= DC_MISSING_PERCENT


def stock_rows(cities: list[City], sites: list[dict]) -> list[tuple[str, str]]:
    """Most of the catalogue at each DC; the DC's fast movers at each FDC of its region."""
    by_id = {c.id: c for c in cities}
    rows = []
    for wh in sites:
        if wh["kind"] == "dc":
            rows += [(wh["id"], s) for s in CATALOGUE if in_range(wh["id"], s)]
        else:
            region = region_of(by_id[wh["cities"][0]])
            dc = dc_id(next(home for r, home, _, _ in DCS if r == region))
            rows += [(wh["id"], s) for s in CATALOGUE[:FAST_MOVERS] if in_range(dc, s)]
    return rows


def stations(cities: list[City]) -> list[dict]:
    return [dict(id=sid, name=name, city=city.id, location=list(at), sort_minutes=SORT_MINUTES,
                 priority=0, service_minutes=3.0, cod_service_minutes=COD_SERVICE_MINUTES,
                 waves=[dict(id=w, departure=d, latest_return=r) for w, d, r in WAVES],
                 fleet=vehicle_types(*FLEETS[profile]),
                 timed_windows=TIMED_WINDOWS if city.timed(profile) else [])
            for city in cities for sid, name, at, profile in city.stations]


def with_own_warehouse(cities: list[City], sites: list[dict]) -> set[str]:
    """The cities that a warehouse within LOCAL_KM serves: they keep the 11:00 cutoff."""
    centres = {c.id: c.centre for c in cities}
    return {c for w in sites for c in w["cities"]
            if haversine_km(tuple(w["location"]), centres[c]) < LOCAL_KM}


def network_toml(cities: list[City], sites: list[dict], cells: dict[str, Polygon]) -> str:
    own = with_own_warehouse(cities, sites)
    rows = [dict(id=c.id, name=c.name, **CITY_RULES) for c in cities]
    for row in rows:
        if row["id"] not in own:
            row["same_day_cutoff"] = EARLY_CUTOFF
    pickups = [(sid, name, at, 3 if profile == "central" else 2)
               for c in cities for sid, name, at, profile in c.stations]
    return (f"# The bundled national network ({len(cities)} cities). Generated by build.py"
            f"{'' if len(cities) == DEFAULT_CITIES else f' --cities {len(cities)}'}; "
            "edit that, not this.\n"
            + toml_tables("cities", rows) + toml_tables("warehouses", sites)
            + toml_tables("carriers", CARRIERS) + toml_tables("links", links(cities, sites))
            + toml_tables("pickup_points", pickup_points(pickups, cells)))


def write(out: Path, n: int = DEFAULT_CITIES) -> None:
    """Write the four network files for the selection of `n` cities into `out`."""
    cities = select(n)
    sites = warehouses(cities)
    cells: dict[str, Polygon] = {}
    features = []
    for city in cities:
        mine = service_cells({sid: at for sid, _, at, _ in city.stations}, city.boundary)
        cells.update(mine)
        features += area_features(mine, city.central)
    write_folder(out, network_toml(cities, sites, cells), stations(cities), features,
                 stock_rows(cities, sites), station_per_line=True)


def main(argv: list[str] | None = None) -> None:
    """Write the folder (here, or the directory given), load it to check it, print a summary."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", nargs="?", type=Path, default=HERE)
    parser.add_argument("--cities", type=int, default=DEFAULT_CITIES,
                        help=f"how many cities get stations ({len(DCS)}-{len(CITIES)})")
    args = parser.parse_args(argv)
    try:
        write(args.out, args.cities)
    except ValueError as error:
        parser.error(str(error))
    network = load_network(args.out)
    by_city: dict[str, list] = {}
    for station in network.stations.values():
        by_city.setdefault(station.city, []).append(station)
    for city, members in by_city.items():
        served = sorted(w.id for w in network.warehouses.values() if city in w.cities)
        print(f"{city:13} {len(members):2} stations  cutoff "
              f"{network.cities[city].same_day_cutoff // 60:02d}:00  from {', '.join(served)}")
    print(network)


if __name__ == "__main__":
    main()
