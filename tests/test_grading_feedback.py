"""Feedback pages: what counts as secret, what the preprocessor keeps and drops, removing a leak
without losing the page, sanitising student HTML; marking-file checks; the CLI's help and its
refusal to write into the checkout. No kernels are started here."""

from __future__ import annotations

import copy
import importlib.util
import re
import subprocess
from pathlib import Path

import nbformat
import pytest

from course import notebook_files, syllabus
from grading import course_root, feedback, mark, release
from grading.__main__ import main, parser

HERE = Path(__file__).parent
REPO = HERE.parent
_spec = importlib.util.spec_from_file_location("grading_fixture",
                                               HERE / "fixtures" / "grading" / "exercise.py")
fx = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(fx)


def _release_of(nb):
    """The student version, made the way nbgrader makes it."""
    from nbgrader.preprocessors import ClearHiddenTests, ClearSolutions, LockCells

    nb = copy.deepcopy(nb)
    for pp in (LockCells(), ClearSolutions(), ClearHiddenTests()):
        nb, _ = pp.preprocess(nb, {})
    return nb


def _exercise(assignment: str):
    exercise = next(e for e in syllabus.exercises() if e.id == assignment)
    return notebook_files.read(exercise.notebook)


# ---- what is secret -----------------------------------------------------------------------------

def test_a_hidden_string_the_release_also_shows_is_not_secret():
    src = fx.source_notebook()
    src.cells[5].source = ("assert flagged([1, 5], 2) == [5], 'month 2030-01'\n"
                           "### BEGIN HIDDEN TESTS\n"
                           "assert flagged([7], 2) == [7], 'month 2030-01'\n"
                           "assert flagged([9], 2) == [9], 'only-hidden-string'\n"
                           "### END HIDDEN TESTS")
    secrets = feedback.secrets_of([src], [_release_of(src)])
    assert "month 2030-01" not in secrets            # the visible test shows it too
    assert "only-hidden-string" in secrets
    assert "assert flagged([7], 2) == [7], 'month 2030-01'" in secrets  # the line itself is new


@pytest.mark.parametrize("assignment, public", [
    ("ex01_warning_signs", "2030-01"), ("ex02_pyramid_of_hate", "2024-02"),
    ("ex03_documentation", "act_type"), ("ex04_r2p", "atrocities")])
def test_the_strings_that_blocked_every_page_are_not_secrets(assignment, public):
    """The four strings issue #14 reported: shared by hidden and visible tests or the task
    text, so the trainee already has them."""
    src = _exercise(assignment)
    rel = _release_of(src)
    assert public in "\n".join(c.source for c in rel.cells)
    secrets = feedback.secrets_of([src], [rel])
    assert secrets, f"{assignment}: no secrets at all (the hidden tests would all be public)"
    assert public not in secrets


def test_no_exercise_contains_math_so_pages_need_no_mathjax():
    """Feedback pages load no MathJax (nbgrader's loads it from a CDN). If an exercise gains
    math, vendor MathJax (jupyter-server-mathjax ships it) and point the template at it."""
    delimiters = re.compile(r"(?<!\\)\$[^$\n]+\$|\\\(|\\\[|\\begin\{")
    for exercise in syllabus.exercises():
        for cell in notebook_files.read(exercise.notebook).cells:
            if cell.cell_type == "markdown":
                assert not delimiters.search(cell.source), (exercise.id, cell.source[:80])
    template = (Path(feedback.TEMPLATES) / "upstream_feedback" / "index.html.j2").read_text()
    assert "{{ mathjax" not in template and "<script" not in template


# ---- the preprocessor ---------------------------------------------------------------------------

def _graded(cell, score, points):
    cell.metadata.nbgrader["score"], cell.metadata.nbgrader["points"] = score, points
    return cell


