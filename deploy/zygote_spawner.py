"""Trainees' servers as forks of one warmed process (``course.server_zygote``), on the hub's side.

``ZygoteLocalProcessSpawner`` is JupyterHub's LocalProcessSpawner (PAM accounts, a hub run as
root) and ``ZygoteSimpleLocalProcessSpawner`` its SimpleLocalProcessSpawner (deploy/localhub.py),
except for how a server starts: instead of a new interpreter (Popen of ``python -m course.serve``),
the hub asks its zygote, a process that has already imported the servers' and kernels' code, to
fork one. The fork becomes the trainee (uid, gid, groups and home, as LocalProcessSpawner's
``set_user_setuid`` makes them), takes exactly the environment ``get_env()`` computed and runs
``course.serve`` with the same arguments. ``poll`` and ``stop`` are LocalProcessSpawner's, by pid
(signals reach a process that is not the hub's child; the zygote reaps it), except that the
server's start time, recorded at the fork, must still match the pid's: once the zygote has reaped
a server its pid may be another process's, which is then neither reported running nor signalled.
The pid and start time are kept in the spawner's state, so servers outlive a hub restart as before (the zygote that forked them
stays until the last one ends).

The zygote (``HubZygote``) is started once per hub, with a clean environment (none of the hub's
variables: every server is a fork of it), as soon as the hub has read its configuration
(``start_with_hub``) or else at the first spawn. A server whose command is not ``<the servers'
python> -m course.serve``, whose environment sets interpreter start-up variables (PYTHON*, other
than PYTHONPATH), or that the zygote cannot fork (it did not start, or died) is started the stock
way, with a log line saying why.

Turn it off with ``UPSTREAM_ZYGOTE=0`` in the hub's environment (deploy/jupyterhub_config.py then
uses the stock spawner) or by setting ``c.JupyterHub.spawner_class`` yourself.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import pwd
import select
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from jupyterhub.spawner import LocalProcessSpawner, SimpleLocalProcessSpawner
from jupyterhub.utils import random_port
from traitlets import Dict, Integer, Unicode, default
from traitlets.config import LoggingConfigurable

sys.path.insert(0, str(Path(__file__).resolve().parent))
import upstream_hub  # noqa: E402 (this directory is not a package)

SERVE = ["-m", "course.serve"]
# What the zygote inherits of the hub's environment: nothing secret, and what makes its start-up
# (and so every fork's) the one a server started by Popen would have.
ZYGOTE_ENV_KEEP = ("LANG", "LC_ALL", "LC_CTYPE", "TZ")


# Read once, when an interpreter starts or the zygote imports a module, so a fork cannot honour
# them: the same list as course.forking.READ_AT_IMPORT (PYTHONPATH the fork applies).
READ_AT_IMPORT = {"JUPYTERHUB_SINGLEUSER_APP", "JUPYTERHUB_SINGLEUSER_EXTENSION",
                  "IPYTHON_SUPPRESS_CONFIG_ERRORS", "PANDAS_FUTURE"}


READ_AT_IMPORT_PREFIXES = ("PYTHON", "PYDEVD_")


def startup_mismatch(env: dict[str, str]) -> list[str]:
    """The variables of ``env`` a forked server could not honour (empty: forking is exact)."""
    return sorted(k for k in env if k in READ_AT_IMPORT
                  or (k.startswith(READ_AT_IMPORT_PREFIXES) and k != "PYTHONPATH"))


class ZygoteError(RuntimeError):
    """The zygote did not start, did not answer, or could not fork this server."""


class HubZygote(LoggingConfigurable):
    """The hub's end of ``python -m course.server_zygote``: one per hub, shared by its spawners."""

    python = Unicode(
        help="The interpreter the zygote runs (the servers' environment: the same as the "
             "spawners' command, or servers are started the stock way)").tag(config=True)
    environment = Dict(
        help="Extra variables for the zygote, which every server is forked from: never put "
             "anything secret here").tag(config=True)
    start_timeout = Integer(
        120, help="Seconds the zygote may take to import the servers' code").tag(config=True)
    relaunch_after = Integer(
        60, help="A zygote that ends later than this many seconds after it started (killed, "
                 "say, by the out-of-memory killer) is replaced by a new one at the next spawn; "
                 "one that ends sooner is broken, and servers are then started the stock way"
    ).tag(config=True)

    @default("python")
    def _default_python(self):
        return str(upstream_hub.server_bin() / "python")

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.proc: subprocess.Popen | None = None
        self.sock: socket.socket | None = None
        self.hello: dict | None = None
        self.failed: str = ""
        self.launched_at = 0.0
        self._lock = threading.Lock()
        self._ready: asyncio.Future | None = None
        self._next_id = 0
        self.home: str | None = None

    def zygote_home(self) -> str:
        """The zygote's HOME: an empty folder of its own, only its user's (root's, on a real
        hub). What the preloaded modules derive from HOME is computed again in each fork from
        the trainee's; this is only so that nothing the zygote might write lands anywhere shared."""
        if self.home is None or not os.path.isdir(self.home):
            self.home = tempfile.mkdtemp(prefix="upstream-zygote-home-")  # mode 0700
        return self.home

    def clean_environment(self) -> dict[str, str]:
        bin_dir = str(Path(self.python).parent)
        env = {"PATH": f"{bin_dir}:/usr/local/bin:/usr/bin:/bin", "HOME": self.zygote_home(),
               "LANG": "C.UTF-8"}
        env.update({k: os.environ[k] for k in ZYGOTE_ENV_KEEP if k in os.environ})
        env.update({str(k): str(v) for k, v in self.environment.items()})
        return env

    def launch(self) -> None:
        """Start the process (it then imports for a few seconds); see ``ready``."""
        if self.proc is not None:
            return
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        try:
            self.proc = subprocess.Popen(
                [self.python, "-m", "course.server_zygote", "--control-fd", str(theirs.fileno())],
                pass_fds=(theirs.fileno(),), env=self.clean_environment(), cwd="/",
                stdin=subprocess.DEVNULL, start_new_session=True,
            )
        except OSError as exc:
            ours.close()
            self.failed = f"could not run {self.python}: {exc}"
            self.proc = None
            raise ZygoteError(self.failed) from exc
        finally:
            theirs.close()
        self.sock = ours
        self.launched_at = time.monotonic()
        self.log.info("Starting the server zygote (pid %s): trainees' servers are forks of it",
                      self.proc.pid)

    def _wait_hello(self) -> dict:
        ready, _, _ = select.select([self.sock], [], [], self.start_timeout)
        msg = self.sock.recv(1 << 16) if ready else b""
        hello = json.loads(msg or b"{}")
        if not hello.get("ready"):
            code = self.proc.poll()
            raise ZygoteError("the server zygote " + (
                f"exited with {code}" if code is not None
                else f"did not start within {self.start_timeout} s"))
        return hello

    async def ready(self) -> dict:
        """The zygote's greeting once it has imported everything; ZygoteError if it cannot."""
        if self.failed:
            raise ZygoteError(self.failed)
        if self.hello is not None:
            if self.proc.poll() is None:
                return self.hello
            code = self.proc.returncode
            if time.monotonic() - self.launched_at < self.relaunch_after:
                self.failed = f"the server zygote exited with {code} soon after it started"
                self.close()
                raise ZygoteError(self.failed)
            # Killed, say, by the out-of-memory killer: its servers run on; a new one forks
            # the next ones.
            self.log.warning("The server zygote exited with %s; starting a new one", code)
            self.close()
            self.proc, self.hello, self._ready = None, None, None
        if self._ready is None:
            self.launch()
            self._ready = asyncio.ensure_future(asyncio.to_thread(self._wait_hello))
        try:
            self.hello = await asyncio.shield(self._ready)
        except Exception as exc:
            self.failed = str(exc)
            self.close()
            raise ZygoteError(self.failed) from exc
        if self.hello.get("not_preloaded"):
            self.log.warning("The server zygote could not import %s (they load in each server)",
                             ", ".join(self.hello["not_preloaded"]))
        self.log.info("The server zygote (pid %s) is ready", self.proc.pid)
        return self.hello

    def _fork(self, request: dict, env: dict[str, str], timeout: float) -> dict:
        with self._lock:
            if self.sock is None:
                raise ZygoteError("the server zygote is not running")
            self._next_id += 1
            ask = self._next_id
            env_r, env_w = os.pipe()
            try:
                socket.send_fds(self.sock, [json.dumps({"op": "fork", "id": ask,
                                                        **request}).encode()], [env_r])
            except OSError as exc:
                os.close(env_w)
                raise ZygoteError(f"the server zygote is gone ({exc})") from exc
            finally:
                os.close(env_r)
            try:  # read by the fork, never by the zygote (it holds no trainee's token)
                _write_all(env_w, json.dumps(env).encode(), timeout)
            except (OSError, TimeoutError):
                pass  # the fork died before it read it: its report says why
            finally:
                os.close(env_w)
            reply = self._reply(ask, time.monotonic() + timeout)
        if "error" in reply or "pid" not in reply:
            raise ZygoteError(f"the server zygote could not fork it: {reply.get('error')}")
        return reply

    def _reply(self, ask: int, deadline: float) -> dict:
        """The answer to request ``ask``: one to an earlier request that timed out here is
        stale and dropped (its fork was killed by the zygote, or runs unknown: see the log)."""
        while True:
            ready, _, _ = select.select([self.sock], [], [], max(0.0, deadline - time.monotonic()))
            if not ready:
                raise ZygoteError("the server zygote did not answer in time")
            msg = self.sock.recv(1 << 16)
            if not msg:
                raise ZygoteError("the server zygote is gone")
            reply = json.loads(msg)
            if reply.get("id") == ask:
                return reply
            self.log.warning("The server zygote answered a request the hub gave up on: %s", reply)

    async def fork(self, request: dict, env: dict[str, str], timeout: float = 90) -> dict:
        await self.ready()
        return await asyncio.to_thread(self._fork, request, env, timeout)

    def close(self) -> None:
        """Let the zygote go (it ends once the servers it forked have ended)."""
        if self.sock is not None:
            self.sock.close()
            self.sock = None
        if self.home is not None:
            with contextlib.suppress(OSError):
                os.rmdir(self.home)  # empty, unless something wrote there despite all
            self.home = None


