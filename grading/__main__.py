"""python -m grading — instructors' grading pipeline on nbgrader. See grading/README.md."""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

from . import course_root


def _init(args) -> int:
    root = course_root.init(args.course_dir, course_id=args.course_id, db_url=args.db_url,
                            source=args.source)
    print(f"course root ready: {root}")
    print("assignments: " + ", ".join(course_root.assignments(root)))
    return 0


def _release(args) -> int:
    from . import release

    names = [args.assignment] if args.assignment else course_root.assignments(args.course_dir)
    bad = 0
    for name in names:
        rep = release.release(args.course_dir, name, validate=not args.no_validate)
        if rep.ok:
            print(f"{name}: released ({', '.join(rep.notebooks)}); checks passed")
        else:
            bad += 1
            print(f"{name}: release FAILED its checks:", file=sys.stderr)
            for p in rep.problems:
                print(f"  - {p}", file=sys.stderr)
    return 1 if bad else 0


def _collect(args) -> int:
    from . import collect

    rep = collect.collect(args.course_dir, args.assignment, args.source)
    print("\n".join(collect.report_lines(rep)))
    return 0 if rep.collected else 1  # 1: nothing usable was collected


def _autograde(args) -> int:
    from . import autograde, sandbox

    # CPU time is a backstop behind the wall-clock timeout, which reports the clearer outcome.
    limits = sandbox.Limits(memory_mb=args.memory, cpu_seconds=int(args.timeout) + 30,
                            file_mb=args.max_file, processes=args.processes)
    level = sandbox.default_level() if args.isolation == "auto" else args.isolation
    if level == "root" and os.geteuid() != 0:
        raise course_root.CourseError("--isolation root needs root; use --isolation user")
    settings = autograde.Settings(workers=args.workers, timeout=args.timeout,
                                  cell_timeout=args.cell_timeout, level=level,
                                  limits=limits.__dict__)
    outcomes = autograde.autograde_many(
        args.course_dir, args.assignment, settings,
        students=args.students.split(",") if args.students else None, progress=not args.quiet)
    if not outcomes:
        print(f"no submissions in submitted/*/{'|'.join(args.assignment)}; run `python -m "
              "grading collect` first")
        return 0
    counts = {}
    many = len(args.assignment) > 1
    for (assignment, _), o in outcomes.items():
        counts[o.status] = counts.get(o.status, 0) + 1
        if o.status != "graded":
            who = f"{assignment}/{o.student_id}" if many else o.student_id
            print(f"{who}: {o.status}: {o.message.splitlines()[0] if o.message else ''}")
    print(f"{len(outcomes)} submissions: " + ", ".join(f"{v} {k}" for k, v in
                                                       sorted(counts.items())))
    print(f"isolation: {settings.level} level: {', '.join(sandbox.achieved(settings.level))} "
          "(see grading/README.md)")
    return 0


def _integrity(args) -> int:
    from . import integrity

    reports = integrity.report(args.course_dir, args.assignment)
    if args.json:
        print(json.dumps([r.to_json() for r in reports], indent=1))
    else:
        print(integrity.format_text(reports))
    return 0


def _feedback(args) -> int:
    from . import feedback

    results = feedback.generate(args.course_dir, args.assignment)
    bad = {k: v for k, v in results.items() if v != "ok"}
    print(f"feedback written for {len(results) - len(bad)} of {len(results)} student(s) in "
          f"{Path(args.course_dir).resolve() / 'feedback'}")
    for student, why in sorted(bad.items()):
        print(f"  {student}: {why}", file=sys.stderr)
    return 1 if bad else 0


def _export(args) -> int:
    from . import export

    csv_path, report = export.export(args.course_dir, args.out, args.report)
    print(f"grades: {csv_path}" + (f"\nreport: {report}" if report else ""))
    return 0


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m grading", description=__doc__)
    sub = p.add_subparsers(dest="command", required=True)

    s = sub.add_parser("init", help="create an nbgrader course root (outside the repository)")
    s.add_argument("course_dir")
    s.add_argument("--course-id", default="upstream")
    s.add_argument("--db-url", help="SQLAlchemy URL of the gradebook (default: SQLite in the "
                                    "course root)")
    s.add_argument("--source", help="exercise sources to copy (default: course/exercises/source)")
    s.set_defaults(func=_init)

    def course(s):
        s.add_argument("--course-dir", required=True)

    s = sub.add_parser("release", help="generate the student version and check it")
    s.add_argument("assignment", nargs="?")
    course(s)
    s.add_argument("--no-validate", action="store_true",
                   help="skip executing the source and release (leak checks still run)")
    s.set_defaults(func=_release)

    s = sub.add_parser("collect", help="take submissions from an exchange, a folder or a zip")
    s.add_argument("assignment")
    course(s)
    s.add_argument("--from", dest="source", required=True)
    s.set_defaults(func=_collect)

    s = sub.add_parser("autograde", help="grade every submission, in parallel and confined")
    s.add_argument("assignment", nargs="+",
                   help="one or more assignments (several: one start-up for all)")
    course(s)
    s.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    s.add_argument("--timeout", type=float, default=300,
                   help="wall-clock seconds per submission (default 300)")
    s.add_argument("--cell-timeout", type=int,
                   help="seconds per cell (default: Execute.timeout in nbgrader_config.py)")
    s.add_argument("--isolation", choices=["auto", "root", "user"], default="auto")
    s.add_argument("--memory", type=int, default=2048, help="MB of address space per kernel")
    s.add_argument("--max-file", type=int, default=64, help="MB, largest file a kernel writes")
    s.add_argument("--processes", type=int, default=64, help="processes+threads per kernel")
    s.add_argument("--students", help="comma-separated ids (default: all submitted)")
    s.add_argument("--quiet", action="store_true", help="no progress bar")
    s.set_defaults(func=_autograde)

    s = sub.add_parser("integrity", help="modified/deleted/duplicated cells, crashes, timeouts")
    s.add_argument("assignment")
    course(s)
    s.add_argument("--json", action="store_true")
    s.set_defaults(func=_integrity)

    s = sub.add_parser("feedback", help="HTML feedback per student, hidden tests removed")
    s.add_argument("assignment")
    course(s)
    s.set_defaults(func=_feedback)

    s = sub.add_parser("export", help="grades CSV and an instructor report")
    course(s)
    s.add_argument("--out", required=True)
    s.add_argument("--report")
    s.set_defaults(func=_export)
    return p


def main(argv=None) -> int:
    args = parser().parse_args(argv)
    try:
        return args.func(args)
    except course_root.CourseError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
