"""Autograde every submission of an assignment, N at a time, each in its own confined kernel.

Grading is nbgrader's own ``Autograde`` converter (through ``NbGraderAPI.autograde``), run by N
long-lived worker processes, one submission at a time each. Only the Execute step differs: the
kernel is a fresh, confined, pre-started one (``grading.kernels``). So scores are nbgrader's.

Writes: every gradebook session in a worker holds an exclusive lock on the course's lock file for
its whole length (``serialize_gradebook``). Sessions are short (executing the notebook happens
outside any session), so workers rarely wait, SQLite never sees two writers, and a worker killed
mid-write releases the lock with its process while SQLite rolls the unfinished write back.
"""

from __future__ import annotations

import ast
import contextlib
import fcntl
import json
import os
import re
import selectors
import signal
import subprocess
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import nbformat
from nbconvert.preprocessors import ClearMetadataPreprocessor
from nbgrader import api as nbapi
from nbgrader.apps import NbGraderAPI
from nbgrader.preprocessors import (
    AssignLatePenalties,
    CheckCellMetadata,
    ClearOutput,
    DeduplicateIds,
    IgnorePattern,
    LimitOutput,
    NbGraderPreprocessor,
    OverwriteCells,
    OverwriteKernelspec,
    SaveAutoGrades,
)

from . import course_root, sandbox

LOCK_NAME = "gradebook.lock"


@dataclass
class Outcome:
    student_id: str
    status: str            # graded | error | timeout | crashed
    seconds: float = 0.0
    message: str = ""
    isolation: list[str] = field(default_factory=list)


# ---- serialized gradebook sessions --------------------------------------------------------------

class _FileLock:
    """A re-entrant, cross-process exclusive lock (flock) on one file."""

    def __init__(self, path: Path):
        self.path, self.fd, self.depth = path, None, 0

    def acquire(self):
        if self.depth == 0:
            self.fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
            fcntl.flock(self.fd, fcntl.LOCK_EX)
        self.depth += 1

    def release(self):
        self.depth -= 1
        if self.depth == 0:
            fcntl.flock(self.fd, fcntl.LOCK_UN)
            os.close(self.fd)
            self.fd = None


def serialize_gradebook(lock_path: Path) -> None:
    """Make every nbgrader Gradebook session in this process hold ``lock_path`` exclusively."""
    lock = _FileLock(lock_path)
    cls = nbapi.Gradebook
    if getattr(cls, "_upstream_lock", None) is not None:
        cls._upstream_lock.path = lock_path
        return
    orig_init, orig_close = cls.__init__, cls.close

    def __init__(self, *args, **kwargs):
        lock.acquire()
        self._upstream_locked = True
        try:
            orig_init(self, *args, **kwargs)
        except BaseException:
            self._upstream_locked = False
            lock.release()
            raise

    def close(self):
        try:
            orig_close(self)
        finally:
            if getattr(self, "_upstream_locked", False):
                self._upstream_locked = False
                lock.release()

    cls.__init__, cls.close, cls._upstream_lock = __init__, close, lock


class DropEmptyGradingMetadata(NbGraderPreprocessor):
    """After nbgrader's DeduplicateIds: it keeps the last copy of a duplicated graded cell and
    empties the others' nbgrader metadata, which CheckCellMetadata then rejects as "an old
    version" and the whole submission fails (jupyter/nbgrader#1083). Removing the emptied
    metadata makes the extra copies plain cells, so the submission is graded."""

    def preprocess_cell(self, cell, resources, index):
        if "nbgrader" in cell.metadata and not cell.metadata["nbgrader"]:
            del cell.metadata["nbgrader"]
        return cell, resources


# ---- configuration ------------------------------------------------------------------------------

def grading_config(course_dir, cell_timeout: int | None = None):
    """The course's config, with nbgrader's Execute swapped for the sandboxed one."""
    from .kernels import SandboxedExecute

    config = course_root.load_config(course_dir)
    config.Autograde.sanitize_preprocessors = [
        ClearOutput, DeduplicateIds, DropEmptyGradingMetadata, OverwriteKernelspec,
        OverwriteCells, CheckCellMetadata]
    config.Autograde.autograde_preprocessors = [
        SandboxedExecute, IgnorePattern, ClearMetadataPreprocessor, LimitOutput, SaveAutoGrades,
        AssignLatePenalties, CheckCellMetadata]
    if cell_timeout is not None:
        config.Execute.timeout = cell_timeout
    return config


def source_imports(course_dir, assignment: str) -> list[str]:
    """Modules the assignment's source notebooks import: worth importing before any fork."""
    names = set()
    for path in sorted((Path(course_dir) / "source" / assignment).glob("*.ipynb")):
        for cell in nbformat.read(path, as_version=4).cells:
            if cell.cell_type != "code":
                continue
            try:
                tree = ast.parse(cell.source)
            except SyntaxError:
                continue
            for node in ast.walk(tree):
                if isinstance(node, ast.Import):
                    names.update(a.name for a in node.names)
                elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                    names.add(node.module)
                    names.update(f"{node.module}.{a.name}" for a in node.names)
    return sorted(names)


