"""Unit tests for the grading pipeline's plain functions (no kernels started here)."""

from __future__ import annotations

import copy
import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from grading import course_root, integrity, release, sandbox

HERE = Path(__file__).parent
_spec = importlib.util.spec_from_file_location("grading_fixture",
                                               HERE / "fixtures" / "grading" / "exercise.py")
fx = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(fx)
REPO = HERE.parent


def _release_nb():
    """The student version, made the way nbgrader makes it (solutions and hidden tests out)."""
    from nbgrader.preprocessors import ClearHiddenTests, ClearSolutions, LockCells

    nb = fx.source_notebook()
    for pp in (LockCells(), ClearSolutions(), ClearHiddenTests()):
        nb, _ = pp.preprocess(nb, {})
    return nb


# ---- init -------------------------------------------------------------------------------------

def test_init_refuses_a_course_dir_inside_the_checkout(tmp_path):
    target = REPO / "tmp-course-must-not-exist"
    with pytest.raises(course_root.CourseError, match="inside the git checkout"):
        course_root.init(target, source=fx.write_source(tmp_path / "src"))
    assert not target.exists()


def test_init_cli_refuses_the_checkout_with_exit_2():
    out = subprocess.run([sys.executable, "-m", "grading", "init", str(REPO / "grades")],
                         capture_output=True, text=True, cwd=REPO)
    assert out.returncode == 2
    assert "student data must never land in the repository" in out.stderr
    assert not (REPO / "grades").exists()


def test_init_writes_config_and_copies_sources(tmp_path):
    root = course_root.init(tmp_path / "course", course_id="c1",
                            source=fx.write_source(tmp_path / "src"))
    assert (root / "source" / fx.ASSIGNMENT / fx.NOTEBOOK).is_file()
    cfg = course_root.load_config(root)
    assert cfg.CourseDirectory.course_id == "c1"
    assert cfg.CourseDirectory.db_url == f"sqlite:///{root / 'gradebook.db'}"
    assert course_root.is_private(root)
    with pytest.raises(course_root.CourseError, match="already has an nbgrader_config.py"):
        course_root.init(root, source=tmp_path / "src")


def test_init_takes_a_db_url(tmp_path):
    root = course_root.init(tmp_path / "c", db_url="postgresql://grader@db/upstream",
                            source=fx.write_source(tmp_path / "src"))
    assert course_root.load_config(root).CourseDirectory.db_url == \
        "postgresql://grader@db/upstream"


def test_init_rejects_an_empty_source(tmp_path):
    (tmp_path / "empty").mkdir()
    with pytest.raises(course_root.CourseError, match="no exercises found"):
        course_root.init(tmp_path / "c", source=tmp_path / "empty")


def test_commands_on_a_folder_that_is_not_a_course_root(tmp_path):
    with pytest.raises(course_root.CourseError, match="not a course root"):
        course_root.load_config(tmp_path)



def test_course_root_builds_every_path_with_nbgrader_format_path(tmp_path):
    """A course that renames nbgrader's step folders and changes its directory structure in
    nbgrader_config.py is followed by every path the pipeline builds."""
    root = course_root.init(tmp_path / "course", source=fx.write_source(tmp_path / "src"))
    with (root / "nbgrader_config.py").open("a") as cfg:
        cfg.write('c.CourseDirectory.submitted_directory = "handed-in"\n'
                  'c.CourseDirectory.directory_structure = "{nbgrader_step}/{assignment_id}/'
                  '{student_id}"\n')
    course = course_root.CourseRoot(root)
    assert course.submitted("amina", fx.ASSIGNMENT) == root / "handed-in" / fx.ASSIGNMENT / "amina"
    assert course.source(fx.ASSIGNMENT) == root / "source" / fx.ASSIGNMENT
    for student in ("amina", "bo", ".ipynb_checkpoints"):
        course.submitted(student, fx.ASSIGNMENT).mkdir(parents=True)
    (root / "handed-in" / fx.ASSIGNMENT / "stray.txt").write_text("")
    assert course.students("submitted", fx.ASSIGNMENT) == ["amina", "bo"]
    assert course.students("autograded", fx.ASSIGNMENT) == []
    assert course.assignments() == [fx.ASSIGNMENT]
    assert course_root.submitted_students(root, fx.ASSIGNMENT) == ["amina", "bo"]  # old name
    assert course.lock_path == root / course_root.STATE_DIR / "gradebook.lock"
    assert course.outcomes_path("x").parent == root / course_root.STATE_DIR / "x"
    assert course.db_url == f"sqlite:///{root / 'gradebook.db'}" and course.course_id == "upstream"
    with pytest.raises(course_root.CourseError, match="no assignment 'ex99'.*known: fx01"):
        course.check_assignment("ex99")


