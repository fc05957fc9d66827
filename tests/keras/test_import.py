"""Keras 3 import: the spec's worked example, model structures, clear errors, measured costs."""

from __future__ import annotations

import pytest

keras = pytest.importorskip("keras")

from checkmate_opt.costs.measured import MeasuredCostModel  # noqa: E402
from checkmate_opt.errors import UnsupportedModelError  # noqa: E402
from checkmate_opt.importers.keras import extract_layers, graph_from_keras  # noqa: E402
from checkmate_opt.zoo.synthetic import make_test_model  # noqa: E402
from keras import layers  # noqa: E402

pytestmark = pytest.mark.keras

B = 3


@pytest.fixture(scope="module")
def testnet():
    return make_test_model()


def test_test_net_matches_the_spec_worked_example(testnet):
    g = graph_from_keras(testnet, batch_size=B)
    # spec §2.2: layers 0..5, loss 6, bwd(i) = 12 - i
    assert g.args == (
        (),
        (0,),
        (0,),
        (1, 2),
        (3,),
        (4,),
        (5,),
        (6, 5),
        (4, 5, 7),
        (3, 4, 8),
        (2, 3, 9),
        (1, 3, 9),
        (0, 1, 2, 11, 10),
    )
    assert len(g.edges) == 26
    assert g.articulation_points == (0, 3, 4, 5)
    assert g.loss == 6
    assert g.forward_to_backward == {i: 12 - i for i in range(6)}
    assert g.names[:7] == ("in_conv", "conv1", "conv2", "add", "flatten", "predictions", "Loss")


def test_test_net_memory_and_parameters_by_hand(testnet):
    g = graph_from_keras(testnet, batch_size=B)
    conv_out = B * 222 * 222 * 64 * 4  # 3x3 valid conv on 224x224
    branch = B * 222 * 222 * 128 * 4
    fwd = [conv_out, branch, branch, branch, B * 128 * 4, B * 1000 * 4]
    assert list(g.memory_cost[:6]) == fwd
    assert g.memory_cost[6] == 4 * B  # one float per example
    assert list(g.memory_cost[7:]) == fwd[::-1]  # gradients mirror their layer
    params = (27 * 64 + 64) + 2 * (64 * 128 + 128) + (128 * 1000 + 1000)
    assert g.parameter_bytes == 4 * params
    assert g.fixed_memory == 8 * params


def test_test_net_flop_costs_by_hand(testnet):
    g = graph_from_keras(testnet, batch_size=B)
    conv = 27 * B * 222 * 222 * 64
    one_by_one = 64 * B * 222 * 222 * 128
    add = 2 * B * 222 * 222 * 128
    dense = B * 128 * 1000
    pool = B * 222 * 222 * 128 + B * 128  # global pooling: the elements it reads and writes
    fwd = [conv, one_by_one, one_by_one, add, pool, dense]
    assert list(g.compute_cost[:6]) == fwd
    assert g.compute_cost[6] == 0
    assert list(g.compute_cost[7:]) == [2 * c for c in fwd[::-1]]


def test_options_override_loss_and_name(testnet):
    g = graph_from_keras(testnet, batch_size=2, loss_memory=7, loss_compute=9, name="x")
    assert g.memory_cost[g.loss] == 7
    assert g.compute_cost[g.loss] == 9
    assert g.name == "x"


def test_sequential_model():
    model = keras.Sequential(
        [keras.Input((10,)), layers.Dense(8, name="a"), layers.Dense(4, name="b")]
    )
    g = graph_from_keras(model, batch_size=5)
    assert g.names[:2] == ("a", "b")
    assert g.n == 5
    assert g.memory_cost[:2] == (5 * 8 * 4, 5 * 4 * 4)
    assert g.parameter_bytes == 4 * (10 * 8 + 8 + 8 * 4 + 4)


def test_unbuilt_sequential_is_rejected():
    model = keras.Sequential([layers.Dense(3)])
    with pytest.raises(UnsupportedModelError, match="input shape"):
        graph_from_keras(model, batch_size=1)


def test_several_inputs_are_all_dropped():
    a, b = keras.Input((6,), name="in_a"), keras.Input((4,), name="in_b")
    x = layers.Dense(3, name="da")(a)
    y = layers.Dense(3, name="db")(b)
    z = layers.Add(name="sum")([x, y])
    g = graph_from_keras(keras.Model([a, b], z), batch_size=2)
    layers_, deps = extract_layers(keras.Model([a, b], z), batch_size=2)
    assert [i.name for i in layers_] == ["da", "db", "sum"]
    assert deps == [[], [], [0, 1]]
    assert g.n == 7
    assert g.args[2] == (0, 1)


