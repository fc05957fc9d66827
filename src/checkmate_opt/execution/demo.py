"""Train a small model under a schedule next to plain training (``checkmate-opt train-demo``).

Both copies start from the same weights and see the same batches; the scheduled copy runs
every step through the executor. The losses are compared step by step and plotted with the
memory of one step: the simulator's timeline for the schedule and for plain training (no
rematerialization), the executor's measured live bytes, and, when TensorFlow's allocator
keeps statistics, its peak per step for both copies.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

__all__ = ["DemoResult", "train_demo"]


@dataclass
class DemoResult:
    """What :func:`train_demo` measured."""

    model: str
    batch_size: int
    budget: int
    noremat_peak: int
    schedule_peak: int
    predicted_overhead: float
    plain_losses: list[float]
    remat_losses: list[float]
    plain_alloc_peaks: list[int] = field(default_factory=list)
    remat_alloc_peaks: list[int] = field(default_factory=list)
    live_timeline: list[int] = field(default_factory=list)
    predicted_timeline: list[int] = field(default_factory=list)
    noremat_timeline: list[int] = field(default_factory=list)
    alloc_after: list[int] = field(default_factory=list)
    alloc_within: list[int] = field(default_factory=list)
    plain_seconds: float = 0.0
    remat_seconds: float = 0.0
    figures: list[Path] = field(default_factory=list)

    @property
    def max_loss_difference(self) -> float:
        """Largest |plain - scheduled| loss over the steps, relative to the plain loss."""
        a = np.asarray(self.plain_losses)
        b = np.asarray(self.remat_losses)
        return float(np.max(np.abs(a - b) / np.maximum(np.abs(a), 1e-12))) if a.size else 0.0


def _dataset(model: Any, examples: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Noisy copies of one random pattern per class, with one-hot labels: a learnable task."""
    rng = np.random.default_rng(seed)
    shape = tuple(int(d) for d in model.inputs[0].shape[1:])
    classes = int(model.outputs[0].shape[-1])
    # a spatial pattern plus a per-channel offset (which survives global pooling)
    patterns = rng.standard_normal((classes, *shape))
    patterns += rng.standard_normal((classes, *(1,) * (len(shape) - 1), shape[-1]))
    labels = rng.integers(0, classes, size=examples)
    x = patterns[labels] + rng.standard_normal((examples, *shape))
    y = np.eye(classes, dtype="float32")[labels]
    return x.astype("float32"), y


def _builder(name: str) -> Any:
    from checkmate_opt.execution import models

    builders = {
        "vgg": lambda: models.small_vgg(size=32, width=16, classes=10, dropout=0.25),
        "residual": lambda: models.small_residual(size=32, width=16, blocks=8, classes=10),
        "chain": lambda: models.small_chain(depth=8, width=512, features=128, classes=10),
    }
    if name not in builders:
        raise ValueError(f"unknown demo model {name!r}; choose one of: {', '.join(builders)}")
    return builders[name]


