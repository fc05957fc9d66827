"""The scheduled step against a plain GradientTape step, for every strategy and model."""

from __future__ import annotations

import collections

import numpy as np
import pytest

pytest.importorskip("tensorflow")
pytest.importorskip("keras")

import tensorflow as tf
from exec_helpers import (
    MODEL_NAMES,
    STRATEGY_NAMES,
    build,
    data,
    restore,
    snapshot,
    solved,
)

import checkmate_opt as cm
import keras
from checkmate_opt.execution import plain_step, train_step

pytestmark = pytest.mark.keras


def _compare(name: str, strategy: str, loss: str = "mse") -> None:
    result = solved(name, strategy)
    assert result.schedule is not None, result.message
    model = build(name)
    x, y = data(model)
    before = snapshot(model)
    ref = plain_step(model, loss, None)
    ref_loss, _ = ref(x, y)
    after_plain = [v.numpy() for v in model.non_trainable_variables]
    restore(model, before)
    step = train_step(model, loss, None, result, apply_gradients=False)
    got_loss, _ = step(x, y)
    np.testing.assert_allclose(float(got_loss), float(ref_loss), rtol=1e-6, atol=1e-7)
    grads = step.last_gradients
    assert grads is not None
    for var, a, b in zip(model.trainable_variables, grads, ref.last_gradients, strict=True):
        np.testing.assert_allclose(
            np.asarray(a), np.asarray(b), rtol=1e-4, atol=1e-6, err_msg=f"{name}/{var.path}"
        )
    # batch-norm statistics and seed states advanced exactly as in one plain step
    for var, want in zip(model.non_trainable_variables, after_plain, strict=True):
        np.testing.assert_allclose(var.numpy(), want, rtol=1e-6, atol=1e-7, err_msg=var.path)
    # what ran is the schedule: each node evaluated as often as R says
    np.testing.assert_array_equal(step.stats.computes, result.schedule.compute_counts())


@pytest.mark.parametrize("strategy", STRATEGY_NAMES)
@pytest.mark.parametrize("name", MODEL_NAMES)
def test_gradients_equal_plain_tape(name: str, strategy: str) -> None:
    _compare(name, strategy)


def test_softmax_crossentropy_gradients() -> None:
    # Keras computes the cross-entropy of a softmax output from its logits
    _compare("vgg", "griewank", loss="categorical_crossentropy")
    _compare("test", "checkpoint_last_node", loss="categorical_crossentropy")


def test_schedules_recompute_something() -> None:
    # the equality above is not vacuous: some schedules do recompute forward values
    for name in MODEL_NAMES:
        counts = [
            solved(name, s).schedule.compute_counts()[: graph_layers(name)]  # type: ignore[union-attr]
            for s in ("checkpoint_last_node", "griewank")
        ]
        assert any((c > 1).any() for c in counts), name


def graph_layers(name: str) -> int:
    from exec_helpers import graph

    return graph(name).loss


def test_dropout_mask_replayed_on_recompute() -> None:
    result = solved("vgg", "checkpoint_last_node")
    g = __import__("exec_helpers").graph("vgg")
    drop = g.names.index("dropout")
    assert result.schedule.compute_counts()[drop] > 1  # type: ignore[union-attr]
    _compare("vgg", "checkpoint_last_node")


def test_layer_calls_are_the_schedule_plus_counted_reruns(monkeypatch: pytest.MonkeyPatch) -> None:
    name = "residual"
    result = solved(name, "checkpoint_last_node")
    model = build(name)
    x, y = data(model)
    calls: collections.Counter[int] = collections.Counter()
    for cls in {type(layer) for layer in model.layers}:
        orig = cls.call

        def call(self, *args, __orig=orig, **kwargs):  # type: ignore[no-untyped-def]
            calls[id(self)] += 1
            return __orig(self, *args, **kwargs)

        monkeypatch.setattr(cls, "call", call)
    step = train_step(model, "mse", None, result, apply_gradients=False)
    step(x, y)
    L = len(step.units)
    for u, unit in enumerate(step.units):
        expected = step.stats.computes[u] + step.stats.vjp_reruns[u] + step.stats.implied[u]
        assert calls[id(unit.op)] == expected, unit.name
        assert step.stats.computes[u] == result.schedule.compute_counts()[u]  # type: ignore[union-attr]
    # a gradient node runs one VJP per consumer: re-runs follow from the schedule alone
    counts = result.schedule.compute_counts()  # type: ignore[union-attr]
    bwd = step.graph.forward_to_backward
    for i, unit in enumerate(step.units):
        if unit.producers:
            assert step.stats.vjp_reruns[i] == sum(counts[bwd[j]] for j in unit.producers)
    assert step.graph.loss == L


