"""Peak memory and time of each grading step on the largest submission the grader accepts.

Builds a course root with the grading tests' fixture exercise and two submissions next to a good
one: "largest", a notebook just under the size limit (``autograde.MAX_NOTEBOOK_BYTES``: tens of
thousands of added cells) whose cells print up to the output limit
(``SandboxedExecute.max_total_output_bytes``), and "flood", the 400 cells of 1.9 MB of output
each that once made a 747 MB notebook, and "onebig", one print of 250 MB (one message). Then runs autograde, integrity, feedback and export as
``python -m grading …`` and reports, for each, the wall time and the peak resident memory of its
largest process (``ru_maxrss`` of the step's process tree).

    .venv/bin/python benchmarks/grading_memory.py
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import nbformat

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from grading import autograde, kernels  # noqa: E402

_spec = importlib.util.spec_from_file_location(
    "grading_fixture", REPO / "tests" / "fixtures" / "grading" / "exercise.py")
fx = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(fx)

MEASURE = ("import resource, subprocess, sys, time\n"
           "t0 = time.perf_counter()\n"
           "code = subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL).returncode\n"
           "print(code, time.perf_counter() - t0, "
           "resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)")


def step(args: list[str]) -> tuple[int, float, float]:
    """(exit code, seconds, peak RSS in MB of the largest process of the step)."""
    out = subprocess.run([sys.executable, "-c", MEASURE, sys.executable, "-m", "grading", *args],
                         capture_output=True, text=True, check=True).stdout.split()
    return int(out[0]), float(out[1]), int(out[2]) / 1024


def largest(release_nb) -> nbformat.NotebookNode:
    """Just under the notebook size limit, printing just under the output limit."""
    nb = fx.answered(release_nb, fx.GOOD)
    per_cell = kernels.SandboxedExecute.max_output_bytes.default_value - 50_000
    total = kernels.SandboxedExecute.max_total_output_bytes.default_value - 200_000
    at = nb.cells.index(fx._cells(nb, "share")[0])
    for _ in range(total // per_cell):
        nb.cells.insert(at, nbformat.v4.new_code_cell(f"print('z' * {per_cell})"))
    cell_bytes = len(nbformat.writes(nb)) // len(nb.cells)
    filler = "Caldreth " * 22  # about 200 bytes of text a cell
    one = len(nbformat.writes(nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell(filler)])))
    one -= len(nbformat.writes(nbformat.v4.new_notebook()))
    count = (autograde.MAX_NOTEBOOK_BYTES - 100_000 - cell_bytes * len(nb.cells)) // one
    nb.cells += [nbformat.v4.new_markdown_cell(filler) for _ in range(count)]
    while len(nbformat.writes(nb)) > autograde.MAX_NOTEBOOK_BYTES - 10_000:
        del nb.cells[-100:]
    return nb


def flood(release_nb) -> nbformat.NotebookNode:
    nb = fx.answered(release_nb, fx.GOOD)
    at = nb.cells.index(fx._cells(nb, "share")[0])
    for _ in range(400):
        nb.cells.insert(at, nbformat.v4.new_code_cell("print('z' * 1_900_000)"))
    return nb


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--keep", action="store_true", help="keep the course root")
    args = parser.parse_args()
    base = Path(tempfile.mkdtemp(prefix="upstream-memory-"))
    src = fx.write_source(base / "src")
    root = base / "course"
    for cmd in (["init", str(root), "--source", str(src)],
                ["release", fx.ASSIGNMENT, "--course-dir", str(root)]):
        subprocess.run([sys.executable, "-m", "grading", *cmd], check=True,
                       capture_output=True)
    rel = nbformat.read(root / "release" / fx.ASSIGNMENT / fx.NOTEBOOK, as_version=4)
    onebig = fx._with_answer(rel, "print('y' * 250_000_000)")  # one message of 250 MB
    for sid, nb in (("good", fx.answered(rel, fx.GOOD)), ("largest", largest(rel)),
                    ("flood", flood(rel)), ("onebig", onebig)):
        fx.save(nb, root / "submitted" / sid / fx.ASSIGNMENT)
    sizes = {sid: (root / "submitted" / sid / fx.ASSIGNMENT / fx.NOTEBOOK).stat().st_size / 1e6
             for sid in ("good", "largest", "flood", "onebig")}
    rows = []
    for name, cmd in (
            ("autograde", ["autograde", fx.ASSIGNMENT, "--course-dir", str(root),
                           "--workers", "1", "--quiet"]),
            ("integrity", ["integrity", fx.ASSIGNMENT, "--course-dir", str(root), "--json"]),
            ("feedback", ["feedback", fx.ASSIGNMENT, "--course-dir", str(root)]),
            ("export", ["export", "--course-dir", str(root), "--out", str(base / "grades.csv"),
                        "--report", str(base / "report.html")])):
        code, seconds, peak = step(cmd)
        rows.append((name, code, seconds, peak))
    outcomes = autograde.load_outcomes(root, fx.ASSIGNMENT)
    graded = {sid: (root / "autograded" / sid / fx.ASSIGNMENT / fx.NOTEBOOK)
              for sid in ("good", "largest", "flood", "onebig")}
    print(f"load average {os.getloadavg()[0]:.1f} (1 min); submissions (MB): "
          + ", ".join(f"{k} {v:.1f}" for k, v in sizes.items()))
    for sid, path in graded.items():
        cells = len(nbformat.read(path, as_version=4).cells) if path.exists() else 0
        size = path.stat().st_size / 1e6 if path.exists() else 0
        print(f"  {sid}: outcome {outcomes[sid]['status']} "
              f"({outcomes[sid]['message'][:70]}); autograded {size:.1f} MB, {cells} cells")
    print("| step | exit | seconds | peak RSS (MB) |\n|---|---|---|---|")
    for name, code, seconds, peak in rows:
        print(f"| {name} | {code} | {seconds:.1f} | {peak:.0f} |")
    if not args.keep:
        import shutil

        shutil.rmtree(base, ignore_errors=True)
    else:
        print(f"course root kept: {root}")


if __name__ == "__main__":
    started = time.time()
    main()
    print(f"total {time.time() - started:.0f} s")
