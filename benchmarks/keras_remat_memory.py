"""What ``keras.RematScope(mode="list_of_layers")`` really saves on this CPU.

For each model and variant (plain training; the list :func:`remat_layers` chooses for each
budget; every listable layer) a fresh Python process builds the model inside the scope,
compiles it (graph mode, no XLA) and runs ``fit`` for a few steps. Measured in that process:
the max resident set size (``ru_maxrss``) before ``fit`` and after it, so the difference is
what training added on top of TensorFlow and the model, and the mean step time.
TensorFlow's own peak (``tf.config.experimental.get_memory_info("CPU:0")["peak"]``, reset
before the measured ``fit``) is reported too where this build tracks the CPU allocator.
Predicted figures come from simulating the restricted schedule of each list (activation bytes
only; a listed layer feeding a listed layer keeps its output, as RematScope does).

Usage::

    TF_CPP_MIN_LOG_LEVEL=2 python benchmarks/keras_remat_memory.py \
        [--models relu swish] [--batch 32] [--steps 5] [--budgets 0.8x 0.6x]
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import subprocess
import sys
from typing import Any

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

MB = 2**20


def build(kind: str) -> Any:
    """64x64 inputs, 32-channel 3x3 convolutions, global pooling, a Dense head.

    ``relu`` / ``swish``: a chain of 8 convolutions with that activation; ``residual``: a relu
    stem conv and 6 blocks ``x + relu(conv(x))``; ``transformer``: the zoo's small transformer
    at 256 tokens, width 128, 4 heads, 4 blocks.
    """
    import keras
    from keras import layers

    keras.utils.set_random_seed(0)
    if kind == "transformer":
        from checkmate_opt.zoo.small import small_transformer

        return small_transformer(seq_len=256, vocab=512, dim=128, heads=4, blocks=4)
    inp = keras.Input((64, 64, 16))
    if kind == "residual":
        x = layers.Conv2D(32, 3, padding="same", activation="relu", name="stem")(inp)
        for i in range(6):
            y = layers.Conv2D(32, 3, padding="same", activation="relu", name=f"c{i}")(x)
            x = layers.Add(name=f"add{i}")([x, y])
    else:
        x = inp
        for i in range(8):
            x = layers.Conv2D(32, 3, padding="same", activation=kind, name=f"c{i}")(x)
    x = layers.GlobalAveragePooling2D(name="gap")(x)
    return keras.Model(inp, layers.Dense(4, name="head")(x), name=f"{kind}")


def child(kind: str, names: list[str], batch: int, steps: int) -> dict:
    import resource
    import time

    import tensorflow as tf

    import keras

    with keras.RematScope(mode="list_of_layers", layer_names=names):
        model = build(kind)
    model.compile(keras.optimizers.SGD(0.01), "mse", jit_compile=False)
    from checkmate_opt.zoo.small import synthetic_batch

    x, y = synthetic_batch(model, batch * steps, seed=0)
    # trace on a 2-example batch, so the max RSS before the measured fit holds no activations
    model.fit(x[:2], y[:2], batch_size=2, epochs=1, verbose=0)
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    # TensorFlow's own allocator statistics (kept for CPU:0 in this build)
    with contextlib.suppress(Exception):
        tf.config.experimental.reset_memory_stats("CPU:0")
    t0 = time.perf_counter()
    model.fit(x, y, batch_size=batch, epochs=1, verbose=0, shuffle=False)
    step_s = (time.perf_counter() - t0) / steps
    after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    try:
        info = tf.config.experimental.get_memory_info("CPU:0")
        tf_info: Any = int(info["peak"])
    except Exception as err:  # TensorFlow tracks GPU (and TPU) allocators only
        tf_info = f"unavailable ({type(err).__name__})"
    return {
        "rss_before_fit": before,
        "max_rss": after,
        "step_s": step_s,
        "tf_memory_info": tf_info,
    }


def run_child(kind: str, names: list[str], batch: int, steps: int) -> dict:
    cmd = [sys.executable, __file__, "--child", kind, "--names", ",".join(names)]
    cmd += ["--batch", str(batch), "--steps", str(steps)]
    out = subprocess.run(cmd, capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--models", nargs="+", default=["relu", "swish", "residual"])
    p.add_argument("--batch", type=int, default=32)
    p.add_argument("--steps", type=int, default=5)
    p.add_argument("--budgets", nargs="+", default=["0.8x"])
    p.add_argument("--child")
    p.add_argument("--names", default="")
    a = p.parse_args()
    if a.child:
        names = [n for n in a.names.split(",") if n]
        print(json.dumps(child(a.child, names, a.batch, a.steps)))
        return

    import keras
    from checkmate_opt.execution.keras_remat import (
        _unlistable,
        effective_dropped,
        listed_schedule,
        remat_layers,
    )
    from checkmate_opt.importers.keras import extract_layers, graph_from_keras
    from checkmate_opt.simulate import simulate

    print(
        "| model | variant | listed | predicted peak act. MB | predicted overhead | "
        "max RSS MB | RSS added by fit MB | TF peak MB | step s |"
    )
    print("|---|---|---|---|---|---|---|---|---|")
    for kind in a.models:
        model = build(kind)
        g = graph_from_keras(model, batch_size=a.batch)
        infos, _ = extract_layers(model, batch_size=a.batch)
        variants: list[tuple[str, list[int]]] = [("plain", [])]
        for b in a.budgets:
            r = remat_layers(model, budget=b, batch_size=a.batch)
            variants.append((f"remat_layers {b}", list(r.dropped)))
            r = remat_layers(model, budget=b, batch_size=a.batch, tf_rules=False)
            variants.append((f"remat_layers {b}, tf_rules=False", list(r.dropped)))
        listable = [v for v, info in enumerate(infos[:-1]) if _unlistable(info, 1, keras) is None]
        variants.append(("every listable layer", listable))
        for label, dropped in variants:
            rep = simulate(g, listed_schedule(g, set(effective_dropped(g, dropped))))
            names = [infos[v].layer.name for v in dropped]
            m = run_child(kind, names, a.batch, a.steps)
            tfp = m["tf_memory_info"]
            tf_peak = f"{tfp / MB:.0f}" if isinstance(tfp, int) else tfp
            print(
                f"| {model.name} | {label} | {','.join(names) or '-'} | "
                f"{rep.peak_activation_memory / MB:.1f} | {rep.overhead:.3f} | "
                f"{m['max_rss'] / MB:.0f} | {(m['max_rss'] - m['rss_before_fit']) / MB:.0f} | "
                f"{tf_peak} | {m['step_s']:.2f} |",
                flush=True,
            )


if __name__ == "__main__":
    main()
