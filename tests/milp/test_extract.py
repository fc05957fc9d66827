"""Reading solver values: rounding with a tolerance, schedules, MIP starts."""

from __future__ import annotations

import numpy as np
import pytest

from checkmate_opt.backends import get_backend
from checkmate_opt.errors import CheckmateWarning
from checkmate_opt.generators import linear_graph
from checkmate_opt.milp.accounting import milp_memory
from checkmate_opt.milp.extract import round_binary, schedule_from_values, start_from_schedule
from checkmate_opt.milp.formulation import build_instance
from checkmate_opt.options import SolveOptions
from checkmate_opt.results import Termination
from checkmate_opt.strategies.checkpoint_all import checkpoint_all


def test_round_binary_rounds_instead_of_truncating() -> None:
    vals = np.array([0.99995, 1e-7, 1.0000001, 0.0])
    np.testing.assert_array_equal(round_binary(vals), [True, False, True, False])


def test_round_binary_warns_on_fractional_values() -> None:
    with pytest.warns(CheckmateWarning, match=r"S: solver value 0\.4"):
        out = round_binary(np.array([0.4, 1.0]), what="S")
    np.testing.assert_array_equal(out, [False, True])


def test_start_from_schedule_is_accepted_and_consistent() -> None:
    g = linear_graph(4)
    sched = checkpoint_all(g).unwrap()
    budget = int(milp_memory(g, sched.R, sched.S).max())
    inst = build_instance(g, budget, eps_noise=0)
    start = start_from_schedule(inst, sched)
    # the start is a point of the model: every U within the budget bound
    assert start["U"].max() <= inst.model.budget.value
    # round trip: the start's values give back the schedule
    assert schedule_from_values(inst, start) == sched
    # with a node limit of 0 HiGHS can only return the start (checkpoint-all: no recompute)
    res = get_backend("highs").solve(
        inst.model,
        SolveOptions(threads=1, backend_options={"mip_max_nodes": 0, "presolve": "off"}),
        start=start,
    )
    assert res.values is not None
    assert res.objective == pytest.approx(g.total_compute)
    assert res.termination in (Termination.COMPLETED, Termination.OTHER_LIMIT)
