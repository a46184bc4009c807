"""`make lab`, the README's first command, starts JupyterLab on the course."""

from __future__ import annotations

import json
import re
import subprocess
import time
import urllib.request

import pytest
import requests

from tests.helpers.lab_server import free_port, stop
from tests.helpers.paths import ROOT


@pytest.mark.slow
def test_make_lab_serves_the_orientation_module(tmp_path):
    port, token = free_port(), "upstream-test"
    args = f"--no-browser --ServerApp.ip=127.0.0.1 --ServerApp.port={port} --IdentityProvider.token={token}"
    proc = subprocess.Popen(["make", "--no-print-directory", "lab", f"LAB_ARGS={args}",
                             f"WORKSPACE={tmp_path / 'ws'}"], cwd=ROOT,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            start_new_session=True)
    try:
        url = f"http://127.0.0.1:{port}/api/contents/modules/00-orientation.ipynb?token={token}"
        deadline = time.monotonic() + 90
        while True:
            try:
                with urllib.request.urlopen(url, timeout=5) as resp:
                    model = json.load(resp)
                break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise AssertionError("JupyterLab did not start:\n" + proc.stdout.read()) from None
                time.sleep(0.5)
        assert model["type"] == "notebook"
        assert model["content"]["cells"][0]["source"].startswith("# Module 0")
        # the served root is the trainee's workspace: modules and student versions, no sources
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/contents?token={token}",
                                    timeout=10) as resp:
            top = sorted(item["name"] for item in json.load(resp)["content"])
        assert top == ["README.md", "exercises", "modules"]

        with urllib.request.urlopen(f"http://127.0.0.1:{port}/lab?token={token}", timeout=10) as r:
            assert r.status == 200
            page = r.read().decode("utf-8")
        # working alone: no instructor tools, no Nbgrader menu (no exchange to list assignments
        # from), no buttons into the classic notebook UI the trainee's server does not load
        config = json.loads(re.search(r'id="jupyter-config-data"[^>]*>(.*?)</script>', page,
                                      re.S).group(1))
        disabled = set(config["disabledExtensions"])
        assert {"@jupyter/nbgrader:menu", "@jupyter/nbgrader:assignment-list",
                "@jupyter/nbgrader:create-assignment", "@jupyter/nbgrader:formgrader",
                "@jupyter/nbgrader:course-list", "@jupyter-notebook/lab-extension",
                "@jupyterlab/apputils-extension:announcements"} <= disabled, disabled
        # LSP off together with the two plugins that need it (else they fail to activate)
        assert {"@jupyterlab/lsp-extension", "@jupyterlab/notebook-extension:language-server",
                "@jupyterlab/fileeditor-extension:language-server"} <= disabled
        assert "@jupyter/nbgrader:validate-assignment" not in disabled  # Validate stays

        # Validate works; nbgrader is loaded on that first use (course/lazy_nbgrader.py), and a
        # student version, unanswered, fails validation
        exercise = "exercises/ex01_warning_signs/ex01_warning_signs.ipynb"
        response = requests.post(f"http://127.0.0.1:{port}/assignments/validate",
                                 data={"path": exercise}, timeout=120,
                                 headers={"Authorization": f"token {token}"})
        assert [r.status_code for r in response.history] == [307]  # kept the POST and its body
        reply = response.json()
        assert reply["success"], reply
        assert reply["value"]["failed"], reply
    finally:
        stop(proc)
    # the URL it prints opens the orientation module, not a Launcher over the package
    printed = proc.stdout.read()
    assert "/lab/tree/modules/00-orientation.ipynb?token=" in printed, printed
    lazy = printed.index("nbgrader's assignment list and validation load on first use")
    assert lazy < printed.index("Loading the validate_assignment nbgrader serverextension")
    assert "307 POST /assignments/validate" in printed