def train_demo(
    *,
    model: str = "residual",
    steps: int = 200,
    batch_size: int = 32,
    budget: str = "0.5x",
    strategy: str = "optimal",
    learning_rate: float = 0.05,
    output: str | os.PathLike[str] | None = None,
    time_limit_s: float = 60.0,
    seed: int = 0,
) -> DemoResult:
    """Train plain and scheduled copies of a small model ``steps`` steps; see the module doc.

    ``budget`` is an activation-memory budget (``"0.5x"``: 0.5 x the simulated peak of plain
    training, so plain training exceeds it). ``output``: a figure path (``.png``; a ``.pdf``
    is written beside it). The allocator peaks are recorded when TensorFlow keeps allocator
    statistics (on a CPU: started with ``TF_CPU_ALLOCATOR_USE_BFC=true``, as the CLI does).
    """
    import tensorflow as tf

    import checkmate_opt as cm
    import keras
    from checkmate_opt.execution.executor import plain_step, train_step
    from checkmate_opt.importers.keras import graph_from_keras

    build = _builder(model)
    keras.utils.set_random_seed(seed)
    plain_model = build()
    keras.utils.set_random_seed(seed)
    remat_model = build()
    graph = graph_from_keras(remat_model, batch_size=batch_size)
    kwargs: dict[str, Any] = {}
    if strategy in {"optimal", "lp_rounding"}:
        kwargs = {"options": cm.SolveOptions(time_limit_s=time_limit_s), "progress": None}
    result = cm.solve(graph, budget, strategy=strategy, **kwargs)
    result.unwrap()
    report = result.report
    assert report is not None
    assert result.budget is not None
    noremat = cm.simulate(graph, cm.budget.no_remat_schedule(graph))
    loss = "categorical_crossentropy"
    plain = plain_step(plain_model, loss, keras.optimizers.SGD(learning_rate))
    remat = train_step(
        remat_model, loss, keras.optimizers.SGD(learning_rate), result, keep_predictions=False
    )
    x, y = _dataset(remat_model, 4 * batch_size, seed)
    batches = [(x[k : k + batch_size], y[k : k + batch_size]) for k in range(0, len(x), batch_size)]
    out = DemoResult(
        model=model,
        batch_size=batch_size,
        budget=int(result.budget),
        noremat_peak=noremat.peak_activation_memory,
        schedule_peak=report.peak_activation_memory,
        predicted_overhead=report.overhead,
        plain_losses=[],
        remat_losses=[],
    )
    for k in range(steps):
        xb, yb = batches[k % len(batches)]
        for fn, losses, peaks, attr in (
            (plain, out.plain_losses, out.plain_alloc_peaks, "plain_seconds"),
            (remat, out.remat_losses, out.remat_alloc_peaks, "remat_seconds"),
        ):
            tf.config.experimental.reset_memory_stats("CPU:0")
            base = tf.config.experimental.get_memory_info("CPU:0")["current"]
            start = time.perf_counter()
            losses.append(float(fn(xb, yb).loss))
            if k:  # the first step warms up
                setattr(out, attr, getattr(out, attr) + time.perf_counter() - start)
            peak = tf.config.experimental.get_memory_info("CPU:0")["peak"] - base
            if peak > 0:  # zero: TensorFlow started without allocator statistics
                peaks.append(int(peak))
    tracked = train_step(
        remat_model,
        loss,
        None,
        result,
        apply_gradients=False,
        keep_predictions=False,
        track_memory=True,
        probe_device="CPU:0",
    )
    tracked(*batches[0])
    out.live_timeline = list(tracked.stats.live_bytes)
    if max(tracked.stats.alloc_within, default=0) > 0:
        out.alloc_after = list(tracked.stats.alloc_after)
        out.alloc_within = list(tracked.stats.alloc_within)
    fixed = report.fixed_memory
    out.predicted_timeline = [int(v) - fixed for v in report.memory_timeline]
    out.noremat_timeline = [int(v) - fixed for v in noremat.memory_timeline]
    if output is not None:
        out.figures = _plot(out, Path(output))
    return out


def _plot(res: DemoResult, path: Path) -> list[Path]:
    from checkmate_opt.plotting import _pyplot, save_figure

    plt = _pyplot()
    panels = 3 if res.plain_alloc_peaks and res.remat_alloc_peaks else 2
    fig, axes = plt.subplots(1, panels, figsize=(5 * panels, 3.8))
    mb = 1e6
    ax = axes[0]
    ax.plot(res.plain_losses, label="plain GradientTape", linewidth=2.5, alpha=0.6)
    ax.plot(res.remat_losses, label="scheduled (executor)", linewidth=1, linestyle="--")
    ax.set_xlabel("step")
    ax.set_ylabel("loss")
    ax.set_title(f"loss, max rel. difference {res.max_loss_difference:.1e}")
    ax.legend()
    ax = axes[1]
    ax.plot(np.asarray(res.noremat_timeline) / mb, label="plain (simulated)", color="0.6")
    ax.plot(np.asarray(res.predicted_timeline) / mb, label="schedule (simulated)")
    ax.plot(np.asarray(res.live_timeline) / mb, label="executor's live tensors", linestyle=":")
    if res.alloc_after:
        ax.plot(np.asarray(res.alloc_after) / mb, label="TF allocator, between ops")
        ax.plot(
            np.asarray(res.alloc_within) / mb,
            label="TF allocator, peak within op",
            linewidth=0.8,
            alpha=0.7,
        )
    ax.axhline(res.budget / mb, color="red", linewidth=0.8, label="budget")
    ax.set_xlabel("operation of one step")
    ax.set_ylabel("MB (allocator: over step start)")
    ax.set_title("memory within a step")
    ax.legend(fontsize=8)
    if panels == 3:
        ax = axes[2]
        ax.plot(np.asarray(res.plain_alloc_peaks) / mb, label="plain")
        ax.plot(np.asarray(res.remat_alloc_peaks) / mb, label="scheduled")
        ax.set_xlabel("step")
        ax.set_ylabel("TF allocator peak over step start (MB)")
        ax.set_title("measured peak per step")
        ax.legend()
    fig.suptitle(
        f"{res.model}, batch {res.batch_size}: budget {res.budget / mb:.1f} MB "
        f"(plain needs {res.noremat_peak / mb:.1f} MB simulated)"
    )
    fig.tight_layout()
    try:
        return save_figure(fig, path, formats=("pdf",))
    finally:
        plt.close(fig)
