"""Split grading (issue #19) on the real exercises, through the real pipeline: init → release →
submissions → autograde → feedback. Test cells run in a clean test interpreter; the student's
kernel never receives their source, and what crosses is data.

Instrumented at the student kernels' sockets (tests/helpers/kernel_recorder.py): every
``execute_request`` the worker or the test interpreter sends to a student kernel is recorded.
"""

from __future__ import annotations

import base64
import codecs
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
from nbgrader.api import Gradebook

from course import syllabus
from grading import course_root, feedback, release
from grading.__main__ import main
from tests.helpers import kernel_recorder, split_attacks

pytestmark = [pytest.mark.slow]
EXERCISES = [e.id for e in syllabus.exercises()]
AUTOGRADE = ["--tests-in", "test-interpreter", "--workers", "2", "--cell-timeout", "20", "--timeout", "480", "--memory", "2048",
             "--quiet"]
HONEST = ("honest", "partial")
ATTACKS = tuple(split_attacks.ATTACKS)



def _answered(source_nb, release_nb, leave_out: int | None):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
    from autograde import answered

    return answered(source_nb, release_nb, leave_out)


def _write_config(root: Path) -> None:
    (root / "nbgrader_config.py").write_text(course_root.CONFIG_TEMPLATE.format(
        course_id="upstream", root=str(root), db_url=f"sqlite:///{root / 'gradebook.db'}"))


@pytest.fixture(scope="module")
def course(tmp_path_factory):
    """Every real exercise released; honest, partial and hostile submissions of each."""
    base = tmp_path_factory.mktemp("split")
    root = course_root.init(base / "course")
    for name in EXERCISES:
        report = release.release(root, name, validate=False)
        assert report.ok, report.problems
        nb_name = f"{name}.ipynb"
        src = nbformat.read(root / "source" / name / nb_name, as_version=4)
        rel = nbformat.read(root / "release" / name / nb_name, as_version=4)
        subs = {"honest": _answered(src, rel, None), "partial": _answered(src, rel, 0)}
        subs |= {kind: split_attacks.attack_notebook(src, rel, kind) for kind in ATTACKS}
        for student, nb in subs.items():
            folder = root / "submitted" / student / name
            folder.mkdir(parents=True)
            nbformat.write(nb, folder / nb_name)
    pristine = base / "pristine"
    shutil.copytree(root, pristine)
    return base, root, pristine


@pytest.fixture(scope="module")
def graded(course, tmp_path_factory):
    base, root, _ = course
    with kernel_recorder.recording(root, base) as log:
        assert main(["autograde", *EXERCISES, "--course-dir", str(root), *AUTOGRADE]) == 0
    for name in EXERCISES:
        main(["feedback", name, "--course-dir", str(root)])
    return root, log


def _cell_scores(root: Path, students=None) -> dict:
    out = {}
    with Gradebook(f"sqlite:///{root / 'gradebook.db'}", "upstream") as gb:
        for name in EXERCISES:
            for sub in gb.assignment_submissions(name):
                if students and sub.student_id not in students:
                    continue
                for nb in sub.notebooks:
                    for g in nb.grades:
                        out[(name, sub.student_id, g.name)] = (g.auto_score,
                                                               g.needs_manual_grade)
    return out


def _autograded_points(root: Path, student: str) -> dict[str, float]:
    with Gradebook(f"sqlite:///{root / 'gradebook.db'}", "upstream") as gb:
        out = {}
        for name in EXERCISES:
            sub = gb.find_submission(name, student)
            out[name] = sum(g.auto_score or 0 for nb in sub.notebooks for g in nb.grades
                            if g.auto_score is not None and not g.needs_manual_grade)
        return out


def _is_test(cell) -> bool:
    meta = cell.metadata.get("nbgrader", {})
    return cell.cell_type == "code" and meta.get("grade") and not meta.get("solution")


