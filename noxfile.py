"""Development sessions: ``nox -s tests`` (HiGHS), ``nox -s tests_gurobi``, ``nox -s slow``,
``nox -s lint``, ``nox -s typecheck``, ``nox -s bench``, ``nox -s figures``."""

from __future__ import annotations

import nox

nox.options.sessions = ["lint", "typecheck", "tests"]
nox.options.reuse_existing_virtualenvs = True

PYTHON = ["3.11", "3.12"]


def _install(session: nox.Session, extras: str) -> None:
    session.install("-e", f".[{extras}]")


@nox.session(python=PYTHON[0])
def tests(session: nox.Session) -> None:
    """The default suite on HiGHS (Gurobi tests deselected; see tests_gurobi)."""
    _install(session, "keras,ray,test")
    session.run("pytest", "-m", "not gurobi", *session.posargs)


@nox.session(python=PYTHON[0])
def tests_gurobi(session: nox.Session) -> None:
    """The Gurobi-marked tests (the pip licence is enough for their tiny graphs)."""
    _install(session, "gurobi,test")
    session.run("pytest", "-m", "gurobi", *session.posargs, success_codes=[0, 5])


@nox.session(python=PYTHON[0])
def slow(session: nox.Session) -> None:
    """Everything, slow-marked checks included (big graphs, full sweeps, heavy zoo models)."""
    _install(session, "all,test")
    session.run("pytest", "--runslow", *session.posargs)


@nox.session(python=PYTHON[0])
def lint(session: nox.Session) -> None:
    """ruff check and format check."""
    session.install("ruff")
    session.run("ruff", "check", "src", "tests", "benchmarks", "noxfile.py")
    session.run("ruff", "format", "--check", "src", "tests", "benchmarks", "noxfile.py")


@nox.session(python=PYTHON[0])
def typecheck(session: nox.Session) -> None:
    """mypy on the package and the import-layer contracts (gurobipy installed: it ships types)."""
    _install(session, "dev,gurobi")
    session.run("mypy")
    session.run("lint-imports")


#: ``nox -s bench -- NAME ARGS`` runs benchmarks/NAME.py with ARGS instead of run.py
BENCH_SCRIPTS = ("milp_exact", "scaling", "milp_shared_graphs", "milp_table", "milp_max_batch")


@nox.session(python=PYTHON[0])
def bench(session: nox.Session) -> None:
    """Benchmarks: posargs go to benchmarks/run.py, or, when the first is one of
    BENCH_SCRIPTS (``nox -s bench -- milp_exact --mults 0.9 0.8``), to that script."""
    _install(session, "all,test")
    args = list(session.posargs)
    if args and args[0] in BENCH_SCRIPTS:
        session.run("python", f"benchmarks/{args[0]}.py", *args[1:])
        return
    session.run("python", "benchmarks/run.py", *args)


@nox.session(python=PYTHON[0])
def scaling(session: nox.Session) -> None:
    """Build time, solve time and memory against graph size (posargs to benchmarks/scaling.py)."""
    _install(session, "all")
    session.run("python", "benchmarks/scaling.py", *session.posargs)


@nox.session(python=PYTHON[0])
def figures(session: nox.Session) -> None:
    """Every experiment of the paper into figures/ (``nox -s figures -- --quick`` for minutes on
    2 cores; posargs are options of ``checkmate-opt figures``, e.g. ``--workers 4``)."""
    _install(session, "all")
    session.run("checkmate-opt", "figures", "--out", "figures", *session.posargs)
