"""The course's notebooks are text: MyST Markdown files read and written here as notebooks.

Every module and exercise is authored as a MyST Markdown notebook (jupytext's ``md:myst``
format), the one source of truth a reviewer reads as a plain diff. The ``.ipynb`` files trainees
open and nbgrader grades are generated from it, never edited and never committed (except the
generated student versions of the exercises, which a test keeps equal to a fresh release).

Generated notebooks get deterministic, readable cell ids, one scheme for every notebook: a graded
cell's nbgrader ``grade_id``, otherwise its type and position (``md-03``, ``code-04``).
"""

from __future__ import annotations

import re
from pathlib import Path

import jupytext
import nbformat

TEXT_FORMAT = "md:myst"
KEEP_NOTEBOOK_METADATA = ("kernelspec", "language_info")
KEEP_CELL_METADATA = ("nbgrader", "tags")
KERNELSPEC = {"display_name": "Python 3 (ipykernel)", "language": "python", "name": "python3"}
_VALID_ID = re.compile(r"^[a-zA-Z0-9-_]{1,64}$")
_KIND = {"markdown": "md", "code": "code", "raw": "raw"}


def read(path: str | Path) -> nbformat.NotebookNode:
    """A course notebook from its MyST source (``.md``) or a generated ``.ipynb``, cleaned."""
    path = Path(path)
    if path.suffix == ".md":
        nb = jupytext.read(path, fmt=TEXT_FORMAT)
    else:
        nb = nbformat.read(path, as_version=4)
    return normalise(nb)


def reads(text: str) -> nbformat.NotebookNode:
    """A course notebook from MyST Markdown text."""
    return normalise(jupytext.reads(text, fmt=TEXT_FORMAT))


def normalise(nb: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """Only the metadata the course keeps, nbformat 4.5, and the course's cell ids."""
    nb.nbformat, nb.nbformat_minor = 4, 5
    nb.metadata = {k: v for k, v in nb.metadata.items() if k in KEEP_NOTEBOOK_METADATA}
    nb.metadata.setdefault("kernelspec", dict(KERNELSPEC))
    nb.metadata["language_info"] = {"name": "python"}
    for cell in nb.cells:
        cell.metadata = {k: v for k, v in cell.metadata.items() if k in KEEP_CELL_METADATA}
        cell.pop("attachments", None)
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None
    assign_ids(nb)
    return nb


def assign_ids(nb: nbformat.NotebookNode) -> None:
    """Each cell's id: its nbgrader grade_id when it has a usable one, else type and position."""
    taken: set[str] = set()
    for index, cell in enumerate(nb.cells):
        grade_id = str(cell.metadata.get("nbgrader", {}).get("grade_id", ""))
        cell_id = grade_id if _VALID_ID.match(grade_id) and grade_id not in taken else ""
        cell.id = cell_id or f"{_KIND.get(cell.cell_type, 'cell')}-{index:02d}"
        taken.add(cell.id)


def ipynb_text(nb: nbformat.NotebookNode) -> str:
    """The notebook as the .ipynb JSON Jupyter opens (stable formatting, trailing newline)."""
    return nbformat.writes(nb) + "\n"


def write_ipynb(nb: nbformat.NotebookNode, path: str | Path) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(ipynb_text(nb), encoding="utf-8")
    return path


def source_text(nb: nbformat.NotebookNode) -> str:
    """The notebook as the course's MyST Markdown source."""
    nb = nbformat.from_dict(nb)
    for cell in nb.cells:
        cell.pop("id", None)
    nb.metadata = {"kernelspec": nb.metadata.get("kernelspec", dict(KERNELSPEC))}
    text = jupytext.writes(nb, fmt=TEXT_FORMAT)
    return _without_version_stamp(text)


def _without_version_stamp(text: str) -> str:
    # jupytext writes its own version into the front matter: drop it, so upgrading jupytext does
    # not touch every source file.
    return re.sub(r"^\s+jupytext_version: .*\n", "", text, count=1, flags=re.M)
