"""Backends: registry, availability, errors, and real solves on both vendors."""

from __future__ import annotations

import _thread
import subprocess
import sys
import textwrap
import threading

import numpy as np
import pytest

from checkmate_opt.backends import (
    BACKENDS,
    Backend,
    Capability,
    Progress,
    available_backends,
    get_backend,
)
from checkmate_opt.backends.gurobi import GurobiBackend
from checkmate_opt.errors import BackendUnavailableError, CapabilityError, UnknownBackendError
from checkmate_opt.generators import linear_graph
from checkmate_opt.milp.formulation import build_instance
from checkmate_opt.options import SolveOptions
from checkmate_opt.results import Termination

OPTS = SolveOptions(threads=1, time_limit_s=30, mip_rel_gap=0)


def test_every_backend_module_is_registered() -> None:
    import pkgutil

    import checkmate_opt.backends as pkg

    names = {m.name for m in pkgutil.iter_modules(pkg.__path__)}
    modules = {m for m in names if not m.startswith("_")} - {"base"}
    assert modules == set(BACKENDS)
    assert list(BACKENDS) == ["highs", "gurobi", "scip"]  # preference order


def test_available_backends_probe_without_importing_vendors() -> None:
    code = textwrap.dedent(
        """
        import sys
        from checkmate_opt.backends import available_backends
        print(available_backends())
        assert "highspy" not in sys.modules and "gurobipy" not in sys.modules
        assert "pyomo" not in sys.modules
        """
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    assert out.returncode == 0, out.stderr
    assert "highs" in out.stdout


def test_get_backend_errors_say_what_to_do(monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(UnknownBackendError, match="highs, gurobi"):
        get_backend("cplex")
    monkeypatch.setattr(GurobiBackend, "is_available", classmethod(lambda cls: False))
    with pytest.raises(BackendUnavailableError, match=r"checkmate-opt\[gurobi\].*solver='highs'"):
        get_backend("gurobi")
    assert get_backend(None).name == available_backends()[0]
    inst = get_backend("highs")
    assert get_backend(inst) is inst


def test_capability_check() -> None:
    class LpOnly(Backend):
        name = "lp_only"
        required_modules = ()
        capabilities = frozenset({Capability.INTEGER})

        def _solve_compiled(self, cm, options, *, start, progress):  # type: ignore[no-untyped-def]
            raise AssertionError("not reached")

    with pytest.raises(CapabilityError, match="time_limit"):
        LpOnly().solve(build_instance(linear_graph(1), 3).model, SolveOptions(time_limit_s=1))


def test_milp_and_lp_solve_with_progress(backend: Backend) -> None:
    g = linear_graph(4)
    events: list[Progress] = []
    res = backend.solve(build_instance(g, 4, eps_noise=0).model, OPTS, progress=events.append)
    assert res.termination is Termination.COMPLETED
    assert res.objective == pytest.approx(11)  # linear4 at 4 units: 2 forward recomputes
    assert res.objective_bound == pytest.approx(11)
    assert events
    assert events[-1].incumbent == pytest.approx(11)
    assert res.solver.name == backend.name
    assert res.solver.num_variables
    lp = backend.solve(build_instance(g, 4, eps_noise=0, relax=True).model, OPTS)
    assert lp.termination is Termination.COMPLETED
    assert g.total_compute <= lp.objective <= 11 + 1e-6
    vals = res.values
    assert vals is not None
    assert set(vals) >= {"R", "S", "FREE", "U", "P"}


def test_infeasible_budget(backend: Backend) -> None:
    res = backend.solve(build_instance(linear_graph(3), 2, eps_noise=0).model, OPTS)
    assert res.termination is Termination.INFEASIBLE
    assert res.values is None


def test_vendor_options_pass_through_and_bad_ones_fail() -> None:
    from checkmate_opt.errors import SolverError

    hb = get_backend("highs")
    res = hb.solve(
        build_instance(linear_graph(2), 3).model,
        SolveOptions(backend_options={"presolve": "off"}, threads=1),
    )
    assert res.solver.options["presolve"] == "off"
    with pytest.raises(SolverError, match="no_such_option"):
        hb.solve(
            build_instance(linear_graph(2), 3).model,
            SolveOptions(backend_options={"no_such_option": 1}),
        )


@pytest.mark.gurobi
def test_gurobi_size_limited_licence_is_explained() -> None:
    if not GurobiBackend.is_available():
        pytest.skip("gurobipy not installed")
    big = build_instance(linear_graph(16), 8).model  # ~5000 columns: over the pip licence
    try:
        res = GurobiBackend().solve(big, SolveOptions(time_limit_s=5, threads=1))
    except BackendUnavailableError as err:
        msg = str(err)
        assert "licence" in msg
        assert "solver='highs'" in msg
        assert "2000" in msg
    else:  # a full licence is installed
        assert res.termination in (Termination.COMPLETED, Termination.TIME_LIMIT)


@pytest.mark.highs
def test_highs_ctrl_c_returns_incumbent() -> None:
    """A KeyboardInterrupt during the solve stops HiGHS and keeps its best incumbent."""
    from checkmate_opt.milp.extract import start_from_schedule
    from checkmate_opt.strategies.optimal import warm_start_schedule

    g = linear_graph(16)
    inst = build_instance(g, 9, eps_noise=0.01)
    found = warm_start_schedule(g, 9)
    assert found is not None
    # press Ctrl-C shortly after HiGHS reports its first incumbent (the MIP start), so the
    # interrupt lands inside the solve whatever the machine's speed
    timers: list[threading.Timer] = []

    def on_progress(event: object) -> None:
        if not timers:
            timers.append(threading.Timer(0.3, _thread.interrupt_main))
            timers[0].start()

    try:
        res = get_backend("highs").solve(
            inst.model,
            SolveOptions(threads=1, time_limit_s=60),
            start=start_from_schedule(inst, found[0]),
            progress=on_progress,
        )
    finally:
        for timer in timers:
            timer.cancel()
    assert timers, "HiGHS reported no incumbent"
    assert res.termination is Termination.INTERRUPTED
    assert res.values is not None
    assert res.wall_time_s < 30
    assert np.isfinite(res.objective)


@pytest.mark.parametrize(("solver", "banner"), [("highs", "HiGHS"), ("scip", "SCIP")])
def test_solver_log_goes_to_stderr_and_stdout_stays_json(
    tmp_path, solver: str, banner: str
) -> None:  # type: ignore[no-untyped-def]
    """Issue: ``--json --verbose`` printed the HiGHS log on stdout."""
    import json

    from checkmate_opt.io import save_graph

    if not BACKENDS[solver].is_available():
        pytest.skip(f"{solver} not installed")

    path = tmp_path / "g.json"
    save_graph(linear_graph(5), path)
    cmd = [sys.executable, "-m", "checkmate_opt", "solve", str(path), "--strategy", "optimal"]
    cmd += ["--budget", "0.7x", "--json", "--verbose", "--threads", "1", "--solver", solver]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=120, check=False)
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)  # nothing but the JSON object on stdout
    assert data["strategy"] == "optimal"
    assert banner in proc.stderr  # the log still streams, on stderr


