"""Markdown table of ``milp_shared_graphs.py`` result files (for docs/milp.md).

Usage: ``.venv/bin/python benchmarks/milp_table.py benchmarks/results/milp_shared_graphs_*.jsonl``
"""

from __future__ import annotations

import json
import sys


def main(paths: list[str]) -> int:
    print(
        "| graph | n | m | budget (× ckpt-all) | threads | status | overhead | gap | "
        "build s | solve s | total s | warm start | columns | rows |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|")
    for path in paths:
        with open(path, encoding="utf-8") as fh:
            for line in fh:
                r = json.loads(line)
                gap = "-" if r["gap"] is None else f"{100 * r['gap']:.3f} %"
                threads = f"{r['threads'] or 'default'}{' +tight' if r.get('tighten') else ''}"
                ovh = "-" if r["overhead"] is None else f"{r['overhead']:.4f}"
                print(
                    f"| {r['graph'].removesuffix('_train.json')} | {r['n']} | {r['m']} | "
                    f"{r['fraction']} | {threads} | {r['status']} | {ovh} | "
                    f"{gap} | {r['build_s']} | {r['solver_s']} | {r['total_s']} | "
                    f"{r['warm_start']} | {r['num_variables']} | {r['num_constraints']} |"
                )
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
