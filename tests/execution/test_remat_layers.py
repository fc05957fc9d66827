"""The Keras-native path: remat_layers picks a RematScope list and simulates exactly that list."""

from __future__ import annotations

import numpy as np
import pytest

keras = pytest.importorskip("keras")

import checkmate_opt as cm  # noqa: E402
from checkmate_opt.execution.keras_remat import (  # noqa: E402
    _unlistable,
    effective_dropped,
    listed_schedule,
    remat_layers,
)
from checkmate_opt.generators import linear_graph  # noqa: E402
from checkmate_opt.importers.keras import extract_layers, graph_from_keras  # noqa: E402
from keras import layers  # noqa: E402

pytestmark = pytest.mark.keras

B = 4


def _chain(bn: bool = False, blocks: int = 3):
    """A stem conv, then residual blocks ``x + relu(conv(x))`` (BatchNorm in block 1)."""
    keras.utils.set_random_seed(0)
    inp = keras.Input((8, 8, 3))
    x = layers.Conv2D(8, 3, padding="same", activation="relu", name="stem")(inp)
    for i in range(blocks):
        y = layers.Conv2D(8, 3, padding="same", activation="relu", name=f"c{i}")(x)
        if bn and i == 1:
            y = layers.BatchNormalization(name="bn")(y)
        x = layers.Add(name=f"add{i}")([x, y])
    x = layers.GlobalAveragePooling2D(name="gap")(x)
    x = layers.Dense(3, name="head")(x)
    return keras.Model(inp, x, name="residual")


def _batch(model):
    rng = np.random.default_rng(0)
    x = rng.standard_normal((B, 8, 8, 3)).astype("float32")
    y = rng.standard_normal((B, 3)).astype("float32")
    return x, y


def test_listed_schedule_drops_and_recomputes_exactly_the_listed_nodes():
    g = linear_graph(6)  # forward 0..5, loss 6, bwd(i) = 12 - i
    plain = cm.simulate(g, listed_schedule(g, set()))
    sched = listed_schedule(g, {2})
    rep = cm.simulate(g, sched)
    counts = sched.compute_counts()
    assert counts[2] == 2
    assert all(counts[v] == 1 for v in range(g.n) if v != 2)
    assert sched.R[g.n - 1 - 2, 2]  # recomputed at its gradient's stage
    assert plain.compute_cost == g.total_compute
    assert rep.compute_cost == g.total_compute + g.compute_cost[2]
    assert rep.peak_activation_memory <= plain.peak_activation_memory
    with pytest.raises(ValueError, match="not forward nodes"):
        listed_schedule(g, {g.loss})


def test_effective_dropped_keeps_a_listed_layer_feeding_a_listed_layer():
    g = linear_graph(6)
    assert effective_dropped(g, {1, 2, 4}) == (2, 4)  # 2 keeps 1's output for its recompute


@pytest.mark.parametrize("budget", ["0.9x", "0.8x"])
def test_remat_layers_reports_the_simulated_restricted_schedule(budget):
    model = _chain()
    r = remat_layers(model, budget=budget, batch_size=B)
    g = graph_from_keras(model, batch_size=B)
    assert r.graph.memory_cost == g.memory_cost
    rep = cm.simulate(g, listed_schedule(g, set(r.dropped)))
    assert rep.peak_activation_memory == r.peak_activation_memory
    assert rep.compute_cost == r.compute_cost
    assert r.within_budget == (rep.peak_activation_memory <= r.budget)
    infos, _ = extract_layers(model, batch_size=B)
    assert r.layer_names == tuple(infos[v].layer.name for v in r.dropped)
    # no listed layer feeds another listed layer (that output would be kept anyway)
    assert effective_dropped(g, r.dropped) == r.dropped
    assert r.layer_names  # this budget needs recomputation
    assert r.within_budget  # and the listable convs before the Adds are enough here
    assert r.compute_cost > g.total_compute
    # never more savings than the unrestricted schedule's, never an over-budget claim
    assert r.peak_activation_memory >= cm.simulate(g, r.full.unwrap()).peak_activation_memory
    assert ("within budget: True" in r.summary()) == r.within_budget


