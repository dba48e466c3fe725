"""What-if scenarios for planners: overrides on a base day, run on a process pool or on Ray, and
compared as one KPI table (docs/whatif.md)."""

from .overrides import apply_overrides
from .run import run
from .scenario import Base, Scenario

__all__ = ["Base", "Scenario", "apply_overrides", "run"]
