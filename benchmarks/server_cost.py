"""Where a trainee's CPU-seconds go when their server starts: server, extensions, kernel, imports.

Usage: ``.venv/bin/python benchmarks/server_cost.py [--runs 3] [--json out.json]``

Measured on this machine, in one run, each figure as CPU-seconds (user + system, the process and
its children), which a loaded machine does not inflate the way it does wall-clock seconds:

- **server ready**: a JupyterLab server from exec until `/api/status` answers: before, stock
  `jupyter lab` with every installed server extension; after, as trainees get it
  (`python -m course.serve lab` with deploy/jupyter/trainee + common); the ratio;
- **extensions**: the CPU to import jupyter_server and jupyterlab in a fresh interpreter, then
  what each installed server extension's package adds on top of them (what each one adds to a
  server start; extensions that share a library, as nbgrader's four do, each show it);
- **kernel start**: an ipykernel from launch until it answers kernel_info;
- **first-cell imports**: what a module's first cell imports (course and its topic modules),
  and the heavy libraries alone (pandas, folium, ipywidgets, matplotlib), each in a fresh
  interpreter.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import psutil

ROOT = Path(__file__).resolve().parents[1]
PY = sys.executable
TRAINEE_CONFIG = os.pathsep.join(str(ROOT / "deploy" / "jupyter" / d) for d in ("trainee", "common"))
PRIVATE = ["--LabApp.news_url=None", "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
           "--LabApp.extension_manager=readonly"]
FIRST_CELLS = {
    "module 1 first cell": "from course import data, maps, warning_signs, widgets\n"
                           "from course.widgets import warning_signs as views",
    "module 1 first cell, as before (course.maps imported folium eagerly)":
        "import folium\nfrom course import data, maps, warning_signs, widgets\n"
        "from course.widgets import warning_signs as views",
    "module 2 first cell": "from course import data, pyramid, widgets\n"
                           "from course.widgets import pyramid as pyramid_views",
    "module 2 first cell, as before (its views imported matplotlib eagerly)":
        "import matplotlib.figure\nfrom course import data, pyramid, widgets\n"
        "from course.widgets import pyramid as pyramid_views",
    "module 4 first cell": "from course import data, r2p, widgets\n"
                           "from course.widgets import r2p as r2p_views",
    "import course": "import course",
    "pandas": "import pandas",
    "folium": "import folium",
    "ipywidgets": "import ipywidgets",
    "matplotlib.pyplot": "import matplotlib\nmatplotlib.use('Agg')\nimport matplotlib.pyplot",
}


def tree_cpu(proc: psutil.Process) -> float:
    """CPU-seconds of a process and its children (those still alive and those reaped)."""
    total = 0.0
    for p in [proc, *proc.children(recursive=True)]:
        try:
            t = p.cpu_times()
            total += t.user + t.system + getattr(t, "children_user", 0) + getattr(t, "children_system", 0)
        except psutil.NoSuchProcess:
            pass
    return total


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def server_ready_cpu(config_path: str | None, launcher: list[str]) -> tuple[float, float]:
    """(CPU-seconds, wall seconds) for a JupyterLab server to answer /api/status."""
    port, token = free_port(), "bench"
    with tempfile.TemporaryDirectory() as root:
        env = {**os.environ, "JUPYTER_CONFIG_DIR": str(Path(root) / "cfg")}
        env.pop("JUPYTER_CONFIG_PATH", None)
        if config_path:
            env["JUPYTER_CONFIG_PATH"] = config_path
        started = time.perf_counter()
        proc = subprocess.Popen(
            [PY, *launcher, "--no-browser", "--ServerApp.ip=127.0.0.1",
             f"--ServerApp.port={port}", f"--IdentityProvider.token={token}",
             f"--ServerApp.root_dir={root}", *PRIVATE,
             *(["--allow-root"] if os.getuid() == 0 else [])],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
        ps = psutil.Process(proc.pid)
        try:
            while True:
                try:
                    urllib.request.urlopen(f"http://127.0.0.1:{port}/api/status?token={token}",
                                           timeout=2).close()
                    break
                except OSError:
                    if proc.poll() is not None or time.perf_counter() - started > 120:
                        raise RuntimeError("jupyter lab did not start") from None
                    time.sleep(0.05)
            return tree_cpu(ps), time.perf_counter() - started
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()


def import_cpu(code: str, after: str = "") -> float:
    """CPU-seconds a fresh interpreter spends running ``code`` (after its own start-up and,
    untimed, ``after``: what the server has imported anyway)."""
    probe = (after + "\nimport time\n_t = time.process_time()\n" + code +
             "\nprint(time.process_time() - _t)")
    out = subprocess.run([PY, "-c", probe], capture_output=True, text=True, check=True,
                         cwd=tempfile.gettempdir(), env={**os.environ, "MPLBACKEND": "Agg"})
    return float(out.stdout.strip().splitlines()[-1])


def installed_server_extensions() -> list[str]:
    out = subprocess.run([PY, "-m", "jupyter", "server", "extension", "list"],
                         capture_output=True, text=True)
    names = []
    for line in re.sub(r"\x1b\[[0-9;]*m", "", out.stdout + out.stderr).splitlines():
        line = line.strip()
        if line.endswith(("enabled", "disabled")) and " " in line and not line.startswith("-"):
            names.append(line.split()[0])
    return sorted(set(names))


def kernel_start_cpu() -> float:
    from jupyter_client import KernelManager

    km = KernelManager(kernel_name="python3")
    km.start_kernel()
    try:
        client = km.client()
        client.start_channels()
        client.wait_for_ready(timeout=60)
        client.stop_channels()
        return tree_cpu(psutil.Process(km.provisioner.process.pid))
    finally:
        km.shutdown_kernel(now=True)


def median_of(runs: int, fn, *args) -> float:
    return statistics.median(fn(*args) for _ in range(runs))


def measure(runs: int) -> dict:
    # before: stock `jupyter lab`, every installed extension; after: what trainees get
    stock = [server_ready_cpu(None, ["-m", "jupyterlab"]) for _ in range(runs)]
    trainee = [server_ready_cpu(TRAINEE_CONFIG, ["-m", "course.serve", "lab"])
               for _ in range(runs)]
    server_core = "import jupyter_server.serverapp, jupyterlab"
    extensions = {"jupyter_server + jupyterlab (every server)": round(
        median_of(runs, import_cpu, server_core), 3)}
    for name in installed_server_extensions():
        if name == "jupyterlab":
            continue
        try:  # what the extension adds on top of the server's own imports
            extensions[name] = round(median_of(runs, import_cpu, f"import {name}",
                                               server_core), 3)
        except subprocess.CalledProcessError:
            extensions[name] = None
    imports = {label: round(median_of(runs, import_cpu, code), 3)
               for label, code in FIRST_CELLS.items()}
    stock_cpu = statistics.median(c for c, _ in stock)
    trainee_cpu = statistics.median(c for c, _ in trainee)
    return {
        "runs": runs,
        "load_average": os.getloadavg(),
        "server_ready_cpu_s": {"stock": round(stock_cpu, 2), "trainee": round(trainee_cpu, 2),
                               "ratio_stock_over_trainee": round(stock_cpu / trainee_cpu, 2)},
        "server_ready_wall_s": {"stock": round(statistics.median(w for _, w in stock), 2),
                                "trainee": round(statistics.median(w for _, w in trainee), 2)},
        "extension_import_cpu_s": extensions,
        "kernel_start_cpu_s": round(median_of(runs, kernel_start_cpu), 2),
        "first_cell_import_cpu_s": imports,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args(argv)
    figures = measure(args.runs)
    text = json.dumps(figures, indent=2)
    print(text)
    if args.json:
        args.json.write_text(text + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
