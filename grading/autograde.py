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
import json
import os
import selectors
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

from . import course_root, sandbox

# A submitted notebook larger than this is not run (outcome "stopped", too-large) nor parsed by
# integrity: with the output bound (grading.kernels.SandboxedExecute) it bounds every step's
# memory. An executed exercise is about 0.1 MB, a module with two maps 1.2 MB (outputs the
# trainee left are cleared before grading, but count here).
MAX_NOTEBOOK_BYTES = 8_000_000


def serialize_gradebook(lock_path: Path) -> None:
    """See grading.nbgrader_setup.serialize_gradebook (imported late: it needs nbgrader)."""
    from .nbgrader_setup import serialize_gradebook as serialize

    serialize(lock_path)


@dataclass
class Outcome:
    student_id: str
    status: str            # graded | stopped (passed a limit: message says which) | error |
    #                        timeout | crashed
    seconds: float = 0.0
    message: str = ""
    isolation: list[str] = field(default_factory=list)


def source_imports(course_dir, assignment: str) -> list[str]:
    """Modules the assignment's source notebooks import: worth importing before any fork."""
    names = set()
    for path in course_root.CourseRoot(course_dir).notebooks("source", assignment):
        for cell in json.loads(path.read_text(encoding="utf-8")).get("cells", []):
            if cell.get("cell_type") != "code":
                continue
            src = cell.get("source", "")
            try:
                tree = ast.parse("".join(src) if isinstance(src, list) else src)
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


# ---- orchestration ------------------------------------------------------------------------------

@dataclass
class Settings:
    workers: int = os.cpu_count() or 1
    timeout: float = 300.0          # wall clock per submission
    cell_timeout: int | None = None  # nbgrader's Execute.timeout (per cell) if None
    level: str = field(default_factory=sandbox.default_level)
    limits: dict = field(default_factory=lambda: asdict(sandbox.Limits()))
    # Test cells in a clean interpreter apart from student code (grading.split_execution, #19).
    tests_in: str = "test-interpreter"


def _pool_settings(course_dir, assignments: list[str], settings: Settings, index: int,
                   lease: sandbox.UserLease | None, base: str | None = None):
    limits = dict(settings.limits)
    limits.setdefault("cpu_seconds", int(settings.timeout) + 30)
    # Two grader users per worker: one for the kernel running, one for the kernel waiting.
    ids = lease.ids[2 * index: 2 * index + 2] if lease else []
    return sandbox.PoolSettings(level=settings.level, limits=limits, hide=hidden_paths(course_dir),
                        ids=ids, preload=sorted({m for a in assignments
                                                 for m in source_imports(course_dir, a)}),
                        base=base)


def load_outcomes(course_dir, assignment) -> dict[str, dict]:
    path = course_root.CourseRoot(course_dir).outcomes_path(assignment)
    return json.loads(path.read_text()) if path.exists() else {}


def _save_outcomes(course_dir, assignment, outcomes: dict[str, Outcome]) -> None:
    path = course_root.CourseRoot(course_dir).outcomes_path(assignment)
    data = load_outcomes(course_dir, assignment)
    data.update({k: asdict(v) for k, v in outcomes.items()})
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(data, indent=1, sort_keys=True))
    tmp.replace(path)


class _Slot:
    """One worker process and the submission it is grading."""

    def __init__(self, args: dict, log):
        self.args = args
        self.job, self.started, self.ready = None, 0.0, False
        self.proc = subprocess.Popen([sys.executable, "-m", "grading.worker",
                                      json.dumps(args)], stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, stderr=log, text=True, bufsize=1)

    def give(self, job: tuple[str, str]):
        self.job, self.started = job, time.monotonic()
        self.proc.stdin.write(json.dumps(list(job)) + "\n")
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
    """Grade ``submitted/*/assignment`` with nbgrader, in parallel; outcomes per student."""
    done = autograde_many(course_dir, [assignment], settings, students, progress)
    return {student: outcome for (_, student), outcome in done.items()}