def test_a_hidden_test_cell_shows_only_pass_or_fail_and_points():
    src = fx.source_notebook()
    cell = _graded(copy.deepcopy(src.cells[5]), 0, 3)
    cell.outputs = [nbformat.v4.new_output("error", ename="AssertionError",
                                           evalue=f"{fx.HIDDEN_MARK} flagged",
                                           traceback=["Traceback ...", "assert flagged(...)"]),
                    nbformat.v4.new_output("stream", name="stdout", text="debug print\n")]
    pp = feedback.SafeFeedback(secrets=feedback.secrets_of([src], [_release_of(src)]))
    pp._unmarked = set()
    out, _ = pp.preprocess_cell(cell, {}, 0)
    assert "assert flagged([1, 5], 2) == [5]" in out.source      # visible tests stay
    assert fx.HIDDEN_MARK not in nbformat.writes(nbformat.v4.new_notebook(cells=[out]))
    assert [o.text for o in out.outputs] == [
        "Not passed: 0 of 3 points (the tests in this cell are not shown)\n"]
    passed, _ = pp.preprocess_cell(_graded(copy.deepcopy(src.cells[3]), 2, 2), {}, 0)
    assert passed.outputs[0].text.startswith("Passed: 2 of 2 points")


def test_other_outputs_lose_only_what_would_leak_or_run():
    pp = feedback.SafeFeedback(secrets=["secret-line-of-a-hidden-test"])
    pp._unmarked, pp.removed = {"reflection"}, 0
    cell = nbformat.v4.new_code_cell("print(x)")
    cell.outputs = [
        nbformat.v4.new_output("stream", name="stdout", text="fine\n"),
        nbformat.v4.new_output("stream", name="stdout", text="a secret-line-of-a-hidden-test\n"),
        nbformat.v4.new_output("display_data", data={"application/javascript": "alert(1)"}),
        nbformat.v4.new_output("display_data", data={"text/html": "<b>ok</b>",
                                                     "application/javascript": "alert(1)"})]
    out, _ = pp.preprocess_cell(cell, {}, 0)
    assert out.outputs[0].text == "fine\n"
    assert out.outputs[1].text.strip() == feedback.REMOVED
    assert "ran code" in out.outputs[2].text
    assert out.outputs[3].data == {"text/html": "<b>ok</b>"}
    assert pp.removed == 1
    written = fx.source_notebook().cells[6]
    out, _ = pp.preprocess_cell(copy.deepcopy(written), {}, 0)
    assert out.metadata.nbgrader["comment"] == feedback.NOT_MARKED


def test_a_leak_in_a_written_page_removes_that_part_only():
    page = ("<html><body><div class='cell'><div class='input_area'>x = 1</div>"
            "<div class='output_area'><div class='output_subarea'><pre>the "
            "<span>secret-line</span>-of-a-hidden-test</pre></div></div></div>"
            "<div class='cell'><div class='text_cell_render'>My written answer.</div></div>"
            "</body></html>")
    secrets = ["secret-line-of-a-hidden-test"]
    assert feedback.leaks(page, secrets) == secrets
    cleaned, n = feedback.remove_leaks(page, secrets)
    assert n == 1 and feedback.leaks(cleaned, secrets) == []
    assert "My written answer." in cleaned and "x = 1" in cleaned
    assert feedback.REMOVED in cleaned


# ---- sanitising ---------------------------------------------------------------------------------

@pytest.mark.parametrize("hostile", [
    "<script>alert(1)</script>", "<img src=x onerror=alert(1)>",
    "<a href='javascript:alert(1)'>x</a>", "<a href=' JaVaScRiPt:alert(1)'>x</a>",
    "<svg onload=alert(1)>", "<iframe src='https://evil.example/'></iframe>",
    "<img src='https://tracker.example/p.png'>", "<img src='//tracker.example/p.png'>",
    "<div style='background:url(https://evil.example/x)'>x</div>",
    "<style>@import 'https://evil.example/x.css';</style>",
    "<form action='https://evil.example'><button>go</button></form>",
    "<object data='https://evil.example/x'></object>", "<meta http-equiv='refresh' content='0'>",
    "<base href='https://evil.example/'>", "<a href='data:text/html,<script>1</script>'>x</a>",
])
def test_safe_html_removes_what_runs_or_calls_out(hostile):
    from bs4 import BeautifulSoup

    clean = feedback.safe_html(hostile)
    soup = BeautifulSoup(clean, "html.parser")
    assert not soup.find_all(["script", "iframe", "svg", "style", "form", "object", "meta",
                              "base"]), clean
    for tag in soup.find_all(True):
        for attr, value in tag.attrs.items():
            assert not attr.startswith("on"), clean
            if attr in ("href", "src"):
                assert not re.match(r"\s*(javascript|data:text|https?:|//)", value, re.I), clean
            if attr == "style":
                assert "url(" not in value, clean


