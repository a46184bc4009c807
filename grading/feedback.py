"""Feedback HTML per student with nbgrader's ``generate_feedback``, minus the hidden tests.

nbgrader renders the autograded notebook, whose test cells hold the hidden tests again
(jupyter/nbgrader#917). ``HideHiddenTests`` runs first: it removes the hidden block from each test
cell and any output that would quote it, keeping whether the cell passed and its points (those
come from the gradebook, via nbgrader's GetGrades). Each written file is then checked: if any
hidden-test line can still be read in it, the file is deleted and the student is reported.
"""

from __future__ import annotations

import ast
import html
import io
import re
import tokenize
from pathlib import Path

from nbconvert.preprocessors import CSSHTMLHeaderPreprocessor
from nbformat import NotebookNode
from nbgrader.preprocessors import GetGrades, NbGraderPreprocessor
from nbgrader.utils import is_grade, is_solution

from . import course_root, release

HIDDEN_NOTE = "# (hidden tests: not shown; their result is included in this cell's score)"
HIDDEN_FAILED = "A hidden test in this cell failed."


def hidden_lines_of(source: str) -> list[str]:
    return [ln.strip() for ln in release.marked_blocks(source, *release.HIDDEN) if ln.strip()]


def strip_hidden(source: str) -> str:
    out, inside = [], False
    for line in source.splitlines():
        text = line.strip()
        if text.startswith(release.HIDDEN[0]):
            inside = True
            out.append(line[: len(line) - len(line.lstrip())] + HIDDEN_NOTE)
        elif text.startswith(release.HIDDEN[1]):
            inside = False
        elif not inside:
            out.append(line)
    return "\n".join(out)


def _quotes(text: str, hidden: list[str]) -> bool:
    """Does ``text`` show any hidden line, or any string written in one (e.g. an assert's
    message)?"""
    text = text.strip()
    return any(h in text for h in hidden if len(h) >= release.MIN_LINE) or any(
        s in text or (len(text) >= release.MIN_LINE and text in h)
        for h in hidden for s in string_literals(h)) or any(
        len(text) >= release.MIN_LINE and text in h for h in hidden)


def string_literals(line: str) -> list[str]:
    """The distinctive string constants written in a line of code."""
    try:
        toks = list(tokenize.generate_tokens(io.StringIO(line).readline))
    except (tokenize.TokenError, IndentationError, SyntaxError):
        return []
    out = []
    for tok in toks:
        if tok.type == tokenize.STRING:
            try:
                value = ast.literal_eval(tok.string)
            except (ValueError, SyntaxError):
                continue
            if isinstance(value, str) and len(value.strip()) >= release.MIN_LINE:
                out.append(value.strip())
    return out


def _clean_output(out: NotebookNode, hidden: list[str]) -> NotebookNode | None:
    if out.output_type == "error":
        message = f"{out.ename}: {out.evalue}"
        # The traceback quotes the failing line; keep only the error, and only if it is harmless.
        safe = not _quotes(str(out.evalue), hidden) and not (
            out.ename == "AssertionError" and not out.evalue)
        out.traceback = [message if safe else HIDDEN_FAILED]
        if not safe:
            out.evalue = ""
        return out
    text = out.get("text", "") + "".join(str(v) for v in out.get("data", {}).values())
    return None if _quotes(text, hidden) else out


class HideHiddenTests(NbGraderPreprocessor):
    """Remove hidden tests, and what their outputs would reveal, from autograded test cells."""

    def preprocess_cell(self, cell, resources, index):
        if cell.cell_type != "code" or not is_grade(cell) or is_solution(cell):
            return cell, resources
        hidden = hidden_lines_of(cell.source)
        if not hidden and release.HIDDEN[0] not in cell.source:
            return cell, resources
        cell.source = strip_hidden(cell.source)
        cell.outputs = [o for o in (_clean_output(o, hidden) for o in cell.outputs) if o]
        return cell, resources


def visible_text(page: str) -> str:
    """What a reader can see in an HTML page (tags and highlighting spans removed)."""
    page = re.sub(r"<(script|style)\b.*?</\1>", " ", page, flags=re.S | re.I)
    return html.unescape(re.sub(r"<[^>]+>", "", page))


def leaked_lines(page: str, hidden: list[str]) -> list[str]:
    """Hidden lines, or strings written in them, that a reader of ``page`` could see."""
    text = visible_text(page)
    found = [h for h in hidden if len(h) >= release.MIN_LINE and h in text]
    found += [s for h in hidden for s in string_literals(h) if s in text]
    return found


def all_hidden_lines(course_dir: Path, assignment: str) -> list[str]:
    import nbformat

    lines = []
    for path in course_root.CourseRoot(course_dir).notebooks("source", assignment):
        for cell in nbformat.read(path, as_version=4).cells:
            lines += hidden_lines_of(cell.source)
    return sorted(set(lines))


def generate(course_dir, assignment: str) -> dict[str, str]:
    """Write feedback/<student>/<assignment>/*.html; returns per student 'ok' or the problem."""
    course = course_root.CourseRoot(course_dir)
    course.check_assignment(assignment)
    config = course.config
    config.GenerateFeedback.preprocessors = [HideHiddenTests, GetGrades,
                                             CSSHTMLHeaderPreprocessor]
    api = course.api(config)
    hidden = all_hidden_lines(course.root, assignment)
    results = {}
    students = course.students("autograded", assignment)
    if not students:
        return results
    res = api.generate_feedback(assignment, force=True)  # one nbgrader run for everyone
    for student in students:
        pages = sorted(course.feedback(student, assignment).glob("*.html"))
        if not pages:
            results[student] = "nbgrader generate_feedback wrote nothing: " + (
                (res.get("error") or res.get("log") or "no log").strip().splitlines() or [""])[-1]
            continue
        results[student] = "ok"
        for page in pages:
            leaks = leaked_lines(page.read_text(encoding="utf-8"), hidden)
            if leaks:
                page.unlink()
                results[student] = (f"{page.name} would show hidden tests ({leaks[0]!r}); "
                                    "the file was deleted")
    return results
