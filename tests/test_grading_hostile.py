"""Issue #15's hostile submissions, graded in one batch next to a good one, through the CLI:
each ends with its exact outcome, reaches nothing outside its submission, and the good
student's grade is unchanged."""

from __future__ import annotations

import copy
import importlib.util
import json
import os
import socket
from pathlib import Path

import nbformat
import pytest
from nbgrader.api import Gradebook

from grading import autograde, kernels, sandbox
from grading.__main__ import main
from tests.helpers.sandbox import listener

HERE = Path(__file__).parent
_spec = importlib.util.spec_from_file_location("grading_fixture",
                                               HERE / "fixtures" / "grading" / "exercise.py")
fx = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(fx)

pytestmark = [pytest.mark.slow,
              pytest.mark.skipif(not sandbox.user_namespaces_available(),
                                 reason="this Linux kernel does not allow the namespaces")]
CHECKOUT = str(HERE.parent)
SECRET_VARIABLE, SECRET = "UPSTREAM_TEST_HUB_TOKEN", "hub-token-must-not-leak"
AUTOGRADE = ["--workers", "2", "--cell-timeout", "20", "--timeout", "120", "--memory", "2048",
             "--quiet"]
DISK_MB = sandbox.Limits().disk_mb
OUTPUT_MB = kernels.SandboxedExecute.max_total_output_bytes.default_value // 1_000_000

PRINT_ENV = ("import ctypes\nctypes.CDLL(None).prctl(4, 1, 0, 0, 0)  # PR_SET_DUMPABLE\n"
             "print('ENV', sorted(v.split('=')[0] for v in "
             "open('/proc/self/environ').read().split('\\0') if v), "
             f"open('/proc/self/environ').read().count({SECRET!r}))")
GIT = ("import os, subprocess\n"
       f"print('GIT', subprocess.run(['git', '-C', {CHECKOUT!r}, 'show', "
       "'HEAD:course/exercises/source'], capture_output=True, text=True).stderr.strip())\n"
       f"print('CHECKOUT', sorted(os.listdir({CHECKOUT!r})))")
DISK_BOMB = ("for i in range(60):  # 3 GB in files below the per-file limit\n"
             "    with open(f'/tmp/fill{i}', 'wb') as f:\n"
             "        f.write(b'x' * 50_000_000)")
SHARED_DIRS = ("import errno\nfor path in ('/run/lock/upstream-hostile', "
               "'/var/tmp/upstream-hostile', '/dev/shm/upstream-hostile'):\n"
               "    try:\n        open(path, 'w').write('x')\n        print('WROTE', path)\n"
               "    except OSError as exc:\n"
               "        print('REFUSED', path, errno.errorcode[exc.errno])")


def _sockets(unix_path: str, abstract: str) -> str:
    return ("import errno, socket\n"
            f"for address in ({unix_path!r}, {abstract!r}):\n"
            "    s = socket.socket(socket.AF_UNIX)\n"
            "    try:\n        s.connect(address)\n        print('SOCKET connected')\n"
            "    except OSError as exc:\n        print('SOCKET', errno.errorcode[exc.errno])")


PROCESSES = ("import os\nprint('PIDS', sorted(int(p) for p in os.listdir('/proc') "
             "if p.isdigit()))")


def _flood(release_nb):
    """400 cells of 1.9 MB of output each, before the answers (the 747 MB notebook)."""
    nb = fx.answered(release_nb, fx.GOOD)
    first = nb.cells.index(fx._cells(nb, "share")[0])
    for _ in range(400):
        nb.cells.insert(first, nbformat.v4.new_code_cell("print('z' * 1_900_000)"))
    return nb


def _expected(name: str) -> dict:
    """student -> (outcome status, outcome message starts with, integrity status, score)."""
    return {
        "good1": ("graded", "", "clean", 5.0),
        "bad-readenviron": ("graded", "", "clean", 5.0),
        "bad-git": ("graded", "", "clean", 5.0),
        "bad-diskbomb": ("stopped", f"disk-full: the submission filled the {DISK_MB} MB",
                         "flagged", 0.0),
        "bad-shareddirs": ("graded", "", "clean", 5.0),
        "bad-sockets": ("graded", "", "clean", 5.0),
        "bad-processes": ("graded", "", "clean", 5.0),
        "bad-outputflood": ("stopped", f"output-limit: the submission's output passed the "
                                       f"{OUTPUT_MB} MB", "flagged", 0.0),
        "bad-toolarge": ("stopped", "too-large: fx01_fixture.ipynb is", "failed", 0.0),
        "bad-onebigoutput": ("stopped", "output-limit: the kernel sent a single output over",
                             "flagged", 0.0),
    }[name]


STUDENTS = ["good1", "bad-readenviron", "bad-git", "bad-diskbomb", "bad-shareddirs",
            "bad-sockets", "bad-processes", "bad-outputflood", "bad-toolarge",
            "bad-onebigoutput"]


def _outputs(root: Path, student: str) -> str:
    path = root / "autograded" / student / fx.ASSIGNMENT / fx.NOTEBOOK
    nb = nbformat.read(path, as_version=4)
    return "".join(o.get("text", "") for c in nb.cells if c.cell_type == "code"
                   for o in c.get("outputs", []))


