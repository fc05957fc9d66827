"""Node/edge/parameter counts of every zoo model (builds each one; several minutes on 2 cores).

Usage: ``python benchmarks/zoo_table.py [NAME ...] [--json OUT.json]``; prints a Markdown table.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


def main(argv: list[str] | None = None) -> int:
    from checkmate_opt import zoo

    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("names", nargs="*", help="zoo models (default: all)")
    ap.add_argument("--batch-size", type=int, default=1)
    ap.add_argument("--json", help="also write the rows to this JSON file")
    args = ap.parse_args(argv)
    rows = []
    print("| model | input | L | nodes | edges | parameters | build+import s |")
    print("|---|---|---|---|---|---|---|")
    for name in args.names or zoo.names():
        t0 = time.perf_counter()
        row = zoo.describe(name, batch_size=args.batch_size)
        row["seconds"] = round(time.perf_counter() - t0, 1)
        rows.append(row)
        shape = "x".join(str(d) for d in row["input_shape"])
        print(
            f"| {name} | {shape} | {row['layers']} | {row['nodes']} | {row['edges']} | "
            f"{row['parameters']:,} | {row['seconds']} |",
            flush=True,
        )
    if args.json:
        with open(args.json, "w") as fh:
            json.dump(rows, fh, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
