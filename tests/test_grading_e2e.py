"""End to end on real nbgrader: init → release → collect → autograde → integrity → feedback →
export, with good, partial and hostile submissions; and grades equal to stock nbgrader's."""

from __future__ import annotations

import csv
import importlib.util
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import nbformat
import psutil
import pytest
from nbgrader.api import Gradebook

from grading import course_root, feedback
from grading.__main__ import main

HERE = Path(__file__).parent
_spec = importlib.util.spec_from_file_location("grading_fixture",
                                               HERE / "fixtures" / "grading" / "exercise.py")
fx = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(fx)

# No xdist group needed: each test grades its own copy, and concurrent runs lease distinct
# grader users. Each xdist worker that runs these builds the released course once.
pytestmark = [pytest.mark.slow]
AUTOGRADE = ["--workers", "2", "--cell-timeout", "5", "--timeout", "90", "--memory", "1024",
             "--quiet"]

# What each submission must end as: (integrity status, problem kinds that must be listed,
# total score). Autograded points: share 2, flagged 3; the written answer (2) is manual.
EXPECTED = {
    "good1": ("clean", set(), 5.0), "good2": ("clean", set(), 5.0),
    "good3": ("clean", set(), 5.0),
    "partial1": ("clean", set(), 2.0), "partial2": ("clean", set(), 2.0),
    "bad-malformed": ("failed", {"malformed", "error"}, 0.0),
    "bad-empty": ("failed", {"empty", "error"}, 0.0),
    "bad-wrongname": ("failed", {"missing-notebook", "error"}, 0.0),
    "bad-missingcell": ("flagged", {"deleted"}, 2.0),
    "bad-duplicated": ("flagged", {"duplicated"}, 5.0),
    "bad-reordered": ("flagged", {"reordered"}, 3.0),
    "bad-editedtests": ("flagged", {"modified"}, 3.0),
    "bad-infinite": ("runtime-errors", {"runtime"}, 3.0),
    "bad-membomb": ("runtime-errors", {"runtime"}, 3.0),
    "bad-hugeoutput": ("runtime-errors", {"runtime"}, 5.0),
    "bad-sysexit": ("runtime-errors", {"runtime"}, 3.0),
    "bad-osexit": ("failed", {"error"}, 0.0),
    "bad-crash": ("failed", {"error"}, 0.0),
    "bad-writeoutside": ("runtime-errors", {"runtime"}, 3.0),
    "bad-readgradebook": ("runtime-errors", {"runtime"}, 3.0),
    "bad-readother": ("runtime-errors", {"runtime"}, 3.0),
    "bad-network": ("runtime-errors", {"runtime"}, 3.0),
    "bad-import": ("runtime-errors", {"runtime"}, 3.0),
}
# A fork bomb's kernel may or may not manage to answer nbgrader after being interrupted.
FORK_BOMB_OK = {("failed", 0.0), ("runtime-errors", 3.0)}
RUNTIME_WORDS = {"bad-infinite": "CellTimeoutError", "bad-membomb": "MemoryError",
                 "bad-hugeoutput": "printed more output", "bad-sysexit": "SystemExit",
                 "bad-writeoutside": "Error", "bad-readgradebook": "Error",
                 "bad-readother": "Error", "bad-network": "Error",
                 "bad-import": "ModuleNotFoundError", "bad-osexit": "DeadKernelError",
                 "bad-crash": "DeadKernelError"}


def _write_config(root: Path) -> None:
    (root / "nbgrader_config.py").write_text(course_root.CONFIG_TEMPLATE.format(
        course_id="upstream", root=str(root), db_url=f"sqlite:///{root / 'gradebook.db'}"))


@pytest.fixture(scope="module")
def pristine(tmp_path_factory):
    """A course root with the fixture exercise released, and the student version. Tests grade
    copies of it (``_copy_course``), never the root itself."""
    base = tmp_path_factory.mktemp("grading")
    src = fx.write_source(base / "src")
    root = base / "course"
    assert main(["init", str(root), "--source", str(src)]) == 0
    assert main(["release", fx.ASSIGNMENT, "--course-dir", str(root)]) == 0
    rel = nbformat.read(root / "release" / fx.ASSIGNMENT / fx.NOTEBOOK, as_version=4)
    return base, root, rel