def test_safe_html_keeps_plain_formatting():
    fragment = ("<p><b>bold</b> <em>em</em> <a href='#task-1'>link</a></p><table><tr><td>1</td>"
                "</tr></table><img src='data:image/png;base64,iVBORw0KGgo=' alt='chart'>")
    clean = feedback.safe_html(fragment)
    for kept in ("<b>bold</b>", "<em>em</em>", 'href="#task-1"', "<td>1</td>",
                 'src="data:image/png;base64,iVBORw0KGgo="'):
        assert kept in clean


# ---- marking file -------------------------------------------------------------------------------

def _answer(**kw):
    base = {"student": "amina", "notebook": "ex", "cell": "c", "max_points": 6.0,
            "status": mark.AWAITING, "answer": "text", "score": None, "comment": ""}
    return mark.Answer(**{**base, **kw})


@pytest.mark.parametrize("raw, score, problem", [
    (None, None, None), ("", None, None), (4, 4.0, None), ("4,5", 4.5, None), (0, 0.0, None),
    (6, 6.0, None), (7, None, "outside 0 to 6"), (-1, None, "outside 0 to 6"),
    ("lots", None, "not a number"), ("nan", None, "outside"), (".inf", None, "not a number"),
])
def test_marking_file_scores_are_checked(raw, score, problem):
    got, why = mark._score_of({"score": raw}, _answer())
    assert got == score
    assert (why is None) if problem is None else (problem in why)


def test_marking_file_keeps_hostile_answers_as_plain_text(tmp_path):
    hostile = "line one\n!!python/object:os.system ['echo pwned']\nanswers: []\n- x: 1\n"
    path = tmp_path / "m.yml"
    mark.write_file(path, "ex", tmp_path, [_answer(answer=hostile), _answer(student="bo")])
    entries = mark.read_file(path)
    assert entries[0]["answer"].rstrip("\n") == hostile.rstrip("\n")
    assert [e["student"] for e in entries] == ["amina", "bo"]
    path.write_text("answers: [unclosed")
    with pytest.raises(course_root.CourseError, match="not valid YAML"):
        mark.read_file(path)
    path.write_text("- just a list\n")
    with pytest.raises(course_root.CourseError, match="answers:"):
        mark.read_file(path)


# ---- CLI ----------------------------------------------------------------------------------------

def test_every_subcommand_documents_every_argument():
    p = parser()
    sub = next(a for a in p._actions if a.__class__.__name__ == "_SubParsersAction")
    assert set(sub.choices) == {"init", "release", "collect", "autograde", "integrity", "mark",
                                "feedback", "export"}
    for name, sp in sub.choices.items():
        assert sp.description, name
        for action in sp._actions:
            if action.dest != "help":
                assert action.help, f"{name} {action.dest}: no help"


def test_init_names_the_next_step(tmp_path, capsys):
    assert main(["init", str(tmp_path / "c"), "--source", str(fx.write_source(tmp_path / "s"))
                 ]) == 0
    assert "next: python -m grading release --course-dir" in capsys.readouterr().out


def test_outputs_inside_the_checkout_are_refused(tmp_path, capsys):
    root = course_root.init(tmp_path / "c", source=fx.write_source(tmp_path / "s"))
    for argv in (["export", "--course-dir", str(root), "--out", str(REPO / "grades.csv")],
                 ["export", "--course-dir", str(root), "--report", str(REPO / "r.html")],
                 ["mark", fx.ASSIGNMENT, "--course-dir", str(root), "--file",
                  str(REPO / "marks.yml")]):
        assert main(argv) == 2, argv
        assert "student data must never land in the repository" in capsys.readouterr().err
    assert not (REPO / "grades.csv").exists() and not (REPO / "r.html").exists()
    assert not (REPO / "marks.yml").exists()


