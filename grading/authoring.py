"""Build nbgrader source notebooks from Python, so exercise authors never hand-write cell metadata.

An exercise is written once, with its solution and hidden tests; nbgrader generates the student
version from it. Each builder returns an ``nbformat`` cell carrying nbgrader's metadata
(schema version 3). Typical use, in a small build script or an interactive session::

    from grading import authoring as a
    nb = a.notebook([
        a.markdown("# Exercise 1 …"),
        a.code("from course import data"),
        a.solution("def share(df):\\n    ### BEGIN SOLUTION\\n    return …\\n    ### END SOLUTION",
                   grade_id="share"),
        a.tests("assert share(df) == …\\n### BEGIN HIDDEN TESTS\\nassert …\\n### END HIDDEN TESTS",
                grade_id="share_tests", points=2),
        a.written_answer("A model answer the marker sees.", grade_id="assessment", points=4),
    ])
    a.write(nb, "course/exercises/source/ex01/ex01.ipynb")
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from pathlib import Path

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

SCHEMA_VERSION = 3
SOLUTION_BEGIN, SOLUTION_END = "### BEGIN SOLUTION", "### END SOLUTION"
HIDDEN_BEGIN, HIDDEN_END = "### BEGIN HIDDEN TESTS", "### END HIDDEN TESTS"
_GRADE_ID = re.compile(r"^[A-Za-z0-9_-]+$")


def _meta(grade_id: str, *, grade: bool, solution: bool, locked: bool, points: float = 0,
          task: bool = False) -> dict:
    if not _GRADE_ID.match(grade_id):
        raise ValueError(f"grade_id {grade_id!r}: use only letters, digits, '_' and '-'")
    meta = {"grade": grade, "grade_id": grade_id, "locked": locked,
            "schema_version": SCHEMA_VERSION, "solution": solution, "task": task}
    if grade or task:
        if points <= 0:
            raise ValueError(f"{grade_id}: a graded cell needs points > 0")
        meta["points"] = points
    return {"nbgrader": meta}


def markdown(text: str, *, grade_id: str | None = None):
    """Instructions. With a grade_id the cell is locked (read-only) in the student version."""
    cell = new_markdown_cell(text.strip("\n"))
    if grade_id:
        cell.metadata.update(_meta(grade_id, grade=False, solution=False, locked=True))
    return cell


def code(source: str, *, grade_id: str | None = None):
    """Set-up code the trainee runs but does not write (locked when given a grade_id)."""
    cell = new_code_cell(source.strip("\n"))
    if grade_id:
        cell.metadata.update(_meta(grade_id, grade=False, solution=False, locked=True))
    return cell


def solution(source: str, *, grade_id: str):
    """An autograded answer cell: the part between the solution markers is removed on release."""
    if SOLUTION_BEGIN not in source or SOLUTION_END not in source:
        raise ValueError(f"{grade_id}: an answer cell needs {SOLUTION_BEGIN!r} … {SOLUTION_END!r}")
    cell = new_code_cell(source.strip("\n"))
    cell.metadata.update(_meta(grade_id, grade=False, solution=True, locked=False))
    return cell


def tests(source: str, *, grade_id: str, points: float, require_hidden: bool = True):
    """An autograder test cell: visible asserts first, then a hidden block the release drops."""
    if require_hidden and (HIDDEN_BEGIN not in source or HIDDEN_END not in source):
        raise ValueError(f"{grade_id}: a test cell needs a hidden block ({HIDDEN_BEGIN!r} …)")
    cell = new_code_cell(source.strip("\n"))
    cell.metadata.update(_meta(grade_id, grade=True, solution=False, locked=True, points=points))
    return cell


def written_answer(model_answer: str, *, grade_id: str, points: float):
    """A manually graded Markdown answer. The source holds a model answer for markers;
    nbgrader replaces the whole cell with "YOUR ANSWER HERE" in the student version."""
    cell = new_markdown_cell(model_answer.strip("\n"))
    cell.metadata.update(_meta(grade_id, grade=True, solution=True, locked=False, points=points))
    return cell


def notebook(cells: Iterable) -> nbformat.NotebookNode:
    """A source notebook with the course kernel and nothing else in its metadata."""
    nb = new_notebook(cells=list(cells))
    nb.metadata = {
        "kernelspec": {"display_name": "Python 3 (ipykernel)", "language": "python",
                       "name": "python3"},
        "language_info": {"name": "python"},
    }
    ids = [c.metadata["nbgrader"]["grade_id"] for c in nb.cells if "nbgrader" in c.metadata]
    duplicates = sorted({i for i in ids if ids.count(i) > 1})
    if duplicates:
        raise ValueError(f"grade_id used more than once: {', '.join(duplicates)}")
    nbformat.validate(nb)
    return nb


def write(nb: nbformat.NotebookNode, path: str | Path) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, path)
    return path
