"""Load on one JupyterHub: a class of trainees logs in and runs a module's code.

Usage: ``.venv/bin/python benchmarks/hub_load.py [--users 20] [--window 60] [--seed 7]
[--spawners stock,zygote] [--module PATH] [--json out.json]``

Three scenarios on the same hub, in one run: one trainee alone (the baseline); a class start,
where ``--users`` trainees arrive over ``--window`` seconds at times drawn with a fixed seed (as a
room of people opening the link at the start of a session does); and the same number all at
once (the worst case). Each scenario's servers are stopped before the next starts.

The scenarios run once per spawner of ``--spawners``, each on a fresh hub, one after the other:
``stock`` (every server a new interpreter: JupyterHub's SimpleLocalProcessSpawner) and ``zygote``
(every server a fork of the hub's warmed zygote, its kernels forks of the server's kernel
zygote: deploy/zygote_spawner.py, the default). The zygote's own memory and start-up CPU are
reported apart, as a fixed cost of the hub; its first trainee ("alone") may still wait for it.

A real local hub (deploy/localhub.py: deploy/jupyterhub_config.py with the pinned proxy, dummy
logins, local-process servers) on 127.0.0.1. Each trainee, concurrently, does what a browser
would do, through the hub's REST API and the server's kernel API: logs in with the login form,
starts their server, gets an API token, starts a kernel and runs every code cell of the module
over the kernel's websocket. Reported:

- login -> first output: from the login request to the first output message of the module's
  code (median and 95th percentile), and login -> whole module done;
- memory per trainee once the module has run: their server plus kernel (and, forked, the
  server's kernel zygote), RSS and USS (psutil; USS leaves out memory shared with other
  processes, so it is what one more trainee costs), and USS per process kind; PSS summed over
  every trainee's processes and the zygote is what the whole class takes;
- CPU-seconds per trainee: their server plus kernel, from spawn to the module's end (the wait on
  a loaded hub is CPU: this is what each trainee costs the machine);
- the baseline: the same for one trainee alone on the same hub, run first; the ratio of the
  medians is the slowdown under load.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

import aiohttp
import psutil
from yarl import URL

from course import notebook_files

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "deploy"))
from localhub import LocalHub  # noqa: E402

MODULE = ROOT / "course" / "modules" / "01-warning-signs.md"
OUTPUT_TYPES = {"stream", "display_data", "execute_result", "error"}


def code_cells(path: Path) -> list[str]:
    nb = notebook_files.read(path)
    return [c.source for c in nb.cells if c.cell_type == "code" and c.source.strip()]


def execute_request(code: str, session: str) -> dict:
    msg_id = uuid.uuid4().hex
    return {
        "header": {"msg_id": msg_id, "msg_type": "execute_request", "username": "bench",
                   "session": session, "version": "5.3", "date": ""},
        "parent_header": {}, "metadata": {}, "buffers": [], "channel": "shell",
        "content": {"code": code, "silent": False, "store_history": True,
                    "user_expressions": {}, "allow_stdin": False, "stop_on_error": True},
    }


async def login(http: aiohttp.ClientSession, url: str, name: str) -> str:
    """Log in through the form; the _xsrf value the hub's API wants with cookie auth."""
    async with http.get(f"{url}/hub/login") as reply:
        reply.raise_for_status()
    hub = URL(f"{url}/hub/")
    xsrf = http.cookie_jar.filter_cookies(hub)["_xsrf"].value
    async with http.post(f"{url}/hub/login?next=", allow_redirects=False,
                         data={"username": name, "password": "any", "_xsrf": xsrf}) as reply:
        if reply.status != 302:
            raise RuntimeError(f"login of {name} failed: HTTP {reply.status}")
    return http.cookie_jar.filter_cookies(hub)["_xsrf"].value  # renewed for the session


async def start_server(http: aiohttp.ClientSession, url: str, name: str, xsrf: str) -> str:
    """Start the server as the trainee (cookie + xsrf); an API token once it is ready."""
    api, headers = f"{url}/hub/api/users/{name}", {"X-XSRFToken": xsrf}
    # a JSON body: the hub refuses cookie-authenticated POSTs of other content types
    async with http.post(f"{api}/server", headers=headers, json={}) as reply:
        if reply.status not in (201, 202):
            raise RuntimeError(f"{name}: starting the server: HTTP {reply.status}")
    while True:
        async with http.get(api, headers=headers) as reply:
            if (await reply.json()).get("servers", {}).get("", {}).get("ready"):
                break
        await asyncio.sleep(0.5)
    async with http.post(f"{api}/tokens", headers=headers, json={"note": "hub_load"}) as reply:
        return (await reply.json())["token"]


