"""Benchmark harness: strategies x graphs x budget multipliers, one fresh process per solve.

Budget B = ceil(mult x the peak activation memory of the graph's own order with no
rematerialization), in bytes (graph units for the random layered graphs), as the published
protocol and the peer measurement define it. Each solve runs in a child process (its wall time
and peak RSS are its own) and every figure comes from simulating the returned schedule.

Examples (``nox -s bench -- ARGS`` runs the same)::

    python benchmarks/run.py                                  # the default grid
    python benchmarks/run.py --graphs vgg16_b256 random_layered_n100 --mults 0.9 0.8 \\
        --strategies optimal anytime --time-limit 120
    python benchmarks/run.py --quick                          # the CI subset, a few seconds

Graph names: a file stem of the shared graphs (``vgg16_b256`` or ``vgg16_b256_train``,
``random_layered_n500``), ``chainN`` (a chain of N layers) or ``randomN`` (a generated random
layered training graph of N forward layers, seed 0).

Outputs in ``--out`` (default ``benchmarks/results/<timestamp>/``): ``results.jsonl`` (one
line per solve), ``results.csv``, ``table.txt`` (also printed, with the published and peer
figures of the shared graphs' README and ``peer-2core.md`` beside ours) and
``table.md`` (ours beside the peer's, Markdown) and ``plot.png`` / ``plot.pdf``.
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import json
import math
import os
import re
import subprocess
import sys
import time
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
SHARED = Path(
    os.environ.get("CHECKMATE_SHARED_GRAPHS", HERE.parents[1] / "shared" / "graphs")
).resolve()

SMALL = ["vgg16_b256", "vgg19_b256", "fcn8vgg_b32", "segnet_b32", "vggunet_b32"]
LARGE = ["mobilenet_b512", "resnet50_b256"]
RANDOM = [f"random_layered_n{k}" for k in (100, 250, 500, 1000)]
DEFAULT_GRAPHS = [*SMALL, *LARGE, *RANDOM, "chain32", "random50"]
DEFAULT_STRATEGIES = ["checkpoint_all", "chen_greedy", "anytime", "anytime_reorder", "optimal"]
DEFAULT_MULTS = [0.9, 0.8, 0.7]
QUICK = {
    "graphs": ["chain8", "random12"],
    "strategies": ["checkpoint_all", "chen_greedy", "anytime"],
    "mults": [0.9, 0.8],
    "time_limit": 2.0,
}

FIELDS = [
    "graph",
    "nodes",
    "mult",
    "budget",
    "strategy",
    "status",
    "within_budget",
    "incr_pct",
    "compute_cost",
    "total_compute",
    "peak_activation_memory",
    "sim_peak",
    "solve_time_s",
    "wall_s",
    "build_time_s",
    "gap_pct",
    "proven_optimal",
    "peak_rss_mb",
    "order_changed",
    "message",
]


# ------------------------------------------------------------------ graphs and budgets
def load(name: str) -> Any:
    """A graph by name (see the module doc)."""
    from checkmate_opt.generators import linear_graph, random_layered_graph
    from checkmate_opt.io import load_graph

    m = re.fullmatch(r"chain(\d+)", name)
    if m:
        return linear_graph(int(m.group(1)))
    m = re.fullmatch(r"random(\d+)", name)
    if m:
        return random_layered_graph(int(m.group(1)), seed=0)
    for stem in (f"{name}_train", name):
        path = SHARED / f"{stem}.json"
        if path.exists():
            return load_graph(path)
    raise SystemExit(
        f"unknown graph {name!r}: not chainN/randomN and no {SHARED}/{name}.json "
        "(set CHECKMATE_SHARED_GRAPHS to the shared graphs folder)"
    )


def canonical(name: str) -> str:
    """The shared file stem a name refers to (``vgg16_b256`` -> ``vgg16_b256_train``)."""
    if (SHARED / f"{name}_train.json").exists():
        return f"{name}_train"
    return name


def budget_for(graph: Any, mult: float) -> int:
    """ceil(mult x no-remat peak of the given order), the protocol's integer budget."""
    from checkmate_opt.budget import no_remat_peak

    return math.ceil(mult * no_remat_peak(graph))


