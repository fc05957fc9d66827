"""checkmate_opt: optimal tensor rematerialization (Checkmate, MLSys 2020).

Importing the package loads no solver, ML or plotting library; those are imported by the parts
that use them.

>>> import checkmate_opt as cm
>>> g = cm.linear_graph(4)
>>> r = cm.solve(g, None, strategy="checkpoint_all")
>>> r.compute_cost == g.total_compute
True
"""

from checkmate_opt.backends import Progress, available_backends
from checkmate_opt.budget import no_remat_peak, resolve_budget
from checkmate_opt.errors import (
    BackendError,
    BackendUnavailableError,
    CapabilityError,
    CheckmateError,
    CheckmateWarning,
    GraphError,
    NoScheduleError,
    ScheduleError,
    SolverError,
    UnknownBackendError,
    UnknownStrategyError,
    UnsupportedModelError,
)
from checkmate_opt.generators import linear_graph, random_layered_graph
from checkmate_opt.graph import Graph, training_graph
from checkmate_opt.io import load_graph, save_graph
from checkmate_opt.options import SolveOptions
from checkmate_opt.results import SolveResult, SolverInfo, Termination
from checkmate_opt.schedule import Schedule, solve_r_opt
from checkmate_opt.simulate import SimulationReport, simulate
from checkmate_opt.strategies import STRATEGIES, get_strategy, solve
from checkmate_opt.units import parse_bytes

__version__ = "0.1.0"

__all__ = [
    "STRATEGIES",
    "BackendError",
    "BackendUnavailableError",
    "CapabilityError",
    "CheckmateError",
    "CheckmateWarning",
    "Graph",
    "GraphError",
    "NoScheduleError",
    "Progress",
    "Schedule",
    "ScheduleError",
    "SimulationReport",
    "SolveOptions",
    "SolveResult",
    "SolverError",
    "SolverInfo",
    "Termination",
    "UnknownBackendError",
    "UnknownStrategyError",
    "UnsupportedModelError",
    "__version__",
    "available_backends",
    "get_strategy",
    "linear_graph",
    "load_graph",
    "no_remat_peak",
    "parse_bytes",
    "random_layered_graph",
    "resolve_budget",
    "save_graph",
    "simulate",
    "solve",
    "solve_r_opt",
    "training_graph",
]
