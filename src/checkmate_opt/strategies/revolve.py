"""Binomial checkpointing (Griewank & Walther's ``revolve``), written from the recurrence.

A chain of ``steps`` steps maps state ``x_0`` to ``x_steps``; reversing step ``i`` (``x_i`` to
``x_{i+1}``) needs ``x_i``. With ``snaps`` snapshot slots (one of them holds ``x_0``), the least
number of forward steps to take besides the final taped step of each reversal is

``F(l, s) = min over 1 <= m < l of  m + F(l - m, s - 1) + F(m, s)``,  ``F(1, s) = 0``,

(advance ``m`` steps, store ``x_m``, reverse the tail with one slot fewer, then the head), whose
closed form is ``F(l, s) = t*l - beta(s + 1, t - 1)`` with ``beta(s, t) = C(s + t, s)`` and
``t`` the repetition number, the least ``t`` with ``beta(s, t) >= l`` (Griewank 1992). The
schedule below splits at the largest optimal ``m``; any optimal split gives the same count.
"""

from __future__ import annotations

import enum
import math
from dataclasses import dataclass
from functools import cache

__all__ = [
    "Action",
    "ActionKind",
    "LiveRange",
    "forward_steps",
    "repetition_number",
    "revolve_actions",
    "revolve_live_ranges",
]


class ActionKind(enum.StrEnum):
    """The revolve actions."""

    ADVANCE = "advance"  #: run the chain forward from ``start`` to ``state`` (untaped)
    TAKESHOT = "takeshot"  #: store the current state ``state`` in ``slot``
    RESTORE = "restore"  #: load ``state`` from ``slot``
    FIRSTURN = "firsturn"  #: taped step from ``state`` plus the first reverse step
    YOUTURN = "youturn"  #: taped step from ``state`` plus its reverse step
    TERMINATE = "terminate"  #: done


@dataclass(frozen=True, slots=True)
class Action:
    """One revolve action (``start`` is only meaningful for ``ADVANCE``)."""

    kind: ActionKind
    state: int
    slot: int = -1
    start: int = -1


@dataclass(frozen=True, slots=True)
class LiveRange:
    """A snapshot of ``state`` held in ``slot`` from clock ``start`` to ``end`` (inclusive)."""

    slot: int
    state: int
    start: int
    end: int


def _beta(s: int, t: int) -> int:
    return math.comb(s + t, s) if t >= 0 and s >= 0 else 0


def repetition_number(steps: int, snaps: int) -> int:
    """Least ``t`` with ``beta(snaps, t) >= steps``: the most times any step is evaluated."""
    if snaps < 1:
        raise ValueError(f"snaps must be >= 1, got {snaps}")
    t = 0
    while _beta(snaps, t) < steps:
        t += 1
    return t


@cache
def forward_steps(steps: int, snaps: int) -> int:
    """Least number of (untaped) forward steps to reverse ``steps`` steps with ``snaps`` slots.

    Examples
    --------
    >>> forward_steps(4, 1), forward_steps(4, 2), forward_steps(4, 4)
    (6, 4, 3)
    """
    if steps < 0:
        raise ValueError(f"steps must be >= 0, got {steps}")
    if steps <= 1:
        return 0
    t = repetition_number(steps, snaps)
    return t * steps - _beta(snaps + 1, t - 1)


def _split(steps: int, snaps: int) -> int:
    """The largest optimal first advance ``m`` for ``steps >= 2``, ``snaps >= 1``."""
    best = forward_steps(steps, snaps)
    for m in range(steps - 1, 0, -1):
        tail = steps - m
        if tail > 1 and snaps < 2:
            continue  # a tail longer than one step needs a slot for its start
        if m + forward_steps(tail, max(snaps - 1, 1)) + forward_steps(m, snaps) == best:
            return m
    raise AssertionError("no optimal split")  # unreachable: the recurrence has a minimiser