def test_shared_layer_is_one_node_per_call():
    inp = keras.Input((5,))
    shared = layers.Dense(5, name="shared")
    h = shared(inp)
    h = layers.ReLU(name="act")(h)
    out = shared(h)
    model = keras.Model(inp, out)
    g = graph_from_keras(model, batch_size=2)
    assert g.names[:3] == ("shared", "act", "shared_call1")
    assert g.args[:3] == ((), (0,), (1,))
    assert g.parameter_bytes == 4 * (25 + 5)  # the weights count once


def test_nested_model_is_flattened():
    i = keras.Input((8,))
    inner = keras.Model(
        i, layers.Dense(6, name="inner_dense")(layers.ReLU(name="r")(i)), name="enc"
    )
    x = keras.Input((8,))
    h = layers.Dense(8, name="pre")(x)
    y = layers.Dense(2, name="post")(inner(h))
    g = graph_from_keras(keras.Model(x, y), batch_size=1)
    assert g.names[:4] == ("pre", "enc/r", "enc/inner_dense", "post")
    assert g.args[:4] == ((), (0,), (1,), (2,))
    assert g.parameter_bytes == 4 * ((8 * 8 + 8) + (8 * 6 + 6) + (6 * 2 + 2))


def test_several_outputs_are_rejected():
    inp = keras.Input((4,))
    model = keras.Model(inp, [layers.Dense(2)(inp), layers.Dense(3)(inp)], name="two_heads")
    with pytest.raises(UnsupportedModelError, match="'two_heads' has 2 outputs"):
        graph_from_keras(model, batch_size=1)


def test_unsupported_layer_names_the_layer():
    inp = keras.Input((7, 5, 3))
    out = layers.ConvLSTM1D(4, 3, name="my_lstm")(inp)
    with pytest.raises(
        UnsupportedModelError, match=r"'my_lstm' \(class ConvLSTM1D\) has no FLOP hook"
    ):
        graph_from_keras(keras.Model(inp, out), batch_size=1)


def test_unknown_spatial_dimensions_are_rejected():
    inp = keras.Input((None, None, 3))
    out = layers.Conv2D(2, 3, name="fconv")(inp)
    with pytest.raises(UnsupportedModelError, match=r"'fconv'.*fixed input_shape"):
        graph_from_keras(keras.Model(inp, out), batch_size=1)


def test_subclassed_model_is_rejected():
    class Net(keras.Model):
        def __init__(self):
            super().__init__()
            self.d = layers.Dense(2)

        def call(self, x):
            return self.d(x)

    with pytest.raises(UnsupportedModelError, match="subclassed"):
        graph_from_keras(Net(), batch_size=1)


def test_bad_batch_size():
    with pytest.raises(ValueError, match="batch_size"):
        extract_layers(make_test_model((8, 8, 3)), batch_size=0)


def test_roofline_costs_are_positive_integers(testnet):
    g = graph_from_keras(testnet, batch_size=8, cost_model="p32xlarge")
    assert all(isinstance(c, int) and c >= 1 for c in g.compute_cost)
    g16 = graph_from_keras(testnet, batch_size=8, cost_model="p32xlarge_fp16")
    assert g16.total_compute <= g.total_compute


def test_measured_profile_cache_round_trip(tmp_path):
    model = make_test_model((10, 10, 3))
    cm = MeasuredCostModel(batch_sizes=(1, 2), warmup=1, repeats=2, cache_dir=tmp_path)
    g1 = graph_from_keras(model, batch_size=2, cost_model=cm)
    assert not cm.last_from_cache
    assert cm.last_cache_path.is_file()
    assert all(isinstance(c, int) and c >= 0 for c in g1.compute_cost)
    assert g1.compute_cost[0] > 0  # a real convolution takes measurable time
    cm2 = MeasuredCostModel(batch_sizes=(1, 2), warmup=1, repeats=2, cache_dir=tmp_path)
    g2 = graph_from_keras(model, batch_size=2, cost_model=cm2)
    assert cm2.last_from_cache
    assert g2.compute_cost == g1.compute_cost
    # an unprofiled batch size is extrapolated from the fitted lines, from the same cache
    g8 = graph_from_keras(model, batch_size=8, cost_model=cm2)
    assert cm2.last_from_cache
    assert g8.n == g1.n
