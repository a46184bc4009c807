"""python -m grading — the instructors' grading pipeline on nbgrader.

The steps, in order: init, release, collect, autograde, integrity, mark, feedback, export.
Each command says which one comes next. Full guide: grading/README.md.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time

from . import course_root

# jsonschema's optional IRI checker builds a parser grammar when it is imported (about a
# CPU-second, as long as the rest of nbgrader's import); no notebook or nbgrader schema uses an
# "iri" format, so the instructors' commands do without it, as the grading workers do.
sys.modules.setdefault("rfc3987_syntax", None)


def _next(text: str) -> None:
    print(f"next: {text}")


def _cmd(*words: str) -> str:
    return "python -m grading " + " ".join(words)


def _init(args) -> int:
    root = course_root.init(args.course_dir, course_id=args.course_id, db_url=args.db_url,
                            source=args.source)
    print(f"course root ready: {root} (private to you; holds student data, outside the "
          "repository)")
    print("assignments: " + ", ".join(course_root.assignments(root)))
    _next(f"{_cmd('release', '--course-dir', str(root))}  (makes the student versions)")
    return 0


def _release(args) -> int:
    from . import release

    course = course_root.CourseRoot(args.course_dir)
    names = [args.assignment] if args.assignment else course.assignments()
    bad = 0
    for i, name in enumerate(names, 1):
        what = "generating the student version" + ("" if args.no_validate else
                                                    ", running the source and the release")
        print(f"[{i}/{len(names)}] {name}: {what} ...", flush=True)
        t0 = time.monotonic()
        rep = release.release(course.root, name, validate=not args.no_validate)
        took = f"{time.monotonic() - t0:.0f} s"
        if rep.ok:
            print(f"[{i}/{len(names)}] {name}: released ({', '.join(rep.notebooks)}) in {took}; "
                  "checks passed", flush=True)
        else:
            bad += 1
            print(f"[{i}/{len(names)}] {name}: release FAILED its checks:", file=sys.stderr)
            for p in rep.problems:
                print(f"  - {p}", file=sys.stderr)
    if not bad:
        print(f"hand out {course.step_root('release')}/<assignment>/ (or use `nbgrader "
              "release_assignment` with a hub)")
        _next(f"{_cmd('collect', 'ASSIGNMENT', '--course-dir', str(course.root))} --from "
              "DOWNLOAD  (once trainees have handed in)")
    return 1 if bad else 0


def _collect(args) -> int:
    from . import collect

    course = course_root.CourseRoot(args.course_dir)
    rep = collect.collect(course.root, args.assignment, args.source)
    print("\n".join(collect.report_lines(rep)))
    if not rep.collected:
        return 1  # nothing usable was collected
    _next(_cmd("autograde", args.assignment, "--course-dir", str(course.root)))
    return 0


def score_rows(course: course_root.CourseRoot, pairs) -> list[list[str]]:
    """Per (assignment, student): score, maximum, answers awaiting marking (gradebook)."""
    from nbgrader.api import MissingEntry

    rows = []
    with course.gradebook() as gb:
        for assignment, student in pairs:
            try:
                sub = gb.find_submission(assignment, student)
            except MissingEntry:
                rows.append([assignment, student, "-", "-", "-"])
                continue
            waiting = sum(g.needs_manual_grade for nb in sub.notebooks for g in nb.grades)
            rows.append([assignment, student, f"{float(sub.score):g}",
                         f"{float(sub.max_score):g}", str(waiting)])
    return rows


def table(header: list[str], rows: list[list[str]]) -> str:
    widths = [max(len(str(x)) for x in col) for col in zip(header, *rows, strict=True)]
    lines = ["  ".join(str(x).ljust(w) for x, w in zip(r, widths, strict=True)).rstrip()
             for r in [header, *rows]]
    return "\n".join(lines)


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
                                  limits=limits.__dict__, tests_in=args.tests_in)
    course = course_root.CourseRoot(args.course_dir)
    outcomes = autograde.autograde_many(
        course.root, args.assignment, settings,
        students=args.students.split(",") if args.students else None, progress=not args.quiet)
    if not outcomes:
        print(f"no submissions in {course.step_root('submitted')}/*/"
              f"{'|'.join(args.assignment)}")
        _next(_cmd("collect", args.assignment[0], "--course-dir", str(course.root),
                   "--from", "DOWNLOAD"))
        return 0
    counts = {}
    for o in outcomes.values():
        counts[o.status] = counts.get(o.status, 0) + 1
    scores = {(r[0], r[1]): r for r in score_rows(course, sorted(outcomes))}
    rows = []
    for (assignment, student), o in sorted(outcomes.items()):
        _, _, score, most, waiting = scores[(assignment, student)]
        note = o.message.splitlines()[0] if o.status != "graded" and o.message else ""
        rows.append([assignment, student, o.status, score, most,
                     waiting if waiting != "0" else "", note])
    print(table(["assignment", "student", "status", "score", "max", "to mark", "problem"],
                rows))
    print(f"{len(outcomes)} submissions: " + ", ".join(f"{v} {k}" for k, v in
                                                       sorted(counts.items())))
    print(f"isolation: {settings.level} level: {', '.join(sandbox.achieved(settings.level))} "
          "(see grading/README.md)")
    first = args.assignment[0]
    _next(f"{_cmd('integrity', first, '--course-dir', str(course.root))}  (what was tampered "
          "with or failed)")
    if any(r[5] for r in rows):
        _next(f"{_cmd('mark', first, '--course-dir', str(course.root))}  (score the written "
              "answers)")
    return 0


def _integrity(args) -> int:
    from . import integrity

    reports = integrity.report(args.course_dir, args.assignment)
    if args.json:
        print(json.dumps([r.to_json() for r in reports], indent=1))
        return 0
    print(integrity.format_text(reports))
    root = course_root.CourseRoot(args.course_dir).root
    _next(f"{_cmd('mark', args.assignment, '--course-dir', str(root))}  (score the written "
          "answers), then feedback")
    return 0


def _mark(args) -> int:
    from . import mark

    rep = mark.mark(args.course_dir, args.assignment, args.file)
    root = course_root.CourseRoot(args.course_dir).root
    if rep.problems:
        print(f"nothing written: {len(rep.problems)} problem(s) in {rep.file}:", file=sys.stderr)
        for p in rep.problems:
            print(f"  - {p}", file=sys.stderr)
        print("fix them and run this again")
        return 1
    if not rep.total:
        print(f"{args.assignment}: no answers to mark by hand (or nothing autograded yet)")
    else:
        print(f"{args.assignment}: {rep.total} answer(s) to mark by hand; {rep.marked_now} "
              f"marked now; {rep.awaiting} awaiting marking")
        print(f"marking file: {rep.file}")
    if rep.awaiting:
        print("awaiting marking:")
        print(table(["student", "notebook", "answer cell", "points"],
                    [[a.student, a.notebook, a.cell, f"{a.max_points:g}"] for a in rep.waiting]))
        print("fill in `score` (and `comment`) for each answer in that file, then run this "
              "command again")
    _next(f"{_cmd('feedback', args.assignment, '--course-dir', str(root))}")
    return 0


def _feedback(args) -> int:
    from . import feedback

    results = feedback.generate(args.course_dir, args.assignment)
    root = course_root.CourseRoot(args.course_dir).root
    failed = [r for r in results.values() if r.status == "failed"]
    for r in results.values():
        print(r.line(), file=sys.stderr if r.status == "failed" else sys.stdout)
    written = sum(r.status == "ok" for r in results.values())
    print(f"feedback written for {written} of {len(results)} student(s) in "
          f"{course_root.CourseRoot(root).step_root('feedback')}")
    if any(r.unmarked for r in results.values()):
        print(f"some answers are not marked yet (their pages say so): "
              f"{_cmd('mark', args.assignment, '--course-dir', str(root))}")
    print("hand the pages out with `nbgrader release_feedback` (hub) or through your LMS")
    _next(_cmd("export", "--course-dir", str(root)))
    return 1 if failed else 0


def _export(args) -> int:
    from . import export

    csv_path, report = export.export(args.course_dir, args.out, args.report)
    print(f"grades: {csv_path}\nreport: {report}")
    return 0


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m grading", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def add(name, func, help_, description):
        s = sub.add_parser(name, help=help_, description=description)
        s.set_defaults(func=func)
        return s

    def course(s):
        s.add_argument("--course-dir", required=True, metavar="DIR",
                       help="the course root made by `init` (holds nbgrader_config.py)")

    def assignment(s, **kw):
        s.add_argument("assignment", metavar="ASSIGNMENT",
                       help=kw.pop("help", "the exercise, e.g. ex01_warning_signs"), **kw)

    s = add("init", _init, "create the course root (outside the repository)",
            "Create an nbgrader course root: nbgrader_config.py, a gradebook, and source/ with "
            "the course's exercises. Refuses a folder inside the git checkout.")
    s.add_argument("course_dir", metavar="DIR",
                   help="new folder for the course root, e.g. ~/upstream-grading")
    s.add_argument("--course-id", default="upstream",
                   help="nbgrader course id (default: upstream; must match the hub's)")
    s.add_argument("--db-url", metavar="URL", help="SQLAlchemy URL of the gradebook (default: "
                   "SQLite in the course root; e.g. postgresql://… when graders share one)")
    s.add_argument("--source", metavar="DIR",
                   help="exercise sources to copy (default: course/exercises/source)")

    s = add("release", _release, "make the student versions and check them",
            "nbgrader generate_assignment, then checks: the source passes, the release fails "
            "on the unanswered stubs, no solution or hidden test leaks, every graded cell has "
            "points.")
    assignment(s, nargs="?", help="one exercise (default: every exercise in source/)")
    course(s)
    s.add_argument("--no-validate", action="store_true",
                   help="skip running the source and the release (faster; leak checks still run)")

    s = add("collect", _collect, "bring in submissions (exchange, folder or LMS zip)",
            "Copy submissions into submitted/<student>/<assignment>/ from an nbgrader exchange, "
            "a folder, or a Canvas or Moodle zip download.")
    assignment(s)
    course(s)
    s.add_argument("--from", dest="source", required=True, metavar="PATH",
                   help="the exchange's inbound folder, a folder, or an LMS .zip")

    s = add("autograde", _autograde, "grade every submission, in parallel and confined",
            "Grade every collected submission with nbgrader, each in its own confined kernel; "
            "ends with a table of scores.")
    s.add_argument("assignment", nargs="+", metavar="ASSIGNMENT",
                   help="one or more exercises (several: one start-up for all)")
    course(s)
    s.add_argument("--workers", type=int, default=os.cpu_count() or 1, metavar="N",
                   help="submissions graded at once (default: the number of CPUs)")
    s.add_argument("--timeout", type=float, default=300, metavar="S",
                   help="wall-clock seconds per submission (default 300)")
    s.add_argument("--cell-timeout", type=int, metavar="S",
                   help="seconds per cell (default: Execute.timeout in nbgrader_config.py)")
    s.add_argument("--isolation", choices=["auto", "root", "user"], default="auto",
                   help="root: own users, mounts and network namespace; user: what an ordinary "
                        "user can do; auto: root when run as root (see grading/README.md)")
    s.add_argument("--tests-in", choices=["test-interpreter", "student-kernel"],
                   default="test-interpreter",
                   help="test-interpreter (the default): test cells run in a clean interpreter "
                        "that student code never touches; student-kernel: in the student's own "
                        "kernel, as stock nbgrader (see grading/README.md)")
    s.add_argument("--memory", type=int, default=2048, metavar="MB",
                   help="address space per kernel (default 2048)")
    s.add_argument("--max-file", type=int, default=64, metavar="MB",
                   help="largest file a kernel may write (default 64)")
    s.add_argument("--processes", type=int, default=64, metavar="N",
                   help="processes and threads per kernel (default 64)")
    s.add_argument("--students", metavar="IDS", help="comma-separated ids (default: all)")
    s.add_argument("--quiet", action="store_true", help="no progress bar")

    s = add("integrity", _integrity, "list tampered, failed or crashed submissions",
            "Per submission: clean, runtime-errors, flagged (graded or locked cells changed) "
            "or failed, with the problems found; compared with the released notebook.")
    assignment(s)
    course(s)
    s.add_argument("--json", action="store_true", help="machine-readable output")

    s = add("mark", _mark, "mark written answers (without a hub)",
            "Write (or read back) the marking file COURSE_DIR/marking/ASSIGNMENT.yml: every "
            "written answer with its points; fill in score and comment, run again, and they go "
            "into the gradebook. With a hub, formgrader does the same (see grading/README.md).")
    assignment(s)
    course(s)
    s.add_argument("--file", metavar="PATH",
                   help="another marking file (default: COURSE_DIR/marking/ASSIGNMENT.yml)")

    s = add("feedback", _feedback, "write a feedback page per student",
            "feedback/<student>/<assignment>/*.html: scores, comments, visible tests; hidden "
            "tests show only pass or fail and points; safe to open offline.")
    assignment(s)
    course(s)

    s = add("export", _export, "grades CSV and an instructor report",
            "nbgrader's grades CSV and one offline HTML report with charts, written in the "
            "course root unless told otherwise (never inside the repository).")
    course(s)
    s.add_argument("--out", metavar="CSV",
                   help="grades CSV (default: COURSE_DIR/exports/grades.csv)")
    s.add_argument("--report", metavar="HTML",
                   help="report page (default: COURSE_DIR/exports/report.html)")
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
