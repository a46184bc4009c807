"""A real JupyterHub for the hub tests: deploy/'s own modules, and a local git copy of the course."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path

import pytest

import course

ROOT = Path(course.__file__).resolve().parents[1]
DEPLOY = ROOT / "deploy"
MODULE_1 = "modules/01-warning-signs.ipynb"  # in the trainee distribution


def deploy_module(name: str):
    """Import deploy/<name>.py (deploy/ is a folder of configuration, not a package)."""
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, DEPLOY / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


LocalHub = deploy_module("localhub").LocalHub

def course_repo(tmp_path: Path) -> tuple[str, str]:
    """A local bare git repository holding the committed course (HEAD of this checkout, as
    branch 'main') and the trainee branch built from it by the documented command, and that
    branch's name: trainees pull the trainee distribution, never main."""
    dest = tmp_path / "upstream.git"
    git = ["git", "-c", "init.defaultBranch=main"]
    subprocess.run([*git, "init", "--quiet", "--bare", str(dest)], check=True)
    # fetch from inside the copy: nothing is written to the checkout others work in
    subprocess.run([*git, "-C", str(dest), "fetch", "--quiet", "--no-tags", str(ROOT),
                    "HEAD:refs/heads/main"], check=True, timeout=120)
    # --allow-dirty: the tests exercise the course being edited, not only its last commit
    subprocess.run([sys.executable, "-m", "tools.trainee_branch", "--repo", str(dest),
                    "--allow-dirty"],
                   cwd=ROOT, check=True, timeout=300, capture_output=True)
    present = subprocess.run(["git", "-C", str(dest), "cat-file", "-e", f"trainee:{MODULE_1}"],
                             capture_output=True)
    if present.returncode != 0:
        pytest.fail(f"{MODULE_1} is not in the trainee branch built from {ROOT}")
    return dest.as_uri(), "trainee"
