"""The model zoo: every name of spec §8 builds offline and imports into a valid training graph."""

from __future__ import annotations

import pytest

from checkmate_opt import zoo

SPEC_NAMES = [
    "InceptionV3",
    "VGG16",
    "VGG19",
    "ResNet50",
    "Xception",
    "MobileNet",
    "MobileNetV2",
    "DenseNet121",
    "DenseNet169",
    "DenseNet201",
    "NASNetMobile",
    "NASNetLarge",
    "ResNet101",
    "ResNet152",
    "ResNet50V2",
    "ResNet101V2",
    "ResNet152V2",
    "fcn_8",
    "fcn_32",
    "fcn_8_vgg",
    "fcn_32_vgg",
    "fcn_8_resnet50",
    "fcn_32_resnet50",
    "fcn_8_mobilenet",
    "fcn_32_mobilenet",
    "segnet",
    "vgg_segnet",
    "resnet50_segnet",
    "mobilenet_segnet",
    "unet",
    "vgg_unet",
    "resnet50_unet",
    "mobilenet_unet",
    "unet_mini",
    "pspnet",
    "vgg_pspnet",
    "resnet50_pspnet",
    "pspnet_50",
    "pspnet_101",
    "test",
    *(f"linear{i}" for i in range(32)),
]

# cheap to build (a few seconds each on 2 cores); the rest run with --runslow
QUICK = [
    "test",
    "linear3",
    "MobileNet",
    "ResNet50",
    "segnet",
    "unet",
    "mobilenet_unet",
    "unet_mini",
    "pspnet",
]


def test_names_cover_the_spec_without_keras():
    assert sorted(zoo.names()) == sorted(SPEC_NAMES)
    assert len(zoo.names()) == len(set(zoo.names())) == 72
    assert zoo.family("vgg16") == "application"  # case-insensitive
    assert zoo.family("vgg_unet") == "segmentation"
    assert zoo.default_input_shape("pspnet_50") == (473, 473, 3)
    assert zoo.default_input_shape("NASNetLarge") == (331, 331, 3)


def test_unknown_name_lists_close_matches():
    with pytest.raises(ValueError, match="did you mean vgg_unet"):
        zoo.load("vgg_unte")
    with pytest.raises(ValueError, match="ResNet50"):
        zoo.build_keras_model("resnet_50")


def check_training_graph(g, batch):
    L = len(g.forward_nodes)
    assert g.is_training_graph
    assert g.n == 2 * L + 1
    assert len(g.edges) == 3 * len(g.forward_edges) + L + 2  # spec §2.2 edge count
    assert all(m > 0 for m in g.memory_cost)
    assert all(isinstance(c, int) and c >= 0 for c in g.compute_cost)
    assert g.memory_cost[g.loss] == 4 * batch
    assert g.parameter_bytes > 0


@pytest.mark.keras
@pytest.mark.parametrize("name", QUICK)
def test_quick_models_import(name):
    pytest.importorskip("keras")
    check_training_graph(zoo.load(name, batch_size=2), 2)


@pytest.mark.keras
@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(set(SPEC_NAMES) - set(QUICK)))
def test_every_model_imports(name):
    pytest.importorskip("keras")
    for platform in ("flops", "p32xlarge"):
        check_training_graph(zoo.load(name, batch_size=2, platform=platform), 2)


@pytest.mark.keras
def test_linear_family_is_a_chain_by_hand():
    pytest.importorskip("keras")
    n_conv, batch = 3, 2
    g = zoo.load(f"linear{n_conv}", batch_size=batch)
    L = n_conv + 2
    assert len(g.forward_nodes) == L
    assert len(g.edges) == 4 * L - 1
    assert g.articulation_points == tuple(range(L))
    # valid 3x3 convolutions shrink 224 by 2 each; then GAP (64 floats) and Dense(1000)
    expected = [batch * (222 - 2 * i) ** 2 * 64 * 4 for i in range(n_conv)]
    assert list(g.memory_cost[:L]) == [*expected, batch * 64 * 4, batch * 1000 * 4]
    assert g.parameter_bytes == 4 * (27 * 64 + 2 * 9 * 64 * 64 + 64 * 1000 + 1000)


@pytest.mark.keras
def test_input_shape_and_platform_options():
    pytest.importorskip("keras")
    g = zoo.load("segnet", batch_size=1, input_shape=(64, 96, 3), platform="p2xlarge")
    # the head reshapes the 1/2-resolution map: 32 * 48 pixels x 19 classes
    assert g.memory_cost[g.loss - 1] == 32 * 48 * 19 * 4
    assert all(c >= 1 for c in g.compute_cost[: g.loss])
    with pytest.raises(ValueError, match="multiples of 192"):
        zoo.load("pspnet", input_shape=(100, 100, 3))


@pytest.mark.keras
def test_describe():
    pytest.importorskip("keras")
    row = zoo.describe("test", batch_size=2)
    assert row["layers"] == 6
    assert row["nodes"] == 13
    assert row["edges"] == 26
    assert row["parameters"] == (27 * 64 + 64) + 2 * (64 * 128 + 128) + 128 * 1000 + 1000
    assert row["family"] == "synthetic"
    assert row["input_shape"] == (224, 224, 3)
