"""The segmentation models of the paper's zoo (spec §8), written here in Keras 3.

They follow the architectures of the ``keras_segmentation`` fork the paper used
(``ajayjain/image-segmentation-keras`` 0.2.0remat: channels_last, 19 classes): encoders
(vanilla, VGG16, ResNet50, MobileNet) returning five feature levels ``f1..f5`` (1/2 .. 1/32),
decoders (FCN-8/32, SegNet, U-Net, PSPNet), and the common head ``Reshape(H*W, classes) ->
softmax``. Only layer types, shapes and parameter counts matter for rematerialization, so the
models are built without weights. Layers are created in the fork's order, so Keras numbers
them the same way and the imported graph matches the paper's files node by node.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from functools import cache
from typing import Any

__all__ = ["SEGMENTATION_MODELS", "build_segmentation_model"]

N_CLASSES = 19


def _k() -> tuple[Any, Any]:
    import keras
    from keras import layers

    return keras, layers


@cache
def _interp_class() -> type:
    """The PSPNet ``Interp`` layer: bilinear resize to a fixed spatial size."""
    keras, _ = _k()

    class Interp(keras.layers.Layer):  # type: ignore[name-defined]
        def __init__(self, new_size: tuple[int, int], **kwargs: Any) -> None:
            super().__init__(**kwargs)
            self.new_size = tuple(int(s) for s in new_size)

        def call(self, inputs: Any) -> Any:
            return keras.ops.image.resize(inputs, self.new_size, interpolation="bilinear")

        def compute_output_shape(self, input_shape: Any) -> Any:
            return (input_shape[0], *self.new_size, input_shape[-1])

        def get_config(self) -> dict[str, Any]:
            return {**super().get_config(), "new_size": self.new_size}

    return Interp


# ----------------------------------------------------------------------------- encoders
def vanilla_encoder(height: int, width: int) -> tuple[Any, list[Any]]:
    """Five blocks of [pad 1, conv 3x3 valid, BN, ReLU, max-pool 2] (64, 128, 256, 256, 256)."""
    keras, layers = _k()
    img = keras.Input(shape=(height, width, 3))
    x = img
    levels = []
    for filters in (64, 128, 256, 256, 256):
        x = layers.ZeroPadding2D((1, 1))(x)
        x = layers.Conv2D(filters, (3, 3), padding="valid")(x)
        x = layers.BatchNormalization()(x)
        x = layers.Activation("relu")(x)
        x = layers.MaxPooling2D((2, 2))(x)
        levels.append(x)
    return img, levels


def vgg_encoder(height: int, width: int) -> tuple[Any, list[Any]]:
    """The VGG16 convolutional blocks (Keras layer names), one level after each pool."""
    keras, layers = _k()
    img = keras.Input(shape=(height, width, 3))
    x = img
    levels = []
    for block, (filters, convs) in enumerate(
        ((64, 2), (128, 2), (256, 3), (512, 3), (512, 3)), start=1
    ):
        for c in range(1, convs + 1):
            x = layers.Conv2D(
                filters, (3, 3), activation="relu", padding="same", name=f"block{block}_conv{c}"
            )(x)
        x = layers.MaxPooling2D((2, 2), strides=(2, 2), name=f"block{block}_pool")(x)
        levels.append(x)
    return img, levels


def _one_side_pad(x: Any) -> Any:
    _, layers = _k()
    x = layers.ZeroPadding2D((1, 1))(x)
    return layers.Lambda(lambda t: t[:, :-1, :-1, :])(x)


def _resnet_block(
    x: Any, filters: tuple[int, int, int], stage: int, block: str, strides: tuple[int, int] | None
) -> Any:
    """Bottleneck block; ``strides`` given = projection shortcut (conv block)."""
    _, layers = _k()
    f1, f2, f3 = filters
    base = f"res{stage}{block}_branch"
    bn = f"bn{stage}{block}_branch"
    s = strides or (1, 1)
    y = layers.Conv2D(f1, (1, 1), strides=s, name=base + "2a")(x)
    y = layers.BatchNormalization(name=bn + "2a")(y)
    y = layers.Activation("relu")(y)
    y = layers.Conv2D(f2, (3, 3), padding="same", name=base + "2b")(y)
    y = layers.BatchNormalization(name=bn + "2b")(y)
    y = layers.Activation("relu")(y)
    y = layers.Conv2D(f3, (1, 1), name=base + "2c")(y)
    y = layers.BatchNormalization(name=bn + "2c")(y)
    shortcut = x
    if strides is not None:
        shortcut = layers.Conv2D(f3, (1, 1), strides=s, name=base + "1")(x)
        shortcut = layers.BatchNormalization(name=bn + "1")(shortcut)
    y = layers.Add()([y, shortcut])
    return layers.Activation("relu")(y)


def resnet50_encoder(height: int, width: int) -> tuple[Any, list[Any]]:
    """The fork's ResNet50 encoder (f1 after conv1, f2 one-side padded to 1/4)."""
    keras, layers = _k()
    img = keras.Input(shape=(height, width, 3))
    x = layers.ZeroPadding2D((3, 3))(img)
    x = layers.Conv2D(64, (7, 7), strides=(2, 2), name="conv1")(x)
    f1 = x
    x = layers.BatchNormalization(name="bn_conv1")(x)
    x = layers.Activation("relu")(x)
    x = layers.MaxPooling2D((3, 3), strides=(2, 2))(x)
    levels = [f1]
    for stage, (filters, blocks, stride) in enumerate(
        (
            ((64, 64, 256), 3, (1, 1)),
            ((128, 128, 512), 4, (2, 2)),
            ((256, 256, 1024), 6, (2, 2)),
            ((512, 512, 2048), 3, (2, 2)),
        ),
        start=2,
    ):
        for b in range(blocks):
            x = _resnet_block(x, filters, stage, "abcdef"[b], stride if b == 0 else None)
        levels.append(_one_side_pad(x) if stage == 2 else x)
    return img, levels