# ------------------------------------------------------------------ one solve (child)
def solve_one(name: str, mult: float, strategy: str, time_limit: float) -> dict[str, Any]:
    """Run one strategy on one graph and budget in this process; the JSON row."""
    import inspect

    from checkmate_opt.options import SolveOptions
    from checkmate_opt.simulate import simulate
    from checkmate_opt.strategies import get_strategy

    graph = load(name)
    budget = budget_for(graph, mult)
    fn = get_strategy(strategy)
    params = inspect.signature(fn).parameters
    kwargs: dict[str, Any] = {}
    if "options" in params:
        kwargs["options"] = SolveOptions(time_limit_s=time_limit)
    t0 = time.perf_counter()
    res = fn(graph, budget, **kwargs)
    wall = time.perf_counter() - t0
    rep = res.report
    sim_peak = None
    order = res.params.get("order")
    if res.schedule is not None:
        g = graph
        if order is not None:
            from checkmate_opt.strategies.anytime import reorder_graph

            g = reorder_graph(graph, order)
        sim_peak = simulate(g, res.schedule).peak_activation_memory  # the referee, again
    cost = None if rep is None else rep.compute_cost
    bound = res.objective_bound
    gap = None
    if cost and bound is not None:
        gap = 100.0 * max(0.0, cost - bound) / cost
    build = res.params.get("build_time_s")
    return {
        "graph": canonical(name),
        "nodes": graph.n,
        "mult": mult,
        "budget": budget,
        "strategy": strategy,
        "status": res.termination.value,
        "within_budget": bool(sim_peak is not None and sim_peak <= budget),
        "incr_pct": None if cost is None else 100.0 * (cost / graph.total_compute - 1.0),
        "compute_cost": cost,
        "total_compute": graph.total_compute,
        "peak_activation_memory": None if rep is None else rep.peak_activation_memory,
        "sim_peak": sim_peak,
        "solve_time_s": res.solve_time_s,
        "wall_s": wall,
        "build_time_s": build,
        "gap_pct": gap,
        "proven_optimal": res.proven_optimal,
        "order_changed": order is not None and list(order) != list(range(graph.n)),
        "message": res.message[:200],
    }


def run_child(
    name: str, mult: float, strategy: str, time_limit: float, *, grace: float = 120.0
) -> dict[str, Any]:
    """:func:`solve_one` in a fresh interpreter; adds its peak RSS (MB)."""
    cmd = [sys.executable, str(Path(__file__).resolve()), "--child", name, str(mult), strategy]
    cmd.append(str(time_limit))
    t0 = time.perf_counter()
    try:
        proc = subprocess.run(
            cmd, capture_output=True, text=True, timeout=time_limit + grace, check=False
        )
    except subprocess.TimeoutExpired:
        return _failed(name, mult, strategy, f"killed after {time_limit + grace:.0f} s")
    lines = [ln for ln in proc.stdout.splitlines() if ln.startswith("{")]
    if proc.returncode != 0 or not lines:
        tail = (proc.stderr.strip().splitlines() or ["no output"])[-1]
        return _failed(name, mult, strategy, f"exit {proc.returncode}: {tail}")
    row: dict[str, Any] = json.loads(lines[-1])
    row["process_wall_s"] = time.perf_counter() - t0
    return row


def _failed(name: str, mult: float, strategy: str, why: str) -> dict[str, Any]:
    row: dict[str, Any] = dict.fromkeys(FIELDS)
    row.update(graph=canonical(name), mult=mult, strategy=strategy, status="error")
    row.update(within_budget=False, message=why)
    return row