def _test_sources(root: Path) -> dict[str, list[str]]:
    """Per exercise, every line of every test cell (visible and hidden), from the source, except
    lines that a cell the student's kernel runs also holds (the capstone's hidden test repeats
    a locked cell's ``data.load("risk_factors"), province, month)``; ex04's tests and model
    answer share a literal)."""
    out = {}
    for name in EXERCISES:
        nb = nbformat.read(root / "source" / name / f"{name}.ipynb", as_version=4)
        rel = nbformat.read(root / "release" / name / f"{name}.ipynb", as_version=4)
        public = "\n".join(c.source for c in [*rel.cells, *nb.cells] if not _is_test(c))
        lines = []
        for cell in nb.cells:
            if _is_test(cell):
                lines += [ln.strip() for ln in cell.source.splitlines()
                          if len(ln.strip()) >= 12 and not ln.strip().startswith("###")
                          and ln.strip() not in public]
        out[name] = lines
    return out


def _hidden_lines(root: Path) -> list[str]:
    course = course_root.CourseRoot(root)
    return sorted({s for name in EXERCISES for s in feedback.secrets(course, name)})


def test_honest_submissions_score_as_stock_nbgrader_cell_by_cell(course, graded, tmp_path):
    _, _, pristine = course
    root, _ = graded
    stock = tmp_path / "stock"
    shutil.copytree(pristine, stock)
    _write_config(stock)
    for student in ATTACKS:
        shutil.rmtree(stock / "submitted" / student)
    env = dict(os.environ, PATH=f"{Path(sys.executable).parent}:{os.environ['PATH']}")
    for name in EXERCISES:
        res = subprocess.run([sys.executable, "-m", "nbgrader", "autograde", name, "--force",
                              "--Execute.timeout=8"], cwd=stock, capture_output=True,
                             text=True, env=env)
        assert res.returncode == 0, res.stderr[-3000:]
    ours, theirs = _cell_scores(root, HONEST), _cell_scores(stock, HONEST)
    assert theirs and ours == theirs
    honest = _autograded_points(root, "honest")
    assert all(points > 0 for points in honest.values()), honest


@pytest.mark.parametrize("attack", ATTACKS)
def test_attacks_with_every_answer_wrong_get_no_marks(graded, attack):
    root, _ = graded
    assert _autograded_points(root, attack) == dict.fromkeys(EXERCISES, 0)


def test_the_student_kernel_never_received_a_test_cell(graded):
    """Every request sent to any student kernel (cells, and the crossing harness's own
    channel): no line of any test cell (visible or hidden) was ever in one; the tests' calls
    are requests of the harness, with data."""
    root, log = graded
    records = kernel_recorder.requests(log)
    assert len({r["pid"] for r in records}) >= len(EXERCISES) * (len(HONEST) + len(ATTACKS))
    sent = "\n".join(json.dumps(r) for r in records)
    codes = "\n".join(r["content"]["code"] for r in records if "content" in r)
    assert "crossing" in codes  # the instrument saw the harness installed...
    assert any('"op":"call"' in r.get("channel", "") for r in records)  # ...and the calls
    lines = [ln for found in _test_sources(root).values() for ln in found]
    assert [ln for ln in lines if ln in codes] == []
    # The tests' arguments do reach the student's function, as data (a list of measure ids,
    # say), so a line that is only a literal may be found in them; no statement ever is.
    statements = [ln for ln in lines
                  if re.search(r"^assert |^(from \S+ )?import | == |^\w+ = |^for \w+ in ", ln)]
    assert statements and [ln for ln in statements
                           if ln in sent or json.dumps(ln)[1:-1] in sent] == []


def _decoded_texts(text: str) -> list[str]:
    """The text, and what the leak attack's encodings of it would decode to."""
    out = [text, codecs.decode(text, "rot13"), text[::-1], text.replace("\u200b", "")]
    for blob in re.findall(r"[A-Za-z0-9+/=]{16,}", text):
        try:
            out.append(base64.b64decode(blob).decode("utf-8", "replace"))
        except ValueError:
            continue
    return out


