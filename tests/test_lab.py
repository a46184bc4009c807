"""`make lab`, the README's first command, starts JupyterLab on the course."""

from __future__ import annotations

import json
import subprocess
import time
import urllib.request

import pytest

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
    finally:
        stop(proc)
    # the URL it prints opens the orientation module, not a Launcher over the package
    printed = proc.stdout.read()
    assert "/lab/tree/modules/00-orientation.ipynb?token=" in printed, printed
