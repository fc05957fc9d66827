"""Cost models without TensorFlow: FLOP hooks by hand, roofline properties, platforms, fitting.

These tests need no Keras (the cost models read plain layer descriptions).
"""

from __future__ import annotations

import math

import pytest

from checkmate_opt.costs import COST_MODELS, LayerInfo, get_cost_model, platform_memory
from checkmate_opt.costs.flops import FlopsCostModel, forward_ops
from checkmate_opt.costs.measured import fit_linear
from checkmate_opt.costs.roofline import HARDWARE, RooflineCostModel
from checkmate_opt.errors import UnsupportedModelError


def conv(batch: int = 2, hw: int = 6, c_in: int = 3, filters: int = 64, k: int = 3) -> LayerInfo:
    return LayerInfo(
        "c",
        "Conv2D",
        {"kernel_size": (k, k), "filters": filters, "use_bias": True, "activation": "relu"},
        ((batch, hw + k - 1, hw + k - 1, c_in),),
        ((batch, hw, hw, filters),),
        parameter_count=k * k * c_in * filters + filters,
    )


def test_conv2d_hook_counts_kernel_times_cin_per_output_element():
    assert forward_ops(conv()) == 3 * 3 * 3 * (2 * 6 * 6 * 64)


def test_grouped_conv_divides_input_channels():
    info = LayerInfo(
        "g", "Conv2D", {"kernel_size": (1, 1), "groups": 4}, ((1, 4, 4, 8),), ((1, 4, 4, 8),)
    )
    assert forward_ops(info) == 1 * (8 // 4) * (4 * 4 * 8)


@pytest.mark.parametrize(
    ("info", "expected"),
    [
        (LayerInfo("d", "Dense", {"units": 5}, ((2, 10),), ((2, 5),)), 2 * 10 * 5),
        (
            LayerInfo(
                "dw", "DepthwiseConv2D", {"kernel_size": (3, 3)}, ((1, 8, 8, 4),), ((1, 6, 6, 4),)
            ),
            9 * 6 * 6 * 4,
        ),
        (
            LayerInfo(
                "t", "Conv2DTranspose", {"kernel_size": (4, 4)}, ((1, 3, 3, 5),), ((1, 8, 8, 7),)
            ),
            5 * 8 * 8 * 7,
        ),
        (
            LayerInfo("bn", "BatchNormalization", {}, ((2, 3, 3, 4),), ((2, 3, 3, 4),)),
            4 * 2 * 3 * 3 * 4,
        ),
        (LayerInfo("r", "ReLU", {}, ((2, 7),), ((2, 7),)), 14),
        (LayerInfo("a", "Add", {}, ((2, 3),) * 3, ((2, 3),)), 18),
        (
            LayerInfo(
                "u", "UpSampling2D", {"interpolation": "nearest"}, ((1, 2, 2, 3),), ((1, 4, 4, 3),)
            ),
            48,
        ),
        (
            LayerInfo(
                "u", "UpSampling2D", {"interpolation": "bilinear"}, ((1, 2, 2, 3),), ((1, 4, 4, 3),)
            ),
            5 * 48,
        ),
        (
            LayerInfo(
                "s",
                "SeparableConv2D",
                {"kernel_size": (3, 3), "filters": 16, "depth_multiplier": 1},
                ((1, 6, 6, 8),),
                ((1, 4, 4, 16),),
            ),
            9 * 8 * 16 + 8 * (4 * 4 * 16),
        ),
        # data movers cost the elements they read and write
        (LayerInfo("p", "MaxPooling2D", {}, ((1, 4, 4, 3),), ((1, 2, 2, 3),)), 48 + 12),
        (LayerInfo("z", "ZeroPadding2D", {}, ((1, 4, 4, 3),), ((1, 6, 6, 3),)), 48 + 108),
    ],
)
def test_hooks_by_hand(info, expected):
    assert forward_ops(info) == expected


def test_flops_backward_is_twice_forward_and_loss_free():
    model = FlopsCostModel()
    f, b = model.layer_cost(conv())
    assert b == 2 * f
    costs = model.graph_costs([conv(), conv()])
    assert costs.loss == 0
    assert costs.forward == (f, f)


def test_unknown_layer_class_names_the_layer():
    info = LayerInfo("my_lstm", "ConvLSTM2D", {}, ((1, 4, 3),), ((1, 8),))
    with pytest.raises(UnsupportedModelError, match=r"my_lstm.*ConvLSTM2D.*no FLOP hook"):
        forward_ops(info)


def test_hook_with_missing_config_is_a_clear_error():
    with pytest.raises(UnsupportedModelError, match=r"'d'.*Dense"):
        forward_ops(LayerInfo("d", "Dense", {}, ((2, 10),), ((2, 5),)))


@pytest.mark.parametrize("platform", sorted(HARDWARE))
def test_roofline_grows_with_batch(platform):
    model = RooflineCostModel(platform)
    prev = (0, 0)
    for batch in (1, 4, 16, 64, 256):
        f, b = model.layer_cost(conv(batch=batch, hw=32, c_in=64))
        assert f >= prev[0]
        assert b >= prev[1]
        assert f >= 1
        assert b >= f
        prev = (f, b)
    assert prev[0] > model.layer_cost(conv(batch=1, hw=32, c_in=64))[0]


def test_roofline_compute_bound_conv_by_hand():
    hw = HARDWARE["p32xlarge"]
    info = conv(batch=256, hw=56, c_in=256, filters=256)
    flops = 2 * 3 * 3 * 256 * (256 * 56 * 56 * 256)
    nbytes = 4 * (info.input_elements + info.output_elements + info.parameter_count)
    assert flops / hw.peak_flops > nbytes / hw.bandwidth  # compute bound
    expected = round((flops / hw.peak_flops + 3 * hw.kernel_overhead_s) * 1e6)
    assert RooflineCostModel("p32xlarge").layer_cost(info)[0] == expected


def test_roofline_platform_order():
    info = conv(batch=64, hw=56, c_in=128, filters=128)
    v100 = RooflineCostModel("p32xlarge").layer_cost(info)[0]
    fp16 = RooflineCostModel("p32xlarge_fp16").layer_cost(info)[0]
    k80 = RooflineCostModel("p2xlarge").layer_cost(info)[0]
    assert fp16 < v100 < k80


def test_roofline_view_layers_cost_one_kernel():
    info = LayerInfo("f", "Flatten", {}, ((8, 7, 7, 512),), ((8, 25088),))
    model = RooflineCostModel("p32xlarge")
    assert model.layer_cost(info) == (5, 5)  # 5 us kernel overhead, no traffic


def test_platform_memory_follows_the_spec():
    assert platform_memory("p32xlarge") == 16 * 10**9
    assert platform_memory("p32xlarge_fp16") == 16 * 10**9
    assert platform_memory("p2xlarge") == 12 * 10**9
    assert platform_memory("flops") == 12 * 10**9
    with pytest.raises(ValueError, match="p32xlarge"):
        platform_memory("p3xlarge")


def test_registry():
    for name in COST_MODELS:
        if name != "measured":
            assert get_cost_model(name).name == name
    model = FlopsCostModel()
    assert get_cost_model(model) is model
    with pytest.raises(ValueError, match="did you mean p2xlarge"):
        get_cost_model("p2xlarg")


def test_fit_linear_recovers_a_line_and_clamps():
    slope, intercept = fit_linear([1, 2, 4], [13.0, 16.0, 22.0])
    assert math.isclose(slope, 3.0)
    assert math.isclose(intercept, 10.0)
    slope, intercept = fit_linear([1, 2, 4], [1.0, 5.0, 13.0])  # intercept -3 -> 0
    assert math.isclose(slope, 4.0)
    assert intercept == 0.0
    assert fit_linear([2], [10.0]) == (5.0, 0.0)


@pytest.mark.keras
def test_no_layer_is_free_under_flops_but_paper_hooks_keep_zeros():
    """Data-moving layers (pooling, dropout, reshapes) cost what they move, so the optimum
    never recomputes them for nothing; ``flops_paper`` keeps the paper's zeros."""
    import keras
    from checkmate_opt.importers.keras import graph_from_keras

    inp = keras.Input((8, 8, 3))
    x = keras.layers.Conv2D(4, 3, padding="same")(inp)
    x = keras.layers.MaxPooling2D()(x)
    x = keras.layers.Dropout(0.1)(x)
    x = keras.layers.GlobalAveragePooling2D()(x)
    out = keras.layers.Dense(2)(x)
    model = keras.Model(inp, out)
    g = graph_from_keras(model, batch_size=2, cost_model="flops")
    paper = graph_from_keras(model, batch_size=2, cost_model="flops_paper")
    for name in ("max_pooling2d", "dropout", "global_average_pooling2d"):
        v = next(i for i, n in enumerate(g.names) if n.startswith(name))
        assert g.compute_cost[v] > 0, name
        assert paper.compute_cost[v] == 0, name
