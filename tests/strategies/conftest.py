"""Fixtures shared by the strategy tests."""

from __future__ import annotations

import pytest

from checkmate_opt.graph import Graph, training_graph


@pytest.fixture
def test_net() -> Graph:
    """Spec §2.2 "test" net (in_conv -> {conv1, conv2} -> add -> GAP -> dense), unit costs."""
    return training_graph(
        [[], [0], [0], [1, 2], [3], [4]],
        [1] * 6,
        [1] * 6,
        loss_compute=1,
        loss_memory=1,
        backward_compute=[1] * 6,
    )