def mobilenet_encoder(height: int, width: int) -> tuple[Any, list[Any]]:
    """The fork's MobileNet v1 encoder (alpha 1, ReLU6, explicit padding)."""
    keras, layers = _k()
    if height % 32 or width % 32:
        raise ValueError(
            f"the MobileNet encoder needs H and W multiples of 32, got {height}x{width}"
        )
    img = keras.Input(shape=(height, width, 3))
    x = layers.ZeroPadding2D((1, 1), name="conv1_pad")(img)
    x = layers.Conv2D(32, (3, 3), strides=(2, 2), use_bias=False, name="conv1")(x)
    x = layers.BatchNormalization(name="conv1_bn")(x)
    x = layers.Activation("relu6", name="conv1_relu")(x)

    def dw_block(x: Any, filters: int, block: int, strides: tuple[int, int] = (1, 1)) -> Any:
        x = layers.ZeroPadding2D((1, 1), name=f"conv_pad_{block}")(x)
        x = layers.DepthwiseConv2D(
            (3, 3), strides=strides, use_bias=False, name=f"conv_dw_{block}"
        )(x)
        x = layers.BatchNormalization(name=f"conv_dw_{block}_bn")(x)
        x = layers.Activation("relu6", name=f"conv_dw_{block}_relu")(x)
        x = layers.Conv2D(filters, (1, 1), padding="same", use_bias=False, name=f"conv_pw_{block}")(
            x
        )
        x = layers.BatchNormalization(name=f"conv_pw_{block}_bn")(x)
        return layers.Activation("relu6", name=f"conv_pw_{block}_relu")(x)

    levels = []
    x = dw_block(x, 64, 1)
    levels.append(x)
    x = dw_block(x, 128, 2, (2, 2))
    x = dw_block(x, 128, 3)
    levels.append(x)
    x = dw_block(x, 256, 4, (2, 2))
    x = dw_block(x, 256, 5)
    levels.append(x)
    x = dw_block(x, 512, 6, (2, 2))
    for block in range(7, 12):
        x = dw_block(x, 512, block)
    levels.append(x)
    x = dw_block(x, 1024, 12, (2, 2))
    x = dw_block(x, 1024, 13)
    levels.append(x)
    return img, levels


ENCODERS: dict[str, Callable[[int, int], tuple[Any, list[Any]]]] = {
    "vanilla": vanilla_encoder,
    "vgg": vgg_encoder,
    "resnet50": resnet50_encoder,
    "mobilenet": mobilenet_encoder,
}


# ----------------------------------------------------------------------------- heads
def _segmentation_model(img: Any, o: Any, name: str) -> Any:
    """Common head: Reshape to (H*W, classes) then softmax (spec §8)."""
    keras, layers = _k()
    h, w = int(o.shape[1]), int(o.shape[2])
    o = layers.Reshape((h * w, -1))(o)
    o = layers.Activation("softmax")(o)
    return keras.Model(img, o, name=name)