def test_course_root_config_is_a_copy(tmp_path):
    course = course_root.CourseRoot(course_root.init(tmp_path / "c",
                                                     source=fx.write_source(tmp_path / "s")))
    course.config.GenerateFeedback.preprocessors = ["changed"]
    assert "GenerateFeedback" not in course.config


# ---- release checks -----------------------------------------------------------------------------

def test_release_checks_pass_on_a_proper_release():
    src, rel = fx.source_notebook(), _release_nb()
    assert release.check_leaks(src, rel, "x.ipynb") == []
    assert release.check_points(src, "x.ipynb") == []


def test_release_check_finds_solution_and_hidden_text():
    src, rel = fx.source_notebook(), _release_nb()
    leaky = copy.deepcopy(rel)
    leaky.cells[2].source += "\n    return part / whole"
    leaky.cells[3].source += "\nassert math.isclose(share(3, 4), 0.75), 'hidden-check-7f3a share'"
    problems = release.check_leaks(src, leaky, "x.ipynb")
    assert any("solution text left in the release at cell 3 (share)" in p for p in problems)
    assert any("hidden test text left in the release at cell 4 (share_tests)" in p
               for p in problems)


def test_release_check_finds_the_model_answer_of_a_written_answer():
    src, rel = fx.source_notebook(), _release_nb()
    leaky = copy.deepcopy(rel)
    leaky.cells[-1].source = src.cells[-1].source
    problems = release.check_leaks(src, leaky, "x.ipynb")
    assert any("solution text" in p and "reflection" in p for p in problems)


def test_release_check_finds_graded_cells_without_points():
    src = fx.source_notebook()
    src.cells[3].metadata.nbgrader.points = 0
    assert release.check_points(src, "x.ipynb") == [
        "x.ipynb: graded cell 4 (share_tests) has no points; give it points > 0 "
        "(grading.authoring does this for you)"]


# ---- integrity ----------------------------------------------------------------------------------

def test_integrity_clean_submission_has_no_problems():
    rel = _release_nb()
    assert integrity.compare(rel, fx.answered(rel, fx.GOOD), "n") == []


def _kinds(problems):
    return sorted((p.kind, p.cell) for p in problems)


def test_integrity_finds_each_kind_of_tampering(tmp_path):
    rel = _release_nb()
    corpus = fx.bad_corpus(rel, tmp_path, {"gradebook": "g", "other": "o", "outside": "x",
                                           "port": 1})
    assert _kinds(integrity.compare(rel, corpus["bad-missingcell"][1], "n")) == [
        ("deleted", "flagged_tests")]
    assert _kinds(integrity.compare(rel, corpus["bad-duplicated"][1], "n")) == [
        ("duplicated", "share")]
    assert _kinds(integrity.compare(rel, corpus["bad-reordered"][1], "n")) == [("reordered", "")]
    assert _kinds(integrity.compare(rel, corpus["bad-editedtests"][1], "n")) == [
        ("modified", "share_tests")]


def test_integrity_finds_changed_points_and_added_cells():
    rel = _release_nb()
    nb = fx.answered(rel, fx.GOOD)
    nb.cells[3].metadata.nbgrader.points = 50
    extra = copy.deepcopy(nb.cells[3])
    extra.metadata.nbgrader.grade_id = "my_tests"
    nb.cells.append(extra)
    problems = integrity.compare(rel, nb, "n")
    assert _kinds(problems) == [("added", "my_tests"), ("modified", "share_tests")]
    assert "points were changed" in str(problems[1])


