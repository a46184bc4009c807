"""A throwaway JupyterHub on 127.0.0.1 running deploy/jupyterhub_config.py, for trying the course
out and for the hub tests and load benchmark.

    .venv/bin/python deploy/localhub.py --instructor ina --trainee tom --trainee tia

Differences from a real installation, all in the small config written next to the hub's data:
anyone on the roster logs in with any password (JupyterHub's DummyAuthenticator), servers run as
the hub's own account with homes under the work directory (SimpleLocalProcessSpawner: no
isolation between people), and ports are random. Never expose it beyond this machine. Servers are
forks of the hub's zygote as on a real hub (deploy/zygote_spawner.py), unless `zygote=False` or
UPSTREAM_ZYGOTE=0.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psutil
import requests
import yaml

DEPLOY = Path(__file__).resolve().parent
JUPYTERHUB = Path(sys.executable).parent / "jupyterhub"
MARKER = "UPSTREAM_LOCALHUB"  # set in every process the hub starts, to find leftovers
ADMIN = "localhub-admin"

WRAPPER = """\
c = get_config()  # noqa
load_subconfig({main!r})
c.JupyterHub.authenticator_class = "dummy"
c.JupyterHub.spawner_class = {spawner!r}
c.HubZygote.environment = {{{marker!r}: {run_id!r}}}
c.SimpleLocalProcessSpawner.home_dir_template = {homes!r} + "/{{username}}"
c.JupyterHub.hub_bind_url = "http://127.0.0.1:{hub_port}"
c.ConfigurableHTTPProxy.api_url = "http://127.0.0.1:{proxy_port}"
c.Spawner.args = {args!r}
c.Spawner.start_timeout = {start_timeout}
c.Spawner.http_timeout = {start_timeout}
c.Spawner.environment[{marker!r}] = {run_id!r}
c.JupyterHub.services[0]["environment"][{marker!r}] = {run_id!r}
c.JupyterHub.services.append({{"name": {admin!r}, "api_token": {token!r}}})
c.JupyterHub.load_roles.append({{
    "name": {admin!r},
    "services": [{admin!r}],
    "scopes": ["admin:users", "admin:servers", "admin:server_state", "access:servers", "tokens",
               "list:services"],
}})
{extra_config}
"""


class HubError(RuntimeError):
    """The local hub did not start or did not answer; the message names its log."""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class LocalHub:
    """Start with `with LocalHub(workdir, ["ina"], ["tom"]) as hub: ...`; everything it
    started is stopped on exit (see `leftovers`)."""

    def __init__(self, workdir: Path, instructors: list[str], trainees: list[str],
                 course_id: str = "upstream", start_timeout: int = 120,
                 zygote: bool | None = None, extra_config: str = ""):
        self.workdir = Path(workdir)
        self.roster = {"course_id": course_id, "instructors": instructors, "trainees": trainees}
        self.course_id = course_id
        self.start_timeout = start_timeout  # seconds a server may take to start (busy machines)
        if zygote is None:
            zygote = os.environ.get("UPSTREAM_ZYGOTE", "1").strip().lower() not in (
                "0", "false", "no", "off")
        self.zygote = zygote
        self.extra_config = extra_config  # more lines for the hub's config (tests)
        self.port = free_port()
        self.service_port = free_port()
        self.hub_port, self.proxy_port = free_port(), free_port()  # the same after a restart
        self.url = f"http://127.0.0.1:{self.port}"
        self.token = secrets.token_hex(32)
        self.run_id = secrets.token_hex(8)
        self.homes = self.workdir / "homes"
        self.exchange = self.workdir / "exchange"
        self.grader_home = self.workdir / "grader"
        self.log_path = self.workdir / "jupyterhub.log"
        self.proc: subprocess.Popen | None = None
        self.leftovers: list[str] = []

    # --- lifecycle ------------------------------------------------------------------------
    def _write_config(self) -> Path:
        for d in (self.homes, self.grader_home / self.course_id):
            d.mkdir(parents=True, exist_ok=True)
        (self.workdir / "roster.yml").write_text(yaml.safe_dump(self.roster), encoding="utf-8")
        config = self.workdir / "jupyterhub_config.py"
        config.write_text(WRAPPER.format(
            main=str(DEPLOY / "jupyterhub_config.py"), homes=str(self.homes),
            hub_port=self.hub_port, proxy_port=self.proxy_port, marker=MARKER, run_id=self.run_id,
            args=["--allow-root"] if os.geteuid() == 0 else [], admin=ADMIN, token=self.token,
            start_timeout=self.start_timeout,
            spawner="zygote_spawner.ZygoteSimpleLocalProcessSpawner" if self.zygote else "simple",
            extra_config=self.extra_config,
        ), encoding="utf-8")
        return config

    def _environment(self) -> dict[str, str]:
        return {
            **os.environ,
            MARKER: self.run_id,
            "UPSTREAM_ROSTER": str(self.workdir / "roster.yml"),
            "UPSTREAM_DATA_DIR": str(self.workdir / "hub"),
            "UPSTREAM_EXCHANGE": str(self.exchange),
            "UPSTREAM_GRADER_HOME": str(self.grader_home),
            "UPSTREAM_GRADER_USER": "",
            "UPSTREAM_BIND_URL": self.url,
            "UPSTREAM_SERVICE_PORT": str(self.service_port),
            "UPSTREAM_ZYGOTE": "1" if self.zygote else "0",
        }

    def start(self, timeout: float = 90) -> LocalHub:
        if not (DEPLOY / "node_modules" / ".bin" / "configurable-http-proxy").exists():
            raise HubError(
                "configurable-http-proxy is not installed: run `npm ci --prefix deploy` "
                "(the version pinned in deploy/package-lock.json)"
            )
        config = self._write_config()
        log = self.log_path.open("ab")
        self.proc = subprocess.Popen(
            [str(JUPYTERHUB), "-f", str(config)], cwd=self.workdir, env=self._environment(),
            stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
        )
        log.close()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise HubError(f"jupyterhub exited with {self.proc.returncode}; see {self.log_path}")
            try:
                if requests.get(f"{self.url}/hub/api/", timeout=5).ok:
                    return self
            except requests.RequestException:
                pass
            time.sleep(0.3)
        self.stop()
        raise HubError(f"jupyterhub did not answer within {timeout:.0f}s; see {self.log_path}")

    def stop(self, timeout: float = 60) -> list[str]:
        """Stop the hub (which stops servers, services and the proxy), then kill anything it
        started that is still alive; those are listed in `self.leftovers`."""
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        # a kernel whose server has just shut it down may take a moment to exit: only what is
        # still alive after a grace period was really left behind
        _, survivors = psutil.wait_procs(self.processes(), timeout=15)
        self.leftovers = [" ".join(p.info["cmdline"] or [p.info["name"]]) for p in survivors]
        for proc in survivors:
            proc.kill()
        psutil.wait_procs(survivors, timeout=10)
        return self.leftovers

    def __enter__(self) -> LocalHub:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    def processes(self) -> list[psutil.Process]:
        """Every live process started by this hub (they all carry its marker)."""
        found = []
        for proc in psutil.process_iter(["pid", "name", "cmdline"]):
            try:
                if proc.environ().get(MARKER) == self.run_id:
                    found.append(proc)
            except (psutil.NoSuchProcess, psutil.AccessDenied, psutil.ZombieProcess):
                continue
        return found

    # --- using it -------------------------------------------------------------------------
    def api(self, method: str, path: str, **kwargs) -> requests.Response:
        """Call the hub's REST API as the admin service of this throwaway hub."""
        headers = {"Authorization": f"token {self.token}", **kwargs.pop("headers", {})}
        return requests.request(method, f"{self.url}/hub/api{path}", headers=headers,
                                timeout=kwargs.pop("timeout", 30), **kwargs)

    def login(self, username: str, password: str = "any") -> requests.Session:
        """Log in through the hub's login form, as a person would."""
        session = requests.Session()
        session.get(f"{self.url}/hub/login", timeout=30).raise_for_status()
        reply = session.post(
            f"{self.url}/hub/login?next=",
            data={"username": username, "password": password,
                  "_xsrf": session.cookies.get("_xsrf", path="/hub/")},
            allow_redirects=False, timeout=60,
        )
        if reply.status_code != 302 or "jupyterhub-session-id" not in session.cookies:
            raise HubError(f"login of {username!r} failed with HTTP {reply.status_code}")
        return session

    def start_server(self, *usernames: str, timeout: float = 120) -> list[str]:
        """Start users' servers through the API, all at once; their URLs once they answer."""
        for username in usernames:
            reply = self.api("POST", f"/users/{username}/server")
            if reply.status_code not in (201, 202, 400):  # 400: already running
                raise HubError(f"starting {username}'s server: HTTP {reply.status_code} {reply.text}")
        return [self.wait_for_server(name, timeout) for name in usernames]

    def wait_for_server(self, username: str, timeout: float = 120) -> str:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            model = self.api("GET", f"/users/{username}").json()
            server = model.get("servers", {}).get("", {})
            if server.get("ready"):
                return f"{self.url}{server['url']}"
            time.sleep(0.3)
        raise HubError(f"{username}'s server was not ready within {timeout:.0f}s; see {self.log_path}")

def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--instructor", action="append", default=[], metavar="NAME")
    parser.add_argument("--trainee", action="append", default=[], metavar="NAME")
    parser.add_argument("--course-id", default="upstream")
    args = parser.parse_args(argv)
    workdir = Path(tempfile.mkdtemp(prefix="upstream-localhub-"))
    hub = LocalHub(workdir, args.instructor or ["instructor"], args.trainee or ["trainee"],
                   args.course_id)
    with hub:
        print(f"JupyterHub at {hub.url} (any password); data in {workdir}. Ctrl-C stops it.")
        with contextlib.suppress(KeyboardInterrupt):
            hub.proc.wait()
    shutil.rmtree(workdir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
