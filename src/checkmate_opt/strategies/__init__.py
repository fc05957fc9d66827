"""The strategies (algorithms) and the one entry point, :func:`solve`.

Every strategy is a plain function ``f(graph, budget, *, ...) -> SolveResult``. The table maps
a name to ``"module:function"`` so that solver packages are imported only when used.
"""

from __future__ import annotations

import difflib
import importlib
from collections.abc import Callable
from typing import Any

from checkmate_opt.budget import resolve_budget
from checkmate_opt.errors import UnknownStrategyError
from checkmate_opt.graph import Graph
from checkmate_opt.results import SolveResult

__all__ = [
    "BASELINE_NAMES",
    "STRATEGIES",
    "check_options",
    "get_strategy",
    "solve",
    "strategy_options",
]

#: name -> "module:function" (module relative to this package)
STRATEGIES: dict[str, str] = {
    "checkpoint_all": "checkpoint_all:checkpoint_all",
    "checkpoint_all_ap": "checkpoint_all:checkpoint_all_ap",
    "checkpoint_last_node": "checkpoint_all:checkpoint_last_node",
    "chen_sqrtn": "chen:chen_sqrtn",
    "chen_sqrtn_linearized": "chen:chen_sqrtn_linearized",
    "chen_greedy": "chen:chen_greedy",
    "chen_greedy_linearized": "chen:chen_greedy_linearized",
    "griewank": "griewank:griewank",
    "optimal": "optimal:optimal",
    "lp_rounding": "lp_rounding:lp_rounding",
    "lp_bound": "lp_rounding:lp_bound",
    "anytime": "anytime:anytime",
    "anytime_reorder": "anytime:anytime_reorder",
}

#: the heuristic baselines the paper compares with (no solver needed)
BASELINE_NAMES: tuple[str, ...] = tuple(
    name
    for name, target in STRATEGIES.items()
    if target.split(":")[0] in {"checkpoint_all", "chen", "griewank"}
)


def get_strategy(name: str) -> Callable[..., SolveResult]:
    """The strategy function registered under ``name``.

    Raises
    ------
    UnknownStrategyError
        Listing the registered names (and close matches).
    """
    try:
        target = STRATEGIES[name]
    except KeyError:
        close = difflib.get_close_matches(name, STRATEGIES, n=3)
        hint = f" (did you mean {', '.join(close)}?)" if close else ""
        raise UnknownStrategyError(
            f"unknown strategy {name!r}{hint}; choose one of: {', '.join(sorted(STRATEGIES))}"
        ) from None
    module, func = target.split(":")
    fn: Callable[..., SolveResult] = getattr(
        importlib.import_module(f"checkmate_opt.strategies.{module}"), func
    )
    return fn


def solve(
    graph: Graph,
    budget: int | str | None = None,
    *,
    strategy: str = "optimal",
    **kwargs: Any,
) -> SolveResult:
    """Schedule ``graph`` within an activation-memory ``budget`` with the named strategy.

    Parameters
    ----------
    graph
        The training graph.
    budget
        Activation-memory budget (fixed memory excluded): bytes, a string such as
        ``"12GB"`` / ``"500MiB"``, or a multiple of the peak with no rematerialization
        (``"0.8x"``, see :func:`checkmate_opt.budget.resolve_budget`). ``None`` for budget-free
        heuristics.
    strategy
        A name from :data:`STRATEGIES`.
    **kwargs
        Keyword-only options of the strategy (e.g. ``solver="highs"``, ``options=...``).

    Returns
    -------
    SolveResult
        The schedule and its simulated report.

    Raises
    ------
    UnknownStrategyError
        For an unregistered strategy name.
    ValueError
        For an unparsable or negative budget.
    """
    fn = get_strategy(strategy)
    check_options(strategy, fn, kwargs)
    parsed = resolve_budget(budget, graph)
    return fn(graph, parsed, **kwargs)


def strategy_options(fn: Callable[..., SolveResult]) -> tuple[str, ...]:
    """The keyword options a strategy function takes (e.g. ``solver``, ``options``)."""
    import inspect

    params = list(inspect.signature(fn).parameters.values())[2:]  # after graph, budget
    return tuple(
        p.name
        for p in params
        if p.kind in (inspect.Parameter.KEYWORD_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)
    )


def check_options(name: str, fn: Callable[..., SolveResult], kwargs: dict[str, Any]) -> None:
    """Reject options the strategy does not take (the command line rejects them alike)."""
    import inspect

    if any(
        p.kind is inspect.Parameter.VAR_KEYWORD for p in inspect.signature(fn).parameters.values()
    ):
        return  # the strategy takes any option
    known = strategy_options(fn)
    unknown = sorted(set(kwargs) - set(known))
    if unknown:
        takes = f"it takes: {', '.join(known)}" if known else "it takes no options"
        raise TypeError(f"strategy {name!r} does not take {', '.join(unknown)}; {takes}")
