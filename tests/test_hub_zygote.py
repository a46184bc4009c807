"""Trainees' servers as forks of the hub's zygote, and their kernels as forks of each server's
kernel zygote (course/server_zygote.py, course/kernel_zygote.py, deploy/zygote_spawner.py).

First the zygote on its own, as the hub's spawner drives it (HubZygote), forking plain JupyterLab
servers (``course.serve lab``) with environments the test chooses: exactly that environment and
nothing of the zygote's or another fork's, no descriptor of the zygote's, the trainee's account,
kernels that interrupt, restart and shut down, and go with their server. Then a real hub
(deploy/localhub.py, the zygote its default): each trainee their own fork with their own token, a
crash or a stop touches only that trainee, and servers outlive a hub restart.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import grp
import json
import os
import pwd
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
import pytest
import requests

from tests.helpers.hub import LocalHub, deploy_module
from tests.helpers.kernel_api import ServerKernel

pytestmark = [pytest.mark.hub, pytest.mark.slow, pytest.mark.xdist_group(name="hub")]

zygote_spawner = deploy_module("zygote_spawner")
upstream_hub = deploy_module("upstream_hub")

# What ipykernel, jupyter_client and debugpy (imported by ipykernel) put into every kernel's
# environment on top of the server's (a kernel the server starts with Popen gets the same).
KERNEL_ADDS = {"JPY_PARENT_PID", "JPY_SESSION_NAME", "TERM", "CLICOLOR", "CLICOLOR_FORCE",
               "FORCE_COLOR", "PAGER", "GIT_PAGER", "MPLBACKEND", "PYDEVD_USE_FRAME_EVAL"}
ZYGOTE_ONLY = "UPSTREAM_TEST_ZYGOTE_ONLY"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def gone(pid: int, timeout: float = 20) -> bool:
    """The process has ended (and been reaped) within ``timeout``."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if psutil.Process(pid).status() == psutil.STATUS_ZOMBIE:
                time.sleep(0.1)
                continue
        except psutil.NoSuchProcess:
            return True
        time.sleep(0.1)
    return False


def end(pid: int) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGTERM)
    if not gone(pid, 15):
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)


class Lab:
    """A JupyterLab forked from the zygote, reached with its own token."""

    def __init__(self, zygote, home: Path, env_extra: dict[str, str], identity: dict | None = None,
                 wait: bool = True):
        home.mkdir(parents=True, exist_ok=True)
        self.token, port = secrets.token_hex(16), free_port()
        self.base = f"http://127.0.0.1:{port}"
        self.env = {
            "PATH": os.environ["PATH"], "HOME": str(home), "LANG": "C.UTF-8",
            "JUPYTER_CONFIG_PATH": os.pathsep.join([str(upstream_hub.TRAINEE_CONFIG),
                                                    str(upstream_hub.COMMON_CONFIG)]),
            **env_extra,
        }
        argv = ["lab", f"--port={port}", f"--IdentityProvider.token={self.token}",
                "--no-browser", f"--ServerApp.root_dir={home}"]
        if os.geteuid() == 0:
            argv.append("--allow-root")
        request = {"argv": argv, "name": "test", "home": str(home), "make_home": False,
                   "uid": None, "as_hub_user": True, **(identity or {})}
        self.reply = run_apart(zygote.fork(request, self.env))
        self.pid = self.reply["pid"]
        if wait:
            self.wait_up()

    def wait_up(self, timeout: float = 90) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with contextlib.suppress(requests.RequestException):
                if requests.get(f"{self.base}/api/status", headers=self.headers, timeout=5).ok:
                    return
            if gone(self.pid, 0.01):
                raise AssertionError(f"the forked server {self.pid} ended")
            time.sleep(0.2)
        raise AssertionError(f"the forked server {self.pid} did not answer in {timeout:.0f}s")

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"token {self.token}"}

    def kernel(self) -> ServerKernel:
        kernel = ServerKernel(self.base, self.token)
        kernel.wait_ready()
        return kernel


