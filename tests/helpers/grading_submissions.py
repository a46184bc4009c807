"""Submissions of the course's own exercises, made from a course root's source and release:
``full`` (every answer the model solution's), ``partial`` (half of the code answers left as
released) and ``broken`` (answers that raise, plus output that tries to run a script), each
with a written answer in the trainee's words. Used by tests/test_grading_loop.py and
benchmarks/instructor_loop.py."""

from __future__ import annotations

import copy
import zipfile
from pathlib import Path

import nbformat
from nbgrader.utils import is_solution

KINDS = ("full", "partial", "broken")
WRITTEN = "My answer, in my own words: the pattern started months before the violence."
# Student-supplied HTML that must never run in a feedback page.
HOSTILE_HTML = ("<script>document.title='pwned-script'</script>"
                "<img src=x onerror=\"document.title='pwned-img'\">"
                "<a href=\"javascript:document.title='pwned-link'\">click</a>"
                "<img src=\"https://tracker.invalid/pixel.png\">")
HOSTILE_MARKDOWN = ("\n\n<script>document.title='pwned-md'</script>"
                    "<img src=y onerror=\"document.title='pwned-md-img'\">")


def _gid(cell) -> str | None:
    return cell.metadata.get("nbgrader", {}).get("grade_id")


def _solution_of(cell) -> str:
    return "\n".join(ln for ln in cell.source.splitlines()
                     if "### BEGIN SOLUTION" not in ln and "### END SOLUTION" not in ln)


def submission(source_nb, release_nb, kind: str):
    """The released notebook answered as a ``kind`` trainee would."""
    nb = copy.deepcopy(release_nb)
    src = {_gid(c): c for c in source_nb.cells if _gid(c)}
    code = [c for c in nb.cells if is_solution(c) and c.cell_type == "code" and _gid(c) in src]
    for cell in nb.cells:
        if not is_solution(cell) or _gid(cell) not in src:
            continue
        if cell.cell_type == "markdown":
            cell.source = WRITTEN + (HOSTILE_MARKDOWN if kind == "broken" else "")
            continue
        k = code.index(cell)
        if kind == "full" or (kind == "partial" and k < (len(code) + 1) // 2):
            cell.source = _solution_of(src[_gid(cell)])
        elif kind == "broken":
            cell.source = (f"from IPython.display import HTML, display\n"
                           f"display(HTML({HOSTILE_HTML!r}))\n"
                           "raise ValueError('I did not finish this one')")
    return nb


def write_zips(course, assignment: str, kinds: dict[str, str], out: Path) -> tuple[Path, Path]:
    """A Canvas-shaped zip (flat ``login_<ids>_<notebook>``) with every student but the last,
    and a Moodle-shaped zip (``Name_<id>_assignsubmission_file_/<notebook>``) with the last.
    ``kinds``: student id -> kind."""
    source = {p.name: nbformat.read(p, as_version=4)
              for p in course.notebooks("source", assignment)}
    released = {p.name: nbformat.read(p, as_version=4)
                for p in course.notebooks("release", assignment)}
    out.mkdir(parents=True, exist_ok=True)
    canvas, moodle = out / f"{assignment}-canvas.zip", out / f"{assignment}-moodle.zip"
    students = list(kinds)
    with zipfile.ZipFile(canvas, "w") as cz, zipfile.ZipFile(moodle, "w") as mz:
        for n, student in enumerate(students):
            for name, rel in released.items():
                text = nbformat.writes(submission(source[name], rel, kinds[student]))
                if student != students[-1]:
                    cz.writestr(f"{student}_{1000 + n}_{5000 + n}_{name}", text)
                else:
                    mz.writestr(f"{student}_{7000 + n}_assignsubmission_file_/{name}", text)
    return canvas, moodle