def autograde_many(course_dir, assignments: list[str], settings: Settings | None = None,
                   students: list[str] | None = None, progress: bool = True
                   ) -> dict[tuple[str, str], Outcome]:
    """Grade several assignments in one run (one start-up for all); outcomes per
    (assignment, student)."""
    from tqdm import tqdm

    settings = settings or Settings()
    course = course_root.CourseRoot(course_dir)
    course_dir = course.root
    for assignment in assignments:
        course.check_assignment(assignment)
    if settings.level == "root":
        course.ensure_private()
    todo = [(a, s) for a in assignments for s in course.students("submitted", a)
            if students is None or s in students]
    total = len(todo)
    outcomes: dict[tuple[str, str], Outcome] = {}
    if not todo:
        return outcomes
    nworkers = max(1, min(settings.workers, len(todo)))
    lease = sandbox.UserLease(2 * nworkers) if settings.level == "root" else None
    log = open(course.workers_log, "a")  # noqa: SIM115
    # Kernel folders (copies of submissions) live here; removed at the end even if a worker
    # was killed before it could clean up.
    run_dir = tempfile.mkdtemp(prefix="upstream-sandbox-")
    os.chmod(run_dir, 0o711)

    def start(i):
        return _Slot({"course_dir": str(course_dir), "assignments": assignments,
                      "cell_timeout": settings.cell_timeout, "tests_in": settings.tests_in,
                      "pool": asdict(_pool_settings(course_dir, assignments, settings, i,
                                                    lease, run_dir))}, log)

    slots = [start(i) for i in range(nworkers)]
    sel = selectors.DefaultSelector()
    for i, slot in enumerate(slots):
        sel.register(slot.proc.stdout, selectors.EVENT_READ, i)
    bar = tqdm(total=total, desc=f"autograde {', '.join(assignments)}", unit="submission",
               disable=not progress)

    def finish(job, outcome):
        outcomes[tuple(job)] = outcome
        bar.update(1)

    try:
        while len(outcomes) < total:
            for slot in slots:
                if slot.ready and slot.job is None and todo:
                    slot.give(todo.pop(0))
            for key, _ in sel.select(timeout=0.5):
                slot = slots[key.data]
                line = slot.proc.stdout.readline()
                if not line:
                    continue  # EOF: handled as a dead worker below
                msg = json.loads(line)
                if msg[0] == "ready":
                    slot.ready = True
                elif msg[0] == "fatal":
                    raise course_root.CourseError(msg[1])
                elif msg[0] == "done":
                    _, job, status, seconds, message, protections = msg
                    finish(job, Outcome(job[1], status, round(seconds, 2), message,
                                        protections or _achieved(settings)))
                    slot.job = None
            for i, slot in enumerate(slots):
                late = slot.job and time.monotonic() - slot.started > settings.timeout
                if not late and slot.proc.poll() is None:
                    continue
                job, elapsed = slot.job, time.monotonic() - slot.started
                sel.unregister(slot.proc.stdout)
                slot.kill()
                if job:
                    _discard_autograded(course_dir, *job)
                    finish(job, Outcome(
                        job[1], "timeout" if late else "crashed", round(elapsed, 2),
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
        for slot in slots:  # all at once: each cleans up its kernels
            with contextlib.suppress(OSError):
                slot.proc.stdin.close()
        for slot in slots:
            slot.stop()
        log.close()
        shutil.rmtree(run_dir, ignore_errors=True)
        if lease:
            lease.release()
        for assignment in assignments:
            _save_outcomes(course_dir, assignment, {s: o for (a, s), o in outcomes.items()
                                                    if a == assignment})
    return outcomes


def _achieved(settings: Settings) -> list[str]:
    if not hasattr(settings, "_achieved"):
        settings._achieved = sandbox.achieved(settings.level)
    return settings._achieved


def _discard_autograded(course_dir: Path, assignment: str, student: str) -> None:
    """A submission stopped half-way leaves no autograded folder (as nbgrader does on errors)."""
    shutil.rmtree(course_root.CourseRoot(course_dir).autograded(student, assignment),
                  ignore_errors=True)
