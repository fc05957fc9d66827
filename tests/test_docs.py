"""The docs stay self-contained and match the code they describe."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

import checkmate_opt as cm

ROOT = Path(__file__).resolve().parents[1]
#: docs/milp.md is maintained with the solver code
USER_DOCS = [
    ROOT / "README.md",
    *sorted(p for p in (ROOT / "docs").glob("*.md") if p.name != "milp.md"),
]


def test_docs_cite_no_internal_specification_sections() -> None:
    for path in USER_DOCS:
        text = path.read_text(encoding="utf-8")
        hits = re.findall(r"spec(?:ification)? §|§\d|\(A\d+\)", text)
        assert not hits, f"{path.name}: {hits}"


@pytest.mark.highs
def test_readme_tour_line_prints_what_it_says() -> None:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    line = next(ln for ln in text.splitlines() if ln.startswith("r.termination"))
    expected = line.split("#", 1)[1].strip()
    g = cm.linear_graph(8)
    r = cm.solve(g, 6, strategy="optimal")  # the tour's call
    assert r.report is not None
    got = (r.termination.value, r.compute_cost, r.report.peak_activation_memory)
    assert repr(got) == expected


def test_zoo_table_lists_every_zoo_model() -> None:
    from checkmate_opt import zoo

    text = (ROOT / "docs" / "cost-models.md").read_text(encoding="utf-8")
    rows = set(re.findall(r"^\| ([\w.-]+) \| \d+x\d+x\d+ \|", text, flags=re.M))
    missing = sorted(set(zoo.names()) - rows)
    assert not missing, f"docs/cost-models.md's zoo table lacks {missing}"