async def run_module(http: aiohttp.ClientSession, url: str, name: str, token: str,
                     cells: list[str], started: float) -> dict:
    auth = {"Authorization": f"token {token}"}
    async with http.post(f"{url}/user/{name}/api/kernels", headers=auth, json={}) as reply:
        kernel = (await reply.json())["id"]
    first_output, errors = None, []
    ws_url = f"{url}/user/{name}/api/kernels/{kernel}/channels".replace("http", "ws", 1)
    async with http.ws_connect(ws_url, headers=auth, max_msg_size=0) as ws:
        session = uuid.uuid4().hex
        for code in cells:
            request = execute_request(code, session)
            await ws.send_json(request)
            while True:
                msg = await ws.receive_json()
                if msg.get("parent_header", {}).get("msg_id") != request["header"]["msg_id"]:
                    continue
                if msg["msg_type"] in OUTPUT_TYPES and first_output is None:
                    first_output = time.perf_counter() - started
                if msg["msg_type"] == "error":
                    errors.append(f"{msg['content']['ename']}: {msg['content']['evalue']}")
                if msg["msg_type"] == "execute_reply":
                    break
    return {"first_output_s": first_output, "done_s": time.perf_counter() - started,
            "errors": errors}


async def trainee(url: str, name: str, cells: list[str], delay: float = 0.0) -> dict:
    await asyncio.sleep(delay)  # the moment this trainee arrives
    jar = aiohttp.CookieJar(unsafe=True)  # the hub is on an IP address
    timeout = aiohttp.ClientTimeout(total=None, sock_read=900)
    async with aiohttp.ClientSession(cookie_jar=jar, timeout=timeout) as http:
        started = time.perf_counter()
        xsrf = await login(http, url, name)
        logged_in = time.perf_counter() - started
        token = await start_server(http, url, name, xsrf)
        ready = time.perf_counter() - started
        result = await run_module(http, url, name, token, cells, started)
    return {"user": name, "login_s": logged_in, "server_ready_s": ready, **result}


def server_pid(hub: LocalHub, name: str) -> int:
    """The pid of a trainee's server, from the spawner's state (the hub's API, admin:server_state):
    a forked server's /proc/PID/cmdline and environ are its zygote's, so neither finds it."""
    state = hub.api("GET", f"/users/{name}").json().get("servers", {}).get("", {}).get("state")
    if not state or not state.get("pid"):
        raise RuntimeError(f"no server pid in the hub's state for {name}: {state!r}")
    return int(state["pid"])


def kind(proc: psutil.Process, server: psutil.Process) -> str:
    if proc.pid == server.pid:
        return "server"
    return "kernel_zygote" if proc.name() == "kernel-zygote" else "kernel"


def memory(hub: LocalHub, name: str) -> dict:
    """RSS, USS and PSS (bytes) and CPU-seconds of a trainee's server and every process under it
    (the kernel, and a forked server's kernel zygote); USS per kind of process."""
    proc = psutil.Process(server_pid(hub, name))
    procs = [proc, *proc.children(recursive=True)]
    infos = [p.memory_full_info() for p in procs]
    times = [p.cpu_times() for p in procs]
    by_kind: dict[str, int] = {}
    for p, i in zip(procs, infos, strict=True):
        by_kind[kind(p, proc)] = by_kind.get(kind(p, proc), 0) + i.uss
    return {"rss": sum(i.rss for i in infos), "uss": sum(i.uss for i in infos),
            "pss": sum(i.pss for i in infos), "uss_by_kind": by_kind,
            "cpu_s": sum(t.user + t.system for t in times)}


def zygotes(hub: LocalHub) -> dict | None:
    """The hub's server zygote (a fixed cost of the hub, whatever the number of trainees)."""
    for proc in psutil.Process(hub.proc.pid).children():
        try:
            if proc.name() == "upstream-zygote":
                info, cpu = proc.memory_full_info(), proc.cpu_times()
                return {"rss_mib": info.rss / 2**20, "pss_mib": info.pss / 2**20,
                        "uss_mib": info.uss / 2**20, "cpu_s": cpu.user + cpu.system}
        except psutil.Error:
            continue
    return None


def percentile(values: list[float], q: float) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[q - 1]


def summary(runs: list[dict], mem: list[dict], zygote: dict | None = None) -> dict:
    first = [r["first_output_s"] for r in runs]
    kinds = sorted({k for m in mem for k in m["uss_by_kind"]})
    class_pss = sum(m["pss"] for m in mem) / 2**20 + (zygote["pss_mib"] if zygote else 0)
    return {
        "users": len(runs),
        "first_output_median_s": statistics.median(first),
        "first_output_p95_s": percentile(first, 95) if len(first) > 1 else first[0],
        "module_done_median_s": statistics.median(r["done_s"] for r in runs),
        "module_done_max_s": max(r["done_s"] for r in runs),
        "server_ready_median_s": statistics.median(r["server_ready_s"] for r in runs),
        "rss_per_trainee_mib": statistics.median(m["rss"] for m in mem) / 2**20,
        "uss_per_trainee_mib": statistics.median(m["uss"] for m in mem) / 2**20,
        "uss_per_trainee_max_mib": max(m["uss"] for m in mem) / 2**20,
        "uss_by_kind_median_mib": {k: statistics.median(m["uss_by_kind"].get(k, 0) for m in mem)
                                   / 2**20 for k in kinds},
        "class_pss_total_mib": class_pss,
        "class_pss_per_trainee_mib": class_pss / len(mem),
        "cpu_s_per_trainee": statistics.median(m["cpu_s"] for m in mem),
        "zygote": zygote,
        "errors": sorted({e for r in runs for e in r["errors"]}),
    }


