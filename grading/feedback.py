"""Feedback pages per student with nbgrader's ``generate_feedback``: no hidden tests, safe to open.

nbgrader renders the autograded notebook, whose test cells hold the hidden tests again
(jupyter/nbgrader#917). Here:

* **What is secret** is what the hidden-test blocks hold *and the released notebook does not*
  (``secrets``): a line or a string of a hidden test that the visible tests or the task text
  also show (``'2024-02'``, ``'act_type'``) is something the student already has.
* ``SafeFeedback`` (a preprocessor, after nbgrader's ``GetGrades``) removes each hidden block from
  its test cell and replaces that cell's outputs by one line: passed or not, and the points;
  drops any other output that would show a secret, and outputs that run code (JavaScript,
  widgets); marks written answers that are not marked yet.
* The page is rendered with ``grading/templates/upstream_feedback``: nbgrader's feedback template
  with every piece of student-supplied HTML (outputs, Markdown, comments) through ``safe_html``
  (bleach: no scripts, no event handlers, no ``javascript:`` links, no outside URLs) and without
  MathJax, which nbgrader loads from a CDN (no exercise contains math; a test checks it).
* Each written page is checked again (``leaks``); if a secret can still be read, the part that
  shows it is removed (``remove_leaks``), never the student's whole page.
"""

from __future__ import annotations

import ast
import html
import io
import re
import tokenize
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

from nbconvert.preprocessors import CSSHTMLHeaderPreprocessor
from nbformat import NotebookNode, from_dict
from nbgrader.preprocessors import GetGrades, NbGraderPreprocessor
from nbgrader.utils import is_grade, is_solution, is_task
from traitlets import List, Unicode

from . import course_root, release

TEMPLATES = Path(__file__).resolve().parent / "templates"
HIDDEN_NOTE = "# (hidden tests: not shown; their result is included in this cell's score)"
REMOVED = "(output removed: it would show part of a hidden test)"
DROPPED_MIME = ("application/javascript", "text/javascript", "application/x-javascript",
                "application/vnd.jupyter.widget-view+json",
                "application/vnd.jupyter.widget-state+json", "text/latex", "image/svg+xml")
NOT_MARKED = "Not marked yet: your instructor has not scored this answer."


# ---- what is secret -----------------------------------------------------------------------------

def hidden_lines_of(source: str) -> list[str]:
    return [ln.strip() for ln in release.marked_blocks(source, *release.HIDDEN) if ln.strip()]


def string_literals(line: str) -> list[str]:
    """The string constants written in a line of code (stripped, at least MIN_LINE long)."""
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


