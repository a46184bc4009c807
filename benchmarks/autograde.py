"""Throughput of `python -m grading autograde` against stock `nbgrader autograde`, in one run.

Generates N submissions of the course's exercises (answers taken from the source solutions; every
third submission leaves one answer unanswered, so grades vary), grades the same submissions
with stock nbgrader (one `nbgrader autograde ASSIGNMENT --force` per assignment, in a copy of the
course root) and with `python -m grading autograde` (the same, one run per assignment; and once
more with every assignment in one run), and reports wall times, throughput ratios and whether
every grade agrees with stock's, cell by cell.

    .venv/bin/python benchmarks/autograde.py --submissions 40
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import nbformat
from nbgrader.api import Gradebook
from nbgrader.utils import is_solution

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from grading import course_root, release  # noqa: E402


def answered(source_nb, release_nb, leave_unanswered: int | None):
    """The student version with the source's solutions typed in (one left out if asked)."""
    nb = nbformat.from_dict(json.loads(json.dumps(release_nb)))
    src = {c.metadata.get("nbgrader", {}).get("grade_id"): c for c in source_nb.cells}
    k = 0
    for cell in nb.cells:
        gid = cell.metadata.get("nbgrader", {}).get("grade_id")
        if not is_solution(cell) or gid not in src:
            continue
        if cell.cell_type == "markdown":
            cell.source = "My answer, in my own words."
            continue
        if leave_unanswered is not None and k == leave_unanswered:
            k += 1
            continue
        k += 1
        lines = src[gid].source.splitlines()
        cell.source = "\n".join(ln for ln in lines if "### BEGIN SOLUTION" not in ln
                                and "### END SOLUTION" not in ln)
    return nb


def grades(root: Path) -> dict:
    cfg = course_root.load_config(root)
    out = {}
    with Gradebook(cfg.CourseDirectory.db_url, "upstream") as gb:
        for a in gb.assignments:
            for sub in gb.assignment_submissions(a.name):
                for nb in sub.notebooks:
                    for g in nb.grades:
                        out[(a.name, sub.student_id, nb.name, g.name)] = (g.auto_score,
                                                                          g.needs_manual_grade)
                out[(a.name, sub.student_id, "", "score")] = float(sub.score)
    return out


def run(cmd, cwd=None) -> float:
    env = dict(os.environ, PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}")
    t0 = time.perf_counter()
    res = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True)
    if res.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} failed:\n{res.stderr[-3000:]}")
    return time.perf_counter() - t0


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--submissions", type=int, default=40)
    p.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    p.add_argument("--assignments", help="comma-separated (default: every exercise)")
    p.add_argument("--tests-in", choices=["test-interpreter", "student-kernel"],
                   default="test-interpreter", help="where our test cells run (see grading)")
    p.add_argument("--keep", action="store_true", help="keep the temporary course roots")
    args = p.parse_args()

    base = Path(tempfile.mkdtemp(prefix="upstream-bench-"))
    ours = course_root.init(base / "ours")
    names = args.assignments.split(",") if args.assignments else course_root.assignments(ours)
    for name in names:
        rep = release.release(ours, name, validate=False)
        if not rep.ok:
            raise SystemExit(f"{name}: {rep.problems}")
    per = {n: 0 for n in names}
    for i in range(args.submissions):
        name = names[i % len(names)]
        per[name] += 1
        nb_name = f"{name}.ipynb"
        src = nbformat.read(ours / "source" / name / nb_name, as_version=4)
        rel = nbformat.read(ours / "release" / name / nb_name, as_version=4)
        nb = answered(src, rel, 0 if i % 3 == 2 else None)
        dest = ours / "submitted" / f"student{i:03d}" / name
        dest.mkdir(parents=True)
        nbformat.write(nb, dest / nb_name)
        for extra in (ours / "release" / name).iterdir():
            if extra.suffix != ".ipynb":
                (shutil.copytree if extra.is_dir() else shutil.copy)(extra, dest / extra.name)
    stock, together = base / "stock", base / "together"
    for copy in (stock, together):
        shutil.copytree(ours, copy)
        (copy / "nbgrader_config.py").write_text(course_root.CONFIG_TEMPLATE.format(
            course_id="upstream", root=str(copy), db_url=f"sqlite:///{copy / 'gradebook.db'}"))

    each = {}
    for n in names:  # alternate, so both see the same background load as far as possible
        each[n] = (run([sys.executable, "-m", "nbgrader", "autograde", n, "--force"], cwd=stock),
                   run([sys.executable, "-m", "grading", "autograde", n, "--course-dir",
                        str(ours), "--workers", str(args.workers), "--tests-in", args.tests_in,
                        "--quiet"], cwd=REPO))
    t_stock = sum(s for s, _ in each.values())
    t_ours = sum(o for _, o in each.values())
    # The same submissions, every assignment in one `autograde` run (one start-up).
    t_together = run([sys.executable, "-m", "grading", "autograde", *names, "--course-dir",
                      str(together), "--workers", str(args.workers), "--tests-in", args.tests_in,
                      "--quiet"], cwd=REPO)

    g_stock, g_ours, g_together = grades(stock), grades(ours), grades(together)
    subs = {k[:2] for k in g_stock if k[3] == "score"}
    agree = sum(all(g_ours.get(k) == v for k, v in g_stock.items() if k[:2] == s) for s in subs)
    agree_t = sum(all(g_together.get(k) == v for k, v in g_stock.items() if k[:2] == s)
                  for s in subs)
    cells = sum(g_ours.get(k) == v for k, v in g_stock.items())
    result = {
        "submissions": args.submissions, "tests_in": args.tests_in, "per_assignment": per, "workers": args.workers,
        "cpus": os.cpu_count(), "stock_seconds": round(t_stock, 1),
        "ours_seconds": round(t_ours, 1), "throughput_ratio": round(t_stock / t_ours, 2),
        "seconds_per_assignment_stock_ours": {n: [round(s, 1), round(o, 1)]
                                              for n, (s, o) in each.items()},
        "one_run_all_assignments_seconds": round(t_together, 1),
        "one_run_throughput_ratio": round(t_stock / t_together, 2),
        "one_run_submissions_with_identical_grades": f"{agree_t}/{len(subs)}",
        "load_average_after": os.getloadavg()[0],
        "submissions_with_identical_grades": f"{agree}/{len(subs)}",
        "grade_entries_identical": f"{cells}/{len(g_stock)}",
        "extra_entries_ours": len(set(g_ours) - set(g_stock)),
    }
    print(json.dumps(result, indent=1))
    if args.keep:
        print(f"course roots kept in {base}")
    else:
        shutil.rmtree(base, ignore_errors=True)


if __name__ == "__main__":
    main()
