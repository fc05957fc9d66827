"""Measure the memory and time of scheduled steps against the simulator's prediction.

Run as ``python -m checkmate_opt.execution.measure --model vgg --budgets 1.0x 0.7x 0.5x``
(one process per model; JSON lines on stdout). What is measured, per configuration:

* ``alloc_peak``: TensorFlow's own allocator statistics, ``tf.config.experimental.
  get_memory_info(device)["peak"]`` during one step minus ``["current"]`` when the step
  starts (weights, optimizer slots and the batch are already allocated then). On a CPU the
  statistics exist only with TensorFlow's BFC allocator, which this module switches on
  (``TF_CPU_ALLOCATOR_USE_BFC=true``, read when TensorFlow starts). It counts every tensor
  TensorFlow allocates during the step: activations, gradients, parameter gradients and the
  temporaries inside each operation (which the simulator does not model).
* ``alloc_between_peak``: the largest of the allocator's bytes in use *between* the
  schedule's operations (over the step start): what is held, comparable with the simulator.
* ``live_peak``: the executor's own count of the distinct tensors it created that were still
  alive after each operation (weak references), for the scheduled step.
* ``step_s``: median wall time of a step after a warm-up step.

The prediction is the simulator's ``peak_activation_memory`` of the same schedule on the
graph imported at the same batch size, plus the parameter gradients (``parameter_bytes``),
which a step also allocates.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from typing import Any

__all__ = ["PRESETS", "measure_model"]


def _presets() -> dict[str, Callable[[], Any]]:
    from checkmate_opt.execution import models

    out: dict[str, Callable[[], Any]] = {
        # wide batch, narrow layers: activations (not weights) dominate
        "chain": lambda: models.small_chain(depth=24, width=256, features=256),
        "vgg": lambda: models.small_vgg(size=64, width=16),
        "residual": lambda: models.small_residual(size=64, width=16, blocks=4),
        "unet": lambda: models.small_unet(size=64, width=16),
    }
    try:
        from checkmate_opt.zoo import small
    except ImportError:  # pragma: no cover - the transformer builder comes with zoo.small
        return out
    out["transformer"] = lambda: small.small_transformer(seq_len=64, dim=64, blocks=3)
    return out


#: batch size of each preset
BATCH = {"chain": 1024}

#: model names :func:`measure_model` knows (CPU-sized: activations of a few MB to tens of MB)
PRESETS: tuple[str, ...] = ("chain", "vgg", "residual", "unet", "transformer")


def _batch(model: Any, batch: int) -> tuple[Any, Any]:
    import numpy as np

    rng = np.random.default_rng(0)
    xs = []
    for t in model.inputs:
        shape = (batch, *(int(d) for d in t.shape[1:]))
        if "int" in str(t.dtype):
            vocab = min(
                (int(la.input_dim) for la in model.layers if type(la).__name__ == "Embedding"),
                default=2,
            )
            xs.append(rng.integers(0, vocab, size=shape).astype(str(t.dtype)))
        else:
            xs.append(rng.standard_normal(shape).astype("float32"))
    y = rng.random((batch, *(int(d) for d in model.outputs[0].shape[1:]))).astype("float32")
    return (xs[0] if len(xs) == 1 else xs), y


def _run(
    step: Callable[[Any, Any], Any], x: Any, y: Any, steps: int, device: str
) -> dict[str, Any]:
    import tensorflow as tf

    float(step(x, y).loss)  # warm-up: optimizer slots, kernels
    times: list[float] = []
    peaks: list[int] = []
    for _ in range(steps):
        tf.config.experimental.reset_memory_stats(device)
        base = tf.config.experimental.get_memory_info(device)["current"]
        start = time.perf_counter()
        out = step(x, y)
        float(out.loss)
        times.append(time.perf_counter() - start)
        del out
        peaks.append(int(tf.config.experimental.get_memory_info(device)["peak"] - base))
    return {"step_s": statistics.median(times), "alloc_peak": max(peaks) if peaks else None}


def measure_model(
    name: str,
    *,
    batch: int | None = None,
    budgets: Sequence[str] = ("all", "1.0x", "0.8x", "0.65x"),
    strategy: str = "optimal",
    steps: int = 5,
    device: str = "CPU:0",
    time_limit_s: float = 60.0,
    builder: Callable[[], Any] | None = None,
) -> list[dict[str, Any]]:
    """Plain training, then the executor at each budget; one record per configuration.

    ``batch`` defaults to :data:`BATCH` of the preset (32 but for ``chain``); ``budget``
    ``"all"`` runs the ``checkpoint_all`` schedule (the executor's own reference).
    """
    import tensorflow as tf

    import checkmate_opt as cm
    import keras
    from checkmate_opt.execution.executor import plain_step, train_step
    from checkmate_opt.importers.keras import graph_from_keras

    keras.utils.set_random_seed(0)
    model = (builder or _presets()[name])()
    batch = int(batch or BATCH.get(name, 32))
    graph = graph_from_keras(model, batch_size=batch)
    x, y = _batch(model, batch)
    records: list[dict[str, Any]] = []
    common = {"model": name, "batch": batch, "nodes": graph.n, "device": device}
    with tf.device(device):
        opt = keras.optimizers.SGD(1e-3)
        plain = _run(plain_step(model, "mse", opt), x, y, steps, device)
        noremat = cm.solve(graph, "1.0x", strategy="checkpoint_all")
        records.append(
            {
                **common,
                "config": "plain GradientTape",
                "budget": None,
                "predicted_activation": cm.no_remat_peak(graph),
                "parameter_bytes": graph.parameter_bytes,
                "predicted_overhead": 1.0,
                **plain,
                "measured_overhead": 1.0,
                "noremat_ref_compute": noremat.compute_cost,
            }
        )
        for budget in budgets:
            kwargs: dict[str, Any] = {}
            if strategy in {"optimal", "lp_rounding"}:
                kwargs = {
                    "options": cm.SolveOptions(time_limit_s=time_limit_s, threads=1),
                    "progress": None,
                }
            if budget == "all":
                result = cm.solve(graph, None, strategy="checkpoint_all")
                label = "checkpoint_all"
            else:
                result = cm.solve(graph, budget, strategy=strategy, **kwargs)
                label = strategy
            rec: dict[str, Any] = {**common, "config": label, "budget": budget}
            if result.schedule is None or result.report is None:
                records.append({**rec, "status": result.termination.value})
                continue
            step = train_step(model, "mse", opt, result, keep_predictions=False)
            measured = _run(step, x, y, steps, device)
            tracked = train_step(
                model,
                "mse",
                None,
                result,
                keep_predictions=False,
                apply_gradients=False,
                track_memory=True,
                probe_device=device,
            )
            tracked(x, y)
            rec.update(
                status=result.termination.value,
                budget_bytes=result.budget,
                predicted_activation=result.report.peak_activation_memory,
                parameter_bytes=graph.parameter_bytes,
                predicted_overhead=result.report.compute_cost / graph.total_compute,
                live_peak=tracked.stats.peak_live_bytes,
                alloc_between_peak=max(tracked.stats.alloc_after, default=None),
                alloc_within_peak=max(tracked.stats.alloc_within, default=None),
                vjp_reruns=int(tracked.stats.vjp_reruns.sum()),
                implied=int(tracked.stats.implied.sum()),
                **measured,
                measured_overhead=measured["step_s"] / plain["step_s"],
            )
            records.append(rec)
    return records


def main(argv: Sequence[str] | None = None) -> int:
    """Command line: measure one model; JSON lines on stdout."""
    parser = argparse.ArgumentParser(prog="python -m checkmate_opt.execution.measure")
    parser.add_argument("--model", required=True, choices=PRESETS)
    parser.add_argument("--batch", type=int, default=None)
    parser.add_argument("--budgets", nargs="+", default=["all", "1.0x", "0.7x", "0.5x"])
    parser.add_argument("--strategy", default="optimal")
    parser.add_argument("--steps", type=int, default=5)
    parser.add_argument("--device", default="CPU:0")
    parser.add_argument("--time-limit", type=float, default=60.0)
    args = parser.parse_args(argv)
    for rec in measure_model(
        args.model,
        batch=args.batch,
        budgets=args.budgets,
        strategy=args.strategy,
        steps=args.steps,
        device=args.device,
        time_limit_s=args.time_limit,
    ):
        print(json.dumps(rec), flush=True)
    return 0


if __name__ == "__main__":
    # the CPU allocator keeps statistics only as a BFC allocator, chosen when TensorFlow starts
    os.environ.setdefault("TF_CPU_ALLOCATOR_USE_BFC", "true")
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    sys.exit(main())