def run_apart(coroutine):
    """``asyncio.run`` in a thread of its own: a test that ran before in this pytest worker may
    have left this thread's event loop marked as running (asyncio.run then refuses)."""
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, coroutine).result()


@pytest.fixture(scope="module")
def zygote():
    running = zygote_spawner.HubZygote(environment={ZYGOTE_ONLY: "zygote-" + secrets.token_hex(8)})
    hello = run_apart(running.ready())
    assert hello["ready"] and hello["not_preloaded"] == [], hello
    running.forked: list[int] = []
    yield running
    for pid in running.forked:
        end(pid)
    running.close()
    # With the hub gone and its servers ended, the zygote ends too.
    try:
        running.proc.wait(30)
    finally:
        if running.proc.poll() is None:
            running.proc.kill()
    assert running.proc.returncode == 0


@pytest.fixture
def lab(zygote, tmp_path):
    def make(name: str, env_extra: dict[str, str] | None = None, **kwargs) -> Lab:
        made = Lab(zygote, tmp_path / name, env_extra or {}, **kwargs)
        zygote.forked.append(made.pid)
        return made
    return make


def descendants(pid: int) -> list[psutil.Process]:
    return psutil.Process(pid).children(recursive=True)


# --- the zygote on its own ----------------------------------------------------------------------
def test_a_fork_has_exactly_its_environment_and_nothing_of_the_zygotes_or_another_forks(zygote,
                                                                                       lab):
    alpha = lab("alpha", {"UPSTREAM_TEST_SECRET": "alpha-" + secrets.token_hex(16)})
    beta = lab("beta", {"UPSTREAM_TEST_SECRET": "beta-" + secrets.token_hex(16)})
    seen = alpha.kernel().value("dict(__import__('os').environ)")
    # the kernel gets the server's environment (plus what every kernel gets): the server has
    # exactly what was asked for, not one variable more or less, not one value different
    assert {k: v for k, v in seen.items() if k not in KERNEL_ADDS} == alpha.env
    # nothing of one fork's in the other's, in both directions: the later fork (beta) would
    # show a leak forward from the earlier one (alpha), the earlier one a leak backward
    later = beta.kernel().value("dict(__import__('os').environ)")
    assert {k: v for k, v in later.items() if k not in KERNEL_ADDS} == beta.env
    assert not any(alpha.env["UPSTREAM_TEST_SECRET"] in v for v in later.values())
    assert not any(beta.env["UPSTREAM_TEST_SECRET"] in v for v in seen.values())
    assert ZYGOTE_ONLY not in seen and "OPENBLAS_NUM_THREADS" not in seen
    assert seen["HOME"] == alpha.env["HOME"] != beta.env["HOME"]
    # what the preloaded modules read from the environment when the zygote imported them is
    # set again from the fork's own: the kernel ends with the process that forked it
    kernel = alpha.kernel()
    assert kernel.value("__import__('ipykernel.kernelapp').kernelapp.IPKernelApp.instance()"
                        ".parent_handle == __import__('os').getppid()")


def test_no_descriptor_of_the_zygote_reaches_a_fork(zygote, lab):
    served = lab("fds")
    served.kernel()

    def sockets(pid: int) -> set[str]:
        links = set()
        for fd in os.listdir(f"/proc/{pid}/fd"):
            with contextlib.suppress(OSError):
                links.add(os.readlink(f"/proc/{pid}/fd/{fd}"))
        return {link for link in links if link.startswith("socket:")}

    theirs = sockets(zygote.proc.pid)
    assert theirs, "the zygote holds its socket to the hub"
    processes = [psutil.Process(served.pid), *descendants(served.pid)]
    assert [p.name() for p in processes] == ["srv-test", "kernel-zygote", "kernel"]
    for proc in processes:
        assert not sockets(proc.pid) & theirs, f"{proc.name()} holds the zygote's socket"