def hidden_paths(course_dir) -> list[str]:
    """Folders covered by empty mounts in the kernel: the course root and the exercise sources."""
    paths = [str(Path(course_dir).resolve()), str(course_root.REPO_SOURCE.parent)]
    return [p for p in paths if os.path.isdir(p)]


# ---- worker process (python -m grading.autograde WORKER-SETTINGS-JSON) -------------------------

def _send(msg) -> None:
    sys.stdout.write(json.dumps(msg) + "\n")
    sys.stdout.flush()


def worker_main(args: dict) -> None:
    """A grading worker: reads student ids on stdin, grades each, reports on stdout."""
    from . import kernels

    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the orchestrator decides when to stop
    course_dir, assignment = args["course_dir"], args["assignment"]
    serialize_gradebook(course_root.state_dir(course_dir, "") / LOCK_NAME)
    config = grading_config(course_dir, args["cell_timeout"])
    gapi = NbGraderAPI(coursedir=course_root.coursedir(course_dir, config), config=config)
    pool = kernels.KernelPool(kernels.PoolSettings(**args["pool"]))
    kernels.set_pool(pool)
    _send(["ready", pool.server.not_preloaded])
    try:
        for line in sys.stdin:
            student = json.loads(line)
            t0 = time.monotonic()
            res = gapi.autograde(assignment, student, force=True, create=True)
            status = "graded" if res["success"] else "error"
            _send(["done", student, status, time.monotonic() - t0,
                   _error_summary(res) if status == "error" else ""])
    finally:
        pool.close()


_EXC = re.compile(r"^\s*(?:[\w.]+\.)?(\w+(?:Error|Exception|Exit))(?::\s*(.*))?$")


def _error_summary(res: dict) -> str:
    """The gist of why nbgrader could not grade a submission, first line first."""
    log = res.get("log") or ""
    if "No notebooks found" in log:
        skipped = re.findall(r"Skipping unknown notebook: (\S+)", log)
        names = ", ".join(os.path.basename(s) for s in skipped) or "none"
        return f"no notebook with the assignment's name was submitted (found: {names})"
    causes = [m for ln in log.splitlines() if (m := _EXC.match(ln))]
    old = "use an old version" in log
    head = (f"{causes[-1][1]}: {causes[-1][2] or ''}".strip() if causes else
            "invalid nbgrader cell metadata" if old else "nbgrader could not grade it")
    detail = "\n".join(ln for ln in log.splitlines() if "[ERROR]" in ln)
    return f"{head}\n{detail}"[:2000]


# ---- orchestration ------------------------------------------------------------------------------

@dataclass
class Settings:
    workers: int = os.cpu_count() or 1
    timeout: float = 300.0          # wall clock per submission
    cell_timeout: int | None = None  # nbgrader's Execute.timeout (per cell) if None
    level: str = field(default_factory=sandbox.default_level)
    limits: dict = field(default_factory=lambda: asdict(sandbox.Limits()))


def _check_released(course_dir, assignment) -> None:
    config = course_root.load_config(course_dir)
    with nbapi.Gradebook(config.CourseDirectory.db_url,
                         config.CourseDirectory.get("course_id", "")) as gb:
        try:
            gb.find_assignment(assignment)
        except nbapi.MissingEntry:
            raise course_root.CourseError(
                f"{assignment} is not in the gradebook yet: run "
                f"`python -m grading release {assignment} --course-dir {course_dir}` "
                "first") from None


def _pool_settings(course_dir, assignment, settings: Settings, index: int):
    from .kernels import PoolSettings

    limits = dict(settings.limits)
    limits.setdefault("cpu_seconds", int(settings.timeout))
    ids = []
    if settings.level == "root":
        users = sandbox.ensure_users(2 * settings.workers)
        ids = users[2 * index: 2 * index + 2]  # two per worker: one running, one waiting
    return PoolSettings(level=settings.level, limits=limits, hide=hidden_paths(course_dir),
                        ids=ids, preload=source_imports(course_dir, assignment))


def load_outcomes(course_dir, assignment) -> dict[str, dict]:
    path = course_root.state_dir(course_dir, assignment) / "autograde.json"
    return json.loads(path.read_text()) if path.exists() else {}


def _save_outcomes(course_dir, assignment, outcomes: dict[str, Outcome]) -> None:
    path = course_root.state_dir(course_dir, assignment) / "autograde.json"
    data = load_outcomes(course_dir, assignment)
    data.update({k: asdict(v) for k, v in outcomes.items()})
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(data, indent=1, sort_keys=True))
    tmp.replace(path)


