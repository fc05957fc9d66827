"""The numpy builder writes exactly the rows, columns and bounds Pyomo compiles."""

from __future__ import annotations

import numpy as np
import pytest

from checkmate_opt.backends.base import CompiledModel, compile_model
from checkmate_opt.generators import linear_graph, random_layered_graph
from checkmate_opt.graph import Graph
from checkmate_opt.milp.formulation import MilpInstance, build_instance


def _canonical(cm: CompiledModel, inst: MilpInstance) -> tuple[list, list, list]:
    """Rows, columns and objective keyed by variable name and index, order-free."""
    names: dict[int, str] = {}
    for comp, cols in cm.components.items():
        idx = [()] if comp == "P" else [tuple(int(v) for v in r) for r in inst.index(comp)]
        for key, col in zip(idx, cols, strict=True):
            if col >= 0:
                names[int(col)] = f"{comp}{key}"
    A = cm.A.tocsr()
    rows = []
    for r in range(A.shape[0]):
        lo, hi = A.indptr[r], A.indptr[r + 1]
        terms = sorted(
            (names[int(c)], round(float(v), 9))
            for c, v in zip(A.indices[lo:hi], A.data[lo:hi], strict=True)
        )
        blo, bhi = float(cm.row_lo[r]), float(cm.row_hi[r])
        if terms and terms[0][1] < 0:  # a row and its negation are the same row
            terms = sorted((k, -v) for k, v in terms)
            blo, bhi = -bhi, -blo
        rows.append((tuple(terms), round(blo, 9), round(bhi, 9)))
    cols = sorted(
        (names[j], float(cm.col_lo[j]), float(cm.col_hi[j]), bool(cm.integer[j]))
        for j in range(cm.num_variables)
    )
    obj = sorted((names[j], round(float(cm.c[j]), 9)) for j in np.nonzero(cm.c)[0])
    return sorted(rows), cols, obj


GRAPHS = {
    "chain1": linear_graph(1),
    "chain3": linear_graph(3),
    "layered": random_layered_graph(14, seed=3),
    "layered2": random_layered_graph(10, seed=8),
    "zero_mem": Graph(
        args=((), (0,), (0, 1), (1, 2)), compute_cost=(3, 0, 2, 5), memory_cost=(4, 0, 6, 2)
    ),
}


@pytest.mark.parametrize("name", sorted(GRAPHS))
@pytest.mark.parametrize(
    ("kwargs"),
    [
        {"tighten": True},
        {"tighten": False},
        {"relax": True, "tighten": True},
        {"eps_noise": 0.01, "seed": 4},
        {"mode": "min_peak", "compute_cap": 40},
    ],
    ids=["tight", "plain", "lp", "noise", "min_peak"],
)
def test_numpy_builder_equals_pyomo(name: str, kwargs: dict) -> None:
    g = GRAPHS[name]
    budget = None if kwargs.get("mode") == "min_peak" else max(1, int(sum(g.memory_cost) * 0.6))
    inst = build_instance(g, budget, **{"eps_noise": 0, **kwargs})
    fast = CompiledModel(**inst.matrices())
    slow = compile_model(inst.model)
    assert fast.num_constraints == slow.num_constraints
    assert fast.num_variables == slow.num_variables
    assert _canonical(fast, inst) == _canonical(slow, inst)
    for comp in ("R", "S", "FREE", "U", "P"):
        assert (fast.components[comp] >= 0).sum() == (slow.components[comp] >= 0).sum()
