"""Start a throwaway JupyterLab for browser tests, and always stop it again."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from tests.helpers.paths import ROOT

# The same privacy settings as `make lab`: no news, no update check, no PyPI extension manager.
PRIVATE_LAB_ARGS = ["--LabApp.news_url=None",
                    "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
                    "--LabApp.extension_manager=readonly"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def stop(proc: subprocess.Popen) -> None:
    """SIGTERM the server's process group; SIGKILL it if a loaded machine keeps it from stopping."""
    if proc.poll() is not None:
        return
    os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(timeout=30)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)


# The trainee's Jupyter config directories, as `make lab` gives them (the hub: trainee, common).
TRAINEE_CONFIG_PATH = os.pathsep.join(str(ROOT / "deploy" / "jupyter" / d)
                                      for d in ("selfstudy", "trainee", "common"))


@contextmanager
def running_lab(root_dir: Path, token: str, start_timeout: float = 120) -> Iterator[str]:
    """A trainee's JupyterLab serving ``root_dir`` on a free loopback port; yields its base URL."""
    port = free_port()
    env = {**os.environ, "JUPYTER_CONFIG_PATH": TRAINEE_CONFIG_PATH}
    # JupyterLab keeps its layouts (open tabs) in ~/.jupyter/lab/workspaces, shared by every
    # server on the machine: a test then opened with another test's notebooks restored in front
    # of its own. Each server gets a folder of its own, removed afterwards.
    workspaces = tempfile.mkdtemp(prefix="lab-workspaces-")
    # The server's log goes to a file: a pipe nobody reads fills after 64 KB, and the server
    # then blocks on its next log line, with every request (seen in CI: a module-scoped server
    # stopped answering after several modules' page loads).
    log = open(Path(workspaces) / "server.log", "w+")  # noqa: SIM115 - closed in finally
    proc = subprocess.Popen(
        [sys.executable, "-m", "course.serve", "lab", "--no-browser", "--ServerApp.ip=127.0.0.1",
         f"--ServerApp.port={port}", f"--IdentityProvider.token={token}",
         f"--ServerApp.root_dir={root_dir}", f"--LabApp.workspaces_dir={workspaces}",
         *PRIVATE_LAB_ARGS,
         *(["--allow-root"] if os.getuid() == 0 else [])],
        stdout=log, stderr=subprocess.STDOUT, text=True, start_new_session=True, env=env)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + start_timeout
        while True:
            try:
                urllib.request.urlopen(f"{base}/api/status?token={token}", timeout=5).close()
                break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    stop(proc)
                    log.seek(0)
                    raise AssertionError("JupyterLab did not start:\n" + log.read()) from None
                time.sleep(0.5)
        yield base
    finally:
        stop(proc)
        log.close()
        shutil.rmtree(workspaces, ignore_errors=True)