def _squash(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip()


def secrets_of(source_nbs, release_nbs) -> list[str]:
    """Hidden-test lines, and strings written in them, that no released notebook contains.

    Compared with whitespace runs squashed, so a reformatted copy in the release still counts
    as public, and a reformatted copy in a page still counts as a leak."""
    public = _squash("\n".join(c.source for nb in release_nbs for c in nb.cells))
    found = set()
    for nb in source_nbs:
        for cell in nb.cells:
            for line in hidden_lines_of(cell.source):
                for piece in [line, *string_literals(line)]:
                    piece = _squash(piece)
                    if len(piece) >= release.MIN_LINE and piece not in public:
                        found.add(piece)
    return sorted(found)


def secrets(course: course_root.CourseRoot, assignment: str) -> list[str]:
    """The secrets of an assignment: its source notebooks against its release."""
    import nbformat

    released = course.notebooks("release", assignment)
    if not released:
        raise course_root.CourseError(f"{assignment} has no release yet: run `python -m grading "
                                      f"release {assignment} --course-dir {course.root}`")
    return secrets_of([nbformat.read(p, as_version=4)
                       for p in course.notebooks("source", assignment)],
                      [nbformat.read(p, as_version=4) for p in released])


def shows_secret(text: str, secret_list: list[str]) -> list[str]:
    text = _squash(text)
    return [s for s in secret_list if s in text]


# ---- sanitising student HTML --------------------------------------------------------------------

SAFE_TAGS = {"a", "abbr", "acronym", "b", "blockquote", "br", "code", "dd", "del", "div", "dl",
             "dt", "em", "h1", "h2", "h3", "h4", "h5", "h6", "hr", "i", "img", "ins", "kbd", "li",
             "ol", "p", "pre", "q", "s", "samp", "small", "span", "strong", "sub", "sup",
             "table", "tbody", "td", "tfoot", "th", "thead", "tr", "u", "ul", "var"}
SAFE_ATTRS = {"class", "id", "title", "alt", "colspan", "rowspan", "align", "style"}
LOOPBACK = {"localhost", "127.0.0.1", "::1", "[::1]"}
DROPPED_WITH_CONTENT = ["script", "style", "template", "noscript", "iframe", "object", "embed",
                        "svg", "math", "textarea", "title", "head"]


def _local_url(value: str) -> bool:
    """A URL that fetches nothing from another host: a fragment, a relative path, a data: image,
    or a loopback address."""
    value = value.strip()
    parts = urlsplit(value)
    scheme = parts.scheme.lower()
    if scheme in ("", ) and not value.startswith("//"):
        return True
    if scheme == "data":
        return value.lower().startswith(("data:image/png", "data:image/jpeg", "data:image/gif"))
    if scheme in ("http", "https"):
        return (parts.hostname or "") in LOOPBACK
    return False  # javascript:, vbscript:, file:, //host, ...


def _allowed_attribute(tag: str, name: str, value: str) -> bool:
    if name in ("href", "src"):
        return (tag, name) in (("a", "href"), ("img", "src")) and _local_url(value)
    return name in SAFE_ATTRS


def _css_sanitizer():
    from bleach.css_sanitizer import CSSSanitizer

    return CSSSanitizer()  # only a list of plain properties: no url(), no @import


def safe_html(fragment) -> str:
    """``fragment`` with only plain formatting left (bleach): no scripts or styles, no event
    handlers, no links or images that leave the page's host. Registered as nbconvert's
    ``clean_html`` filter in feedback pages."""
    import bleach
    from bs4 import BeautifulSoup

    fragment = fragment.decode() if isinstance(fragment, bytes) else str(fragment)
    if "<" in fragment:  # elements whose content is code or styling go with their content
        soup = BeautifulSoup(fragment, "html.parser")
        dropped = soup.find_all(DROPPED_WITH_CONTENT)
        for tag in dropped:
            tag.decompose()
        fragment = str(soup) if dropped else fragment
    return bleach.clean(fragment, tags=SAFE_TAGS, attributes=_allowed_attribute,
                        protocols=["http", "https", "data"], strip=True,
                        strip_comments=True, css_sanitizer=_css_sanitizer())


# ---- the preprocessor ---------------------------------------------------------------------------

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


def _output_text(out: NotebookNode) -> str:
    if out.get("output_type") == "error":
        return "\n".join([str(out.get("ename", "")), str(out.get("evalue", "")),
                          *map(str, out.get("traceback", []))])
    parts = [out.get("text", "")]
    for value in out.get("data", {}).values():
        parts.append(value if isinstance(value, str) else "".join(value)
                     if isinstance(value, list) else str(value))
    return "\n".join(parts)


def _note(text: str) -> NotebookNode:
    return from_dict({"output_type": "stream", "name": "stdout", "text": text + "\n"})


def result_line(score, points) -> str:
    score, points = float(score or 0), float(points or 0)
    verdict = "Passed" if points and score >= points else "Not passed"
    return f"{verdict}: {score:g} of {points:g} points (the tests in this cell are not shown)"


class SafeFeedback(NbGraderPreprocessor):
    """Hidden tests out, test results as pass/fail and points, no secret in any output, no
    output that runs code; written answers not marked yet say so. Runs after GetGrades."""

    secrets = List(Unicode(), help="strings a feedback page must not show").tag(config=True)

    def preprocess(self, nb, resources):
        self.removed = 0
        self._unmarked = _unmarked_cells(resources.get("nbgrader", {}))
        nb.metadata.pop("widgets", None)
        nb, resources = super().preprocess(nb, resources)
        resources.setdefault("upstream", {})["removed_outputs"] = self.removed
        return nb, resources

    def preprocess_cell(self, cell, resources, index):
        meta = cell.metadata.get("nbgrader", {})
        test_cell = cell.cell_type == "code" and is_grade(cell) and not is_solution(cell)
        if test_cell and release.HIDDEN[0] in cell.source:
            cell.source = strip_hidden(cell.source)
            cell.outputs = [_note(result_line(meta.get("score"), meta.get("points")))]
        if shows_secret(cell.source, self.secrets):  # e.g. a trainee's copy of a hidden line
            cell.source = "\n".join(ln for ln in cell.source.splitlines()
                                    if not shows_secret(ln, self.secrets))
        if cell.cell_type == "code":
            cell.outputs = [self._clean(o) for o in cell.outputs]
        if (is_solution(cell) or is_task(cell)) and meta.get("grade_id") in self._unmarked \
                and not meta.get("comment"):
            meta["comment"] = NOT_MARKED
        return cell, resources

    def _clean(self, out: NotebookNode) -> NotebookNode:
        if shows_secret(_output_text(out), self.secrets):
            self.removed += 1
            return _note(REMOVED)
        data = out.get("data")
        if data:
            for mime in DROPPED_MIME:
                data.pop(mime, None)
            if not data:
                return _note("(output removed: it ran code, which feedback pages do not)")
        return out


def _unmarked_cells(info: dict) -> set[str]:
    """grade_ids of this notebook's answers that still need an instructor's score."""
    if not info.get("db_url"):
        return set()
    from nbgrader.api import Gradebook, MissingEntry

    with Gradebook(info["db_url"]) as gb:
        try:
            nb = gb.find_submission_notebook(info["notebook"], info["assignment"],
                                             info["student"])
        except MissingEntry:
            return set()
        return {g.name for g in nb.grades if g.needs_manual_grade}


# ---- checking the written pages -----------------------------------------------------------------

def visible_text(page: str) -> str:
    """What a reader can see in an HTML page (tags and highlighting spans removed)."""
    page = re.sub(r"<(script|style)\b.*?</\1>", " ", page, flags=re.S | re.I)
    return html.unescape(re.sub(r"<[^>]+>", "", page))


def leaks(page: str, secret_list: list[str]) -> list[str]:
    """Secrets a reader of ``page`` could see."""
    return shows_secret(visible_text(page), secret_list)


# The smallest parts of nbconvert's classic page that may go, most specific first.
_PARTS = ("output_subarea", "output_area", "input_area", "text_cell_render", "cell")


def remove_leaks(page: str, secret_list: list[str]) -> tuple[str, int]:
    """``page`` with every part that shows a secret replaced by a note; how many were."""
    from bs4 import BeautifulSoup

    soup = BeautifulSoup(page, "html.parser")
    removed = 0
    for secret in shows_secret(visible_text(page), secret_list):
        for cls in _PARTS:
            for part in soup.find_all(class_=cls):
                if secret in _squash(part.get_text(" ")) or secret in _squash(part.get_text()):
                    note = soup.new_tag("p")
                    note.string = REMOVED
                    part.replace_with(note)
                    removed += 1
    return str(soup), removed


# ---- generating ---------------------------------------------------------------------------------

@dataclass
class StudentFeedback:
    student_id: str
    status: str = "ok"       # ok | failed | not-graded (nothing to give feedback on)
    pages: list[Path] = field(default_factory=list)
    removed: int = 0         # outputs or parts removed because they would show a secret
    unmarked: int = 0        # written answers not marked yet
    message: str = ""

    def line(self) -> str:
        if self.status == "not-graded":
            return f"{self.student_id}: no page: {self.message}"
        if self.status != "ok":
            return f"{self.student_id}: FAILED: {self.message}"
        notes = [f"{len(self.pages)} page(s)"]
        if self.removed:
            notes.append(f"{self.removed} output(s) removed that would show hidden tests")
        if self.unmarked:
            notes.append(f"{self.unmarked} answer(s) not marked yet")
        return f"{self.student_id}: ok ({'; '.join(notes)})"


def feedback_config(course: course_root.CourseRoot, secret_list: list[str]):
    config = course.config
    config.GenerateFeedback.preprocessors = [GetGrades, SafeFeedback, CSSHTMLHeaderPreprocessor]
    config.SafeFeedback.secrets = secret_list
    config.HTMLExporter.template_name = "upstream_feedback"
    config.HTMLExporter.extra_template_basedirs = [str(TEMPLATES)]
    config.HTMLExporter.sanitize_html = True
    config.HTMLExporter.filters = {"clean_html": safe_html}
    return config


def generate(course_dir, assignment: str) -> dict[str, StudentFeedback]:
    """Write feedback/<student>/<assignment>/*.html for every autograded student."""
    course = course_root.CourseRoot(course_dir)
    course.check_assignment(assignment)
    secret_list = secrets(course, assignment)
    students = course.students("autograded", assignment)
    results: dict[str, StudentFeedback] = {}
    for student in students:  # nothing stale may pass for this run's page
        for page in course.feedback(student, assignment).glob("*.html"):
            page.unlink()
    res = _run_generate_feedback(course, assignment, feedback_config(course, secret_list)) \
        if students else {}
    unmarked = _unmarked_by_student(course, assignment)
    for student in students:
        result = results[student] = StudentFeedback(student, unmarked=unmarked.get(student, 0))
        result.pages = sorted(course.feedback(student, assignment).glob("*.html"))
        if not result.pages:
            result.status = "failed"
            result.message = "nbgrader generate_feedback wrote nothing: " + (
                (res.get("error") or res.get("log") or "no log").strip().splitlines() or [""])[-1]
            continue
        for page in result.pages:
            text = page.read_text(encoding="utf-8")
            result.removed += text.count(REMOVED)
            if leaks(text, secret_list):
                text, n = remove_leaks(text, secret_list)
                result.removed += n
                page.write_text(text, encoding="utf-8")
            if leaks(text, secret_list):  # only if the page's frame itself shows it
                page.unlink()
                result.status = "failed"
                result.message = (f"{page.name} still showed a hidden test "
                                  f"({leaks(text, secret_list)[0]!r}) and was deleted")
        result.pages = [p for p in result.pages if p.exists()]
    for student in course.students("submitted", assignment):
        if student not in results:
            results[student] = StudentFeedback(
                student, "not-graded", message="the submission could not be graded (see "
                f"`python -m grading integrity {assignment}`)")
    return dict(sorted(results.items()))


def _run_generate_feedback(course: course_root.CourseRoot, assignment: str, config) -> dict:
    """nbgrader's GenerateFeedback converter for every student at once, as
    ``NbGraderAPI.generate_feedback`` runs it, but with our template (the API forces its own)."""
    from nbgrader.converters import GenerateFeedback
    from nbgrader.coursedir import CourseDirectory
    from nbgrader.utils import capture_log

    coursedir = CourseDirectory(config=config)
    coursedir.assignment_id = assignment
    app = GenerateFeedback(coursedir=coursedir, config=config)
    app.force = True
    return capture_log(app)


def _unmarked_by_student(course: course_root.CourseRoot, assignment: str) -> dict[str, int]:
    from nbgrader.api import MissingEntry

    counts: dict[str, int] = {}
    with course.gradebook() as gb:
        try:
            subs = gb.assignment_submissions(assignment)
        except MissingEntry:
            return counts
        for sub in subs:
            counts[sub.student_id] = sum(g.needs_manual_grade for nb in sub.notebooks
                                         for g in nb.grades)
    return counts