def test_hostile_submissions_get_their_named_outcome_and_reach_nothing(tmp_path, monkeypatch):
    monkeypatch.setenv(SECRET_VARIABLE, SECRET)  # the grader's own secret, as on a hub
    src = fx.write_source(tmp_path / "src")
    root = tmp_path / "course"
    assert main(["init", str(root), "--source", str(src)]) == 0
    assert main(["release", fx.ASSIGNMENT, "--course-dir", str(root)]) == 0
    rel = nbformat.read(root / "release" / fx.ASSIGNMENT / fx.NOTEBOOK, as_version=4)

    unix = listener(socket.AF_UNIX, str(tmp_path / "world.sock"))
    abstract_name = f"\0upstream-hostile-{os.getpid()}"
    abstract = listener(socket.AF_UNIX, abstract_name)
    too_large = fx.answered(rel, fx.GOOD)
    too_large.cells += [nbformat.v4.new_markdown_cell("x" * 200) for _ in range(80_000)]
    submissions = {
        "good1": fx.answered(rel, fx.GOOD),
        "bad-readenviron": fx._with_answer(rel, PRINT_ENV),
        "bad-git": fx._with_answer(rel, GIT),
        "bad-diskbomb": fx._with_answer(rel, DISK_BOMB),
        "bad-shareddirs": fx._with_answer(rel, SHARED_DIRS),
        "bad-sockets": fx._with_answer(rel, _sockets(str(tmp_path / "world.sock"),
                                                     abstract_name)),
        "bad-processes": fx._with_answer(rel, PROCESSES),
        "bad-outputflood": _flood(rel),
        "bad-toolarge": too_large,
        # One message over kernels.MAX_MESSAGE_BYTES: ZMQ refuses it before the grader reads it.
        "bad-onebigoutput": fx._with_answer(rel, "print('y' * 70_000_000)"),
    }
    downloads = tmp_path / "downloads"
    for sid, nb in submissions.items():
        fx.save(copy.deepcopy(nb), downloads / sid / fx.ASSIGNMENT)
    assert main(["collect", fx.ASSIGNMENT, "--course-dir", str(root), "--from",
                 str(downloads)]) == 0
    try:
        assert main(["autograde", fx.ASSIGNMENT, "--course-dir", str(root), *AUTOGRADE]) == 0
        for waiting in (unix, abstract):
            with pytest.raises(OSError):
                waiting.accept()
    finally:
        unix.close()
        abstract.close()

    outcomes = autograde.load_outcomes(root, fx.ASSIGNMENT)
    with Gradebook(f"sqlite:///{root / 'gradebook.db'}", "upstream") as gb:
        scores = {s.student_id: float(s.score) for s in gb.assignment_submissions(fx.ASSIGNMENT)}
    capsys_reports = _integrity(root)
    for sid in STUDENTS:
        status, message, integrity_status, score = _expected(sid)
        got = outcomes[sid]
        assert got["status"] == status, f"{sid}: {got}"
        assert got["message"].startswith(message), f"{sid}: {got}"
        assert capsys_reports[sid]["status"] == integrity_status, capsys_reports[sid]
        assert scores.get(sid, 0.0) == score, f"{sid}: {scores.get(sid)}"
        if status == "graded":
            assert set(got["isolation"]) >= set(sandbox.NAMESPACED), got

    # The environment: the clean one only, even read through /proc after PR_SET_DUMPABLE.
    env_line = next(ln for ln in _outputs(root, "bad-readenviron").splitlines()
                    if ln.startswith("ENV"))
    assert env_line == f"ENV {sorted(sandbox.clean_environment('/x'))} 0"
    # The repository: no git repository; of the checkout only the package and Python.
    out = _outputs(root, "bad-git")
    assert "GIT fatal: not a git repository" in out
    assert "CHECKOUT ['.venv', 'course']" in out or "CHECKOUT ['course']" in out
    # Shared host folders: no /run at all; /var/tmp and /dev/shm are the submission's own.
    out = _outputs(root, "bad-shareddirs")
    assert "REFUSED /run/lock/upstream-hostile ENOENT" in out
    assert "WROTE /var/tmp/upstream-hostile" in out and "WROTE /dev/shm/upstream-hostile" in out
    for path in ("/run/lock", "/var/tmp", "/dev/shm"):
        assert not os.path.exists(f"{path}/upstream-hostile")
    # Sockets: neither the world-writable path nor the abstract name is reachable.
    assert _outputs(root, "bad-sockets").count("SOCKET ENOENT") == 1
    assert _outputs(root, "bad-sockets").count("SOCKET ECONNREFUSED") == 1
    # Processes: the sandbox's own, none of the host's.
    pids = json.loads(next(ln for ln in _outputs(root, "bad-processes").splitlines()
                           if ln.startswith("PIDS"))[5:])
    assert pids[:2] == [1, 2] and len(pids) <= 4
    # Output: stopped at the limit, so the autograded notebook stays small.
    flood = root / "autograded" / "bad-outputflood" / fx.ASSIGNMENT / fx.NOTEBOOK
    assert flood.stat().st_size < (OUTPUT_MB + 5) * 1_000_000
    assert kernels.STOP_MARK in _outputs(root, "bad-outputflood")
    # Disk: the 3 GB went nowhere on the host (the tmpfs went with the kernel).
    assert "disk-full" in capsys_reports["bad-diskbomb"]["problems"][0]["detail"]


def _integrity(root: Path) -> dict:
    import contextlib
    import io

    buffer = io.StringIO()
    with contextlib.redirect_stdout(buffer):
        assert main(["integrity", fx.ASSIGNMENT, "--course-dir", str(root), "--json"]) == 0
    return {r["student_id"]: r for r in json.loads(buffer.getvalue())}
