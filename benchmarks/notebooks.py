"""How long each module and exercise takes to run, and how big it gets once executed.

Usage: ``.venv/bin/python benchmarks/notebooks.py [--runs 3] [--json out.json]``

For every notebook in the syllabus: the median (and min/max) wall-clock time of ``--runs``
headless executions with nbclient (kernel start-up included, as a trainee experiences it), the
size of the executed notebook, and the size of every map it shows (the HTML inside each map's
iframe, which is what the browser loads).
"""

from __future__ import annotations

import argparse
import html as html_lib
import json
import re
import statistics
import sys
import tempfile
import time
from pathlib import Path

import nbclient
import nbformat

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from course import syllabus  # noqa: E402

SRCDOC = re.compile(r'<iframe srcdoc="([^"]*)"')


def run_once(path: Path) -> tuple[float, nbformat.NotebookNode]:
    nb = nbformat.read(path, as_version=4)
    with tempfile.TemporaryDirectory() as cwd:
        client = nbclient.NotebookClient(nb, timeout=300, kernel_name="python3",
                                         resources={"metadata": {"path": cwd}},
                                         store_widget_state=True)
        started = time.perf_counter()
        client.execute()
        return time.perf_counter() - started, nb


def map_sizes(nb: nbformat.NotebookNode) -> list[int]:
    sizes = []
    for cell in nb.cells:
        for out in cell.get("outputs", []):
            html = out.get("data", {}).get("text/html", "")
            html = "".join(html) if isinstance(html, list) else html
            # srcdoc is HTML-escaped in the notebook; the browser parses the unescaped document.
            sizes += [len(html_lib.unescape(m.group(1)).encode()) for m in SRCDOC.finditer(html)]
    return sizes


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    paths = [m.notebook for m in syllabus.modules()] + [e.notebook for e in syllabus.exercises()]
    rows = []
    print(f"{'notebook':44} {'median s':>9} {'min':>6} {'max':>6} {'executed KB':>12}  maps (KB)")
    for path in paths:
        times, nb = [], None
        for _ in range(args.runs):
            seconds, nb = run_once(path)
            times.append(seconds)
        size = len(nbformat.writes(nb).encode())
        maps = map_sizes(nb)
        rows.append({"notebook": path.name, "median_s": statistics.median(times),
                     "min_s": min(times), "max_s": max(times), "executed_bytes": size,
                     "map_html_bytes": maps})
        print(f"{path.name:44} {statistics.median(times):9.2f} {min(times):6.2f} "
              f"{max(times):6.2f} {size / 1024:12.0f}  {[round(m / 1024) for m in maps]}")
    if args.json:
        args.json.write_text(json.dumps(rows, indent=2))


if __name__ == "__main__":
    main()
