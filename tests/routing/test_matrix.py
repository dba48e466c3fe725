"""The numba distance kernels against plain numpy references."""

from __future__ import annotations

import numpy as np
import pytest

from routing.matrix import EARTH_RADIUS_M, dimacs_matrix, euclidean_matrix, haversine_matrix


def haversine_reference(latlon: np.ndarray) -> np.ndarray:
    lat = np.radians(latlon[:, 0])[:, None]
    lon = np.radians(latlon[:, 1])[:, None]
    a = (np.sin((lat.T - lat) / 2) ** 2
         + np.cos(lat) * np.cos(lat.T) * np.sin((lon.T - lon) / 2) ** 2)
    return 2 * EARTH_RADIUS_M * np.arcsin(np.minimum(1.0, np.sqrt(a)))


def euclidean_reference(xy: np.ndarray) -> np.ndarray:
    return np.sqrt(((xy[:, None, :] - xy[None, :, :]) ** 2).sum(axis=2))


@pytest.fixture(params=[0, 1, 2])
def rng(request):
    return np.random.default_rng(request.param)


def test_haversine_matches_numpy(rng):
    pts = np.column_stack([rng.uniform(-89, 89, 40), rng.uniform(-179, 179, 40)])
    np.testing.assert_allclose(haversine_matrix(pts), haversine_reference(pts), rtol=1e-9,
                               atol=1e-6)


def test_haversine_city_scale_matches_numpy(rng):
    pts = np.column_stack([rng.uniform(39.7, 40.1, 30), rng.uniform(116.1, 116.7, 30)])
    got = haversine_matrix(pts)
    np.testing.assert_allclose(got, haversine_reference(pts), rtol=1e-9, atol=1e-6)
    assert got.max() < 80_000  # a city, not a continent


def test_haversine_special_points():
    pts = np.array([[0.0, 0.0], [0.0, 180.0], [90.0, 0.0], [-90.0, 0.0], [0.0, 0.0]])
    d = haversine_matrix(pts)
    half = np.pi * EARTH_RADIUS_M
    assert d[0, 1] == pytest.approx(half)  # antipodes: arcsin clamp keeps it finite
    assert d[2, 3] == pytest.approx(half)  # pole to pole
    assert d[0, 2] == pytest.approx(half / 2)
    assert d[0, 4] == 0.0  # identical points
    assert np.isfinite(d).all()


def test_euclidean_matches_numpy(rng):
    xy = rng.uniform(-1000, 1000, (50, 2))
    got = euclidean_matrix(xy)
    np.testing.assert_allclose(got, euclidean_reference(xy), rtol=1e-12, atol=1e-9)
    np.testing.assert_array_equal(got, got.T)
    assert np.all(np.diag(got) == 0)


def test_dimacs_matches_numpy(rng):
    xy = rng.integers(0, 100, (50, 2)).astype(np.float64)
    np.testing.assert_array_equal(dimacs_matrix(xy), np.floor(10 * euclidean_reference(xy)) / 10)


def test_dimacs_truncates_not_rounds():
    d = dimacs_matrix(np.array([[0.0, 0.0], [1.0, 1.0]]))  # sqrt(2) = 1.41421...
    assert d[0, 1] == 1.4 and d[1, 0] == 1.4


@pytest.mark.parametrize("kernel", [haversine_matrix, euclidean_matrix, dimacs_matrix])
def test_degenerate_sizes(kernel):
    assert kernel(np.zeros((0, 2))).shape == (0, 0)
    assert kernel(np.array([[10.0, 20.0]])).tolist() == [[0.0]]
