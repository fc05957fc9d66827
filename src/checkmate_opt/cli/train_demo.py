"""``checkmate-opt train-demo``: a small Keras model trained under a schedule and plainly."""

from __future__ import annotations

import argparse
import os

from checkmate_opt.cli.common import check_output

__all__ = ["add_parser", "run"]


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "train-demo",
        help="train a small Keras model under a schedule; compare with plain training",
    )
    p.add_argument("--model", default="residual", choices=["residual", "vgg", "chain"])
    p.add_argument("--steps", type=int, default=200)
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument(
        "--budget", default="0.5x", help="activation memory; 0.5x = 0.5 x plain training's peak"
    )
    p.add_argument("--strategy", default="optimal")
    p.add_argument("--lr", type=float, default=0.05)
    p.add_argument("--time-limit", type=float, default=60.0)
    p.add_argument(
        "-o", "--output", default="train_demo.png", help="figure (.png; a .pdf is written too)"
    )
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Exit status 0 when the scheduled losses match plain training, 1 otherwise."""
    import numpy as np

    from checkmate_opt.execution.demo import train_demo

    if args.steps < 1:
        raise ValueError(f"--steps must be at least 1, got {args.steps}")
    out_path = check_output(args.output)
    # TensorFlow's CPU allocator keeps statistics only as a BFC allocator, chosen at start-up
    os.environ.setdefault("TF_CPU_ALLOCATOR_USE_BFC", "true")
    res = train_demo(
        model=args.model,
        steps=args.steps,
        batch_size=args.batch_size,
        budget=args.budget,
        strategy=args.strategy,
        learning_rate=args.lr,
        output=out_path,
        time_limit_s=args.time_limit,
    )
    mb = 1e6
    print(
        f"model {res.model}, batch {res.batch_size}: plain training needs "
        f"{res.noremat_peak / mb:.2f} MB of activations (simulated); budget "
        f"{res.budget / mb:.2f} MB; the {args.strategy} schedule peaks at "
        f"{res.schedule_peak / mb:.2f} MB (simulated), measured live peak "
        f"{max(res.live_timeline, default=0) / mb:.2f} MB; predicted overhead "
        f"{res.predicted_overhead:.3f}x"
    )
    if res.plain_alloc_peaks and res.remat_alloc_peaks:
        plain_mb = float(np.median(res.plain_alloc_peaks)) / mb
        remat_mb = float(np.median(res.remat_alloc_peaks)) / mb
        print(
            f"TensorFlow allocator peak per step (median): plain {plain_mb:.2f} MB, "
            f"scheduled {remat_mb:.2f} MB"
        )
    if args.steps > 1:
        print(
            f"time over {args.steps - 1} steps: plain {res.plain_seconds:.2f} s, scheduled "
            f"{res.remat_seconds:.2f} s ({res.remat_seconds / max(res.plain_seconds, 1e-9):.2f}x)"
        )
    print(
        f"loss: first {res.plain_losses[0]:.4f}, last plain {res.plain_losses[-1]:.4f} / "
        f"scheduled {res.remat_losses[-1]:.4f}; largest relative difference over "
        f"{args.steps} steps {res.max_loss_difference:.2e}"
    )
    for path in res.figures:
        print(f"wrote {path}")
    return 0 if res.max_loss_difference < 1e-3 else 1
