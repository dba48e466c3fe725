"""Geometry for the network: great-circle distance, areas in m², GeoJSON polygons checked raw.

Locations are (lat, lon); shapely and GeoJSON put longitude first.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import shapely
from shapely.geometry import MultiPolygon, Polygon, shape
from shapely.geometry.base import BaseGeometry
from shapely.geometry.polygon import orient

from .model import LatLon

EARTH_RADIUS_KM = 6371.0088
ROAD_FACTOR = 1.3  # road km per straight-line km in a Chinese city
METRES_PER_DEGREE = 111_320.0


def haversine_km(origin: LatLon, dest: LatLon) -> float:
    """Great-circle distance in km between two (lat, lon) points."""
    lat1, lon1, lat2, lon2 = map(math.radians, (*origin, *dest))
    h = (math.sin((lat2 - lat1) / 2) ** 2
         + math.cos(lat1) * math.cos(lat2) * math.sin((lon2 - lon1) / 2) ** 2)
    return 2 * EARTH_RADIUS_KM * math.asin(math.sqrt(min(1.0, h)))


def area_m2(geometry: BaseGeometry) -> float:
    """Approximate area in m² of a small lon/lat geometry (degrees scaled at its centroid)."""
    if geometry.is_empty:
        return 0.0
    scale = METRES_PER_DEGREE ** 2 * math.cos(math.radians(geometry.centroid.y))
    return geometry.area * scale


def metres_to_degrees(metres: float) -> float:
    """A distance in metres as degrees of latitude (a conservative tolerance in lon/lat space)."""
    return metres / METRES_PER_DEGREE


def polygon_from_geojson(geometry: object) -> BaseGeometry:
    """A valid Polygon or MultiPolygon from a GeoJSON geometry object, checked before shapely.

    Shapely closes open rings silently, so closure is checked on the raw coordinates; raises
    ValueError with a message that says what is wrong and where.
    """
    if not isinstance(geometry, dict):
        raise ValueError("geometry must be a GeoJSON object")
    kind = geometry.get("type")
    coordinates = geometry.get("coordinates")
    if kind == "Polygon":
        _check_polygon(coordinates, "polygon")
    elif kind == "MultiPolygon":
        if not isinstance(coordinates, list) or not coordinates:
            raise ValueError("MultiPolygon coordinates must be a non-empty list of polygons")
        for i, polygon in enumerate(coordinates):
            _check_polygon(polygon, f"polygon {i}")
    else:
        raise ValueError(f"geometry type must be Polygon or MultiPolygon, got {kind!r}")
    result = shape(geometry)
    if not result.is_valid:
        raise ValueError(f"invalid polygon: {shapely.is_valid_reason(result)}")
    if result.is_empty or result.area == 0:
        raise ValueError("polygon has no area")
    return result


def _check_polygon(rings: object, where: str) -> None:
    if not isinstance(rings, list) or not rings:
        raise ValueError(f"{where}: coordinates must be a non-empty list of rings")
    for r, ring in enumerate(rings):
        label = f"{where} ring {r}"
        if not isinstance(ring, list) or len(ring) < 4:
            raise ValueError(f"{label}: a ring needs at least 4 positions")
        for position in ring:
            _check_position(position, label)
        if ring[0] != ring[-1]:
            raise ValueError(f"{label} is not closed: first position {ring[0]} != last {ring[-1]}")


def _check_position(position: object, label: str) -> None:
    if (not isinstance(position, list) or len(position) not in (2, 3)
            or not all(isinstance(c, (int, float)) and not isinstance(c, bool) for c in position)):
        raise ValueError(f"{label}: position {position!r} is not [lon, lat]")
    lon, lat = position[0], position[1]
    if not (-180 <= lon <= 180 and -90 <= lat <= 90):
        raise ValueError(f"{label}: position {position!r} is out of range (GeoJSON is [lon, lat])")


def to_geojson(geometry: BaseGeometry, digits: int = 6) -> dict:
    """A Polygon or MultiPolygon as a GeoJSON geometry with rounded, explicitly closed rings."""
    def ring(coords: Sequence[Sequence[float]]) -> list[list[float]]:
        return [[round(x, digits), round(y, digits)] for x, y in coords]

    def rings(polygon: Polygon) -> list[list[list[float]]]:
        polygon = orient(polygon)
        return [ring(polygon.exterior.coords)] + [ring(i.coords) for i in polygon.interiors]

    if isinstance(geometry, Polygon):
        return {"type": "Polygon", "coordinates": rings(geometry)}
    if isinstance(geometry, MultiPolygon):
        return {"type": "MultiPolygon", "coordinates": [rings(p) for p in geometry.geoms]}
    raise TypeError(f"not a polygon: {geometry.geom_type}")