def test_a_forked_kernel_interrupts_restarts_and_shuts_down(lab):
    served = lab("kernel")
    kernel = served.kernel()
    server = psutil.Process(served.pid)
    pid = kernel.value("__import__('os').getpid()")
    proc = psutil.Process(pid)
    assert proc.parent().name() == "kernel-zygote" and proc.parent().parent().pid == server.pid
    assert os.getpgid(pid) == pid  # its own group: interrupts reach it and what it starts

    running = kernel.send("import time\nx = 1\ntime.sleep(120)")
    time.sleep(1)
    kernel.interrupt()
    assert kernel.collect(running, 20)["error"] == "KeyboardInterrupt"
    assert kernel.value("x") == 1  # the same kernel, interrupted, not restarted

    kernel.restart()
    kernel.wait_ready()
    assert gone(pid)
    again = kernel.value("__import__('os').getpid()")
    assert again != pid and psutil.Process(again).parent().name() == "kernel-zygote"
    assert kernel.run("x")["error"] == "NameError"  # a fresh namespace
    assert kernel.value("__import__('pandas').DataFrame({'a': [1, 2]}).a.sum().item()") == 3

    kernel.shutdown()
    assert gone(again)


def test_kernels_go_with_their_server_and_no_other(lab):
    doomed, other = lab("doomed"), lab("other")
    doomed_kernel = doomed.kernel().value("__import__('os').getpid()")
    other_kernel = other.kernel()
    family = [p.pid for p in descendants(doomed.pid)]
    os.kill(doomed.pid, signal.SIGKILL)
    assert gone(doomed.pid) and all(gone(p) for p in family) and doomed_kernel in family
    assert other_kernel.value("1 + 1") == 2
    assert requests.get(f"{other.base}/api/status", headers=other.headers, timeout=10).ok


def test_what_the_server_derives_from_home_is_the_trainees_not_the_zygotes(zygote, lab):
    """The zygote imported JupyterLab and send2trash with a HOME of its own: a fork's settings,
    workspaces and trash are under the fork's HOME."""
    served = lab("homely")
    home = Path(served.env["HOME"])
    assert zygote.home and not str(home).startswith(zygote.home)
    theme = {"raw": json.dumps({"theme": "JupyterLab Dark"})}
    url = f"{served.base}/lab/api/settings/@jupyterlab/apputils-extension:themes"
    assert requests.put(url, json=theme, headers=served.headers, timeout=30).status_code == 204
    assert (home / ".jupyter/lab/user-settings/@jupyterlab/apputils-extension"
            / "themes.jupyterlab-settings").is_file()
    space = {"data": {}, "metadata": {"id": "mine"}}
    url = f"{served.base}/lab/api/workspaces/mine"
    assert requests.put(url, json=space, headers=served.headers, timeout=30).status_code == 204
    assert list((home / ".jupyter/lab/workspaces").glob("mine*.jupyterlab-workspace"))
    # deleting a file in the file browser moves it to the trainee's trash
    (home / "gone.txt").write_text("bye")
    url = f"{served.base}/api/contents/gone.txt"
    assert requests.delete(url, headers=served.headers, timeout=30).status_code == 204
    assert (home / ".local/share/Trash/files/gone.txt").read_text() == "bye"
    assert not list(Path(zygote.home).iterdir()), "the zygote's home stays empty"


def test_nothing_preloaded_keeps_the_zygotes_home(tmp_path):
    """Import the zygote's modules with HOME=A, take a fork's environment with HOME=B: no
    module global or trait default of anything imported still names A."""
    home_a, home_b = tmp_path / "zygote-home", tmp_path / "fork-home"
    home_a.mkdir()
    home_b.mkdir()
    repo = Path(__file__).resolve().parent.parent
    env = {"PATH": os.environ["PATH"], "HOME": str(home_a), "LANG": "C.UTF-8",
           "PYTHONPATH": str(repo)}
    done = subprocess.run([sys.executable, str(repo / "tests/helpers/home_scan.py"), str(home_b)],
                          env=env, cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout.splitlines()[-1]) == []
    assert not any(home_a.iterdir()), "importing wrote into the zygote's home"


