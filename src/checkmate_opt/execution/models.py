"""Small Keras models for executing schedules on a CPU (tests, benchmarks, ``train-demo``).

Each builder takes the input size and width and returns a functional model with one output
whose training graph has the structure named: a chain, a VGG-like chain (convolutions, batch
normalization, pooling, dropout), a residual network (skip connections into ``Add``) and a
U-Net-like network (skips into ``Concatenate`` across resolutions).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

__all__ = ["BUILDERS", "small_chain", "small_residual", "small_unet", "small_vgg"]


def small_chain(depth: int = 6, width: int = 32, features: int = 16, classes: int = 4) -> Any:
    """``depth`` Dense layers (tanh) then a softmax classifier: a linear chain."""
    import keras
    from keras import layers

    inp = keras.Input(shape=(features,))
    x = inp
    for i in range(depth):
        x = layers.Dense(width, activation="tanh", name=f"dense{i}")(x)
    out = layers.Dense(classes, activation="softmax", name="predictions")(x)
    return keras.Model(inp, out, name=f"chain{depth}")


def small_vgg(size: int = 16, width: int = 8, classes: int = 4, dropout: float = 0.0) -> Any:
    """Two VGG blocks (conv, batch norm, ReLU, conv, max-pool), optional dropout, a classifier."""
    import keras
    from keras import layers

    inp = keras.Input(shape=(size, size, 3))
    x = inp
    for b, w in enumerate((width, 2 * width)):
        x = layers.Conv2D(w, 3, padding="same", name=f"block{b}_conv1")(x)
        x = layers.BatchNormalization(name=f"block{b}_bn")(x)
        x = layers.ReLU(name=f"block{b}_relu")(x)
        x = layers.Conv2D(w, 3, padding="same", activation="relu", name=f"block{b}_conv2")(x)
        x = layers.MaxPooling2D(name=f"block{b}_pool")(x)
    x = layers.Flatten(name="flatten")(x)
    if dropout:
        x = layers.Dropout(dropout, seed=7, name="dropout")(x)
    x = layers.Dense(4 * width, activation="relu", name="fc")(x)
    out = layers.Dense(classes, activation="softmax", name="predictions")(x)
    return keras.Model(inp, out, name="small_vgg")


def small_residual(size: int = 16, width: int = 8, blocks: int = 3, classes: int = 4) -> Any:
    """A stem convolution, ``blocks`` residual blocks (two convolutions + Add), a classifier."""
    import keras
    from keras import layers

    inp = keras.Input(shape=(size, size, 3))
    x = layers.Conv2D(width, 3, padding="same", activation="relu", name="stem")(inp)
    for b in range(blocks):
        h = layers.Conv2D(width, 3, padding="same", activation="relu", name=f"res{b}_conv1")(x)
        h = layers.Conv2D(width, 3, padding="same", name=f"res{b}_conv2")(h)
        x = layers.Add(name=f"res{b}_add")([x, h])
        x = layers.Activation("relu", name=f"res{b}_relu")(x)
    x = layers.GlobalAveragePooling2D(name="pool")(x)
    out = layers.Dense(classes, activation="softmax", name="predictions")(x)
    return keras.Model(inp, out, name="small_residual")


def small_unet(size: int = 16, width: int = 4, classes: int = 3) -> Any:
    """Two down-sampling levels, a bottleneck, two up-sampling levels with concatenated skips."""
    import keras
    from keras import layers

    inp = keras.Input(shape=(size, size, 3))
    skips = []
    x = inp
    for lvl, w in enumerate((width, 2 * width)):
        x = layers.Conv2D(w, 3, padding="same", activation="relu", name=f"down{lvl}_conv")(x)
        skips.append(x)
        x = layers.MaxPooling2D(name=f"down{lvl}_pool")(x)
    x = layers.Conv2D(4 * width, 3, padding="same", activation="relu", name="bottom")(x)
    for lvl, w in reversed(list(enumerate((width, 2 * width)))):
        x = layers.UpSampling2D(name=f"up{lvl}_upsample")(x)
        x = layers.Concatenate(name=f"up{lvl}_concat")([x, skips[lvl]])
        x = layers.Conv2D(w, 3, padding="same", activation="relu", name=f"up{lvl}_conv")(x)
    out = layers.Conv2D(classes, 1, activation="softmax", name="predictions")(x)
    return keras.Model(inp, out, name="small_unet")


#: name -> builder with CI-sized defaults (tests, benchmarks and ``train-demo`` use these)
BUILDERS: dict[str, Callable[[], Any]] = {
    "chain": small_chain,
    "vgg": small_vgg,
    "residual": small_residual,
    "unet": small_unet,
}
