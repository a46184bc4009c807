"""Every module and every exercise source runs top to bottom, headless, and calls no outside host."""

from __future__ import annotations

import json
import time

import nbclient
import pytest

from course import syllabus
from course.maps import external_urls
from tests.helpers import notebook_rules as rules

NOTEBOOKS = [m.notebook for m in syllabus.modules()] + [e.notebook for e in syllabus.exercises()]


def execute(path, cwd):
    nb = rules.read(path)
    client = nbclient.NotebookClient(nb, timeout=180, kernel_name="python3",
                                     resources={"metadata": {"path": str(cwd)}},
                                     store_widget_state=True)
    started = time.perf_counter()
    client.execute()
    return nb, time.perf_counter() - started


@pytest.mark.slow  # executes the notebook: 4-10 s each
@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_runs_and_stays_offline(path, tmp_path):
    # cwd is an empty temporary folder: notebooks must reach data through course.data, not paths.
    nb, seconds = execute(path, tmp_path)
    outputs = json.dumps([c.get("outputs", []) for c in nb.cells]) + json.dumps(nb.metadata)
    leaks = external_urls(outputs)
    assert not leaks, f"{path.name} output would load from outside hosts: {leaks}"
    assert seconds < 150, f"{path.name} took {seconds:.0f} s; keep a module under a minute or so"