@pytest.mark.parametrize("text, kind, words", [
    ("", "empty", "the file is empty"),
    ("{\"cells\": [", "malformed", "not valid JSON"),
    ("{\"cells\": 3}", "malformed", "not a valid notebook"),
])
def test_integrity_reads_broken_files_into_a_clear_problem(tmp_path, text, kind, words):
    path = tmp_path / "n.ipynb"
    path.write_text(text)
    nb, problems = integrity.read_submission(path, "n.ipynb")
    assert nb is None
    assert problems[0].kind == kind and words in problems[0].detail


def test_integrity_report_json_shape(tmp_path):
    rep = integrity.SubmissionReport("s1", "flagged",
                                     [integrity.Problem("deleted", "n.ipynb", "c", "gone")])
    assert json.loads(json.dumps(rep.to_json())) == {
        "student_id": "s1", "status": "flagged",
        "problems": [{"kind": "deleted", "notebook": "n.ipynb", "cell": "c", "detail": "gone"}]}


# ---- feedback -----------------------------------------------------------------------------------

# ---- sandbox helpers ----------------------------------------------------------------------------

def test_task_count_and_exposed_folders():
    import os

    assert sandbox.tasks_of(os.getuid()) >= 1
    # The kernel sees the course package's own folder, never the checkout around it.
    exposed = sandbox.exposed_folders()
    course = Path(__file__).resolve().parent.parent / "course"
    assert str(course) in exposed
    assert not any((course.parent / name).is_relative_to(f) for f in exposed
                   for name in (".git", "tests", "grading", "pyproject.toml"))


