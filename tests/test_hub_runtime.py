"""The environment a hub's servers run from (`make runtime`): the course as a package, no checkout.

On a hub, trainees' kernels run as the trainees' own accounts. When servers ran from the
checkout's editable environment, any trainee could read the exercise sources, the maintainers'
tools and .git next to the package. `make runtime` builds a separate environment with the course
installed as a package; here it is built for real and looked at from inside, as a kernel would.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.helpers.paths import ROOT

pytestmark = pytest.mark.slow

PROBE = r"""
import importlib.util, json, sys
from pathlib import Path
import course
from course import syllabus, workspace
package = Path(course.__file__).parent
print(json.dumps({
    "course": str(package),
    "sources": sorted(p.name for p in (package / "exercises" / "source").glob("*")),
    "checkout": (package.parent / ".git").exists() or (package.parent / "tools").exists(),
    "tools": importlib.util.find_spec("tools") is not None,
    "grading": importlib.util.find_spec("grading") is not None,
    "trainee_files": len(workspace.trainee_files()),
    "exercises": [e.id for e in syllabus.exercises()],
}))
"""

# Run notebooks in the runtime's own kernel: every error output, per notebook.
ERRORS = r"""
import json, sys
import nbclient, nbformat
out = {}
for path in sys.argv[1:]:
    nb = nbformat.read(path, as_version=4)
    nbclient.NotebookClient(nb, timeout=300, kernel_name="python3", allow_errors=True).execute()
    out[path] = [f"{c.metadata.get('nbgrader', {}).get('grade_id', c.get('id'))}: {o.ename}: "
                 f"{o.evalue}" for c in nb.cells for o in c.get("outputs", [])
                 if o.output_type == "error"]
print(json.dumps(out))
"""


@pytest.fixture(scope="module")
def runtime(tmp_path_factory) -> Path:
    target = tmp_path_factory.mktemp("runtime") / "env"
    subprocess.run(["make", "--no-print-directory", "runtime", f"RUNTIME={target}"], cwd=ROOT,
                   check=True, timeout=900, capture_output=True)
    return target


def run_in(runtime: Path, code: str, *args: str, cwd: Path) -> str:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    done = subprocess.run([str(runtime / "bin" / "python"), "-c", code, *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, done.stderr
    return done.stdout.strip().splitlines()[-1]


def test_servers_environment_holds_the_package_and_no_checkout(runtime, tmp_path):
    seen = json.loads(run_in(runtime, PROBE, cwd=tmp_path))
    assert seen["course"].startswith(str(runtime)), "the course must be installed, not linked"
    assert seen["sources"] == [], f"exercise sources in the servers' environment: {seen['sources']}"
    assert not seen["checkout"] and not seen["tools"], "the checkout is reachable from a kernel"
    assert seen["grading"], "the formgrader service needs grading"
    assert seen["trainee_files"] > 10 and "ex03_documentation" in seen["exercises"]
    assert (runtime / "bin" / "jupyterhub-singleuser").exists()
    assert json.loads(run_in(runtime, "import json, course.serve; print(json.dumps(1))",
                             cwd=tmp_path)) == 1
    # the hub's zygote runs from it, and finds the provisioner its servers fork kernels with
    zygote = ("import json, course.server_zygote, course.kernel_zygote; "
              "from importlib.metadata import entry_points; print(json.dumps(sorted(e.name for e "
              "in entry_points(group='jupyter_client.kernel_provisioners'))))")
    assert "upstream-forked-kernel" in json.loads(run_in(runtime, zygote, cwd=tmp_path))
    assert (runtime / "etc" / "upstream-jupyter" / "trainee" / "labconfig").is_dir()


def test_the_hub_runs_servers_from_it(runtime):
    code = ("import sys; sys.path.insert(0, 'deploy'); import upstream_hub as h; "
            "print(h.singleuser_command()[0], h.TRAINEE_CONFIG)")  # [python, -m, course.serve]
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True,
                         env={**os.environ, "UPSTREAM_RUNTIME": str(runtime)}, check=True)
    command, trainee_config = out.stdout.split()
    assert command == str(runtime / "bin" / "python")
    assert trainee_config == str(runtime / "etc" / "upstream-jupyter" / "trainee")


def test_every_exercise_runs_on_the_installed_package(runtime, tmp_path):
    """Each exercise, answered with its model solution, runs without an error on an install that
    has no checkout (Exercise 3's set-up once needed the maintainers' tools)."""
    from course import notebook_files, syllabus

    notebooks = [str(notebook_files.write_ipynb(notebook_files.read(e.notebook),
                                                tmp_path / f"{e.id}.ipynb"))
                 for e in syllabus.exercises()]
    errors = json.loads(run_in(runtime, ERRORS, *notebooks, cwd=tmp_path))
    failing = {Path(k).name: v for k, v in errors.items() if v}
    assert not failing, f"exercises fail on the installed package: {failing}"