def test_a_fork_that_cannot_become_the_trainee_says_why_and_the_zygote_goes_on(zygote, lab):
    with pytest.raises(zygote_spawner.ZygoteError, match="(?s)could not fork.*FileNotFoundError"):
        run_apart(zygote.fork({"argv": [], "uid": None, "name": "x", "make_home": True,
                               "as_hub_user": True, "home": "/proc/self/no/such/home"},
                              {"PATH": "/bin"}))
    assert zygote.proc.poll() is None
    assert lab("after").kernel().value("'forked'") == "forked"


def test_a_root_zygote_refuses_a_fork_without_a_uid_unless_told_it_runs_as_the_hub(zygote):
    if os.geteuid() != 0:
        pytest.skip("the zygote is root only when the tests are")
    with pytest.raises(zygote_spawner.ZygoteError, match="as_hub_user"):
        run_apart(zygote.fork({"argv": [], "uid": None, "name": "x", "home": "/tmp"},
                              {"PATH": "/bin"}))
    assert zygote.proc.poll() is None


def test_a_pid_that_is_no_longer_the_forked_server_is_neither_polled_nor_signalled():
    """The zygote reaps a server at once, so its pid may be reused: a spawner whose recorded
    start time does not match the pid's reports the server as stopped and signals nothing."""
    sleeper = subprocess.Popen(["sleep", "60"])
    try:
        started = zygote_spawner._started(sleeper.pid)
        user = type("User", (), {"name": "nobody", "url": "/user/nobody/"})()
        spawner = zygote_spawner.ZygoteLocalProcessSpawner(user=user)
        spawner.load_state({"pid": sleeper.pid, "pid_started": started + 1})
        assert run_apart(spawner.poll()) == 0 and spawner.get_state() == {}
        spawner.load_state({"pid": sleeper.pid, "pid_started": started + 1})
        run_apart(spawner.stop(now=True))
        assert sleeper.poll() is None, "the other process was signalled"
        # the same pid and start time: the server, running, stopped
        spawner.load_state({"pid": sleeper.pid, "pid_started": started})
        assert spawner.get_state()["pid_started"] == started
        assert run_apart(spawner.poll()) is None
        run_apart(spawner.stop(now=True))
        assert sleeper.wait(10) == -signal.SIGTERM
    finally:
        sleeper.kill()
        sleeper.wait()


def test_the_server_matches_the_kernel_zygotes_answers_to_its_requests_and_start_times():
    from course import kernel_zygote

    ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    with ours, theirs:
        client = kernel_zygote.Client(ours, os.getpid())
        theirs.send(json.dumps({"id": 0, "error": "a request given up on"}).encode())
        theirs.send(json.dumps({"id": 1, "pid": 12345, "started": 7}).encode())
        assert run_apart(client.fork(["-f", "x"], {}, "/")) == (12345, 7)
        assert json.loads(theirs.recv(1 << 16))["id"] == 1
    sleeper = subprocess.Popen(["sleep", "60"])
    try:
        started = zygote_spawner._started(sleeper.pid)
        other = kernel_zygote.ForkedProcess(sleeper.pid, started + 1)  # pid reused since
        assert other.reused() and other.poll() == 0
        other.kill_group()
        assert sleeper.poll() is None
        assert kernel_zygote.ForkedProcess(sleeper.pid, started).poll() is None
    finally:
        sleeper.kill()
        sleeper.wait()


# --- the trainee's account ----------------------------------------------------------------------
@pytest.fixture(scope="module")
def accounts():
    """Two throwaway system accounts, the first also in a throwaway group."""
    if os.geteuid() != 0:
        pytest.skip("creating accounts and dropping privileges needs root")
    tag = secrets.token_hex(3)
    group, names = f"upzt-g{tag}", [f"upzt-a{tag}", f"upzt-b{tag}"]
    subprocess.run(["groupadd", "--system", group], check=True, capture_output=True)
    try:
        for name in names:
            subprocess.run(["useradd", "--system", "--no-create-home", "--shell",
                            "/usr/sbin/nologin", "--user-group", name], check=True,
                           capture_output=True)
        subprocess.run(["usermod", "-a", "-G", group, names[0]], check=True, capture_output=True)
        yield [pwd.getpwnam(n) for n in names], grp.getgrnam(group)
    finally:
        for name in names:
            subprocess.run(["userdel", name], check=False, capture_output=True)
        subprocess.run(["groupdel", group], check=False, capture_output=True)


