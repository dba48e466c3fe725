"""The physical network: warehouses, stations and their areas, line-haul, and the folder loader."""

from .geo import ROAD_FACTOR, haversine_km
from .load import load_network
from .model import (Carrier, City, LatLon, Link, PickupPoint, Station, VehicleType, Warehouse, Wave,
                    point)
from .network import Network, NetworkError

__all__ = [
    "ROAD_FACTOR", "Carrier", "City", "LatLon", "Link", "Network", "NetworkError", "PickupPoint",
    "Station", "VehicleType", "Warehouse", "Wave", "haversine_km", "load_network", "point",
]
