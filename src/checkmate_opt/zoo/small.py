"""Tiny models of the kinds people train today, sized for CI on a CPU (built offline, no weights).

* :func:`small_transformer`: token embedding, a few pre-norm blocks (causal multi-head
  attention and a GELU MLP, each with a residual ``Add``), a final layer norm, a mean over the
  sequence (a ``keras.ops`` call) and a classifier. The embedding is scaled by
  ``sqrt(dim)`` with ``x * c`` (another ``keras.ops`` call, with a constant argument).
  Positions are not embedded: the causal mask already makes the model order-aware, and a
  position table would be a constant outside the layer graph.
* :func:`small_rnn`: a dense input projection, an ``LSTM`` returning sequences, a layer norm,
  a ``GRU`` returning its last state, and a classifier.

:func:`synthetic_batch` makes a seeded batch (inputs and one-hot targets) for either.
"""

from __future__ import annotations

import math
from typing import Any

__all__ = [
    "SMALL_MODELS",
    "small_rnn",
    "small_transformer",
    "synthetic_batch",
    "synthetic_inputs",
]


def small_transformer(
    *,
    seq_len: int = 16,
    vocab: int = 64,
    dim: int = 32,
    heads: int = 2,
    blocks: int = 2,
    mlp_ratio: int = 2,
    classes: int = 8,
    name: str = "small_transformer",
) -> Any:
    """A pre-norm transformer classifier over ``seq_len`` int tokens (``classes`` logits)."""
    import keras
    from keras import layers, ops

    tokens = keras.Input((seq_len,), dtype="int32", name="tokens")
    x = layers.Embedding(vocab, dim, name="embed")(tokens)
    x = x * math.sqrt(dim)  # keras.ops Multiply with a constant
    for b in range(blocks):
        h = layers.LayerNormalization(name=f"b{b}_ln1")(x)
        h = layers.MultiHeadAttention(heads, dim // heads, name=f"b{b}_attn")(
            h, h, use_causal_mask=True
        )
        x = layers.Add(name=f"b{b}_res1")([x, h])
        h = layers.LayerNormalization(name=f"b{b}_ln2")(x)
        h = layers.Dense(mlp_ratio * dim, activation="gelu", name=f"b{b}_mlp1")(h)
        h = layers.Dense(dim, name=f"b{b}_mlp2")(h)
        x = layers.Add(name=f"b{b}_res2")([x, h])
    x = layers.LayerNormalization(name="ln_f")(x)
    x = ops.mean(x, axis=1)  # keras.ops Mean
    out = layers.Dense(classes, name="logits")(x)
    return keras.Model(tokens, out, name=name)


def small_rnn(
    *,
    seq_len: int = 12,
    features: int = 8,
    units: int = 16,
    classes: int = 4,
    name: str = "small_rnn",
) -> Any:
    """Dense -> LSTM (sequences) -> LayerNorm -> GRU (last state) -> Dense logits."""
    import keras
    from keras import layers

    inp = keras.Input((seq_len, features), name="series")
    x = layers.Dense(units, activation="tanh", name="proj")(inp)
    x = layers.LSTM(units, return_sequences=True, name="lstm")(x)
    x = layers.LayerNormalization(name="ln")(x)
    x = layers.GRU(units, name="gru")(x)
    out = layers.Dense(classes, name="logits")(x)
    return keras.Model(inp, out, name=name)


#: name -> builder (each callable without arguments gives the CI-sized model)
SMALL_MODELS = {"small_transformer": small_transformer, "small_rnn": small_rnn}


def synthetic_inputs(model: Any, batch_size: int, rng: Any) -> Any:
    """Seeded inputs for ``model`` drawn from ``rng`` (a numpy ``Generator``).

    Integer inputs are token ids below the smallest ``Embedding`` vocabulary of the model;
    float inputs are standard normal. One array, or a list for several inputs.
    """
    vocab = min(
        (int(lay.input_dim) for lay in model.layers if type(lay).__name__ == "Embedding"),
        default=2,
    )
    xs = []
    for t in model.inputs:
        shape = (batch_size, *(int(d) for d in t.shape[1:]))
        if "int" in str(t.dtype):
            xs.append(rng.integers(0, vocab, size=shape).astype(str(t.dtype)))
        else:
            xs.append(rng.standard_normal(shape).astype("float32"))
    return xs[0] if len(xs) == 1 else xs


def synthetic_batch(model: Any, batch_size: int, *, seed: int = 0) -> tuple[Any, Any]:
    """A seeded batch for ``model``: :func:`synthetic_inputs` and one-hot targets of the
    output width."""
    import numpy as np

    rng = np.random.default_rng(seed)
    x = synthetic_inputs(model, batch_size, rng)
    width = int(model.outputs[0].shape[-1])
    y = np.eye(width, dtype="float32")[rng.integers(0, width, size=batch_size)]
    return x, y
