"""Check that an exercise's hidden tests catch plausible mistakes its visible tests let through.

Each mistake replaces one solution block of the source notebook; the notebook runs; that task's
test cell must pass its visible part and fail in its hidden part. The generic nbgrader checks
(source validates, release fails, nothing hidden leaks) are in tests/test_exercises.py.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import nbclient

from course import notebook_files, syllabus

SOLUTION = re.compile(r"(### BEGIN SOLUTION\n).*?(\n\s*### END SOLUTION)", re.S)


def source_of(assignment: str) -> Path:
    return next(e.notebook for e in syllabus.exercises() if e.id == assignment)


def grade_id(cell) -> str | None:
    return cell.metadata.get("nbgrader", {}).get("grade_id")


def failing_line(cell) -> int | None:
    """The line of the cell where it raised, from the traceback (None if it did not raise)."""
    for out in cell.get("outputs", []):
        if out.output_type == "error":
            text = re.sub(r"\x1b\[[0-9;]*m", "", "\n".join(out.traceback))
            lines = re.findall(r"line (\d+)", text)
            return int(lines[0]) if lines else -1
    return None


def run_with_mistakes(source: Path, mistakes: dict[str, str], cwd: Path,
                      edit: Callable | None = None) -> dict:
    """Execute ``source`` with each named solution block replaced; cells by grade_id.
    ``edit(cell)`` may change other cells (e.g. a model answer that feeds a later task)."""
    nb = notebook_files.read(source)
    for cell in nb.cells:
        gid = grade_id(cell)
        if gid in mistakes:
            body = mistakes[gid]
            # the first block only: a cell may hold a second one (e.g. a table built with it)
            cell.source, n = SOLUTION.subn(
                lambda m, body=body: m.group(1) + body + m.group(2), cell.source, count=1)
            assert n == 1, f"{gid}: no solution block to replace"
        elif edit is not None:
            edit(cell)
    client = nbclient.NotebookClient(nb, timeout=180, kernel_name="python3", allow_errors=True,
                                     resources={"metadata": {"path": str(cwd)}})
    client.execute()
    return {grade_id(c): c for c in nb.cells if grade_id(c)}


def assert_caught_by_hidden_tests(cells: dict, tests_id: str) -> None:
    cell = cells[tests_id]
    hidden_from = cell.source.splitlines().index("### BEGIN HIDDEN TESTS") + 1
    line = failing_line(cell)
    assert line is not None, f"{tests_id}: the hidden tests let the mistake through"
    assert line > hidden_from, f"{tests_id}: failed at line {line}, before the hidden tests"