def _copy_course(pristine, name: str) -> Path:
    base, root, _ = pristine
    dest = base / name
    shutil.copytree(root, dest)
    _write_config(dest)
    return dest


def _scores(root: Path) -> dict[str, float]:
    with Gradebook(f"sqlite:///{root / 'gradebook.db'}", "upstream") as gb:
        return {s.student_id: float(s.score) for s in gb.assignment_submissions(fx.ASSIGNMENT)}


def _cell_scores(root: Path) -> dict[tuple[str, str], tuple]:
    with Gradebook(f"sqlite:///{root / 'gradebook.db'}", "upstream") as gb:
        out = {}
        for sub in gb.assignment_submissions(fx.ASSIGNMENT):
            for nb in sub.notebooks:
                for g in nb.grades:
                    out[(sub.student_id, g.name)] = (g.auto_score, g.needs_manual_grade)
        return out


def _grader_processes(settle_seconds: float = 10.0) -> list:
    """Processes left behind by sandboxed code: grader-user processes not (descended from) a
    kernel of a fork server that is still running (another test may be grading meanwhile).
    A kernel being shut down right now is given ``settle_seconds`` to go."""
    end = time.monotonic() + settle_seconds
    while True:
        found = _unowned_grader_processes()
        if not found or time.monotonic() > end:
            return found
        time.sleep(0.25)


def _unowned_grader_processes() -> list:
    found = []
    for p in psutil.process_iter(["username"]):
        if not (p.info["username"] or "").startswith("upstream-grader-"):
            continue
        try:
            owner = next((a for a in p.parents()
                          if not (a.username() or "").startswith("upstream-grader-")), None)
            if owner is None or "grading.forkserver" not in " ".join(owner.cmdline()):
                found.append(p)
        except psutil.NoSuchProcess:
            continue
    return found


def test_release_refuses_an_exercise_whose_stub_passes(tmp_path):
    """A release that gives full marks for doing nothing is caught, with what to do."""
    src = tmp_path / "src"
    nb = fx.source_notebook()
    nb.cells[3].source = "assert True\n### BEGIN HIDDEN TESTS\nassert 1 == 1\n### END HIDDEN TESTS"
    nb.cells[5].source = nb.cells[3].source
    fx.a.write(nb, src / fx.ASSIGNMENT / fx.NOTEBOOK)
    root = tmp_path / "course"
    assert main(["init", str(root), "--source", str(src)]) == 0
    assert main(["release", fx.ASSIGNMENT, "--course-dir", str(root)]) == 1


