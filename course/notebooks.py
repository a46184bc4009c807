"""Keep committed notebooks clean: no outputs, no execution counts, no noisy metadata.

``python -m course.notebooks clean PATH…`` rewrites notebooks in place;
``python -m course.notebooks check PATH…`` exits 1 and names every notebook that is not clean.
"""

from __future__ import annotations

import sys
from pathlib import Path

import nbformat

KEEP_NOTEBOOK_METADATA = ("kernelspec", "language_info")
KEEP_CELL_METADATA = ("nbgrader", "tags")


def problems(nb: nbformat.NotebookNode) -> list[str]:
    """What keeps a notebook from being clean, one line per problem."""
    found = []
    extra = sorted(set(nb.metadata) - set(KEEP_NOTEBOOK_METADATA))
    if extra:
        found.append(f"notebook metadata has {', '.join(extra)}")
    for i, cell in enumerate(nb.cells):
        if cell.cell_type == "code" and (cell.get("outputs") or cell.get("execution_count")):
            found.append(f"cell {i} has outputs or an execution count")
        noisy = sorted(set(cell.metadata) - set(KEEP_CELL_METADATA))
        if noisy:
            found.append(f"cell {i} metadata has {', '.join(noisy)}")
        if cell.get("attachments"):
            found.append(f"cell {i} has attachments")
    return found


def clean(nb: nbformat.NotebookNode) -> nbformat.NotebookNode:
    nb.metadata = {k: v for k, v in nb.metadata.items() if k in KEEP_NOTEBOOK_METADATA}
    if "language_info" in nb.metadata:
        nb.metadata["language_info"] = {"name": nb.metadata["language_info"].get("name", "python")}
    for cell in nb.cells:
        cell.metadata = {k: v for k, v in cell.metadata.items() if k in KEEP_CELL_METADATA}
        cell.pop("attachments", None)
        if cell.cell_type == "code":
            cell.outputs = []
            cell.execution_count = None
    return nb


def main(argv: list[str]) -> int:
    if len(argv) < 2 or argv[0] not in ("clean", "check"):
        print(__doc__)
        return 2
    status = 0
    for path in map(Path, argv[1:]):
        nb = nbformat.read(path, as_version=4)
        if argv[0] == "clean":
            nbformat.write(clean(nb), path)
        elif problems(nb):
            print(f"{path}: " + "; ".join(problems(nb)))
            status = 1
    return status


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