def _crop(o1: Any, o2: Any) -> tuple[Any, Any]:
    """Crop the larger of two maps (bottom/right) so both have the same size."""
    _, layers = _k()
    h1, w1 = int(o1.shape[1]), int(o1.shape[2])
    h2, w2 = int(o2.shape[1]), int(o2.shape[2])
    cx, cy = abs(w1 - w2), abs(h1 - h2)
    if w1 > w2:
        o1 = layers.Cropping2D(((0, 0), (0, cx)))(o1)
    else:
        o2 = layers.Cropping2D(((0, 0), (0, cx)))(o2)
    if h1 > h2:
        o1 = layers.Cropping2D(((0, cy), (0, 0)))(o1)
    else:
        o2 = layers.Cropping2D(((0, cy), (0, 0)))(o2)
    return o1, o2


def _fcn_head(f5: Any) -> Any:
    _, layers = _k()
    o = layers.Conv2D(4096, (7, 7), activation="relu", padding="same")(f5)
    o = layers.Dropout(0.5)(o)
    o = layers.Conv2D(4096, (1, 1), activation="relu", padding="same")(o)
    o = layers.Dropout(0.5)(o)
    return layers.Conv2D(N_CLASSES, (1, 1), kernel_initializer="he_normal")(o)


def fcn_8(encoder: str, height: int, width: int, name: str) -> Any:
    """FCN-8s: 2x up + score(f4), 2x up + score(f3), 8x up."""
    _, layers = _k()
    img, (_, _, f3, f4, f5) = ENCODERS[encoder](height, width)
    o = _fcn_head(f5)
    o = layers.Conv2DTranspose(N_CLASSES, (4, 4), strides=(2, 2), use_bias=False)(o)
    o2 = layers.Conv2D(N_CLASSES, (1, 1), kernel_initializer="he_normal")(f4)
    o, o2 = _crop(o, o2)
    o = layers.Add()([o, o2])
    o = layers.Conv2DTranspose(N_CLASSES, (4, 4), strides=(2, 2), use_bias=False)(o)
    o2 = layers.Conv2D(N_CLASSES, (1, 1), kernel_initializer="he_normal")(f3)
    o2, o = _crop(o2, o)
    o = layers.Add()([o2, o])
    o = layers.Conv2DTranspose(N_CLASSES, (16, 16), strides=(8, 8), use_bias=False)(o)
    return _segmentation_model(img, o, name)


def fcn_32(encoder: str, height: int, width: int, name: str) -> Any:
    """FCN-32s: one 32x transposed convolution from f5."""
    _, layers = _k()
    img, levels = ENCODERS[encoder](height, width)
    o = _fcn_head(levels[4])
    o = layers.Conv2DTranspose(N_CLASSES, (64, 64), strides=(32, 32), use_bias=False)(o)
    return _segmentation_model(img, o, name)


def segnet(encoder: str, height: int, width: int, name: str) -> Any:
    """SegNet decoder from level index 3 (1/16), three 2x upsamplings."""
    _, layers = _k()
    img, levels = ENCODERS[encoder](height, width)
    o = levels[3]
    for k, filters in enumerate((512, 256, 128, 64)):
        if k:
            o = layers.UpSampling2D((2, 2))(o)
        o = layers.ZeroPadding2D((1, 1))(o)
        o = layers.Conv2D(filters, (3, 3), padding="valid")(o)
        o = layers.BatchNormalization()(o)
    o = layers.Conv2D(N_CLASSES, (3, 3), padding="same")(o)
    return _segmentation_model(img, o, name)


def unet(encoder: str, height: int, width: int, name: str) -> Any:
    """U-Net decoder from f4 with skips f3, f2, f1 (output at 1/2 resolution)."""
    _, layers = _k()
    img, (f1, f2, f3, f4, _) = ENCODERS[encoder](height, width)
    o = f4
    for k, (filters, skip) in enumerate(((512, None), (256, f3), (128, f2), (64, f1))):
        if k:
            o = layers.UpSampling2D((2, 2))(o)
            o = layers.Concatenate(axis=-1)([o, skip])
        o = layers.ZeroPadding2D((1, 1))(o)
        o = layers.Conv2D(filters, (3, 3), padding="valid")(o)
        o = layers.BatchNormalization()(o)
    o = layers.Conv2D(N_CLASSES, (3, 3), padding="same")(o)
    return _segmentation_model(img, o, name)