@pytest.mark.parametrize("sentinel", [1e100, 1.00283e100, float("inf")])
def test_progress_never_shows_no_incumbent_sentinels(
    sentinel: float, caplog: pytest.LogCaptureFixture
) -> None:
    """Issue: Gurobi's progress line showed ``incumbent 1.00283e+100 bound -1.00283e+100``."""
    from checkmate_opt.backends.base import _ProgressFilter, log_progress

    events: list[Progress] = []
    filt = _ProgressFilter(events.append)
    filt(sentinel, -sentinel)  # no incumbent, no bound yet: nothing to report
    filt(sentinel, 7.0)
    filt(9.0, -sentinel)
    assert [(e.incumbent, e.bound) for e in events] == [(None, 7.0), (9.0, 7.0)]
    with caplog.at_level("INFO", logger="checkmate_opt.solve"):
        log_progress(Progress(1.0, None, 7.0))
    assert "incumbent - bound 7" in caplog.text
    assert "e+100" not in caplog.text


def test_gurobi_progress_events_are_finite() -> None:
    if not GurobiBackend.is_available():
        pytest.skip("gurobipy not installed")
    events: list[Progress] = []
    inst = build_instance(linear_graph(6), 6, eps_noise=0)
    GurobiBackend().solve(inst.model, OPTS, progress=events.append)
    assert events
    for e in events:
        for v in (e.incumbent, e.bound):
            assert v is None or abs(v) < 1e99


def test_bound_only_progress_is_throttled_but_never_lost() -> None:
    """Bounds can rise at every branch-and-bound node: at most one event per BOUND_EVERY_S
    for those, a new incumbent at once, and every event carries the latest bound."""
    from checkmate_opt.backends.base import _ProgressFilter

    events: list[Progress] = []
    filt = _ProgressFilter(events.append)
    for b in range(1, 50):
        filt(None, float(b))
    assert [(e.incumbent, e.bound) for e in events] == [(None, 1.0)]
    filt(100.0, 50.0)  # an incumbent goes out at once, with the latest bound
    assert [(e.incumbent, e.bound) for e in events][-1] == (100.0, 50.0)
    filt.last_sent -= 10  # as if a second had passed
    filt(None, 51.0)
    assert [(e.incumbent, e.bound) for e in events][-1] == (100.0, 51.0)
    assert len(events) == 3
    filt(None, 52.0)  # held back (under a second)...
    assert len(events) == 3
    filt(None, 52.0, final=True)  # ...until the solve's final pair
    assert [(e.incumbent, e.bound) for e in events][-1] == (100.0, 52.0)
    filt(100.0, 52.0, final=True)  # nothing new: no repeat
    assert len(events) == 4
