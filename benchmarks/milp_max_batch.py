"""Maximum batch size on a shared graph: baselines (both protocols) and the MILP (docs/milp.md).

The graph file is at batch size B (its name says ``_b<B>_``); node memory is scaled linearly
with :func:`~checkmate_opt.experiments.max_batch.scaled_factory`.

Usage::

    nice .venv/bin/python benchmarks/milp_max_batch.py vgg19 --lo 150 --hi 320 \
        --time-limit 300 --out benchmarks/results/milp_max_batch_vgg19.json
"""

from __future__ import annotations

import argparse
import json
import logging
import re
import sys
from pathlib import Path

from checkmate_opt.experiments.max_batch import (
    max_batch_baselines,
    max_batch_milp,
    scaled_factory,
)
from checkmate_opt.io import load_graph
from checkmate_opt.options import SolveOptions

SHARED = Path(__file__).resolve().parents[2] / "shared" / "graphs"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("graph")
    ap.add_argument("--lo", type=int, required=True)
    ap.add_argument("--hi", type=int, required=True)
    ap.add_argument("--step", type=int, default=1)
    ap.add_argument("--memory-limit", type=int, default=16 * 10**9)
    ap.add_argument("--time-limit", type=float, default=300.0)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--out", type=Path, default=None)
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    path = next(SHARED.glob(f"{args.graph}_b*_train.json"))
    base = int(re.search(r"_b(\d+)_", path.name).group(1))  # type: ignore[union-attr]
    factory = scaled_factory(load_graph(path), base)
    out: dict[str, object] = {"graph": path.name, "memory_limit": args.memory_limit}
    sizes = range(args.lo, args.hi + 1, args.step)
    for protocol in ("paper", "corrected"):
        res = max_batch_baselines(
            factory, memory_limit=args.memory_limit, batch_sizes=sizes, protocol=protocol
        )
        out[f"baselines_{protocol}"] = dict(res.max_batch)
        print(protocol, dict(res.max_batch), f"{res.wall_time_s:.1f}s", flush=True)
    milp = max_batch_milp(
        factory,
        memory_limit=args.memory_limit,
        options=SolveOptions(time_limit_s=args.time_limit, threads=args.threads),
    )
    out["milp"] = milp.rows()[0]
    print("milp", milp.rows()[0], flush=True)
    text = json.dumps(out, indent=1)
    if args.out:
        args.out.write_text(text + "\n")
    else:
        sys.stdout.write(text + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
