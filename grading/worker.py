"""A grading worker process: ``python -m grading.worker SETTINGS-JSON``.

Reads jobs on stdin (one JSON ``[assignment, student]`` per line) and grades each with nbgrader's own
``Autograde`` converter through ``NbGraderAPI.autograde``, with the changes set up in
``grading.nbgrader_setup``: the Execute step runs in a confined, pre-started kernel
(``grading.kernels``), and duplicated graded cells no longer fail the whole submission. Reports
``["done", [assignment, student], status, seconds, message, protections]`` lines on stdout
(status ``stopped``: the grader stopped a notebook that passed a limit; the message says which). Started by
``grading.autograde``; not meant to be run by hand.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import sys
import time
from pathlib import Path

from . import course_root, forkserver
from .autograde import MAX_NOTEBOOK_BYTES


def _send(msg) -> None:
    sys.stdout.write(json.dumps(msg) + "\n")
    sys.stdout.flush()


def worker_main(args: dict) -> None:
    """A grading worker: reads jobs on stdin, grades each, reports on stdout."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the orchestrator decides when to stop
    # jsonschema's optional IRI checker builds a grammar on import (about 2 s, half of importing
    # nbgrader); notebook and nbgrader schemas use no "iri" format, so a worker does without it.
    # (Kernels are forked from the fork server, which does not do this.)
    sys.modules.setdefault("rfc3987_syntax", None)
    # The fork server (of the student kernels and, for split grading, the test interpreters)
    # warms up (imports ipykernel, pandas, ...) while we import nbgrader.
    server = forkserver.Client(args["pool"]["preload"])
    import nbgrader.apps  # noqa: F401 - now, while the fork server warms up

    from . import kernels, split_execution
    from . import nbgrader_setup as setup

    course_dir, assignments = args["course_dir"], args["assignments"]
    course = course_root.CourseRoot(course_dir)
    setup.serialize_gradebook(course.lock_path)
    setup.cache_schema_checks()
    setup.reuse_gradebook_engine()
    setup.fast_output_checks()
    config = setup.grading_config(course_dir, args["cell_timeout"],
                                  args.get("tests_in", "test-interpreter"))
    for assignment in assignments:
        if not setup.released(config, assignment):
            _send(["fatal", f"{assignment} is not in the gradebook yet: run `python -m grading "
                            f"release {assignment} --course-dir {course_dir}` first"])
            server.close()
            return
    gapi = course.api(config)
    server.wait_ready()
    pool = kernels.KernelPool(kernels.PoolSettings(**args["pool"]), server)
    kernels.set_pool(pool)
    if config.SplitExecute.tests_in == "test-interpreter":  # before the first job
        split_execution.start(pool, pool.settings.base)
    _send(["ready", pool.server.not_preloaded])
    try:
        for line in sys.stdin:
            assignment, student = json.loads(line)
            t0 = time.monotonic()
            record = kernels.begin_submission()
            too_large = _too_large(course.submitted(student, assignment))
            if too_large:
                shutil.rmtree(course.autograded(student, assignment), ignore_errors=True)
                record.stopped.append(too_large)
                res = {"success": False}
            else:
                res = gapi.autograde(assignment, student, force=True, create=True)
            status = "graded" if res["success"] else "error"
            message = _error_summary(res) if status == "error" else ""
            if record.stopped:  # a named outcome: what the grader stopped, and why
                status, message = "stopped", "\n".join(record.stopped)
            _send(["done", [assignment, student], status, time.monotonic() - t0, message,
                   record.protections])
    finally:
        split_execution.stop()
        pool.close()


def _too_large(folder: Path) -> str:
    """Why a submission is not run at all: a notebook past the size the grader reads."""
    for path in sorted(folder.glob("*.ipynb")):
        size = path.stat().st_size
        if size > MAX_NOTEBOOK_BYTES:
            return (f"too-large: {path.name} is {size / 1e6:.1f} MB; the grader takes "
                    f"notebooks up to {MAX_NOTEBOOK_BYTES // 1_000_000} MB; not run")
    return ""


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


if __name__ == "__main__":
    worker_main(json.loads(sys.argv[1]))
