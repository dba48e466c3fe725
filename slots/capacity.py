"""How many orders a station wave or a pickup point may sell, and the keys bookings are counted under.

Bookings are one mapping of counts: `wave_key(...)` for door stops on a station's wave (every
own-fleet sale), `pickup_key(...)` for parcels held at a pickup point on a day.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

from warehouses.model import Station, VehicleType, Wave

DRIVE_MINUTES_PER_DOOR = 4.0  # average driving between two doors on a city route
SELL_SHARE = 0.9  # share of a wave's door slots checkout sells; the rest is slack for the plan
DAY = 24 * 60

Booked = Mapping[tuple[str, str, str], int]


def wave_key(station_id: str, wave_date: str, wave_id: str) -> tuple[str, str, str]:
    """The bookings key of a station's wave on an ISO date."""
    return (station_id, wave_date, wave_id)


def pickup_key(pickup_point_id: str, day: str) -> tuple[str, str, str]:
    """The bookings key of a pickup point on an ISO date."""
    return ("pickup_point", pickup_point_id, day)


def vehicle_minutes(vehicle: VehicleType, wave: Wave) -> float:
    """Minutes one vehicle of this type can work in the wave: its shift's overlap, capped by max_duration."""
    best = 0
    for shift_offset in (-DAY, 0, DAY):
        start = max(wave.departure, vehicle.shift[0] + shift_offset)
        end = min(wave.latest_return, vehicle.shift[1] + shift_offset)
        best = max(best, end - start)
    if vehicle.max_duration is not None:
        best = min(best, vehicle.max_duration)
    return float(best)


def wave_capacity(station: Station, wave: Wave) -> int:
    """Orders a wave may sell: `station.wave_capacity` if set, else door slots of the fleet × SELL_SHARE.

    A vehicle's door slots are floor(its minutes in the wave / (service + DRIVE_MINUTES_PER_DOOR)),
    at most its parcel capacity (one trip per wave).
    """
    if station.wave_capacity is not None:
        return station.wave_capacity
    per_door = station.service_minutes + DRIVE_MINUTES_PER_DOOR
    slots = 0
    for vehicle in station.fleet:
        doors = math.floor(vehicle_minutes(vehicle, wave) / per_door)
        slots += vehicle.count * max(0, min(doors, vehicle.parcels))
    return math.floor(slots * SELL_SHARE)