def test_unlistable_layers_say_why():
    inp = keras.Input((6, 4))
    x = layers.BatchNormalization(name="bn")(inp)
    x = layers.Dense(4, name="dense")(x)
    x = layers.MultiHeadAttention(2, 2, name="mha")(x, x, use_causal_mask=True)
    x = layers.Conv1D(4, 3, padding="same", name="conv")(x)
    x = x * 2.0
    infos, _ = extract_layers(keras.Model(inp, x), batch_size=B)
    why = {i.name: _unlistable(i, 1, keras) for i in infos}
    assert "training=..." in why["bn"]
    assert "custom_gradient" in why["bn"]
    assert "training=..." in why["dense"]
    assert "use_causal_mask=..." in why["mha"]
    assert why["conv"] is None
    op = next(i for i in infos if i.class_name == "ops.Multiply")  # auto-named: multiply_<k>
    assert "keras.ops call" in why[op.name]
    assert "shared layer called 2 times" in _unlistable(infos[3], 2, keras)


@pytest.mark.parametrize("budget", ["0.9x", "0.6x", "0.3x"])
def test_keyword_layers_are_never_listed_and_over_budget_says_why(budget):
    r = remat_layers(_chain(bn=True), budget=budget, batch_size=B)
    assert "bn" not in r.layer_names
    assert "head" not in r.layer_names
    assert r.within_budget == (r.message == "")
    if not r.within_budget:
        assert "over budget" in r.summary()


def test_layers_whose_listing_frees_nothing_on_tensorflow_are_left_out():
    keras.utils.set_random_seed(0)
    inp = keras.Input((8, 8, 3))
    a = layers.Conv2D(8, 3, padding="same", activation="relu", name="a")(inp)
    b = layers.Conv2D(8, 3, padding="same", activation="relu", name="b")(a)  # conv reads a
    c = layers.Conv2D(8, 3, padding="same", name="c")(b)  # no activation: output not read
    d = layers.Add(name="d")([b, c])
    out = layers.Dense(2, name="head")(layers.GlobalAveragePooling2D(name="gap")(d))
    model = keras.Model(inp, out)
    r = remat_layers(model, budget="0.8x", batch_size=B)
    assert "a" not in r.layer_names
    assert "c" not in r.layer_names
    from checkmate_opt.execution.keras_remat import _no_gain

    infos, deps = extract_layers(model, batch_size=B)
    users = [[u for u in range(len(deps)) if v in deps[u]] for v in range(len(deps))]
    assert "'b' (Conv2D) reads its input" in _no_gain(infos, users, 0)
    assert "already frees its output" in _no_gain(infos, users, 2)
    assert "already frees its output" in _no_gain(infos, users, 3)  # Add -> GAP
    assert "'c' (Conv2D) reads its input" in _no_gain(infos, users, 1)  # b feeds c and d
    res, res_deps = extract_layers(_chain(), batch_size=B)
    res_users = [[u for u in range(len(res)) if v in res_deps[u]] for v in range(len(res))]
    assert _no_gain(res, res_users, 1) is None  # relu conv c0 feeding an Add: listing frees it


def test_listing_batchnorm_by_hand_fails_in_graph_mode_as_reported():
    # the reported failure, reproduced: this is why remat_layers never lists such layers
    with keras.RematScope(mode="list_of_layers", layer_names=["bn"]):
        model = _chain(bn=True)
    model.compile("sgd", "mse")
    with pytest.raises(ValueError, match="custom_gradient decorator currently supports keyword"):
        model.fit(*_batch(model), epochs=1, verbose=0)


def test_applied_list_trains_like_plain_keras():
    model = _chain(bn=True)
    r = remat_layers(model, budget="0.5x", batch_size=B)
    assert r.layer_names
    remat = r.apply(model)
    listed = [lay.name for lay in remat.layers if lay._remat_mode is not None]
    assert set(r.layer_names) <= set(listed)
    x, y = _batch(model)
    plain = keras.models.clone_model(model)
    plain.set_weights(model.get_weights())
    plain.compile(keras.optimizers.SGD(0.05), "mse")
    remat.compile(keras.optimizers.SGD(0.05), "mse")
    for _ in range(2):  # graph-mode fit steps, BN statistics included
        lp = plain.train_on_batch(x, y)
        lr = remat.train_on_batch(x, y)
        np.testing.assert_allclose(lr, lp, rtol=1e-5, atol=1e-6)
    for a, b in zip(remat.get_weights(), plain.get_weights(), strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-6)
