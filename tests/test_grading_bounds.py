"""The grader's own bounds on what a submission costs it: integrity is linear in cells, and a
notebook past the size limit is not even parsed."""

from __future__ import annotations

import copy
import importlib.util
import time
from pathlib import Path

import pytest

from grading import autograde, integrity

HERE = Path(__file__).parent
_spec = importlib.util.spec_from_file_location("grading_fixture",
                                               HERE / "fixtures" / "grading" / "exercise.py")
fx = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(fx)


@pytest.mark.slow  # over about 5 s: out of `make check`
def test_integrity_compares_eighty_thousand_added_cells_in_linear_time():
    """Issue #15: 80,000 added cells took integrity 163 s (a count per cell: quadratic)."""
    released = fx.source_notebook()
    submitted = copy.deepcopy(released)
    test_cell = fx._cells(submitted, "share_tests")[0]
    for i in range(80_000):
        cell = copy.deepcopy(test_cell)
        cell.metadata["nbgrader"]["grade_id"] = f"added{i}"
        submitted.cells.append(cell)
    started = time.perf_counter()
    problems = integrity.compare(released, submitted, fx.NOTEBOOK)
    seconds = time.perf_counter() - started
    assert sorted({p.kind for p in problems}) == ["added"] and len(problems) == 80_000
    assert seconds < 30, f"{seconds:.1f} s (about 1 s when linear, minutes when quadratic)"


def test_a_notebook_over_the_size_limit_is_not_parsed(tmp_path):
    path = tmp_path / fx.NOTEBOOK
    path.write_text("{" + " " * autograde.MAX_NOTEBOOK_BYTES + "}")  # valid JSON: refused for its size alone
    nb, problems = integrity.read_submission(path, fx.NOTEBOOK)
    assert nb is None and [p.kind for p in problems] == ["too-large"]
    assert f"up to {autograde.MAX_NOTEBOOK_BYTES // 1_000_000} MB" in problems[0].detail