@pytest.mark.slow  # autogrades to export: about 5 s of CPU, 26 s measured
def test_export_without_out_writes_in_the_course_root(tmp_path, capsys):
    root = course_root.init(tmp_path / "c", source=fx.write_source(tmp_path / "s"))
    assert release.release(root, fx.ASSIGNMENT, validate=False).ok
    assert main(["export", "--course-dir", str(root)]) == 0
    assert (root / "exports" / "grades.csv").is_file()
    assert (root / "exports" / "report.html").is_file()
    out = subprocess.run(["git", "status", "--porcelain", "--ignored"], cwd=REPO,
                         capture_output=True, text=True).stdout
    assert "grades.csv" not in out and "report.html" not in out


# ---- feedback's exit code -----------------------------------------------------------------------

@pytest.fixture
def released(tmp_path):
    root = course_root.init(tmp_path / "c", source=fx.write_source(tmp_path / "s"))
    assert release.release(root, fx.ASSIGNMENT, validate=False).ok
    course = course_root.CourseRoot(root)
    for student in ("amina", "bo"):
        course.autograded(student, fx.ASSIGNMENT).mkdir(parents=True)
        course.submitted(student, fx.ASSIGNMENT).mkdir(parents=True)
    course.submitted("cleo", fx.ASSIGNMENT).mkdir(parents=True)   # could not be graded
    return course


@pytest.mark.slow  # over about 5 s: out of `make check`
def test_feedback_fails_only_for_the_student_who_got_no_page(released, monkeypatch, capsys):
    secret = feedback.secrets(released, fx.ASSIGNMENT)[0]

    def fake_run(course, assignment, config):
        page = course.feedback("amina", assignment) / f"{fx.ASSIGNMENT}.html"
        page.parent.mkdir(parents=True)
        page.write_text("<html><body><div class='cell'><div class='output_area'><div "
                        f"class='output_subarea'>{secret}</div></div></div><p>kept</p>"
                        "</body></html>")
        return {"success": False, "error": "Traceback ...\nValueError: bo's notebook broke"}

    monkeypatch.setattr(feedback, "_run_generate_feedback", fake_run)
    assert main(["feedback", fx.ASSIGNMENT, "--course-dir", str(released.root)]) == 1
    out, err = capsys.readouterr()
    assert "amina: ok (1 page(s); 1 output(s) removed that would show hidden tests)" in out
    assert "bo: FAILED: nbgrader generate_feedback wrote nothing: ValueError: bo's notebook " \
           "broke" in err
    assert "cleo: no page: the submission could not be graded" in out
    page = (released.feedback("amina", fx.ASSIGNMENT) / f"{fx.ASSIGNMENT}.html").read_text()
    assert secret not in page and "kept" in page and feedback.REMOVED in page


@pytest.mark.slow  # over about 5 s: out of `make check`
def test_a_page_whose_frame_shows_a_secret_is_deleted(released, monkeypatch, capsys):
    secret = feedback.secrets(released, fx.ASSIGNMENT)[0]

    def fake_run(course, assignment, config):
        for student in ("amina", "bo"):
            page = course.feedback(student, assignment) / f"{fx.ASSIGNMENT}.html"
            page.parent.mkdir(parents=True)
            page.write_text(f"<html><body><h1>{secret if student == 'bo' else 'ok'}</h1>"
                            "</body></html>")
        return {"success": True}

    monkeypatch.setattr(feedback, "_run_generate_feedback", fake_run)
    assert main(["feedback", fx.ASSIGNMENT, "--course-dir", str(released.root)]) == 1
    assert "bo: FAILED:" in capsys.readouterr().err
    assert not list(released.feedback("bo", fx.ASSIGNMENT).glob("*.html"))
    assert list(released.feedback("amina", fx.ASSIGNMENT).glob("*.html"))