def test_drop_privileges_leaves_nothing_of_root(accounts, tmp_path):
    from course.server_zygote import drop_privileges

    (user, _), extra = accounts
    secret = tmp_path / "root-only"
    secret.write_text("x")
    secret.chmod(0o600)
    groups = os.getgrouplist(user.pw_name, user.pw_gid)
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - child
        seen = {}
        try:
            drop_privileges(user.pw_uid, user.pw_gid, groups)
            seen["ids"] = [os.getresuid(), os.getresgid(), sorted(os.getgroups())]
            try:
                secret.read_text()
                seen["read"] = True
            except PermissionError:
                seen["read"] = False
            try:
                os.setuid(0)
                seen["root_again"] = True
            except PermissionError:
                seen["root_again"] = False
        except BaseException as exc:  # noqa: BLE001
            seen["error"] = repr(exc)
        os.write(w, json.dumps(seen).encode())
        os._exit(0)
    os.close(w)
    seen = json.loads(os.read(r, 65536))
    os.waitpid(pid, 0)
    uid, gid = user.pw_uid, user.pw_gid
    assert seen.get("ids") == [[uid] * 3, [gid] * 3, sorted(groups)], seen
    assert extra.gr_gid in seen["ids"][2]
    assert seen["read"] is False and seen["root_again"] is False


def test_the_zygote_forks_each_trainee_as_their_own_account(zygote, accounts):
    (first, second), extra = accounts
    for user in (first, second):
        home = Path(tempfile.mkdtemp(prefix=f"{user.pw_name}-"))  # /tmp: others may enter
        home.chmod(0o755)
        os.chown(home, user.pw_uid, user.pw_gid)
        groups = os.getgrouplist(user.pw_name, user.pw_gid)
        forked = Lab(zygote, home, {}, wait=False, identity={
            "uid": user.pw_uid, "gid": user.pw_gid, "groups": groups, "home": str(home)})
        zygote.forked.append(forked.pid)
        reply = forked.reply
        assert (reply["uid"], reply["euid"], reply["gid"]) == (user.pw_uid,) * 2 + (user.pw_gid,)
        assert reply["groups"] == sorted(groups) and reply["cwd"] == str(home)
        assert (extra.gr_gid in reply["groups"]) == (user is first)
        assert reply["dumpable"] is False  # made so before the drop, and kept
        with contextlib.suppress(psutil.NoSuchProcess):  # it may already have failed: this
            assert psutil.Process(forked.pid).uids().real == user.pw_uid  # machine's Python
        end(forked.pid)                                    # is not readable by other accounts
        shutil.rmtree(home, ignore_errors=True)


# --- on a real hub ------------------------------------------------------------------------------
FAST_POLL = "c.Spawner.poll_interval = 2\nc.Spawner.poll_jitter = 0\n"


@pytest.fixture(scope="module")
def hub(tmp_path_factory):
    running = LocalHub(tmp_path_factory.mktemp("zhub"), instructors=["ina"],
                       trainees=["tom", "tia", "tao"], zygote=True, extra_config=FAST_POLL)
    with running:
        running.start_server("tom", "tia", "tao")
        yield running
    assert running.leftovers == [], f"processes left after the hub stopped: {running.leftovers}"


def server_pid(hub: LocalHub, name: str) -> int:
    state = hub.api("GET", f"/users/{name}").json()["servers"][""]["state"]
    return int(state["pid"])


def kernel_of(hub: LocalHub, name: str) -> ServerKernel:
    kernel = ServerKernel(f"{hub.url}/user/{name}", hub.token)  # the admin service may
    kernel.wait_ready()                                          # reach every server
    return kernel


