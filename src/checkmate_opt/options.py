"""Solver options shared by every backend (no solver package is imported here)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

__all__ = ["SolveOptions"]


@dataclass(frozen=True, slots=True, kw_only=True)
class SolveOptions:
    """Typed common options; anything vendor-specific goes in ``backend_options`` verbatim.

    Attributes
    ----------
    time_limit_s
        Wall-clock limit of the solve in seconds (``None``: no limit).
    mip_rel_gap
        Relative MIP gap at which to stop (``None``: the strategy's default; ``optimal`` with
        exact costs proves exact optimality, otherwise the solver's default, 1e-4).
    mip_abs_gap
        Absolute MIP gap at which to stop, in the model's objective units (``None``: as above).
    threads
        Solver threads (``None``: the solver's default).
    seed
        Random seed of the solver.
    verbose
        Stream the solver's log.
    backend_options
        Vendor options passed through unchanged.
    """

    time_limit_s: float | None = None
    mip_rel_gap: float | None = None
    mip_abs_gap: float | None = None
    threads: int | None = None
    seed: int | None = None
    verbose: bool = False
    backend_options: Mapping[str, object] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.time_limit_s is not None and not self.time_limit_s > 0:
            raise ValueError(f"time_limit_s must be > 0, got {self.time_limit_s}")
        if self.mip_rel_gap is not None and not 0 <= self.mip_rel_gap < 1:
            raise ValueError(f"mip_rel_gap must be in [0, 1), got {self.mip_rel_gap}")
        if self.mip_abs_gap is not None and not self.mip_abs_gap >= 0:
            raise ValueError(f"mip_abs_gap must be >= 0, got {self.mip_abs_gap}")
        if self.threads is not None and self.threads < 1:
            raise ValueError(f"threads must be >= 1, got {self.threads}")