async def load(hub: LocalHub, names: list[str], cells: list[str],
               delays: list[float] | None = None) -> dict:
    delays = delays or [0.0] * len(names)
    runs = await asyncio.gather(*(trainee(hub.url, n, cells, d) for n, d in zip(names, delays, strict=True)))
    return summary(runs, [memory(hub, n) for n in names], zygotes(hub))


def stop_servers(hub: LocalHub, names: list[str]) -> None:
    """Stop a scenario's servers, so the next scenario starts on an idle machine."""
    for name in names:
        hub.api("DELETE", f"/users/{name}/server")
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and any(
            hub.api("GET", f"/users/{n}").json().get("servers") for n in names):
        time.sleep(1)


def arrivals(users: int, window: float, seed: int) -> list[float]:
    """When each trainee arrives, in seconds from the start: uniform over the window, seeded."""
    rng = random.Random(seed)
    return sorted(rng.uniform(0, window) for _ in range(users))


def run_hub(spawner: str, args, cells: list[str], names: list[str]) -> dict:
    """The three scenarios on a fresh hub whose servers start the ``spawner`` way."""
    alone, arriving, at_once = names[:1], names[1:args.users + 1], names[args.users + 1:]
    load_before = psutil.getloadavg()
    with tempfile.TemporaryDirectory(prefix="hub-load-") as work:
        hub = LocalHub(Path(work), instructors=["instructor"], trainees=names, start_timeout=900,
                       zygote=spawner == "zygote")
        with hub:
            hub_procs = psutil.Process(hub.proc.pid)
            baseline = asyncio.run(load(hub, alone, cells))
            stop_servers(hub, alone)
            class_start = asyncio.run(load(hub, arriving, cells,
                                           arrivals(args.users, args.window, args.seed)))
            stop_servers(hub, arriving)
            loaded = asyncio.run(load(hub, at_once, cells))
            proxy = [p for p in hub_procs.children() if p.name() == "node"]
            hub_rss = sum(p.memory_info().rss for p in [hub_procs, *proxy])
    return {
        "load_average_before": load_before, "load_average_after": psutil.getloadavg(),
        "baseline_one_trainee": baseline,
        "class_start": {"window_s": args.window, "seed": args.seed, **class_start},
        "concurrent": loaded,
        "slowdown_first_output_median": loaded["first_output_median_s"]
        / baseline["first_output_median_s"],
        "hub_and_proxy_rss_mib": hub_rss / 2**20, "leftover_processes": hub.leftovers,
    }


TABLE = [("server ready (median), s", "server_ready_median_s"),
         ("login -> first output p50, s", "first_output_median_s"),
         ("login -> first output p95, s", "first_output_p95_s"),
         ("module done (max), s", "module_done_max_s"),
         ("CPU-s per trainee", "cpu_s_per_trainee"),
         ("USS per trainee (median), MiB", "uss_per_trainee_mib"),
         ("PSS of the class / trainee, MiB", "class_pss_per_trainee_mib")]


def table(report: dict) -> str:
    """The figures side by side, one column per spawner and scenario."""
    spawners = list(report["spawners"])
    scenarios = [("alone", "baseline_one_trainee"), ("arriving", "class_start"),
                 ("at once", "concurrent")]
    head = [f"{sp}/{label}" for sp in spawners for label, _ in scenarios]
    lines = [" | ".join(["figure", *head])]
    for label, key in TABLE:
        row = [f"{report['spawners'][sp][sc][key]:.2f}" for sp in spawners for _, sc in scenarios]
        lines.append(" | ".join([label, *row]))
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--users", type=int, default=20)
    parser.add_argument("--window", type=float, default=60.0,
                        help="class start: trainees arrive over this many seconds")
    parser.add_argument("--seed", type=int, default=7, help="seed of the arrival times")
    parser.add_argument("--spawners", default="stock,zygote",
                        help="comma-separated, run in this order: stock, zygote")
    parser.add_argument("--module", type=Path, default=MODULE)
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args(argv)
    spawners = [s.strip() for s in args.spawners.split(",") if s.strip()]
    unknown = sorted(set(spawners) - {"stock", "zygote"})
    if unknown or not spawners:
        parser.error(f"--spawners: unknown {unknown}; use stock, zygote or both")
    cells = code_cells(args.module)
    names = [f"trainee{i:02d}" for i in range(2 * args.users + 1)]
    report = {
        "module": str(args.module.relative_to(ROOT)), "code_cells": len(cells),
        "cpus": psutil.cpu_count(), "users": args.users,
        "spawners": {sp: run_hub(sp, args, cells, names) for sp in spawners},
    }
    print(json.dumps(report, indent=2))
    print(table(report))
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(report, indent=2), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