def test_end_to_end_with_good_partial_and_bad_submissions(pristine, capsys):
    base, _, rel = pristine
    root = _copy_course(pristine, "e2e")  # the released course stays untouched for other tests
    downloads = base / "downloads"
    for sid in ("good1", "good2", "good3"):
        fx.save(fx.answered(rel, fx.GOOD), downloads / sid / fx.ASSIGNMENT)
    for sid in ("partial1", "partial2"):
        fx.save(fx.answered(rel, fx.PARTIAL), downloads / sid / fx.ASSIGNMENT)
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(8)
    listener.settimeout(0.2)
    outside = base / "escaped.txt"
    probe = {"gradebook": str(root / "gradebook.db"), "outside": str(outside),
             "other": str(root / "submitted" / "good1" / fx.ASSIGNMENT / fx.NOTEBOOK),
             "port": listener.getsockname()[1]}
    fx.write_corpus(fx.bad_corpus(rel, root, probe), downloads)
    expected = dict(EXPECTED, **{"bad-forkbomb": None})

    assert main(["collect", fx.ASSIGNMENT, "--course-dir", str(root), "--from",
                 str(downloads)]) == 0
    assert sorted(course_root.submitted_students(root, fx.ASSIGNMENT)) == sorted(expected)

    assert main(["autograde", fx.ASSIGNMENT, "--course-dir", str(root), *AUTOGRADE]) == 0
    capsys.readouterr()

    # The batch completed; every student has a grade; good and partial ones are untouched by
    # the hostile submissions graded alongside them.
    scores = _scores(root)
    assert set(scores) == set(expected)
    for sid, want in EXPECTED.items():
        assert scores[sid] == want[2], f"{sid}: score {scores[sid]}, expected {want[2]}"

    # Nothing escaped the sandbox.
    with pytest.raises(OSError):
        listener.accept()
    assert not outside.exists()
    assert _grader_processes() == []

    assert main(["integrity", fx.ASSIGNMENT, "--course-dir", str(root), "--json"]) == 0
    reports = {r["student_id"]: r for r in json.loads(capsys.readouterr().out)}
    assert set(reports) == set(expected)
    for sid, (status, kinds, _) in EXPECTED.items():
        got = reports[sid]
        assert got["status"] == status, f"{sid}: {got}"
        assert kinds <= {p["kind"] for p in got["problems"]}, f"{sid}: {got}"
        if sid in RUNTIME_WORDS:
            assert RUNTIME_WORDS[sid] in json.dumps(got["problems"]), f"{sid}: {got}"
    bomb = reports["bad-forkbomb"]
    assert (bomb["status"], scores["bad-forkbomb"]) in FORK_BOMB_OK, bomb
    assert all(p["detail"] for r in reports.values() for p in r["problems"])

    assert main(["feedback", fx.ASSIGNMENT, "--course-dir", str(root)]) == 0
    secrets = feedback.secrets(course_root.CourseRoot(root), fx.ASSIGNMENT)
    pages = sorted((root / "feedback").glob(f"*/{fx.ASSIGNMENT}/*.html"))
    graded = {s for s, r in reports.items() if r["status"] != "failed"}
    assert {p.parts[-3] for p in pages} >= graded
    for page in pages:
        text = page.read_text(encoding="utf-8")
        assert fx.HIDDEN_MARK not in text, page
        assert feedback.leaks(text, secrets) == [], page
    partial = (root / "feedback" / "partial1" / fx.ASSIGNMENT / fx.NOTEBOOK).with_suffix(".html")
    shown = feedback.visible_text(partial.read_text(encoding="utf-8"))
    assert "assert flagged([1, 5], 2) == [5]" in shown  # visible tests stay
    assert "Not passed: 0 of 3 points" in shown            # the hidden result stays

    out, report = base / "grades.csv", base / "report.html"
    assert main(["export", "--course-dir", str(root), "--out", str(out),
                 "--report", str(report)]) == 0
    rows = list(csv.DictReader(out.open()))
    assert {"student_id", "assignment", "score", "max_score"} <= set(rows[0])
    assert {r["student_id"]: float(r["score"]) for r in rows} == scores
    assert all(float(r["max_score"]) == fx.MAX_SCORE for r in rows)
    page = report.read_text(encoding="utf-8")
    assert page.count("data:image/png;base64,") >= 2
    for words in ("Score distribution", "pass rate per graded cell", "Most common failing tests",
                  "flagged_tests", "Integrity problems", "bad-editedtests"):
        assert words.lower() in page.lower(), words
    assert "http://" not in page and "https://" not in page


STOCK_SET = ("good1", "partial1", "bad-editedtests", "bad-missingcell", "bad-reordered",
             "bad-import", "bad-sysexit")