def test_a_fork_server_that_ends_takes_its_children_with_it():
    """A kernel left running when its fork server ends would be re-parented to PID 1, which
    in many containers never reaps it: a zombie, or a student's process, for good."""
    child_forever = """
import os, sys, time
from grading import forkserver

def fork(request):
    pid = os.fork()
    if pid == 0:
        time.sleep(600)
        os._exit(0)
    forkserver.remember_child(pid)
    return {"pid": pid}

forkserver.serve_forks(fork, [])
"""
    server = subprocess.Popen([sys.executable, "-c", child_forever], cwd=HERE.parent,
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert json.loads(server.stdout.readline())["ready"]
        server.stdin.write("{}\n")
        server.stdin.flush()
        child = json.loads(server.stdout.readline())["pid"]
        server.stdin.close()
        assert server.wait(30) == 0
    finally:
        server.kill()
    assert not os.path.exists(f"/proc/{child}"), f"child {child} outlived its fork server"


def test_a_closed_output_monitor_does_not_stall_later_connections(tmp_path):
    """A monitor whose reader is closed while the monitor is on makes libzmq's I/O thread
    block on its next event; every later connection of that context then hangs (a kernel that
    never answers). The grader turns the monitor off first. Run apart: a stuck I/O thread
    would also hang this process's exit."""
    scenario = f"""
import time, zmq
from grading import kernels
ctx = zmq.Context()
server, client = ctx.socket(zmq.ROUTER), ctx.socket(zmq.DEALER)
server.bind("ipc://{tmp_path}/a")
watcher = kernels._watch_disconnects(client)
client.connect("ipc://{tmp_path}/a")
client.send(b"hello")
assert server.poll(5000)
kernels._stop_watching(client, watcher)
server.close(linger=0)  # a disconnection: an event, had the monitor stayed on
time.sleep(0.5)
later, peer = ctx.socket(zmq.DEALER), ctx.socket(zmq.ROUTER)
peer.bind("ipc://{tmp_path}/b")
later.connect("ipc://{tmp_path}/b")
later.send(b"still connecting")
print("connected" if peer.poll(5000) else "stuck", flush=True)
"""
    try:
        run = subprocess.run([sys.executable, "-c", scenario], cwd=HERE.parent, capture_output=True,
                             text=True, timeout=60)
    except subprocess.TimeoutExpired as exc:
        raise AssertionError("the context's I/O thread is stuck") from exc
    assert run.stdout.strip() == "connected", run.stdout + run.stderr


# ---- the worker's nbgrader speed-ups change nothing nbgrader decides ---------------------------

def _in_worker_process(scenario: str) -> str:
    """Run ``scenario`` in a fresh interpreter (the patches change module globals)."""
    run = subprocess.run([sys.executable, "-c", scenario], cwd=REPO, capture_output=True,
                         text=True, timeout=120)
    assert run.returncode == 0, run.stderr[-3000:]
    return run.stdout


def test_fast_output_checks_accept_and_refuse_what_nbformat_does():
    out = _in_worker_process("""
import json, sys
sys.modules.setdefault("rfc3987_syntax", None)
import nbformat
from nbformat.v4 import nbbase
outputs = [
    {"output_type": "stream", "name": "stdout", "text": "hello"},
    {"output_type": "stream", "name": "stdout", "text": 5},
    {"output_type": "display_data", "data": {"text/plain": "x"}, "metadata": {}},
    {"output_type": "display_data", "data": {"text/plain": 3}, "metadata": {}},
    {"output_type": "execute_result", "data": {}, "metadata": {}, "execution_count": 1},
    {"output_type": "execute_result", "data": {}, "metadata": {}, "execution_count": "x"},
    {"output_type": "error", "ename": "E", "evalue": "v", "traceback": ["t"]},
    {"output_type": "error", "ename": "E", "evalue": "v", "traceback": [1]},
    {"output_type": "error", "ename": "E"},
    {"output_type": "weird"},
]
def verdicts():
    seen = []
    for o in outputs:
        try:
            nbbase.validate(nbformat.NotebookNode(o), "output")
            seen.append("ok")
        except nbformat.ValidationError as exc:
            seen.append(str(exc).splitlines()[0])
    return seen
before = verdicts()
from grading import nbgrader_setup
nbgrader_setup.fast_output_checks()
assert nbbase.validate._upstream_fast
print(json.dumps([before, verdicts()]))
""")
    before, after = json.loads(out)
    assert after == before
    assert before.count("ok") == 4


def test_one_gradebook_engine_per_database_keeps_what_each_session_wrote(tmp_path):
    out = _in_worker_process(f"""
import sys
sys.modules.setdefault("rfc3987_syntax", None)
from grading import nbgrader_setup
nbgrader_setup.reuse_gradebook_engine()
from nbgrader.api import Gradebook
a, b = "sqlite:///{tmp_path}/a.db", "sqlite:///{tmp_path}/b.db"
with Gradebook(a, "c") as gb:
    gb.add_student("s1")
    first = gb.engine
with Gradebook(a, "c") as gb:
    assert gb.engine is first
    assert [s.id for s in gb.students] == ["s1"]
    gb.add_student("s2")
with Gradebook(b, "c") as gb:
    assert gb.engine is not first and gb.students == []
with Gradebook(a, "c") as gb:
    print(sorted(s.id for s in gb.students))
""")
    assert out.strip() == "['s1', 's2']"


def test_a_fork_server_warms_names_imported_from_a_module():
    out = _in_worker_process("""
import sys
from grading import forkserver
print(forkserver.preload(["course.maps.external_urls", "course.nothing_here"]),
      "folium" in sys.modules)
""")
    assert out.strip().endswith("['course.nothing_here'] True"), out


def test_only_cells_that_just_show_hints_are_left_out_of_the_test_interpreter():
    import nbformat

    from grading import split_execution as se

    def cell(source, **meta):
        c = nbformat.v4.new_code_cell(source)
        c.metadata["nbgrader"] = {"locked": True, "grade": False, "solution": False, **meta}
        return c

    released = nbformat.v4.new_notebook(cells=[
        cell("from course import data, widgets", grade_id="setup"),
        cell('widgets.hints("ex01", "count_factors")', grade_id="hints"),
        cell('widgets.hints("ex01", name)', grade_id="not_constant"),
        cell('widgets.hints("ex01", "x")\nseen = 1', grade_id="binds"),
        cell("widgets = 3", grade_id="answer", solution=True, locked=False),
        cell('widgets.hints("ex01", "after_answer")', grade_id="after_answer"),
    ])
    source = nbformat.v4.new_notebook(cells=[
        cell("### BEGIN SOLUTION\nwidgets = 3\n### END SOLUTION", grade_id="answer",
             solution=True, locked=False)])
    cells, answers = se.trusted_cells(released, source, {}, set(), {"answer"})
    assert answers == {"widgets"}
    assert [c.grade_id for c in cells] == ["setup", "not_constant", "binds", "after_answer"]
