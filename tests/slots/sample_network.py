"""A one-station network built by hand for the promise tests, with locations at known distances.

Station S1 (sort 30 min) has waves W08 (08:00-12:00), W14 (14:00-18:00), W18 (18:00-22:30).
Warehouse W1 stocks A and B one hour from S1 (trucks leave when ready); DC stocks C and sends one
truck a day at 20:00 that takes ten hours. Nothing stocks Z.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta

from shapely.geometry import box

from warehouses import (Carrier, City, Link, Network, PickupPoint, Station, VehicleType,
                        Warehouse, Wave)

KM_PER_DEGREE_LAT = 6371.0088 * 3.141592653589793 / 180

DAY = datetime(2026, 3, 2)
STATION_AT = (39.99, 116.47)
HOME = (39.99, 116.475)  # inside the 211 area, 0.43 km from the station
OUTSIDE_211 = (39.96, 116.42)  # served by S1, outside its 211 area
NOWHERE = (39.80, 116.20)  # no station serves it
ON_211_BORDER = (39.97, 116.47)  # exactly on the 211 area's southern edge
PP_NEAR_AT = (40.03, 116.52)
PP_FAR_AT = (40.03 - 2.5 / KM_PER_DEGREE_LAT, 116.52)  # 2.5 km south of PP_NEAR


def north_of(location: tuple[float, float], km: float) -> tuple[float, float]:
    """The point `km` due north of a location (great-circle distance exactly km)."""
    return (location[0] + km / KM_PER_DEGREE_LAT, location[1])


WAVES = (Wave("W08", 8 * 60, 12 * 60), Wave("W14", 14 * 60, 18 * 60), Wave("W18", 18 * 60, 22 * 60 + 30))
FLEET = (
    VehicleType("van", count=2, weight_kg=800, volume_m3=4, parcels=100, shift=(7 * 60, 23 * 60),
                speed_kmh=25.0, skills=("pos",)),
    VehicleType("trike", count=3, weight_kg=200, volume_m3=1, parcels=40, shift=(7 * 60, 23 * 60),
                speed_kmh=15.0, skills=("pos",)),
)


def make_station(**changes) -> Station:
    station = Station(
        id="S1", name="Wangjing", city="BJ", location=STATION_AT,
        area=box(116.40, 39.95, 116.54, 40.10), area_211=box(116.44, 39.97, 116.50, 40.01),
        sort_minutes=30, waves=WAVES, fleet=FLEET,
        timed_windows=((10 * 60, 12 * 60), (19 * 60, 21 * 60)),
    )
    return replace(station, **changes)


def make_network(same_day_cutoff: int = 11 * 60, carriers: bool = True, pickup_capacity: int = 2,
                 **station_changes) -> Network:
    """The sample network; station fields and the city's same-day cutoff may be changed."""
    city = City("BJ", "Beijing", same_day_cutoff=same_day_cutoff)
    warehouses = {
        "W1": Warehouse("W1", "Beijing warehouse", "warehouse", (39.90, 116.40), ("BJ",),
                        frozenset({"A", "B"})),
        "DC": Warehouse("DC", "North China DC", "dc", (39.70, 116.30), ("BJ",), frozenset({"C"})),
    }
    points = {
        "PP_NEAR": PickupPoint("PP_NEAR", "Near", "S1", PP_NEAR_AT, opens=8 * 60, closes=20 * 60,
                               capacity=pickup_capacity),
        "PP_FAR": PickupPoint("PP_FAR", "Far", "S1", PP_FAR_AT, opens=8 * 60, closes=20 * 60,
                              capacity=pickup_capacity),
    }
    fleet_carriers = {
        "SF": Carrier("SF", "Fast", lead_days=2, cost_per_parcel=8.0),
        "ZTO": Carrier("ZTO", "Cheap", lead_days=3, cost_per_parcel=6.0),
    } if carriers else {}
    links = (Link("W1", "S1", transit=60), Link("DC", "S1", transit=600, departures=(20 * 60,)))
    return Network(cities={"BJ": city}, warehouses=warehouses,
                   stations={"S1": make_station(**station_changes)}, pickup_points=points,
                   carriers=fleet_carriers, links=links)


def at(hour: int, minute: int = 0, second: int = 0, day: int = 0) -> datetime:
    """A time on DAY (or `day` days later)."""
    return DAY.replace(hour=hour, minute=minute, second=second) + timedelta(days=day)
