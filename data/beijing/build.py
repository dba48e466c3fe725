"""Write the bundled Beijing network folder: network.toml, stations.json, areas.geojson, stock.csv.

Deterministic (no randomness): station service areas are Voronoi cells of the station points
clipped to the urban boundary (about the 6th ring road), and each 211 area is its cell within the
central area (about the 5th ring, with the northern suburbs and Tongzhou's centre). Run it from
anywhere: `.venv/bin/python data/beijing/build.py [OUT_DIR]`; it loads the result to check it.
"""

from __future__ import annotations

import sys
import zlib
from pathlib import Path

from shapely.geometry import Polygon

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE.parents[1]), str(HERE.parent)]

from _build_common import (  # noqa: E402
    CARRIERS, CATALOGUE, CITY_RULES, COD_SERVICE_MINUTES, area_features, pickup_points,
    road_minutes, service_cells, toml_tables, vehicle_types, write_folder)
from warehouses.geo import area_m2  # noqa: E402
from warehouses.load import load_network  # noqa: E402

CITY = "beijing"

# (lon, lat) rings, counter-clockwise.
URBAN_BOUNDARY = [
    (116.20, 39.76), (116.45, 39.73), (116.60, 39.76), (116.70, 39.84), (116.72, 39.95),
    (116.62, 40.08), (116.45, 40.13), (116.28, 40.12), (116.17, 40.03), (116.12, 39.92),
    (116.14, 39.82), (116.20, 39.76),
]
CENTRAL_211 = [
    (116.22, 39.79), (116.38, 39.76), (116.52, 39.77), (116.56, 39.85), (116.62, 39.87),
    (116.63, 39.94), (116.56, 39.97), (116.52, 40.03), (116.45, 40.10), (116.30, 40.10),
    (116.25, 40.02), (116.20, 39.95), (116.20, 39.86), (116.22, 39.79),
]

# id, name, (lat, lon), fleet profile, offers timed windows
STATIONS = [
    ("BJ-CYM", "Chaoyangmen", (39.9245, 116.4340), "central", True),
    ("BJ-DHM", "Dahongmen", (39.8450, 116.3980), "standard", False),
    ("BJ-DZM", "Dongzhimen", (39.9410, 116.4340), "standard", True),
    ("BJ-FT", "Fengtai", (39.8580, 116.2870), "standard", True),
    ("BJ-GM", "Guomao CBD", (39.9088, 116.4605), "central", True),
    ("BJ-HLG", "Huilongguan", (40.0760, 116.3270), "outer", False),
    ("BJ-SJS", "Shijingshan", (39.9060, 116.2230), "outer", False),
    ("BJ-TTY", "Tiantongyuan", (40.0700, 116.4130), "outer", False),
    ("BJ-TZ", "Tongzhou", (39.9050, 116.6550), "outer", False),
    ("BJ-WDK", "Wudaokou", (39.9925, 116.3380), "standard", False),
    ("BJ-WJ", "Wangjing", (39.9965, 116.4700), "central", True),
    ("BJ-XD", "Xidan", (39.9075, 116.3740), "central", False),
    ("BJ-YZ", "Yizhuang", (39.7950, 116.5060), "outer", True),
    ("BJ-ZGC", "Zhongguancun", (39.9834, 116.3162), "central", True),
]
# (vans, e-tricycles with a POS terminal, e-tricycles without): every van and most e-tricycles
# carry a POS terminal for cash on delivery
FLEETS = {"central": (8, 7, 3), "standard": (6, 5, 3), "outer": (8, 4, 2)}
WAVES = [("W1", "08:00", "11:30"), ("W2", "11:30", "15:00"), ("W3", "15:00", "18:30"),
         ("W4", "19:00", "22:45")]
TIMED_WINDOWS = [["09:00", "11:00"], ["11:00", "13:00"], ["14:00", "16:00"], ["16:00", "18:00"],
                 ["19:00", "21:00"]]
SORT_MINUTES = 45

BJ_DC, BJ_CITY_WH, SH_DC = "BJ-DC-GUAN", "BJ-WH-MJQ", "SH-DC-JD"
WAREHOUSES = [
    dict(id=BJ_DC, name="North China DC (Asia No.1 Beijing, Gu'an)", kind="dc",
         location=[39.4700, 116.3300], cities=[CITY]),
    dict(id=BJ_CITY_WH, name="Beijing Majuqiao warehouse", kind="warehouse",
         location=[39.7600, 116.5500], cities=[CITY]),
    dict(id=SH_DC, name="East China DC (Asia No.1 Shanghai, Jiading)", kind="dc",
         location=[31.3440, 121.2320], cities=["shanghai"]),
    dict(id="GZ-DC", name="South China DC (Guangzhou)", kind="dc",
         location=[23.1291, 113.2644], cities=["guangzhou"]),
    dict(id="CD-DC", name="Southwest DC (Chengdu)", kind="dc",
         location=[30.5728, 104.0668], cities=["chengdu"]),
    dict(id="WH-DC", name="Central China DC (Wuhan)", kind="dc",
         location=[30.5928, 114.3055], cities=["wuhan"]),
    dict(id="SY-DC", name="Northeast DC (Shenyang)", kind="dc",
         location=[41.8057, 123.4315], cities=["shenyang"]),
    dict(id="XA-WH", name="Xi'an secondary warehouse", kind="warehouse",
         location=[34.3416, 108.9398], cities=["xian"]),
    dict(id="NJ-WH", name="Nanjing secondary warehouse", kind="warehouse",
         location=[32.0603, 118.7969], cities=["nanjing"]),
]
OTHER_DCS = ["GZ-DC", "CD-DC", "WH-DC", "SY-DC"]  # the six regional DCs: with BJ_DC and SH_DC
SECONDARY = ["XA-WH", "NJ-WH"]
OTHER_CITIES = [("guangzhou", "Guangzhou"), ("chengdu", "Chengdu"), ("wuhan", "Wuhan"),
                ("shenyang", "Shenyang"), ("xian", "Xi'an"), ("nanjing", "Nanjing")]
