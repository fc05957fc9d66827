"""Executed steps on the CPU: measured peak memory and step time against the simulator.

One fresh process per model (``python -m checkmate_opt.execution.measure``, TensorFlow's BFC
allocator switched on so that ``tf.config.experimental.get_memory_info("CPU:0")`` reports
bytes). Examples::

    python benchmarks/execution_cpu.py                       # all preset models
    python benchmarks/execution_cpu.py --models vgg --budgets all 1.0x 0.8x 0.65x

Writes ``benchmarks/results/execution_cpu.jsonl`` and prints a table. Columns: predicted =
simulated peak activation memory + parameter gradients; alloc = TensorFlow allocator peak
during a step over the bytes in use at its start; live = the executor's own count of live
tensors it created; held = the allocator's largest bytes in use between two operations of
the schedule (what is held, without the temporaries inside an operation); overheads are
step time over plain GradientTape training (measured) and compute cost over one pass
(predicted, FLOP cost model); "vs ckpt-all" is step time over the executor running the
checkpoint_all schedule (the executor's own cost without rematerialization).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

MODELS = ["chain", "vgg", "residual", "unet", "transformer"]


def table(records: list[dict[str, Any]]) -> str:
    """A markdown table of measurement records."""
    mb = 1e6
    lines = [
        "| model | config | budget | predicted MB | held MB | alloc MB | live MB "
        "| pred. overhead | meas. overhead | meas. vs ckpt-all | step s |",
        "|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    ref = {r["model"]: r["step_s"] for r in records if r.get("config") == "checkpoint_all"}
    for r in records:
        if "step_s" not in r:
            lines.append(
                f"| {r['model']} | {r['config']} | {r['budget']} | {r.get('status')} | | | | | |"
            )
            continue
        pred = (r["predicted_activation"] + r["parameter_bytes"]) / mb
        live = r.get("live_peak")
        alloc = r.get("alloc_peak")
        held = r.get("alloc_between_peak")
        lines.append(
            f"| {r['model']} | {r['config']} | {r['budget'] or '-'} | {pred:.1f} "
            f"| {'-' if not held else f'{held / mb:.1f}'} "
            f"| {'-' if alloc is None else f'{alloc / mb:.1f}'} "
            f"| {'-' if live is None else f'{live / mb:.1f}'} "
            f"| {r['predicted_overhead']:.3f} | {r['measured_overhead']:.2f} "
            f"| {r['step_s'] / ref[r['model']] if r['model'] in ref else float('nan'):.2f} "
            f"| {r['step_s']:.3f} |"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """Entry point."""
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--models", nargs="+", default=MODELS)
    p.add_argument("--budgets", nargs="+", default=["all", "1.0x", "0.8x", "0.65x"])
    p.add_argument("--batch", type=int, default=None, help="default: each preset's own")
    p.add_argument("--steps", type=int, default=5)
    p.add_argument("--strategy", default="optimal")
    p.add_argument("--time-limit", type=float, default=60.0)
    p.add_argument("--device", default="CPU:0")
    p.add_argument("--output", default="benchmarks/results/execution_cpu.jsonl")
    args = p.parse_args(argv)
    env = {**os.environ, "TF_CPU_ALLOCATOR_USE_BFC": "true", "TF_CPP_MIN_LOG_LEVEL": "2"}
    records: list[dict[str, Any]] = []
    for model in args.models:
        cmd = [
            sys.executable,
            "-m",
            "checkmate_opt.execution.measure",
            "--model",
            model,
            *(["--batch", str(args.batch)] if args.batch else []),
            "--steps",
            str(args.steps),
            "--strategy",
            args.strategy,
            "--time-limit",
            str(args.time_limit),
            "--device",
            args.device,
            "--budgets",
            *args.budgets,
        ]
        out = subprocess.run(cmd, env=env, capture_output=True, text=True, check=False)
        if out.returncode != 0:
            print(f"{model}: failed\n{out.stderr[-2000:]}", file=sys.stderr)
            continue
        records.extend(json.loads(line) for line in out.stdout.splitlines() if line.startswith("{"))
    path = Path(args.output)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(r) + "\n" for r in records))
    print(table(records))
    print(f"\n{len(records)} records -> {path}; load: {os.getloadavg()[0]:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