def test_each_trainee_is_a_fork_with_their_own_identity(hub, tmp_path):
    tom, tia = server_pid(hub, "tom"), server_pid(hub, "tia")
    assert tom != tia
    zygote = psutil.Process(tom).parent()
    assert zygote.name() == "upstream-zygote" and zygote.parent().pid == hub.proc.pid
    assert psutil.Process(tia).parent().pid == zygote.pid

    seen = kernel_of(hub, "tom").value("dict(__import__('os').environ)")
    theirs = kernel_of(hub, "tia").value("dict(__import__('os').environ)")
    assert seen["JUPYTERHUB_USER"] == "tom" and seen["HOME"] == str(hub.homes / "tom")
    assert seen["JUPYTERHUB_API_TOKEN"] != theirs["JUPYTERHUB_API_TOKEN"]
    # neither has the other's token, checked both ways: whichever was forked later would show a
    # leak forward from the earlier one, the earlier one a leak backward
    assert not any(seen["JUPYTERHUB_API_TOKEN"] in v for v in theirs.values())
    assert not any(theirs["JUPYTERHUB_API_TOKEN"] in v for v in seen.values())
    assert "OPENBLAS_NUM_THREADS" not in seen and seen.get("UPSTREAM_ROSTER") is None
    # the server's token is tom's server's, as the hub gave it
    who = requests.get(f"{hub.url}/hub/api/user", timeout=30,
                       headers={"Authorization": f"token {seen['JUPYTERHUB_API_TOKEN']}"}).json()
    assert who["name"] == "tom"

    # and the same variables as a server the stock spawner starts, with the same values where
    # they do not name this hub, its ports or this spawn
    with LocalHub(tmp_path / "stock", instructors=["ina"], trainees=["tom"], zygote=False) as stock:
        stock.start_server("tom")
        assert psutil.Process(server_pid(stock, "tom")).parent().pid == stock.proc.pid
        plain = kernel_of(stock, "tom").value("dict(__import__('os').environ)")
    assert stock.leftovers == []
    assert sorted(seen) == sorted(plain), (set(seen) ^ set(plain))
    per_hub = {k for k in seen if k.startswith(("JUPYTERHUB_", "JPY_")) or k in (
        "HOME", "UPSTREAM_EXCHANGE", "UPSTREAM_LOCALHUB")}
    assert {k: v for k, v in seen.items() if k not in per_hub} == \
        {k: v for k, v in plain.items() if k not in per_hub}


def test_a_crashed_server_leaves_the_others_running(hub):
    tom = server_pid(hub, "tom")
    family = [p.pid for p in descendants(tom)]
    os.kill(tom, signal.SIGSEGV)
    assert gone(tom) and all(gone(p) for p in family)
    assert kernel_of(hub, "tia").value("6 * 7") == 42
    deadline = time.monotonic() + 60  # the hub finds out by polling, and forgets the server
    while hub.api("GET", "/users/tom").json()["servers"] and time.monotonic() < deadline:
        time.sleep(0.5)
    assert not hub.api("GET", "/users/tom").json()["servers"]
    hub.start_server("tom")  # and tom starts again, a fork again
    assert psutil.Process(server_pid(hub, "tom")).parent().name() == "upstream-zygote"
    assert kernel_of(hub, "tom").value("1") == 1


def test_stopping_a_server_stops_only_it(hub):
    tia, tao = server_pid(hub, "tia"), server_pid(hub, "tao")
    kernel_of(hub, "tia")
    family = [p.pid for p in descendants(tia)]
    zygote = psutil.Process(tia).parent().pid
    names = sorted(p.name() for p in descendants(tia))
    assert names[-1] == "kernel-zygote" and set(names[:-1]) == {"kernel"}, names
    assert hub.api("DELETE", "/users/tia/server").status_code in (202, 204)
    assert gone(tia) and all(gone(p) for p in family)
    assert psutil.pid_exists(tao) and psutil.pid_exists(zygote)
    assert kernel_of(hub, "tao").value("2 + 2") == 4