def unet_mini(height: int, width: int, name: str) -> Any:
    """The small stand-alone U-Net (32-64-128 filters, dropout 0.2)."""
    keras, layers = _k()
    img = keras.Input(shape=(height, width, 3))

    def double_conv(x: Any, filters: int) -> Any:
        x = layers.Conv2D(filters, (3, 3), activation="relu", padding="same")(x)
        x = layers.Dropout(0.2)(x)
        return layers.Conv2D(filters, (3, 3), activation="relu", padding="same")(x)

    c1 = double_conv(img, 32)
    c2 = double_conv(layers.MaxPooling2D((2, 2))(c1), 64)
    c3 = double_conv(layers.MaxPooling2D((2, 2))(c2), 128)
    u1 = layers.Concatenate(axis=-1)([layers.UpSampling2D((2, 2))(c3), c2])
    c4 = double_conv(u1, 64)
    u2 = layers.Concatenate(axis=-1)([layers.UpSampling2D((2, 2))(c4), c1])
    c5 = double_conv(u2, 32)
    o = layers.Conv2D(N_CLASSES, (1, 1), padding="same")(c5)
    return _segmentation_model(img, o, name)


def pspnet(encoder: str, height: int, width: int, name: str) -> Any:
    """PSPNet head on f5: pyramid pooling (1, 2, 3, 6), concat, conv, 8x bilinear up."""
    _, layers = _k()
    if height % 192 or width % 192:
        raise ValueError(f"pspnet needs H and W multiples of 192, got {height}x{width}")
    img, levels = ENCODERS[encoder](height, width)
    o = levels[4]
    h, w = int(o.shape[1]), int(o.shape[2])
    outs = [o]
    for p in (1, 2, 3, 6):
        size = (round(h / p), round(w / p))
        x = layers.AveragePooling2D(size, strides=size, padding="same")(o)
        x = layers.Conv2D(512, (1, 1), padding="same", use_bias=False)(x)
        x = layers.BatchNormalization()(x)
        x = layers.Activation("relu")(x)
        outs.append(layers.UpSampling2D(size, interpolation="bilinear")(x))
    o = layers.Concatenate(axis=-1)(outs)
    o = layers.Conv2D(512, (1, 1), use_bias=False)(o)
    o = layers.BatchNormalization()(o)
    o = layers.Activation("relu")(o)
    o = layers.Conv2D(N_CLASSES, (3, 3), padding="same")(o)
    o = layers.UpSampling2D((8, 8), interpolation="bilinear")(o)
    return _segmentation_model(img, o, name)


def _psp_bottleneck(
    x: Any, level: int, dilation: int, lvl: int, sub: int, projection: bool, stride: int
) -> Any:
    """Pre-activation-style residual unit of the PSPNet ResNet (dilated in stages 4-5)."""
    _, layers = _k()
    tag = f"conv{lvl}_{sub}"
    x = layers.Activation("relu")(x)
    y = layers.Conv2D(64 * level, (1, 1), strides=stride, use_bias=False, name=f"{tag}_1x1_reduce")(
        x
    )
    y = layers.BatchNormalization(name=f"{tag}_1x1_reduce_bn")(y)
    y = layers.Activation("relu")(y)
    y = layers.ZeroPadding2D((dilation, dilation))(y)
    y = layers.Conv2D(
        64 * level, (3, 3), dilation_rate=dilation, use_bias=False, name=f"{tag}_3x3"
    )(y)
    y = layers.BatchNormalization(name=f"{tag}_3x3_bn")(y)
    y = layers.Activation("relu")(y)
    y = layers.Conv2D(256 * level, (1, 1), use_bias=False, name=f"{tag}_1x1_increase")(y)
    y = layers.BatchNormalization(name=f"{tag}_1x1_increase_bn")(y)
    shortcut = x
    if projection:
        shortcut = layers.Conv2D(
            256 * level, (1, 1), strides=stride, use_bias=False, name=f"{tag}_1x1_proj"
        )(x)
        shortcut = layers.BatchNormalization(name=f"{tag}_1x1_proj_bn")(shortcut)
    return layers.Add()([y, shortcut])


