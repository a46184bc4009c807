"""Grades CSV (nbgrader's own CSV export) and an instructor report with charts.

The report is one self-contained HTML file (charts are embedded PNGs, no scripts, nothing
fetched, every value escaped): score distribution per assignment, autograded tests and
instructor-marked answers apart (with the answers awaiting marking), the most common failing
tests with their most common errors, and the integrity problems. Both files go in the course
root's ``exports/`` unless told otherwise, and never inside a git checkout.
"""

from __future__ import annotations

import base64
import html
import io
from collections import Counter
from pathlib import Path

import nbformat
from nbgrader.api import MissingEntry
from nbgrader.plugins import CsvExportPlugin

from . import course_root, integrity


def export_csv(course_dir, out) -> Path:
    out = Path(out).resolve()
    with course_root.CourseRoot(course_dir).gradebook() as gb:
        CsvExportPlugin(to=str(out)).export(gb)
    return out


def _score(grade) -> float:
    return float(grade.score or 0)


def collect_stats(course_dir, assignment: str) -> dict:
    """Scores, per-cell pass rates, failing tests and answers awaiting marking of one
    assignment, from the gradebook. Cells a person marks (written answers, tasks) are counted
    apart: they are never failing tests."""
    from . import mark

    course = course_root.CourseRoot(course_dir)
    stats = {"scores": [], "max": 0.0, "cells": {}, "errors": {}, "awaiting": 0}
    with course.gradebook() as gb:
        try:
            a = gb.find_assignment(assignment)
        except MissingEntry:
            return stats
        manual = {name for _, name in mark.manual_cells(gb, assignment)}
        stats["max"] = float(a.max_score)
        for sub in gb.assignment_submissions(assignment):
            stats["scores"].append(float(sub.score))
            for nb in sub.notebooks:
                for grade in nb.grades:
                    key = grade.name
                    cell = stats["cells"].setdefault(key, {"passed": 0, "total": 0,
                                                          "auto": key not in manual,
                                                          "awaiting": 0,
                                                          "max": float(grade.max_score)})
                    if grade.needs_manual_grade:
                        cell["awaiting"] += 1
                        stats["awaiting"] += 1
                        continue
                    cell["total"] += 1
                    if grade.max_score and _score(grade) >= float(grade.max_score):
                        cell["passed"] += 1
    paths = [p for s in course.students("autograded", assignment)
             for p in course.notebooks("autograded", assignment, s)]
    for path in paths:
        try:
            nb = nbformat.read(path, as_version=4)
        except Exception:  # noqa: BLE001 - an unreadable notebook is reported by integrity
            continue
        for cell in nb.cells:
            gid = cell.metadata.get("nbgrader", {}).get("grade_id")
            for out in cell.get("outputs", []):
                if gid and out.get("output_type") == "error":
                    msg = f"{out.ename}: {out.evalue}"[:160]
                    stats["errors"].setdefault(gid, Counter())[msg] += 1
    return stats


def _png(fig) -> str:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=90, bbox_inches="tight")
    return base64.b64encode(buf.getvalue()).decode()


def charts(assignment: str, stats: dict) -> list[tuple[str, str]]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    out = []
    fig, ax = plt.subplots(figsize=(6, 3))
    ax.hist(stats["scores"], bins=min(20, max(5, len(set(stats["scores"])))),
            range=(0, stats["max"] or 1), color="#33658a", edgecolor="white")
    ax.set_xlabel(f"score (out of {stats['max']:g})")
    ax.set_ylabel("submissions")
    ax.set_title(f"{assignment}: score distribution")
    out.append((f"Score distribution for {assignment}: {len(stats['scores'])} submissions",
                _png(fig)))
    plt.close(fig)
    cells = stats["cells"]
    if cells:
        names = list(cells)
        rates = [100 * c["passed"] / c["total"] if c["total"] else 0 for c in cells.values()]
        fig, ax = plt.subplots(figsize=(6, 0.4 * len(names) + 1))
        ax.barh(names, rates, color="#86bbd8")
        ax.set_xlim(0, 100)
        ax.set_xlabel("% of submissions with full marks")
        ax.invert_yaxis()
        ax.set_title(f"{assignment}: pass rate per graded cell")
        out.append((f"Pass rate per graded cell for {assignment}", _png(fig)))
        plt.close(fig)
    return out


