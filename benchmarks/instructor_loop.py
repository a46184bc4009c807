"""Wall time of each step of the instructor's loop, on the course's own exercises.

Makes a course root with `init` (the syllabus's exercises), releases every exercise (with the
release checks, as `release` runs by default), then spreads N submissions over the exercises
(full, partial and broken in turn, from tests/helpers/grading_submissions.py), hands them in as
one Canvas zip and one Moodle zip per exercise, and times: collect, one `autograde` run for every
exercise, integrity, mark (writing the marking file, then applying it once filled in), feedback
and export. Prints JSON: seconds per step, feedback pages written per exercise, and the load
average (the machine may be shared).

    .venv/bin/python benchmarks/instructor_loop.py --submissions 30
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from grading import course_root, feedback  # noqa: E402
from grading.__main__ import main as grading  # noqa: E402
from tests.helpers import grading_submissions as gs  # noqa: E402


def step(times: dict, name: str, *argv: str) -> float:
    """Run one `python -m grading` command in this process, quietly; add its wall time."""
    t0 = time.perf_counter()
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
        rc = grading(list(argv))
    took = time.perf_counter() - t0
    if rc != 0:
        raise SystemExit(f"{' '.join(argv)} exited {rc}")
    times[name] = times.get(name, 0.0) + took
    return took


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--submissions", type=int, default=30)
    p.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    p.add_argument("--keep", action="store_true", help="keep the temporary course root")
    args = p.parse_args()

    base = Path(tempfile.mkdtemp(prefix="upstream-loop-"))
    root = base / "course"
    load_before = os.getloadavg()
    times: dict[str, float] = {}
    step(times, "init", "init", str(root))
    course = course_root.CourseRoot(root)
    names = course.assignments()
    step(times, "release (with checks)", "release", "--course-dir", str(root))
    per: dict[str, dict[str, str]] = {n: {} for n in names}
    for i in range(args.submissions):
        name = names[i % len(names)]
        kind = gs.KINDS[(i // len(names)) % len(gs.KINDS)]
        per[name][f"{kind}{i:03d}"] = kind
    for name in names:
        for z in gs.write_zips(course, name, per[name], base / "downloads"):
            step(times, "collect", "collect", name, "--course-dir", str(root), "--from", str(z))
    step(times, "autograde (one run, every exercise)", "autograde", *names, "--course-dir",
         str(root), "--workers", str(args.workers), "--quiet")
    for name in names:
        step(times, "integrity", "integrity", name, "--course-dir", str(root))
    for name in names:
        step(times, "mark (write the marking file)", "mark", name, "--course-dir", str(root))
        marking = course.marking_file(name)
        data = yaml.safe_load(marking.read_text(encoding="utf-8"))
        for entry in data["answers"]:
            entry["score"], entry["comment"] = entry["max_points"] / 2, "Thank you."
        marking.write_text(yaml.safe_dump(data), encoding="utf-8")
        step(times, "mark (apply the scores)", "mark", name, "--course-dir", str(root))
    pages = {}
    for name in names:
        t0 = time.perf_counter()
        results = feedback.generate(root, name)
        times["feedback"] = times.get("feedback", 0.0) + time.perf_counter() - t0
        ok = sum(r.status == "ok" for r in results.values())
        pages[name] = f"{ok}/{len(course.students('submitted', name))}"
    step(times, "export", "export", "--course-dir", str(root))
    result = {
        "submissions": args.submissions,
        "per_exercise": {n: len(per[n]) for n in names},
        "workers": args.workers, "cpus": os.cpu_count(),
        "seconds": {k: round(v, 2) for k, v in times.items()},
        "total_seconds": round(sum(times.values()), 1),
        "feedback_written": pages,
        "load_average_before": [round(x, 2) for x in load_before],
        "load_average_after": [round(x, 2) for x in os.getloadavg()],
    }
    print(json.dumps(result, indent=1))
    if args.keep:
        print(f"course root kept in {root}")
    else:
        shutil.rmtree(base, ignore_errors=True)


if __name__ == "__main__":
    main()