def pspnet_resnet(depth: int, height: int, width: int, name: str) -> Any:
    """``pspnet_50`` / ``pspnet_101``: dilated ResNet, pyramid pooling, ``Interp`` upsampling."""
    keras, layers = _k()
    interp = _interp_class()
    img = keras.Input(shape=(height, width, 3))
    x = img
    for k, filters in enumerate((64, 64, 128), start=1):
        x = layers.Conv2D(
            filters,
            (3, 3),
            strides=2 if k == 1 else 1,
            padding="same",
            use_bias=False,
            name=f"conv1_{k}_3x3",
        )(x)
        x = layers.BatchNormalization(name=f"conv1_{k}_3x3_bn")(x)
        x = layers.Activation("relu")(x)
    x = layers.MaxPooling2D((3, 3), strides=(2, 2), padding="same")(x)
    blocks4 = {50: 6, 101: 23}[depth]
    for lvl, level, dilation, blocks, stride in (
        (2, 1, 1, 3, 1),
        (3, 2, 1, 4, 2),
        (4, 4, 2, blocks4, 1),
        (5, 8, 4, 3, 1),
    ):
        for sub in range(1, blocks + 1):
            x = _psp_bottleneck(x, level, dilation, lvl, sub, sub == 1, stride if sub == 1 else 1)
    x = layers.Activation("relu")(x)
    fh, fw = int(x.shape[1]), int(x.shape[2])
    branches = {}
    for p in (1, 2, 3, 6):
        kernel = (math.ceil(fh / p), math.ceil(fw / p))
        y = layers.AveragePooling2D(kernel, strides=kernel, padding="same")(x)
        y = layers.Conv2D(512, (1, 1), use_bias=False, name=f"conv5_3_pool{p}_conv")(y)
        y = layers.BatchNormalization(name=f"conv5_3_pool{p}_conv_bn")(y)
        y = layers.Activation("relu")(y)
        branches[p] = interp((fh, fw))(y)
    # the original concatenates the finest pooling first
    x = layers.Concatenate()([x, branches[6], branches[3], branches[2], branches[1]])
    x = layers.Conv2D(512, (3, 3), padding="same", use_bias=False, name="conv5_4")(x)
    x = layers.BatchNormalization(name="conv5_4_bn")(x)
    x = layers.Activation("relu")(x)
    x = layers.Dropout(0.1)(x)
    x = layers.Conv2D(N_CLASSES, (1, 1), name="conv6")(x)
    x = interp((height, width))(x)
    return _segmentation_model(img, x, name)


#: name -> (builder(height, width, name), default (H, W))
SEGMENTATION_MODELS: dict[str, tuple[Callable[[int, int, str], Any], tuple[int, int]]] = {}


def _register() -> None:
    def enc(fn: Callable[..., Any], e: str) -> Callable[[int, int, str], Any]:
        return lambda h, w, n: fn(e, h, w, n)

    big = (416, 608)
    for fam, fn in (("fcn_8", fcn_8), ("fcn_32", fcn_32)):
        SEGMENTATION_MODELS[fam] = (enc(fn, "vanilla"), big)
        for e in ("vgg", "resnet50", "mobilenet"):
            SEGMENTATION_MODELS[f"{fam}_{e}"] = (enc(fn, e), big)
    SEGMENTATION_MODELS["segnet"] = (enc(segnet, "vanilla"), big)
    SEGMENTATION_MODELS["vgg_segnet"] = (enc(segnet, "vgg"), big)
    SEGMENTATION_MODELS["resnet50_segnet"] = (enc(segnet, "resnet50"), big)
    SEGMENTATION_MODELS["mobilenet_segnet"] = (enc(segnet, "mobilenet"), (224, 224))
    SEGMENTATION_MODELS["unet"] = (enc(unet, "vanilla"), big)
    SEGMENTATION_MODELS["vgg_unet"] = (enc(unet, "vgg"), big)
    SEGMENTATION_MODELS["resnet50_unet"] = (enc(unet, "resnet50"), big)
    SEGMENTATION_MODELS["mobilenet_unet"] = (enc(unet, "mobilenet"), (224, 224))
    SEGMENTATION_MODELS["unet_mini"] = (unet_mini, (360, 480))
    SEGMENTATION_MODELS["pspnet"] = (enc(pspnet, "vanilla"), (384, 576))
    SEGMENTATION_MODELS["vgg_pspnet"] = (enc(pspnet, "vgg"), (384, 576))
    SEGMENTATION_MODELS["resnet50_pspnet"] = (enc(pspnet, "resnet50"), (384, 576))
    SEGMENTATION_MODELS["pspnet_50"] = (lambda h, w, n: pspnet_resnet(50, h, w, n), (473, 473))
    SEGMENTATION_MODELS["pspnet_101"] = (lambda h, w, n: pspnet_resnet(101, h, w, n), (473, 473))


_register()


def build_segmentation_model(name: str, input_shape: tuple[int, ...] | None = None) -> Any:
    """Build segmentation model ``name`` (19 classes) at ``(H, W, 3)`` or its default size."""
    builder, (h, w) = SEGMENTATION_MODELS[name]
    if input_shape is not None:
        if len(input_shape) != 3 or int(input_shape[2]) != 3:
            raise ValueError(f"{name}: input_shape must be (H, W, 3), got {tuple(input_shape)}")
        h, w = int(input_shape[0]), int(input_shape[1])
    return builder(h, w, name)