def _write_all(fd: int, data: bytes, timeout: float) -> None:
    end = time.monotonic() + timeout
    view = memoryview(data)
    while view:
        _, ready, _ = select.select([], [fd], [], max(0.0, end - time.monotonic()))
        if not ready:
            raise TimeoutError
        view = view[os.write(fd, view[:65536]):]


_SHARED: HubZygote | None = None


def shared_zygote(config=None, log=None) -> HubZygote:
    """The hub's one zygote, made (not yet started) from the hub's configuration."""
    global _SHARED
    if _SHARED is None:
        kwargs = {"log": log} if log is not None else {}
        _SHARED = HubZygote(config=config, **kwargs)
    return _SHARED


def start_with_hub() -> None:
    """Start the zygote as soon as JupyterHub has read its whole configuration (this file is
    read inside its running event loop), so the first trainee does not wait for its imports."""
    try:
        loop = asyncio.get_running_loop()
    except RuntimeError:
        return  # not read by a running hub: the first spawn starts it

    def start() -> None:
        from jupyterhub.app import JupyterHub

        if not JupyterHub.initialized():
            return
        app = JupyterHub.instance()
        if not (isinstance(app.spawner_class, type)
                and issubclass(app.spawner_class, ZygoteSpawnerMixin)):
            return
        zygote = shared_zygote(app.config, app.log)
        with contextlib.suppress(ZygoteError):
            zygote.launch()
        task = asyncio.ensure_future(_quiet(zygote.ready()))
        _BACKGROUND.add(task)
        task.add_done_callback(_BACKGROUND.discard)

    loop.call_soon(start)


