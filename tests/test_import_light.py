"""``import checkmate_opt`` stays light: no solver, ML or plotting package at import time."""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
import textwrap

import pytest

HEAVY = ("gurobipy", "highspy", "pyomo", "keras", "tensorflow", "matplotlib", "ray")

#: modules that must import without any heavy package
CORE = [
    "checkmate_opt",
    "checkmate_opt.strategies",
    "checkmate_opt.errors",
    "checkmate_opt.graph",
    "checkmate_opt.generators",
    "checkmate_opt.io",
    "checkmate_opt.schedule",
    "checkmate_opt.simulate",
    "checkmate_opt.results",
    "checkmate_opt.options",
    "checkmate_opt.units",
    "checkmate_opt.testing",
]
#: modules at the edges that import their heavy packages inside functions (design guide)
EDGES = [
    "checkmate_opt.cli",
    "checkmate_opt.plotting",
    "checkmate_opt.importers",
    "checkmate_opt.execution",
    "checkmate_opt.execution.executor",
    "checkmate_opt.strategies.checkpoint_all",
    "checkmate_opt.strategies.chen",
    "checkmate_opt.strategies.griewank",
]


def _loaded_heavy(code: str) -> list[str]:
    probe = code + textwrap.dedent(
        f"""
        import json, sys
        heavy = {HEAVY!r}
        print(json.dumps(sorted(m for m in sys.modules if m.split(".")[0] in heavy)))
        """
    )
    out = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, timeout=120, check=False
    )
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_import_is_light():
    code = "".join(f"import {m}\n" for m in CORE)
    assert _loaded_heavy(code) == []


@pytest.mark.parametrize("module", EDGES)
def test_edge_modules_import_lightly(module):
    if importlib.util.find_spec(module) is None:
        pytest.skip(f"{module} does not exist (yet)")
    assert _loaded_heavy(f"import {module}\n") == []


def test_a_baseline_solve_stays_light():
    # the strategy table is resolved lazily: running a baseline loads no solver package
    code = textwrap.dedent(
        """
        from checkmate_opt.generators import linear_graph
        from checkmate_opt.strategies import solve
        result = solve(linear_graph(4), None, strategy="checkpoint_all")
        assert result.compute_cost == 9, result.compute_cost
        """
    )
    assert _loaded_heavy(code) == []