def _png_texts(nb) -> list[str]:
    out = []
    for cell in nb.cells:
        for o in cell.get("outputs", []):
            png = o.get("data", {}).get("image/png")
            if png:
                raw = base64.b64decode(png)
                out.append(raw.decode("latin-1"))  # tEXt chunks are plain Latin-1
    return out


def test_no_hidden_test_text_in_any_encoding_where_the_student_gets_anything(graded):
    root, _ = graded
    hidden = _hidden_lines(root)
    assert hidden
    for name in EXERCISES:
        def shown(student, name=name):
            nb = nbformat.read(root / "autograded" / student / name / f"{name}.ipynb",
                               as_version=4)
            return nb, "\n".join(
                o.get("text", "") + "".join(str(v) for v in o.get("data", {}).values())
                for cell in nb.cells if not cell.metadata.get("nbgrader", {}).get("grade")
                or cell.metadata["nbgrader"].get("solution") for o in cell.get("outputs", []))

        # A hidden test's short literal (a month, say) may be in the public data every student
        # sees: only what an honest submission's pages do not show counts.
        _, honest_text = shown("honest")
        honest_pages = [p.read_text() for p in (root / "feedback" / "honest" / name).glob("*.html")]
        public = {h for t in [honest_text, *honest_pages] for h in feedback.shows_secret(t, hidden)}
        nb, student_text = shown("leak")
        assert "Z2V0X2lweXRob24" in student_text or "get_ipython" in student_text  # it ran
        pages = sorted((root / "feedback" / "leak" / name).glob("*.html"))
        assert pages, f"no feedback for {name}"
        texts = [student_text, *_png_texts(nb), *(p.read_text() for p in pages)]
        found = [h for t in texts for d in _decoded_texts(t)
                 for h in feedback.shows_secret(d, hidden) if h not in public]
        assert found == [], (name, found[:3])


def test_failures_say_what_could_not_be_checked(graded):
    root, _ = graded
    errors = []
    for student in ("always-true", "variants"):
        for name in EXERCISES:
            nb = nbformat.read(root / "autograded" / student / name / f"{name}.ipynb",
                               as_version=4)
            errors += [f"{o.ename}: {o.evalue}" for c in nb.cells for o in c.get("outputs", [])
                       if o.output_type == "error"]
    text = "\n".join(errors)
    assert "ValueCannotBeChecked: this value cannot be checked" in text
    # The variants' first cheat (a 150 MB string) may make the grader stop the notebook
    # (output-limit), so not every later cheat is reached; each reached one says what it was.
    assert any(words in text for words in ("a generator", "an open file", "did not return within",
                                           "stopped responding", "output-limit"))


def test_tests_in_student_kernel_is_the_old_mode_and_the_instrument_sees_it(course, tmp_path):
    """Control: in the old mode, the input-transformer attack scores (as the issue reported)
    and the recorder sees the hidden tests arrive in the student's kernel."""
    _, _, pristine = course
    old = tmp_path / "old"
    shutil.copytree(pristine, old)
    _write_config(old)
    name = EXERCISES[0]
    with kernel_recorder.recording(old, tmp_path) as log:
        assert main(["autograde", name, "--course-dir", str(old), "--students", "transformer",
                     *AUTOGRADE, "--tests-in", "student-kernel"]) == 0  # the last one counts
    with Gradebook(f"sqlite:///{old / 'gradebook.db'}", "upstream") as gb:
        sub = gb.find_submission(name, "transformer")
        assert sum(g.auto_score or 0 for nb in sub.notebooks for g in nb.grades) > 0
    codes = "\n".join(r["content"]["code"] for r in kernel_recorder.requests(log))
    hidden = feedback.secrets(course_root.CourseRoot(old), name)
    assert feedback.shows_secret(codes, hidden)
