"""revolve (binomial checkpointing) and its mapping onto Checkmate schedules."""

from __future__ import annotations

from functools import cache

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from checkmate_opt.generators import linear_graph
from checkmate_opt.graph import training_graph
from checkmate_opt.strategies import solve
from checkmate_opt.strategies.checkpoint_all import checkpoint_last_node
from checkmate_opt.strategies.griewank import griewank, griewank_s, meta_chain
from checkmate_opt.strategies.revolve import (
    ActionKind,
    forward_steps,
    revolve_actions,
    revolve_live_ranges,
)
from checkmate_opt.testing import assert_valid_schedule


@cache
def dp_min_forward(length: int, snaps: int) -> float:
    """Optimal untaped forward steps by the recurrence: advance m, store, tail, then head."""
    if length <= 1:
        return 0
    if snaps < 1:
        return float("inf")
    best = float("inf")
    for m in range(1, length):
        tail = length - m
        tail_cost = 0 if tail == 1 else dp_min_forward(tail, snaps - 1)
        best = min(best, m + tail_cost + dp_min_forward(m, snaps))
    return best


def pascal(s: int, t: int) -> int:
    """beta(s, t) = C(s + t, s) from Pascal's rule beta(s,t) = beta(s-1,t) + beta(s,t-1)."""
    if s < 0 or t < 0:
        return 0
    if s == 0 or t == 0:
        return 1
    return pascal(s - 1, t) + pascal(s, t - 1)


def binomial_formula(length: int, snaps: int) -> int:
    """Griewank's closed form: t*l - beta(s+1, t-1), t the least with beta(s, t) >= l."""
    if length <= 1:
        return 0
    t = 0
    while pascal(snaps, t) < length:
        t += 1
    return t * length - pascal(snaps + 1, t - 1)


def replay(steps: int, snaps: int) -> tuple[int, int]:
    """Run the action list on a toy machine; return (forward steps, most slots in use)."""
    acts = revolve_actions(steps, snaps)
    assert acts[0].kind is ActionKind.TAKESHOT
    assert acts[0].state == 0
    assert acts[-1].kind is ActionKind.TERMINATE
    slots: dict[int, int] = {}
    current = 0
    reversed_upto = steps  # steps >= reversed_upto are reversed
    fwd = 0
    most = 0
    for a in acts[:-1]:
        if a.kind is ActionKind.TAKESHOT:
            assert a.state == current
            assert 0 <= a.slot < snaps
            slots[a.slot] = a.state
            most = max(most, len(slots))
        elif a.kind is ActionKind.RESTORE:
            assert slots[a.slot] == a.state
            current = a.state
        elif a.kind is ActionKind.ADVANCE:
            assert a.start == current
            assert a.state > current
            fwd += a.state - current
            current = a.state
        else:  # a turn reverses step `state` -> `state + 1`, strictly in reverse order
            assert a.state == current == reversed_upto - 1
            assert (a.kind is ActionKind.FIRSTURN) == (reversed_upto == steps)
            reversed_upto -= 1
    assert reversed_upto == 0
    return fwd, most


@pytest.mark.parametrize("steps", range(1, 13))
@pytest.mark.parametrize("snaps", range(1, 6))
def test_revolve_is_optimal(steps: int, snaps: int) -> None:
    fwd, most = replay(steps, snaps)
    assert most <= snaps
    assert fwd == dp_min_forward(steps, snaps) == binomial_formula(steps, snaps)
    assert fwd == forward_steps(steps, snaps)


def test_forward_steps_special_cases() -> None:
    assert [forward_steps(l, 1) for l in range(1, 6)] == [0, 1, 3, 6, 10]  # l(l-1)/2
    assert [forward_steps(l, 10) for l in range(1, 6)] == [0, 1, 2, 3, 4]  # l-1: store all


@given(st.integers(1, 60), st.integers(1, 8))
def test_revolve_valid_for_larger_chains(steps: int, snaps: int) -> None:
    fwd, most = replay(steps, snaps)
    assert most <= snaps
    assert fwd == binomial_formula(steps, snaps)


def test_live_ranges_4_steps_2_slots() -> None:
    # advance 0->2, store 2 (clock 2, range from 3); advance 2->3; turn 3 (clock 4);
    # restore 2, turn 2 (clock 5); restore 0, advance 0->1, turn 1 (clock 6); restore 0,
    # turn 0 (clock 7); nothing overwrote slot 1, so both ranges close at 7
    assert [(r.slot, r.state, r.start, r.end) for r in revolve_live_ranges(4, 2)] == [
        (0, 0, 1, 7),
        (1, 2, 3, 7),
    ]


def test_meta_chain_linear4() -> None:
    # forward 0..3, then gradients bwd(3)=5 .. bwd(0)=8 (the loss 4 is not on the meta-chain)
    assert meta_chain(linear_graph(4)) == [0, 1, 2, 3, 5, 6, 7, 8]


def test_griewank_linear4_two_slots_by_hand() -> None:
    # state 2's range, meta clocks 3..7 -> real stages 3..8: S[3:9, 2]; plus S[t, t-1].
    # bwd(3) recomputes 3 from 2; bwd(1) recomputes 0, 1; bwd(0) recomputes 0.
    g = linear_graph(4)
    r = griewank(g, slots=2)
    assert_valid_schedule(g, r)
    S = r.schedule.S
    assert {(int(t), int(i)) for t, i in np.argwhere(S)} == {(t, t - 1) for t in range(1, 9)} | {
        (t, 2) for t in range(3, 9)
    }
    R = r.schedule.R
    extra = {(int(t), int(i)) for t, i in np.argwhere(R & ~np.eye(9, dtype=bool))}
    assert extra == {(5, 3), (7, 0), (7, 1), (8, 0)}
    assert r.report.compute_cost == 13  # = 9 + forward_steps(4, 2)
    assert r.report.peak_activation_memory == 4  # stage 7: 2, bwd(2), 1, bwd(1)
    assert r.params["slots"] == 2


def test_one_slot_is_checkpoint_last_node_on_chains() -> None:
    # only state 0 is stored, and it is skipped: S = S[t, t-1] (implied backward is a subset)
    g = linear_graph(5)
    assert griewank(g, slots=1).schedule == checkpoint_last_node(g).schedule


def test_slots_beyond_chain_length_are_capped() -> None:
    g = linear_graph(4)
    assert np.array_equal(griewank_s(g, 4), griewank_s(g, 50))


def test_search_over_slots() -> None:
    g = linear_graph(4)
    # budget 4: slot counts 1 (19, 3) and 2 (13, 4) fit; the cheaper one wins
    r = griewank(g, 4)
    assert r.params["slots"] == 2
    assert r.within_budget
    low = griewank(g, 2)  # nothing fits: the lowest-memory one (one slot, peak 3)
    assert low.params["slots"] == 1
    assert not low.within_budget
    assert griewank(g).params["slots"] == 1


def test_non_chain_still_simulates() -> None:
    g = training_graph([[], [0], [0], [1, 2], [3], [4]], [1] * 6, [1] * 6)
    for slots in range(1, 5):
        assert_valid_schedule(g, griewank(g, slots=slots))


def test_bad_slots_and_registration() -> None:
    with pytest.raises(ValueError, match="slots must be >= 1"):
        griewank(linear_graph(2), slots=0)
    r = solve(linear_graph(3), None, strategy="griewank", slots=2)
    assert r.strategy == "griewank"
