"""The paper's synthetic Keras models: ``test`` and ``linear0`` ... ``linear31`` (spec §8)."""

from __future__ import annotations

from typing import Any

__all__ = ["make_linear_model", "make_test_model"]


def make_test_model(input_shape: tuple[int, ...] = (224, 224, 3)) -> Any:
    """Input -> conv "in_conv" -> {conv1, conv2} -> Add -> GAP "flatten" -> Dense(1000)."""
    import keras
    from keras import layers

    inp = keras.Input(shape=input_shape)
    x = layers.Conv2D(64, (3, 3), activation="relu", name="in_conv")(inp)
    a = layers.Conv2D(128, (1, 1), activation="relu", name="conv1")(x)
    b = layers.Conv2D(128, (1, 1), activation="relu", name="conv2")(x)
    y = layers.Add(name="add")([a, b])
    y = layers.GlobalAveragePooling2D(name="flatten")(y)
    y = layers.Dense(1000, activation="softmax", name="predictions")(y)
    return keras.Model(inp, y, name="test")


def make_linear_model(depth: int, input_shape: tuple[int, ...] = (224, 224, 3)) -> Any:
    """``depth`` x Conv2D(64, 3x3, valid, no bias) -> GAP -> Dense(1000, softmax)."""
    import keras
    from keras import layers

    inp = keras.Input(shape=input_shape)
    x = inp
    for i in range(depth):
        x = layers.Conv2D(64, (3, 3), padding="valid", use_bias=False, name=f"conv{i}")(x)
    x = layers.GlobalAveragePooling2D(name="pool")(x)
    x = layers.Dense(1000, activation="softmax", name="predictions")(x)
    return keras.Model(inp, x, name=f"linear{depth}")
