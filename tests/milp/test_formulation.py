"""The MILP formulation: sizes, scaling, noise, variants, bad input."""

from __future__ import annotations

import numpy as np
import pytest

from checkmate_opt.generators import linear_graph
from checkmate_opt.graph import Graph
from checkmate_opt.milp.formulation import build_instance


def expected_full_sizes(g: Graph) -> tuple[int, int]:
    """Variables and rows of the "full" variant, counted by hand from the index rules."""
    n = g.n
    tri = n * (n + 1) // 2
    free = sum(n - 1 - k for _, k in g.edges)
    deps = sum(n - v for _, v in g.edges)
    variables = tri + (tri - n) + tri + free + 1  # R, S, U, FREE, P
    rows = n + (tri - n) + deps + 2 * free + n + (tri - n)
    return variables, rows


@pytest.mark.parametrize("layers", [1, 3, 8])
def test_full_variant_creates_only_possible_variables(layers: int) -> None:
    g = linear_graph(layers)
    m = build_instance(g, 3, eps_noise=0).model
    n = g.n
    assert all(i <= t for t, i in m.R)
    assert all(i < t for t, i in m.S)
    assert all(g.edges[e][1] < t for t, e in m.FREE)
    num_vars = len(m.R) + len(m.S) + len(m.U) + len(m.FREE) + 1
    num_rows = sum(
        len(c)
        for c in (
            m.frontier,
            m.checkpoint,
            m.dependency,
            m.free_lower,
            m.free_upper,
            m.memory_init,
            m.memory_recurrence,
        )
    )
    assert (num_vars, num_rows) == expected_full_sizes(g)
    assert len(m.peak) == 0
    assert len(m.compute_cap_row) == 0
    assert all(m.U[idx].ub == 3 for idx in m.U)  # budget as a bound, no U rows
    assert len(m.R) == n * (n + 1) // 2


def test_gcd_scaling_of_memory_and_cost() -> None:
    g = Graph(args=((), (0,), (1,)), compute_cost=(6, 9, 3), memory_cost=(8, 12, 4))
    inst = build_instance(g, 20, eps_noise=0)
    assert inst.g_cpu == 3
    assert inst.g_ram == 4
    assert [inst.model.mem[i] for i in range(3)] == [2, 3, 1]
    assert inst.model.budget.value == 5
    np.testing.assert_allclose(inst.cost, [2, 3, 1])
    # a budget that is not a multiple of the memory gcd lowers g_ram
    assert build_instance(g, 22, eps_noise=0).g_ram == 2


def test_noise_is_seeded_and_off_at_zero() -> None:
    g = linear_graph(4)
    a = build_instance(g, 5, eps_noise=0.01, seed=3)
    b = build_instance(g, 5, eps_noise=0.01, seed=3)
    c = build_instance(g, 5, eps_noise=0.01, seed=4)
    np.testing.assert_array_equal(a.noise, b.noise)
    assert not np.array_equal(a.noise, c.noise)
    assert np.all(build_instance(g, 5, eps_noise=0).noise == 1)
    # real-unit bound: the noisy cost of "compute each node once" maps to the 9 unit nodes;
    # anything beyond it is recomputation, rescaled by the largest noise factor
    wmax = float(a.noise.max())
    assert a.bound_to_cost(float(a.cost.sum())) == 9.0
    assert a.bound_to_cost(float(a.cost.sum()) + 2 * wmax) == 11.0
    assert a.bound_to_cost(float(a.cost.sum()) + 2 * wmax - 0.01) == 11.0  # rounded up


def test_cover_variants_have_full_matrices() -> None:
    g = linear_graph(2)
    n = g.n
    m = build_instance(g, 4, variant="cover_all", eps_noise=0).model
    assert len(m.R) == n * n
    assert len(m.S) == (n - 1) * n
    assert len(m.frontier) == n
    m2 = build_instance(g, 4, variant="cover_last", eps_noise=0).model
    assert len(m2.frontier) == 1


def test_min_peak_mode_has_peak_rows_and_cap() -> None:
    g = linear_graph(3)
    m = build_instance(g, None, mode="min_peak", compute_cap=12).model
    assert len(m.peak) == len(m.U)
    assert len(m.compute_cap_row) == 1
    assert all(m.U[idx].ub is None for idx in m.U)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"variant": "nope"}, "variant"),
        ({"mode": "nope"}, "mode"),
        ({"eps_noise": -1}, "eps_noise"),
    ],
)
def test_bad_arguments_are_named(kwargs: dict[str, object], match: str) -> None:
    with pytest.raises(ValueError, match=match):
        build_instance(linear_graph(2), 4, **kwargs)  # type: ignore[arg-type]


def test_missing_budget_and_cap() -> None:
    with pytest.raises(ValueError, match="budget"):
        build_instance(linear_graph(2), None)
    with pytest.raises(ValueError, match="compute_cap"):
        build_instance(linear_graph(2), None, mode="min_peak")


def test_large_byte_counts_are_rescaled_for_the_solver() -> None:
    from checkmate_opt.milp.formulation import MEMORY_SCALE_TARGET

    g = linear_graph(3).with_costs(memory_cost=[3_000_000_000] * 7)
    inst = build_instance(g, 12_000_000_000, eps_noise=0)
    assert inst.g_ram == 3_000_000_000  # gcd of the memory and the budget
    small = build_instance(linear_graph(3), 4, eps_noise=0)
    assert small.mem_unit == small.g_ram == 1  # no extra factor: exact small models
    big = linear_graph(3).with_costs(memory_cost=[7, 11, 13, 1, 13, 11, 7])
    inst2 = build_instance(big, 10**9 + 1, eps_noise=0)
    assert inst2.model.budget.value == pytest.approx(MEMORY_SCALE_TARGET)
    assert inst2.mem_unit == pytest.approx((10**9 + 1) / MEMORY_SCALE_TARGET)
    assert inst2.model.mem[0] * inst2.mem_unit == pytest.approx(7)


def test_bounds_of_large_integer_objectives_are_not_rounded_a_unit_down() -> None:
    """Issue: a relative 1e-6 tolerance is over one unit above 1e6 units, so a proven optimum
    of 1 900 606 units (vgg19) was reported with the bound 1 900 605."""
    from checkmate_opt.milp.formulation import _ceil_tol

    assert _ceil_tol(1_900_606.0) == 1_900_606
    assert _ceil_tol(1_900_606.0 - 1e-9) == 1_900_606  # solver round-off below
    assert _ceil_tol(1_900_606.0 + 1e-9) == 1_900_606  # and above
    assert _ceil_tol(1_900_605.4) == 1_900_606  # a fractional bound still rounds up
    assert _ceil_tol(3.0 + 1e-7) == 3
    assert _ceil_tol(3.01) == 4