def _child_main(argv: Sequence[str]) -> int:
    import resource

    name, mult, strategy, limit = argv
    row = solve_one(name, float(mult), strategy, float(limit))
    # ru_maxrss is KiB on Linux
    row["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
    print(json.dumps(row, sort_keys=True))
    return 0


# ------------------------------------------------------------------ published / peer figures
def peer_rows(shared: Path = SHARED) -> dict[tuple[str, float], dict[str, str]]:
    """The peer table of ``peer-2core.md``: (graph, mult) -> its cells by column name."""
    path = shared / "peer-2core.md"
    if not path.exists():
        return {}
    out: dict[tuple[str, float], dict[str, str]] = {}
    header: list[str] | None = None
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line.startswith("|"):
            header = None if not line.strip() else header
            continue
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if header is None:
            header = cells
            continue
        if set("".join(cells)) <= set("-: "):
            continue
        row = dict(zip(header, cells, strict=False))
        try:
            out[(row["graph"], float(row["mult"]))] = row
        except (KeyError, ValueError):
            continue
    return out


def published_rows(shared: Path = SHARED) -> dict[tuple[str, float], dict[str, str]]:
    """The published results of the shared README: (graph, mult) -> method -> figure."""
    path = shared / "README.md"
    if not path.exists():
        return {}
    text = path.read_text(encoding="utf-8")
    out: dict[tuple[str, float], dict[str, str]] = {}
    header: list[str] | None = None
    for line in text.splitlines():
        if not line.startswith("|"):
            header = None
            continue
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if header is None:
            header = cells
            continue
        if header[:2] != ["graph", "budget"] or set("".join(cells)) <= set("-: "):
            continue
        mults = [m.strip() for m in cells[1].split("/")]
        for k, m in enumerate(mults):
            try:
                mult = float(m)
            except ValueError:
                break
            row = out.setdefault((canonical(cells[0]), mult), {})
            for col, cell in zip(header[2:], cells[2:], strict=False):
                parts = [x.strip() for x in cell.split(" / ")] if len(mults) > 1 else [cell]
                if cell:  # one figure for both budgets reads as both
                    row[col] = parts[k] if len(parts) == len(mults) else parts[0]
    pat = re.compile(r"([\d.]+)% / ([\d.]+)% on (?:random_layered_)?(n\d+) in ([\d.]+) s")
    for a, b, graph, secs in pat.findall(" ".join(text.split())):
        for mult, val in ((0.9, a), (0.8, b)):
            out.setdefault((f"random_layered_{graph}", mult), {})["reordering (FastSA)"] = (
                f"{val}% in {secs} s"
            )
    return out


# ------------------------------------------------------------------ outputs
def _fmt(v: Any, spec: str = ".2f") -> str:
    if v is None:
        return "-"
    if isinstance(v, bool):
        return "yes" if v else "no"
    if isinstance(v, float):
        return format(v, spec)
    return str(v)


def table_text(rows: Iterable[dict[str, Any]], shared: Path = SHARED) -> str:
    """The readable table, with the peer's and the published figures beside ours."""
    peer = peer_rows(shared)
    pub = published_rows(shared)
    head = (
        f"{'graph':<22}{'mult':>5}{'B':>13}  {'strategy':<16}{'status':<12}{'fits':<5}"
        f"{'incr%':>8}{'time s':>9}{'build s':>8}{'gap%':>8}{'RSS MB':>8}  reference"
    )
    lines = [head, "-" * len(head)]
    for r in rows:
        ref = []
        p = peer.get((r["graph"], r["mult"]))
        if p:
            ref.append(
                f"peer {p.get('peer status', '?')} {p.get('peer incr %', '?')}% "
                f"in {p.get('peer wall s', '?')} s"
            )
        for method, fig in pub.get((r["graph"], r["mult"]), {}).items():
            if fig:
                ref.append(f"{method.split(' (')[0]}: {fig}")
        lines.append(
            f"{r['graph']:<22}{r['mult']:>5.2f}{_fmt(r.get('budget')):>13}  "
            f"{r['strategy']:<16}{_fmt(r.get('status')):<12}{_fmt(r.get('within_budget')):<5}"
            f"{_fmt(r.get('incr_pct')):>8}{_fmt(r.get('solve_time_s'), '.1f'):>9}"
            f"{_fmt(r.get('build_time_s'), '.2f'):>8}{_fmt(r.get('gap_pct'), '.3f'):>8}"
            f"{_fmt(r.get('peak_rss_mb'), '.0f'):>8}  {'; '.join(ref)}"
        )
    return "\n".join(lines) + "\n"


def markdown_table(rows: Iterable[dict[str, Any]], shared: Path = SHARED) -> str:
    """Ours beside the peer's (``peer-2core.md``), one Markdown row per result."""
    peer = peer_rows(shared)
    out = [
        "| graph | mult | B | strategy | status | incr % | solve s / process s | gap % "
        "| peer status | peer incr % | peer wall s | ours / peer time |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        p = peer.get((r["graph"], r["mult"]), {})
        status = r.get("status") or "-"
        if r.get("status") != "error" and not r.get("within_budget"):
            status += ", no schedule" if r.get("sim_peak") is None else ", over budget"
        ratio = "-"
        with contextlib.suppress(KeyError, TypeError, ValueError, ZeroDivisionError):
            ratio = f"{float(r['process_wall_s']) / float(p['peer wall s']):.2f}"
        incr = _fmt(r.get("incr_pct")) if r.get("within_budget") else "-"
        out.append(
            f"| {r['graph']} | {r['mult']:g} | {_fmt(r.get('budget'))} | {r['strategy']} "
            f"| {status} | {incr} | {_fmt(r.get('solve_time_s'), '.1f')} / "
            f"{_fmt(r.get('process_wall_s'), '.1f')} | {_fmt(r.get('gap_pct'), '.3f')} "
            f"| {p.get('peer status', '-')} | {p.get('peer incr %', '-')} "
            f"| {p.get('peer wall s', '-')} | {ratio} |"
        )
    return "\n".join(out) + "\n"


def write_csv(rows: Sequence[dict[str, Any]], path: Path) -> None:
    with path.open("w", newline="", encoding="utf-8") as fh:
        w = csv.DictWriter(fh, fieldnames=FIELDS, extrasaction="ignore")
        w.writeheader()
        for r in rows:
            w.writerow(r)


def plot(rows: Sequence[dict[str, Any]], path: Path, shared: Path = SHARED) -> list[Path]:
    """Compute increase per graph and strategy, one panel per multiplier; peer as markers."""
    from checkmate_opt.plotting import MIN_FONT_PT, _pyplot, mark_missing, save_figure

    plt = _pyplot()
    mults = sorted({r["mult"] for r in rows}, reverse=True)
    graphs = list(dict.fromkeys(r["graph"] for r in rows))
    strategies = list(dict.fromkeys(r["strategy"] for r in rows))
    peer = peer_rows(shared)
    fig, axes = plt.subplots(
        1, len(mults), figsize=(max(6, 1.1 * len(graphs)) * len(mults), 4.2), squeeze=False
    )
    width = 0.8 / max(1, len(strategies))
    colors = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    for ax, mult in zip(axes[0], mults, strict=False):
        misses: list[tuple[float, str, Any]] = []
        zeros: list[tuple[float, Any]] = []
        for k, s in enumerate(strategies):
            color = colors[k % len(colors)]
            xs, ys = [], []
            for gi, g in enumerate(graphs):
                x = gi + (k - (len(strategies) - 1) / 2) * width
                hit = [r for r in rows if (r["graph"], r["mult"], r["strategy"]) == (g, mult, s)]
                if not hit:
                    continue  # not run: nothing to mark
                r = hit[0]
                if r.get("within_budget") and r.get("incr_pct") is not None:
                    xs.append(x)
                    ys.append(float(r["incr_pct"]))
                    if r["incr_pct"] == 0:
                        zeros.append((x, color))
                else:  # never silently absent: say why there is no bar
                    why = "over" if r.get("incr_pct") is not None else "none"
                    misses.append((x, why, color))
            ax.bar(xs, ys, width=width, label=s, color=color)
        px, py = [], []
        for gi, g in enumerate(graphs):
            cell = peer.get((g, mult), {}).get("peer incr %", "")
            try:
                py.append(float(cell))
                px.append(gi)
            except ValueError:
                continue
        if px:
            ax.scatter(px, py, marker="_", s=400, color="black", zorder=3, label="peer (CP-SAT)")
        # symlog: 0 % is a real value here, not clipped to an arbitrary floor of a log axis
        ax.set_yscale("symlog", linthresh=0.1)
        ax.set_ylim(bottom=0)
        for x, color in zeros:
            ax.annotate(
                "0",
                (x, 0),
                xytext=(0, 2),
                textcoords="offset points",
                ha="center",
                va="bottom",
                fontsize=MIN_FONT_PT,
                color=color,
            )
        for x, why, color in misses:
            mark_missing(ax, x, color=color, label=why)
        ax.set_title(
            f"budget {mult:g} x no-remat peak\n(x: no schedule within budget; "
            "'over': over budget, 'none': no schedule)",
            fontsize=9,
        )
        ax.set_xticks(range(len(graphs)))
        ax.set_xticklabels(graphs, rotation=40, ha="right", fontsize=MIN_FONT_PT)
        ax.set_ylabel("compute increase % (symlog)")
    handles, labels = axes[0][0].get_legend_handles_labels()
    ncol = min(len(labels), 4) or 1
    fig.legend(handles, labels, loc="lower center", ncol=ncol, fontsize=MIN_FONT_PT, frameon=False)
    fig.tight_layout(rect=(0, 0.06 * ((len(labels) + ncol - 1) // ncol), 1, 1))
    written = save_figure(fig, path, formats=("pdf",))
    plt.close(fig)
    return written


def check_rows(rows: Sequence[dict[str, Any]]) -> list[str]:
    """Consistency problems of a result set (an empty list when there are none)."""
    problems = []
    for r in rows:
        if r.get("status") == "error":
            continue
        fits = r.get("sim_peak") is not None and r["sim_peak"] <= r["budget"]
        if bool(r.get("within_budget")) != fits:
            problems.append(f"{r['graph']} {r['mult']} {r['strategy']}: within_budget disagrees")
        if r.get("sim_peak") is not None and r["sim_peak"] != r.get("peak_activation_memory"):
            problems.append(f"{r['graph']} {r['mult']} {r['strategy']}: simulator disagrees")
        if r.get("proven_optimal") and not fits:
            problems.append(f"{r['graph']} {r['mult']} {r['strategy']}: optimal but over budget")
    return problems


def run_grid(
    graphs: Sequence[str],
    strategies: Sequence[str],
    mults: Sequence[float],
    time_limit: float,
    out: Path,
    *,
    echo: bool = True,
) -> list[dict[str, Any]]:
    """Every strategy x graph x multiplier, appended to ``out/results.jsonl`` as it runs."""
    out.mkdir(parents=True, exist_ok=True)
    rows: list[dict[str, Any]] = []
    with (out / "results.jsonl").open("a", encoding="utf-8") as fh:
        for g in graphs:
            for m in mults:
                for s in strategies:
                    row = run_child(g, m, s, time_limit)
                    rows.append(row)
                    fh.write(json.dumps(row, sort_keys=True) + "\n")
                    fh.flush()
                    if echo:
                        print(table_text([row]).splitlines()[-1], flush=True)
    return rows


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point."""
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["--child"]:
        return _child_main(argv[1:])
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--graphs", nargs="+", default=DEFAULT_GRAPHS)
    p.add_argument("--strategies", nargs="+", default=DEFAULT_STRATEGIES)
    p.add_argument("--mults", type=float, nargs="+", default=DEFAULT_MULTS)
    p.add_argument("--time-limit", type=float, default=60.0, help="seconds per solve")
    p.add_argument("--quick", action="store_true", help="the small CI subset")
    p.add_argument("--out", type=Path, help="output folder")
    p.add_argument("--no-plot", action="store_true")
    args = p.parse_args(argv)
    if args.quick:
        args.graphs, args.strategies = QUICK["graphs"], QUICK["strategies"]
        args.mults, args.time_limit = QUICK["mults"], QUICK["time_limit"]
    from checkmate_opt.strategies import STRATEGIES

    for s in args.strategies:
        if s not in STRATEGIES:
            raise SystemExit(f"unknown strategy {s!r}; choose from {', '.join(STRATEGIES)}")
    for g in args.graphs:
        load(g)  # fail early on a bad name
    out = args.out or HERE / "results" / time.strftime("%Y%m%d-%H%M%S")
    print(table_text([]).splitlines()[0], flush=True)
    rows = run_grid(args.graphs, args.strategies, args.mults, args.time_limit, out)
    (out / "table.txt").write_text(table_text(rows), encoding="utf-8")
    (out / "table.md").write_text(markdown_table(rows), encoding="utf-8")
    write_csv(rows, out / "results.csv")
    if not args.no_plot:
        plot(rows, out / "plot.png")
    problems = check_rows(rows)
    for prob in problems:
        print(f"INCONSISTENT: {prob}", file=sys.stderr)
    print(f"results: {out}")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