class _Slot:
    """One worker process and the submission it is grading."""

    def __init__(self, args: dict, log):
        self.args = args
        self.student, self.started, self.ready = None, 0.0, False
        self.proc = subprocess.Popen([sys.executable, "-m", "grading.autograde",
                                      json.dumps(args)], stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, stderr=log, text=True, bufsize=1)

    def give(self, student):
        self.student, self.started = student, time.monotonic()
        self.proc.stdin.write(json.dumps(student) + "\n")
        self.proc.stdin.flush()

    def kill(self):
        with contextlib.suppress(ProcessLookupError):
            self.proc.kill()
        self.proc.wait(10)
        for uid, _ in self.args["pool"]["ids"]:
            sandbox.kill_uid(uid)

    def stop(self):
        try:
            self.proc.stdin.close()
            self.proc.wait(30)
        except (subprocess.TimeoutExpired, BrokenPipeError, OSError):
            self.kill()


def autograde(course_dir, assignment: str, settings: Settings | None = None,
              students: list[str] | None = None, progress: bool = True) -> dict[str, Outcome]:
    """Grade ``submitted/*/assignment`` with nbgrader, in parallel; returns outcomes."""
    from tqdm import tqdm

    settings = settings or Settings()
    course_dir = Path(course_dir).resolve()
    course_root.check_assignment(course_dir, assignment)
    serialize_gradebook(course_root.state_dir(course_dir, "") / LOCK_NAME)
    _check_released(course_dir, assignment)
    if settings.level == "root":
        course_root.ensure_private(course_dir)
    students = students if students is not None else course_root.submitted_students(
        course_dir, assignment)
    todo = list(students)
    outcomes: dict[str, Outcome] = {}
    if not todo:
        return outcomes
    nworkers = max(1, min(settings.workers, len(todo)))
    log = open(course_root.state_dir(course_dir, assignment) / "workers.log", "a")  # noqa: SIM115

    def start(i):
        return _Slot({"course_dir": str(course_dir), "assignment": assignment,
                      "cell_timeout": settings.cell_timeout,
                      "pool": asdict(_pool_settings(course_dir, assignment, settings, i))}, log)

    slots = [start(i) for i in range(nworkers)]
    sel = selectors.DefaultSelector()
    for i, slot in enumerate(slots):
        sel.register(slot.proc.stdout, selectors.EVENT_READ, i)
    bar = tqdm(total=len(todo), desc=f"autograde {assignment}", unit="submission",
               disable=not progress)

    def finish(student, outcome):
        outcomes[student] = outcome
        bar.update(1)

    try:
        while len(outcomes) < len(students):
            for slot in slots:
                if slot.ready and slot.student is None and todo:
                    slot.give(todo.pop(0))
            for key, _ in sel.select(timeout=0.5):
                slot = slots[key.data]
                line = slot.proc.stdout.readline()
                if not line:
                    continue  # EOF: handled as a dead worker below
                msg = json.loads(line)
                if msg[0] == "ready":
                    slot.ready = True
                elif msg[0] == "done":
                    _, student, status, seconds, message = msg
                    finish(student, Outcome(student, status, round(seconds, 2), message,
                                            _achieved(settings)))
                    slot.student = None
            for i, slot in enumerate(slots):
                late = slot.student and time.monotonic() - slot.started > settings.timeout
                if not late and slot.proc.poll() is None:
                    continue
                student, elapsed = slot.student, time.monotonic() - slot.started
                sel.unregister(slot.proc.stdout)
                slot.kill()
                if student:
                    _discard_autograded(course_dir, assignment, student)
                    finish(student, Outcome(
                        student, "timeout" if late else "crashed", round(elapsed, 2),
                        f"stopped after {settings.timeout:g} s (wall clock)" if late else
                        "the grading worker died while grading this submission",
                        _achieved(settings)))
                elif not slot.ready:
                    raise RuntimeError("a grading worker failed to start; see "
                                       f"{log.name}")
                slots[i] = start(i)
                sel.register(slots[i].proc.stdout, selectors.EVENT_READ, i)
    finally:
        bar.close()
        for slot in slots:
            slot.stop()
        log.close()
        _save_outcomes(course_dir, assignment, outcomes)
    return outcomes


def _achieved(settings: Settings) -> list[str]:
    base = ["fresh-kernel", "temp-folder", "limits"]
    return base + (["own-user", "no-network", "hidden-paths"] if settings.level == "root"
                   else [])


def _discard_autograded(course_dir: Path, assignment: str, student: str) -> None:
    import shutil

    shutil.rmtree(course_dir / "autograded" / student / assignment, ignore_errors=True)


if __name__ == "__main__":
    worker_main(json.loads(sys.argv[1]))