def _table(header: list[str], rows: list[list]) -> str:
    head = "".join(f"<th>{html.escape(str(h))}</th>" for h in header)
    body = "".join("<tr>" + "".join(f"<td>{html.escape(str(c))}</td>" for c in row) + "</tr>"
                   for row in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def report_html(course_dir) -> str:
    parts = ["<!doctype html><html lang='en'><head><meta charset='utf-8'>",
             "<title>Grading report</title><style>body{font-family:sans-serif;max-width:60em;"
             "margin:auto}table{border-collapse:collapse}td,th{border:1px solid #ccc;"
             "padding:.2em .5em;text-align:left}</style></head><body>",
             "<h1>Grading report</h1>"]
    for assignment in course_root.assignments(course_dir):
        stats = collect_stats(course_dir, assignment)
        if not stats["scores"]:
            continue
        scores = stats["scores"]
        parts.append(f"<h2>{html.escape(assignment)}</h2><p>{len(scores)} submissions; mean "
                     f"{sum(scores) / len(scores):.2f} of {stats['max']:g}.</p>")
        for alt, png in charts(assignment, stats):
            parts.append(f"<figure><img alt='{html.escape(alt)}' "
                         f"src='data:image/png;base64,{png}'><figcaption>{html.escape(alt)}"
                         "</figcaption></figure>")
        auto = {n: c for n, c in stats["cells"].items() if c["auto"]}
        manual = {n: c for n, c in stats["cells"].items() if not c["auto"]}
        rows = [[name, f"{c['max']:g}", f"{c['passed']}/{c['total']}"]
                for name, c in auto.items()]
        parts.append("<h3>Graded cells: autograded tests</h3>" + (
            _table(["test cell", "points", "full marks"], rows) if rows else "<p>None.</p>"))
        rows = [[name, f"{c['max']:g}", f"{c['passed']}/{c['total']}", c["awaiting"]]
                for name, c in manual.items()]
        parts.append("<h3>Graded cells: marked by the instructor</h3>" + (
            _table(["answer cell", "points", "full marks (of those marked)",
                    "awaiting marking"], rows) if rows else "<p>None.</p>"))
        if stats["awaiting"]:
            parts.append(f"<p><strong>{stats['awaiting']} answer(s) awaiting marking</strong>: "
                         "their points are not in the scores above yet (<code>python -m "
                         f"grading mark {html.escape(assignment)}</code>).</p>")
        failing = sorted(((c["total"] - c["passed"], name) for name, c in auto.items()
                          if c["passed"] < c["total"]), reverse=True)
        rows = [[name, n, "; ".join(f"{m} (x{k})" for m, k in
                                    stats["errors"].get(name, Counter()).most_common(3))]
                for n, name in failing[:10]]
        parts.append("<h3>Most common failing tests</h3>" + (
            _table(["test cell", "submissions failing", "most common errors"], rows)
            if rows else "<p>None.</p>"))
        try:
            reports = integrity.report(course_dir, assignment)
        except course_root.CourseError:
            reports = []
        rows = [[r.student_id, r.status, str(p)] for r in reports for p in r.problems]
        parts.append("<h3>Integrity problems</h3>" + (
            _table(["student", "status", "problem"], rows) if rows else "<p>None.</p>"))
    parts.append("</body></html>")
    return "\n".join(parts)


def export(course_dir, out=None, report=None) -> tuple[Path, Path]:
    """Grades CSV and report, by default in COURSE_DIR/exports/; never inside a checkout."""
    course = course_root.CourseRoot(course_dir)
    csv_path = course_root.refuse_inside_checkout(
        out or course.exports_dir / "grades.csv", "the grades file")
    report_path = course_root.refuse_inside_checkout(
        report or course.exports_dir / "report.html", "the report")
    for path in (csv_path, report_path):
        path.parent.mkdir(parents=True, exist_ok=True)
    export_csv(course.root, csv_path)
    report_path.write_text(report_html(course.root), encoding="utf-8")
    return csv_path, report_path