def test_servers_outlive_a_hub_restart(tmp_path):
    hub = LocalHub(tmp_path / "hub", instructors=["ina"], trainees=["tom"], zygote=True,
                   extra_config="c.JupyterHub.cleanup_servers = False\n")
    with hub:
        hub.start_server("tom")
        tom = server_pid(hub, "tom")
        old_zygote = psutil.Process(tom).parent()
        hub.proc.send_signal(signal.SIGTERM)  # the hub alone: as when it is upgraded
        hub.proc.wait(60)
        assert psutil.pid_exists(tom) and old_zygote.is_running()
        hub.start()
        hub.wait_for_server("tom", timeout=60)
        assert server_pid(hub, "tom") == tom
        assert kernel_of(hub, "tom").value("'still here'") == "still here"
        assert hub.api("DELETE", "/users/tom/server").status_code in (202, 204)
        assert gone(tom)
        old_zygote.wait(30)  # its last server gone, the old hub's zygote ends
    assert hub.leftovers == []


def test_a_killed_zygote_leaves_its_servers_running_and_a_new_one_forks_the_next(tmp_path):
    with LocalHub(tmp_path / "hub", instructors=["ina"], trainees=["tom", "tia"],
                  extra_config="c.HubZygote.relaunch_after = 0\n") as hub:
        hub.start_server("tom")
        tom = server_pid(hub, "tom")
        first = psutil.Process(tom).parent()
        first.kill()
        deadline = time.monotonic() + 10  # a zombie until the hub, its parent, looks at it
        while first.is_running() and first.status() != psutil.STATUS_ZOMBIE:
            assert time.monotonic() < deadline
            time.sleep(0.1)
        assert kernel_of(hub, "tom").value("'running'") == "running"
        hub.start_server("tia")
        second = psutil.Process(server_pid(hub, "tia")).parent()
        assert second.name() == "upstream-zygote" and second.pid != first.pid
        assert kernel_of(hub, "tia").value("'forked'") == "forked"
        assert hub.api("DELETE", "/users/tom/server").status_code in (202, 204)
        assert gone(tom)  # stopped by pid, though no zygote of this hub is its parent
    assert "The server zygote exited with -9; starting a new one" in hub.log_path.read_text()
    assert hub.leftovers == []


def test_the_hub_starts_servers_the_stock_way_when_told(tmp_path, monkeypatch):
    monkeypatch.setenv("UPSTREAM_ZYGOTE", "0")
    with LocalHub(tmp_path / "hub", instructors=["ina"], trainees=["tom"]) as hub:
        assert not hub.zygote
        hub.start_server("tom")
        server = psutil.Process(server_pid(hub, "tom"))
        assert server.parent().pid == hub.proc.pid and "course.serve" in server.cmdline()
        assert not [p for p in hub.processes() if p.name() == "upstream-zygote"]
    assert hub.leftovers == []


def test_a_server_the_zygote_cannot_fork_is_started_the_stock_way(tmp_path):
    extra = 'c.Spawner.environment["PYTHONWARNINGS"] = "default"\n'
    with LocalHub(tmp_path / "hub", instructors=["ina"], trainees=["tom"],
                  extra_config=extra) as hub:
        hub.start_server("tom")
        server = psutil.Process(server_pid(hub, "tom"))
        assert server.parent().pid == hub.proc.pid  # Popen'd, not forked
    log = hub.log_path.read_text()
    assert "not forked from the server zygote: its environment sets PYTHONWARNINGS" in log
    assert hub.leftovers == []


def test_servers_start_the_stock_way_when_the_zygote_cannot_start(tmp_path):
    broken = 'c.HubZygote.environment["PYTHONHOME"] = "/nonexistent"\n'  # it cannot even start
    with LocalHub(tmp_path / "hub", instructors=["ina"], trainees=["tom", "tia"],
                  extra_config=broken) as hub:
        hub.start_server("tom", "tia")
        for name in ("tom", "tia"):
            assert psutil.Process(server_pid(hub, name)).parent().pid == hub.proc.pid
        assert kernel_of(hub, "tom").value("'stock'") == "stock"
    log = hub.log_path.read_text()
    assert "Starting tom the stock way, not forked from the server zygote: the server zygote" \
        " exited with" in log
    assert hub.leftovers == []


if __name__ == "__main__":
    sys.exit(pytest.main([__file__, "-v"]))