DEPARTURES = {BJ_DC: ["04:30", "08:00", "12:00", "15:30", "20:00"],
              BJ_CITY_WH: ["05:00", "09:30", "13:00", "16:30", "20:30"]}
TRUCK_KMH, HANDLING_MIN = 45.0, 20
FAST_MOVERS = 800  # the city warehouse holds the first 800 SKUs of the Beijing range


def in_beijing_range(sku: str) -> bool:
    """About 97% of the catalogue is stocked in Beijing; the rest only in Shanghai."""
    return zlib.crc32(sku.encode()) % 100 >= 3


def cells() -> dict[str, Polygon]:
    """Each station's Voronoi cell within the urban boundary."""
    return service_cells({sid: at for sid, _, at, _, _ in STATIONS}, Polygon(URBAN_BOUNDARY))


def transit_minutes(source: tuple[float, float], target: tuple[float, float]) -> int:
    minutes = road_minutes(source, target, TRUCK_KMH, HANDLING_MIN)
    return int(min(150, max(60, 5 * round(minutes / 5))))


def links() -> list[dict]:
    result = []
    for wh in WAREHOUSES:
        if wh["id"] not in DEPARTURES:
            continue
        for sid, _, location, _, _ in STATIONS:
            result.append(dict(source=wh["id"], target=sid,
                               transit=transit_minutes(tuple(wh["location"]), location),
                               departures=DEPARTURES[wh["id"]]))
    return result


def stations() -> list[dict]:
    return [dict(id=sid, name=name, city=CITY, location=list(location), sort_minutes=SORT_MINUTES,
                 priority=0, service_minutes=3.0, cod_service_minutes=COD_SERVICE_MINUTES,
                 waves=[dict(id=w, departure=d, latest_return=r) for w, d, r in WAVES],
                 fleet=vehicle_types(*FLEETS[profile]),
                 timed_windows=TIMED_WINDOWS if timed else [])
            for sid, name, location, profile, timed in STATIONS]


def stock_rows() -> list[tuple[str, str]]:
    beijing = [s for s in CATALOGUE if in_beijing_range(s)]
    fast = [s for s in beijing if int(s[3:]) < FAST_MOVERS]
    return ([(BJ_DC, s) for s in beijing] + [(BJ_CITY_WH, s) for s in fast]
            + [(w, s) for w in [SH_DC] + OTHER_DCS for s in CATALOGUE]
            + [(w, s) for w in SECONDARY for s in CATALOGUE[:FAST_MOVERS]])


def network_toml(cells: dict[str, Polygon]) -> str:
    cities = [dict(id=CITY, name="Beijing", **CITY_RULES),
              dict(id="shanghai", name="Shanghai", **CITY_RULES)]
    cities += [dict(id=cid, name=name, **CITY_RULES) for cid, name in OTHER_CITIES]
    return ("# The bundled Beijing network. Generated by build.py; edit that, not this.\n"
            + toml_tables("cities", cities) + toml_tables("warehouses", WAREHOUSES)
            + toml_tables("carriers", CARRIERS) + toml_tables("links", links())
            + toml_tables("pickup_points", pickup_points(
                [(sid, name, at, 3 if profile == "central" else 2)
                 for sid, name, at, profile, _ in STATIONS], cells)))


def write(out: Path) -> None:
    """Write the four network files into `out`."""
    station_cells = cells()
    write_folder(out, network_toml(station_cells), stations(),
                 area_features(station_cells, Polygon(CENTRAL_211)), stock_rows())


def main(out: Path = HERE) -> None:
    """Write the folder (here, or the directory given), load it to check it, print a summary."""
    write(out)
    network = load_network(out)
    for station in network.stations.values():
        share = station.area_211.area / station.area.area
        print(f"{station.id:7} {station.name:13} {area_m2(station.area) / 1e6:6.1f} km²  "
              f"211 {share:4.0%}  pickups {len(network.pickup_points_of(station.id))}")
    print(network)


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else HERE)