def test_graph_mode_is_refused() -> None:
    model = build("chain")
    x, y = data(model)
    step = train_step(model, "mse", None, solved("chain", "checkpoint_all"))

    @tf.function
    def traced(a, b):  # type: ignore[no-untyped-def]
        return step(a, b).loss

    with pytest.raises(RuntimeError, match="run_eagerly"):
        traced(x, y)


def test_training_matches_plain_for_steps() -> None:
    a, b = build("vgg"), build("vgg")
    x, y = data(a)
    sa = train_step(a, "mse", keras.optimizers.SGD(0.5), solved("vgg", "optimal"))
    sb = plain_step(b, "mse", keras.optimizers.SGD(0.5))
    losses = [(float(sa(x, y).loss), float(sb(x, y).loss)) for _ in range(3)]
    np.testing.assert_allclose(*zip(*losses, strict=True), rtol=1e-5)
    assert losses[-1][0] < losses[0][0]


def test_regularizer_rejected_naming_layer() -> None:
    inp = keras.Input((4,))
    out = keras.layers.Dense(2, kernel_regularizer="l2", name="reg_dense")(inp)
    model = keras.Model(inp, out)
    from checkmate_opt.importers.keras import graph_from_keras

    g = graph_from_keras(model, batch_size=2)
    with pytest.raises(cm.UnsupportedModelError, match="reg_dense"):
        train_step(model, "mse", None, cm.solve(g, None, strategy="checkpoint_all"))


def test_schedule_of_another_graph_rejected() -> None:
    model = build("chain")
    other = cm.solve(cm.linear_graph(3), None, strategy="checkpoint_all")
    with pytest.raises(cm.ScheduleError, match="training graph"):
        train_step(model, "mse", None, other)


def test_reordered_schedule_rejected() -> None:
    import dataclasses

    model = build("chain")
    res = solved("chain", "checkpoint_all")
    order = list(range(res.unwrap().n))
    order[0], order[1] = order[1], order[0]
    moved = dataclasses.replace(res, params={**res.params, "order": order})
    with pytest.raises(cm.ScheduleError, match="changes the execution order"):
        train_step(model, "mse", None, moved)


def test_subclassed_model_rejected() -> None:
    class Sub(keras.Model):
        def __init__(self) -> None:
            super().__init__()
            self.d = keras.layers.Dense(2)

        def call(self, x):  # type: ignore[no-untyped-def]
            return self.d(x)

    model = Sub()
    model(np.zeros((1, 3), "float32"))
    schedule = cm.solve(cm.linear_graph(1), None, strategy="checkpoint_all")
    with pytest.raises(cm.UnsupportedModelError, match="subclassed"):
        train_step(model, "mse", None, schedule)


def test_memory_tracking_follows_the_simulator() -> None:
    name = "unet"
    result = solved(name, "griewank")
    model = build(name)
    x, y = data(model)
    step = train_step(model, "mse", None, result, keep_predictions=False, track_memory=True)
    step(x, y)
    report = result.report
    assert report is not None
    # identical tensors (an Add passes one gradient to both inputs) are counted once; the
    # loss (4 bytes) is held after its node is freed, to be returned
    assert step.stats.peak_live_bytes <= report.peak_activation_memory + 4
    assert step.stats.peak_live_bytes >= 0.5 * report.peak_activation_memory


def _executed(optimize: bool) -> list[str]:
    """Names of the matmuls TensorFlow executes for ``first * recompute`` in graph mode."""
    tf1 = tf.compat.v1
    g = tf.Graph()
    with g.as_default():
        x = tf1.placeholder(tf.float32, [4, 4])
        w = tf.ones([4, 4])
        out = tf.matmul(x, w, name="first") * tf.matmul(x, w, name="recompute")
    cfg = tf1.ConfigProto()
    if not optimize:
        cfg.graph_options.rewrite_options.disable_meta_optimizer = True
        cfg.graph_options.optimizer_options.opt_level = tf1.OptimizerOptions.L0
        cfg.graph_options.optimizer_options.do_common_subexpression_elimination = False
    meta = tf1.RunMetadata()
    with tf1.Session(graph=g, config=cfg) as sess:
        sess.run(
            out,
            {x: np.ones((4, 4), "float32")},
            options=tf1.RunOptions(trace_level=tf1.RunOptions.FULL_TRACE),
            run_metadata=meta,
        )
    return sorted(
        n.node_name
        for dev in meta.step_stats.dev_stats
        for n in dev.node_stats
        if n.node_name in {"first", "recompute"}
    )


def test_graph_mode_would_merge_a_recomputation() -> None:
    # why the step runs eagerly: TensorFlow's graph optimizations execute a recomputation
    # (the same op on the same inputs) once; eager execution runs what it is asked to
    assert _executed(optimize=True) == ["first"]
    assert _executed(optimize=False) == ["first", "recompute"]
