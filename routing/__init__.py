"""slot211's VRP solver: an immutable `Problem`, one `solve` entry point and a self-explaining `Plan`."""

from .plan import Plan, Reason, Route, Unassigned, Visit
from .problem import Depot, Problem, Stop, VehicleType
from .solve import solve
from .warmup import warmup

__all__ = [
    "Depot", "Plan", "Problem", "Reason", "Route", "Stop", "Unassigned", "VehicleType", "Visit",
    "solve", "warmup",
]