def test_grades_equal_stock_nbgrader_autograde(pristine, tmp_path):
    _, _, rel = pristine
    corpus = fx.bad_corpus(rel, tmp_path, {"gradebook": "/nonexistent", "other": "/nonexistent",
                                           "outside": "/nonexistent/x", "port": 9})
    roots = {name: _copy_course(pristine, name) for name in ("stock", "ours")}
    for root in roots.values():
        fx.save(fx.answered(rel, fx.GOOD), root / "submitted" / "good1" / fx.ASSIGNMENT)
        fx.save(fx.answered(rel, fx.PARTIAL), root / "submitted" / "partial1" / fx.ASSIGNMENT)
        fx.write_corpus({k: v for k, v in corpus.items() if k in STOCK_SET}, root / "submitted")
    stock = subprocess.run([sys.executable, "-m", "nbgrader", "autograde", fx.ASSIGNMENT,
                            "--force", "--Execute.timeout=5"], cwd=roots["stock"],
                           capture_output=True, text=True,
                           env=dict(os.environ, PATH=f"{Path(sys.executable).parent}:"
                                    + os.environ["PATH"]))
    assert stock.returncode == 0, stock.stderr[-3000:]
    assert main(["autograde", fx.ASSIGNMENT, "--course-dir", str(roots["ours"]),
                 *AUTOGRADE]) == 0
    assert _scores(roots["ours"]) == _scores(roots["stock"])
    assert _cell_scores(roots["ours"]) == _cell_scores(roots["stock"])
    assert len(_scores(roots["ours"])) == len(STOCK_SET)


def test_user_level_isolation_grades_the_same(pristine, tmp_path):
    """The ordinary-user path (no own uid), run explicitly: same grades, still no network."""
    _, _, rel = pristine
    root = _copy_course(pristine, "userlevel")
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(8)
    listener.settimeout(0.2)
    corpus = fx.bad_corpus(rel, tmp_path, {"gradebook": str(root / "gradebook.db"),
                                           "other": "/nonexistent", "outside": "/nonexistent/x",
                                           "port": listener.getsockname()[1]})
    fx.save(fx.answered(rel, fx.GOOD), root / "submitted" / "good1" / fx.ASSIGNMENT)
    fx.save(fx.answered(rel, fx.PARTIAL), root / "submitted" / "partial1" / fx.ASSIGNMENT)
    fx.write_corpus({k: v for k, v in corpus.items() if k in ("bad-network", "bad-membomb",
                                                               "bad-readgradebook")},
                    root / "submitted")
    assert main(["autograde", fx.ASSIGNMENT, "--course-dir", str(root), "--isolation", "user",
                 *AUTOGRADE]) == 0
    assert _scores(root) == {"good1": 5.0, "partial1": 2.0, "bad-network": 3.0,
                             "bad-membomb": 3.0, "bad-readgradebook": 3.0}
    with pytest.raises(OSError):
        listener.accept()


def test_wall_clock_timeout_stops_one_submission_and_the_batch_goes_on(pristine, tmp_path,
                                                                       capsys):
    """Past --timeout the worker is killed and replaced: that student is reported as a timeout
    (no partial autograded folder left), everyone else is graded as usual."""
    _, _, rel = pristine
    root = _copy_course(pristine, "timeouts")
    corpus = fx.bad_corpus(rel, tmp_path, {"gradebook": "/x", "other": "/x", "outside": "/x/y",
                                           "port": 9})
    fx.write_corpus({"bad-infinite": corpus["bad-infinite"]}, root / "submitted")
    for sid in ("good1", "good2"):
        fx.save(fx.answered(rel, fx.GOOD), root / "submitted" / sid / fx.ASSIGNMENT)
    assert main(["autograde", fx.ASSIGNMENT, "--course-dir", str(root), "--workers", "2",
                 "--timeout", "12", "--cell-timeout", "60", "--quiet"]) == 0
    assert re.search(r"bad-infinite +timeout .*stopped after 12 s \(wall clock\)",
                     capsys.readouterr().out)
    scores = _scores(root)
    assert scores["good1"] == scores["good2"] == 5.0
    assert scores.get("bad-infinite", 0.0) == 0.0
    assert not (root / "autograded" / "bad-infinite" / fx.ASSIGNMENT).exists()
    assert main(["integrity", fx.ASSIGNMENT, "--course-dir", str(root), "--json"]) == 0
    reports = {r["student_id"]: r for r in json.loads(capsys.readouterr().out)}
    assert reports["bad-infinite"]["status"] == "failed"
    assert [p["kind"] for p in reports["bad-infinite"]["problems"]] == ["timeout"]
    assert _grader_processes() == []