_BACKGROUND: set[asyncio.Future] = set()


async def _quiet(awaitable) -> None:
    with contextlib.suppress(ZygoteError):
        await awaitable


class ZygoteSpawnerMixin:
    """Start the server as a fork of the hub's zygote; anything else as the base spawner does."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.forked = False
        self.pid_started: int | None = None  # /proc/<pid>/stat's start time of a forked server

    # The zygote reaps a forked server as soon as it ends, so its pid may soon be another
    # process's: the hub (root) must not signal that one. The server's start time, recorded when
    # it was forked and kept in the state, tells them apart.
    def get_state(self):
        state = super().get_state()
        if self.pid and self.pid_started is not None:
            state["pid_started"] = self.pid_started
        return state

    def load_state(self, state):
        super().load_state(state)
        if state.get("pid_started") is not None:
            self.pid_started = int(state["pid_started"])

    def clear_state(self):
        super().clear_state()
        self.pid_started = None

    async def _signal(self, sig):
        if self.proc is not None or not self.pid or self.pid_started is None:
            return await super()._signal(sig)
        # pidfd first, then the start time: the signal reaches the process that was checked
        try:
            pidfd = os.pidfd_open(self.pid)
        except ProcessLookupError:
            return False
        except (OSError, AttributeError):  # no pidfd (Linux < 5.3): check, then signal the pid
            if _started(self.pid) != self.pid_started or _zombie(self.pid):
                return False
            return await super()._signal(sig)
        try:
            if _started(self.pid) != self.pid_started or _zombie(self.pid):
                return False  # the server has ended; this pid, if any, is someone else's
            if sig:
                signal.pidfd_send_signal(pidfd, sig)
            return True
        except ProcessLookupError:
            return False
        finally:
            os.close(pidfd)

    def zygote_identity(self) -> dict:
        """Who the fork becomes: what ``make_preexec_fn`` gives a Popen'd server."""
        if isinstance(self, SimpleLocalProcessSpawner):
            # the hub's own user, as SimpleLocalProcessSpawner runs its servers (trials only)
            return {"uid": None, "home": self.home_dir, "make_home": True, "as_hub_user": True}
        user = pwd.getpwnam(self.user.name)
        return {"uid": user.pw_uid, "gid": user.pw_gid, "home": user.pw_dir, "make_home": False,
                "groups": os.getgrouplist(self.user.name, user.pw_gid)}

    def why_not_forked(self, zygote: HubZygote, env: dict[str, str]) -> str:
        """Why this server cannot be forked ('' when it can)."""
        if list(self.cmd[1:]) != SERVE:
            return f"its command {self.cmd!r} is not <python> {' '.join(SERVE)}"
        if os.path.realpath(self.cmd[0]) != os.path.realpath(zygote.python):
            return f"it runs {self.cmd[0]}, the zygote {zygote.python}"
        if self.shell_cmd or self.popen_kwargs:
            return "shell_cmd or popen_kwargs are set"
        mismatch = startup_mismatch(env)
        if mismatch:
            return f"its environment sets {', '.join(mismatch)}"
        return ""

    async def start(self):
        zygote = shared_zygote(self.config, self.log)
        if self.port == 0:
            self.port = random_port()
        env = self.get_env()  # after the port is chosen: JUPYTERHUB_SERVICE_URL holds it
        reason = self.why_not_forked(zygote, env)
        if not reason:
            try:
                await zygote.ready()
            except ZygoteError as exc:
                reason = str(exc)
        if reason:
            self.log.warning("Starting %s the stock way, not forked from the server zygote: %s",
                             self._log_name, reason)
            self.forked = False
            return await super().start()
        args = self.get_args()
        request = {"argv": args, "name": self.user.name, **self.zygote_identity()}
        try:
            reply = await zygote.fork(request, env)
        except ZygoteError as exc:
            self.log.error("Starting %s the stock way: %s", self._log_name, exc)
            self.forked = False
            return await super().start()
        self.proc = None
        self.pid = reply["pid"]
        self.pid_started = reply.get("started") or _started(self.pid)
        self.forked = True
        self.log.info("Forked %s from the server zygote: pid %s, uid %s, in %s",
                      self._log_name, self.pid, reply.get("uid"), reply.get("cwd"))
        return (self.ip or "127.0.0.1", self.port)

    async def poll(self):
        if self.proc is None and self.pid and _zombie(self.pid):
            self.clear_state()  # its zygote is gone and nobody reaps it: it has ended
            return 0
        return await super().poll()


def _started(pid: int) -> int | None:
    """When process ``pid`` started (/proc/<pid>/stat field 22), or None: course.forking's
    start_time (this module does not import the course)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return int(f.read().rsplit(")", 1)[1].split()[19])
    except (OSError, IndexError, ValueError):
        return None


def _zombie(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] in ("Z", "X")
    except (OSError, IndexError):
        return False


class ZygoteLocalProcessSpawner(ZygoteSpawnerMixin, LocalProcessSpawner):
    """LocalProcessSpawner whose servers are forks of the hub's zygote."""


class ZygoteSimpleLocalProcessSpawner(ZygoteSpawnerMixin, SimpleLocalProcessSpawner):
    """SimpleLocalProcessSpawner (trials and tests only) whose servers are forks of the zygote."""
