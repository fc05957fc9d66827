"""Compare our V100 roofline costs with the paper's profiled costs (shared/graphs/*_train.json).

For each published training graph the matching zoo model is imported at the same batch size;
the documented architecture differences (MobileNet) are contracted out of the paper's graph
(``checkmate_opt.zoo.paper``), then node costs are compared: Spearman rank correlation over all
nodes and over the forward nodes, and the ratio of total costs (ours / paper). The ``flops``
model is reported alongside. Writes a Markdown table to stdout and the scatter plot to
``docs/figures/cost_model_comparison.{png,pdf}``.

Usage: ``python benchmarks/cost_model_comparison.py [--shared DIR] [--out docs/figures]``
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

ROOT = Path(__file__).resolve().parents[1]


def compare(shared: Path) -> list[dict]:
    import numpy as np
    from scipy.stats import spearmanr

    from checkmate_opt.importers.keras import graph_from_keras
    from checkmate_opt.io import load_graph
    from checkmate_opt.zoo import build_keras_model
    from checkmate_opt.zoo.paper import PAPER_GRAPHS, compare_with_paper

    rows = []
    for model, spec in PAPER_GRAPHS.items():
        keras_model = build_keras_model(model)
        paper = load_graph(shared / spec.file)
        row: dict = {"model": model, "batch_size": spec.batch_size, "file": spec.file}
        for platform in ("p32xlarge", "flops"):
            ours = graph_from_keras(
                keras_model, batch_size=spec.batch_size, cost_model=platform, name=model
            )
            cmp = compare_with_paper(ours, paper, spec)
            ref = cmp["reference"]
            a = np.asarray(ours.compute_cost, dtype=float)
            b = np.asarray(ref.compute_cost, dtype=float)
            L = len(ours.forward_nodes)
            row[platform] = {
                "spearman_all": float(spearmanr(a, b).statistic),
                "spearman_forward": float(spearmanr(a[:L], b[:L]).statistic),
                "ratio_total": float(a.sum() / b.sum()),
                "ours_total": int(a.sum()),
                "paper_total": int(b.sum()),
                "same_structure": bool(
                    cmp["same_nodes"] and cmp["same_edges"] and cmp["same_memory"]
                ),
            }
            if platform == "p32xlarge":
                row["ours"] = a.tolist()
                row["paper"] = b.tolist()
                row["forward"] = L
        rows.append(row)
        print(f"{model}: done", file=sys.stderr, flush=True)
    return rows


def measured_vs_roofline(model: str, batch_size: int, platform: str) -> dict:
    """Time ``model`` on this machine (``measured``) and rank-correlate with a roofline."""
    import numpy as np
    from scipy.stats import spearmanr

    from checkmate_opt.costs.measured import MeasuredCostModel
    from checkmate_opt.importers.keras import graph_from_keras
    from checkmate_opt.zoo import build_keras_model

    keras_model = build_keras_model(model)
    measured = MeasuredCostModel(batch_sizes=(1, 2, 4))
    ours = {
        name: np.asarray(
            graph_from_keras(keras_model, batch_size=batch_size, cost_model=cm).compute_cost,
            dtype=float,
        )
        for name, cm in (("measured", measured), (platform, platform), ("flops", "flops"))
    }
    m = ours["measured"]
    return {
        "model": model,
        "batch_size": batch_size,
        "measured_total_us": int(m.sum()),
        f"{platform}_total_us": int(ours[platform].sum()),
        f"spearman_{platform}": float(spearmanr(m, ours[platform]).statistic),
        "spearman_flops": float(spearmanr(m, ours["flops"]).statistic),
        "cache": str(measured.last_cache_path),
    }


def table(rows: list[dict]) -> str:
    out = [
        "| model | batch | same nodes/edges/memory | Spearman V100 roofline (all / fwd) | "
        "total ratio V100 roofline / paper | Spearman flops (all) |",
        "|---|---|---|---|---|---|",
    ]
    for r in rows:
        v, f = r["p32xlarge"], r["flops"]
        out.append(
            f"| {r['model']} | {r['batch_size']} | {'yes' if v['same_structure'] else 'NO'} | "
            f"{v['spearman_all']:.2f} / {v['spearman_forward']:.2f} | {v['ratio_total']:.3g} | "
            f"{f['spearman_all']:.2f} |"
        )
    return "\n".join(out)


def plot(rows: list[dict], out: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    fig, axes = plt.subplots(2, 4, figsize=(14, 7), constrained_layout=True)
    for ax, r in zip(axes.flat, rows, strict=False):
        ours = np.maximum(np.asarray(r["ours"]), 1)
        paper = np.maximum(np.asarray(r["paper"]), 1)
        L = r["forward"]
        ax.scatter(paper[:L], ours[:L], s=10, label="forward", alpha=0.7)
        ax.scatter(paper[L:], ours[L:], s=10, label="loss + gradients", alpha=0.7, marker="x")
        lo = min(paper.min(), ours.min())
        hi = max(paper.max(), ours.max())
        ax.plot([lo, hi], [lo, hi], color="grey", lw=0.8, ls="--")
        ax.set_xscale("log")
        ax.set_yscale("log")
        v = r["p32xlarge"]
        ax.set_title(
            f"{r['model']} (b={r['batch_size']})\n"
            f"rho={v['spearman_all']:.2f}, total ratio={v['ratio_total']:.2g}",
            fontsize=9,
        )
        ax.set_xlabel("paper cost (file units)", fontsize=8)
        ax.set_ylabel("V100 roofline (us)", fontsize=8)
    for ax in list(axes.flat)[len(rows) :]:
        ax.axis("off")
    axes.flat[0].legend(fontsize=7)
    out.mkdir(parents=True, exist_ok=True)
    for ext in ("png", "pdf"):
        fig.savefig(out / f"cost_model_comparison.{ext}", dpi=130)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--shared", type=Path, default=ROOT.parent / "shared" / "graphs")
    ap.add_argument("--out", type=Path, default=ROOT / "docs" / "figures")
    ap.add_argument("--json", type=Path, help="also write the numbers here")
    ap.add_argument(
        "--measured",
        metavar="MODEL",
        help="instead: time MODEL on this machine and compare with the c524xlarge roofline",
    )
    ap.add_argument("--batch-size", type=int, default=4)
    args = ap.parse_args(argv)
    if args.measured:
        print(json.dumps(measured_vs_roofline(args.measured, args.batch_size, "c524xlarge")))
        return 0
    rows = compare(args.shared)
    print(table(rows))
    plot(rows, args.out)
    if args.json:
        slim = [{k: v for k, v in r.items() if k not in ("ours", "paper")} for r in rows]
        args.json.write_text(json.dumps(slim, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