def revolve_actions(steps: int, snaps: int) -> list[Action]:
    """The revolve action sequence reversing a chain of ``steps`` steps with ``snaps`` slots.

    Parameters
    ----------
    steps
        Chain length ``M >= 1``.
    snaps
        Snapshot slots ``>= 1``, including the one holding ``x_0``.

    Returns
    -------
    list[Action]
        Starting with ``TAKESHOT`` of state 0 in slot 0 and ending with ``TERMINATE``. The
        number of forward steps of the ``ADVANCE`` actions is :func:`forward_steps`.

    Raises
    ------
    ValueError
        If ``steps < 1`` or ``snaps < 1``.
    """
    if steps < 1:
        raise ValueError(f"steps must be >= 1, got {steps}")
    if snaps < 1:
        raise ValueError(f"snaps must be >= 1, got {snaps}")
    actions: list[Action] = [Action(ActionKind.TAKESHOT, 0, slot=0)]
    first_turn = [True]

    def turn(state: int) -> None:
        kind = ActionKind.FIRSTURN if first_turn[0] else ActionKind.YOUTURN
        first_turn[0] = False
        actions.append(Action(kind, state))

    # explicit stack instead of recursion: chains of ~1000 steps with 1 slot go deep
    # frame: (capo, fine, snaps, slot, phase)
    stack: list[tuple[int, int, int, int, int]] = [(0, steps, snaps, 0, 0)]
    while stack:
        capo, fine, s, slot, phase = stack.pop()
        length = fine - capo
        if phase == 0:
            if length == 1:
                turn(capo)
                continue
            m = _split(length, s)
            actions.append(Action(ActionKind.ADVANCE, capo + m, start=capo))
            stack.append((capo, capo + m, s, slot, 1))  # then restore and reverse the head
            if fine - (capo + m) == 1:
                turn(capo + m)  # a one-step tail needs no snapshot
            else:
                actions.append(Action(ActionKind.TAKESHOT, capo + m, slot=slot + 1))
                stack.append((capo + m, fine, s - 1, slot + 1, 0))
        else:
            actions.append(Action(ActionKind.RESTORE, capo, slot=slot))
            stack.append((capo, fine, s, slot, 0))
    actions.append(Action(ActionKind.TERMINATE, 0))
    return actions


def revolve_live_ranges(steps: int, snaps: int) -> list[LiveRange]:
    """Snapshot live ranges of :func:`revolve_actions` on the Checkmate logical clock.

    The clock counts stages of the forward-then-backward meta-chain of ``2*steps`` nodes:
    advancing to state ``i`` sets ``clock = max(clock, i)``; the reverse step of state ``i``
    (``FIRSTURN``/``YOUTURN``) happens at ``clock = 2*steps - 1 - i`` (the gradient of meta
    node ``i``). A ``TAKESHOT`` closes the slot's previous range at the current clock and opens
    a new one at ``clock + 1``; ``TERMINATE`` closes every open range at the final clock.

    Returns
    -------
    list[LiveRange]
        In the order the ranges close.

    Examples
    --------
    >>> [(r.state, r.start, r.end) for r in revolve_live_ranges(4, 2)]
    [(0, 1, 7), (2, 3, 7)]
    """
    clock = 0
    open_: dict[int, tuple[int, int]] = {}
    out: list[LiveRange] = []
    for act in revolve_actions(steps, snaps):
        if act.kind is ActionKind.ADVANCE:
            clock = max(clock, act.state)
        elif act.kind is ActionKind.TAKESHOT:
            if act.slot in open_:
                state, start = open_.pop(act.slot)
                out.append(LiveRange(act.slot, state, start, clock))
            open_[act.slot] = (act.state, clock + 1)
        elif act.kind in (ActionKind.FIRSTURN, ActionKind.YOUTURN):
            clock = 2 * steps - 1 - act.state
        elif act.kind is ActionKind.TERMINATE:
            for slot in sorted(open_):
                state, start = open_[slot]
                out.append(LiveRange(slot, state, start, clock))
            open_.clear()
    return out
