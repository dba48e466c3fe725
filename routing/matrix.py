"""Distance matrices from coordinates, compiled with numba."""

from __future__ import annotations

import numpy as np
from numba import njit, prange

EARTH_RADIUS_M = 6_371_008.8


@njit(cache=True, parallel=False, fastmath=False)
def haversine_matrix(latlon: np.ndarray) -> np.ndarray:
    """Great-circle distances in metres between (lat, lon) rows, in degrees."""
    n = latlon.shape[0]
    out = np.zeros((n, n))
    rad = np.radians(latlon)
    for i in prange(n):
        lat1 = rad[i, 0]
        lon1 = rad[i, 1]
        c1 = np.cos(lat1)
        for j in range(i + 1, n):
            dlat = rad[j, 0] - lat1
            dlon = rad[j, 1] - lon1
            a = np.sin(dlat / 2) ** 2 + c1 * np.cos(rad[j, 0]) * np.sin(dlon / 2) ** 2
            d = 2 * EARTH_RADIUS_M * np.arcsin(min(1.0, np.sqrt(a)))
            out[i, j] = d
            out[j, i] = d
    return out


@njit(cache=True)
def euclidean_matrix(xy: np.ndarray) -> np.ndarray:
    """Planar Euclidean distances between rows."""
    n = xy.shape[0]
    out = np.zeros((n, n))
    for i in range(n):
        for j in range(i + 1, n):
            d = np.sqrt((xy[i, 0] - xy[j, 0]) ** 2 + (xy[i, 1] - xy[j, 1]) ** 2)
            out[i, j] = d
            out[j, i] = d
    return out


@njit(cache=True)
def dimacs_matrix(xy: np.ndarray) -> np.ndarray:
    """The DIMACS VRPTW convention: floor(10 * euclidean) / 10."""
    n = xy.shape[0]
    out = np.zeros((n, n))
    for i in range(n):
        for j in range(i + 1, n):
            d = np.floor(10.0 * np.sqrt((xy[i, 0] - xy[j, 0]) ** 2 + (xy[i, 1] - xy[j, 1]) ** 2)) / 10.0
            out[i, j] = d
            out[j, i] = d
    return out
