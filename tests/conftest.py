"""Session-wide setup: compile (or load) the numba kernels once, before any test is timed."""

import pytest

import routing


@pytest.fixture(scope="session", autouse=True)
def warm_kernels() -> None:
    """Run routing.warmup() once so no test pays numba compilation inside its time limit."""
    routing.warmup()