def test_one_run_grades_several_assignments(tmp_path, capsys):
    src = fx.write_source(tmp_path / "src")
    second = "fx02_fixture"
    (src / second).mkdir()
    shutil.copy(src / fx.ASSIGNMENT / fx.NOTEBOOK, src / second / f"{second}.ipynb")
    root = tmp_path / "course"
    assert main(["init", str(root), "--source", str(src)]) == 0
    assert main(["release", "--course-dir", str(root), "--no-validate"]) == 0
    for name in (fx.ASSIGNMENT, second):
        rel = nbformat.read(root / "release" / name / f"{name}.ipynb", as_version=4)
        fx.save(fx.answered(rel, fx.GOOD), root / "submitted" / "amina" / name, f"{name}.ipynb")
        fx.save(fx.answered(rel, fx.PARTIAL), root / "submitted" / "bo" / name, f"{name}.ipynb")
    capsys.readouterr()
    assert main(["autograde", fx.ASSIGNMENT, second, "--course-dir", str(root), *AUTOGRADE]) == 0
    assert "4 submissions: 4 graded" in capsys.readouterr().out
    with Gradebook(f"sqlite:///{root / 'gradebook.db'}", "upstream") as gb:
        got = {(s.assignment.name, s.student_id): float(s.score)
               for name in (fx.ASSIGNMENT, second) for s in gb.assignment_submissions(name)}
    assert got == {(fx.ASSIGNMENT, "amina"): 5.0, (fx.ASSIGNMENT, "bo"): 2.0,
                   (second, "amina"): 5.0, (second, "bo"): 2.0}
    for name in (fx.ASSIGNMENT, second):
        assert main(["integrity", name, "--course-dir", str(root), "--json"]) == 0
        assert {r["status"] for r in json.loads(capsys.readouterr().out)} == {"clean"}


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to chown submissions to other uids")
def test_impersonation_and_links_cost_no_one_their_points(pristine, capsys):
    """Issue 15: a trainee's entry in another's name, and a link to the model solution, in the
    exchange. The victim's own work is what gets graded; the link gets nobody anything."""
    _, _, rel = pristine
    root = _copy_course(pristine, "impersonation")
    amina, mallory, bo = 20001, 20002, 20003
    with (root / "nbgrader_config.py").open("a") as f:
        f.write(f"c.UpstreamCollect.accounts = {{'amina': {amina}, 'bo': {bo}, "
                f"'mallory': {mallory}}}\n")
    inbound = root.parent / "impersonation-exchange" / "upstream" / "inbound"

    def entry(student, stamp, nb, uid):
        folder = inbound / f"{student}+{fx.ASSIGNMENT}+{stamp}+x"
        folder.mkdir(parents=True)
        if nb is not None:
            fx.save(nb, folder)
        (folder / "timestamp.txt").write_text(stamp)
        for p in (folder, *folder.iterdir()):
            os.chown(p, uid, -1, follow_symlinks=False)
        return folder

    entry("amina", "2026-03-01 10:00:00.000000 UTC", fx.answered(rel, fx.GOOD), amina)
    entry("amina", "2026-03-01 11:00:00.000000 UTC", rel, mallory)       # unanswered, forged
    linked = entry("bo", "2026-03-01 10:00:00.000000 UTC", None, bo)
    (linked / fx.NOTEBOOK).symlink_to(root / "source" / fx.ASSIGNMENT / fx.NOTEBOOK)
    os.chown(linked / fx.NOTEBOOK, bo, -1, follow_symlinks=False)

    assert main(["collect", fx.ASSIGNMENT, "--course-dir", str(root), "--from",
                 str(inbound)]) == 0
    out = capsys.readouterr().out
    assert f"impersonation by uid {mallory} (mallory)" in out
    assert "bo: nothing collected: no notebook in the submission; links dropped: " in out
    assert main(["autograde", fx.ASSIGNMENT, "--course-dir", str(root), *AUTOGRADE]) == 0
    assert _scores(root) == {"amina": 5.0}
    capsys.readouterr()
    assert main(["integrity", fx.ASSIGNMENT, "--course-dir", str(root), "--json"]) == 0
    [amina_report] = json.loads(capsys.readouterr().out)
    assert (amina_report["student_id"], amina_report["status"]) == ("amina", "clean")
