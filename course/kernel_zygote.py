"""A trainee's kernels as forks of a process that has already imported them.

A server forked from the hub's zygote (``course.server_zygote``) forks once more before it starts:
that second process, the server's *kernel zygote*, already runs as the trainee with the trainee's
environment, and holds, shared with the hub's zygote, everything a kernel imports (ipykernel,
IPython, pandas, folium, the course). When JupyterLab starts a kernel, the server's kernel manager
uses ``ForkedKernelProvisioner`` (jupyter_client's provisioner interface; selected by
``deploy/jupyter/trainee/jupyter_server_config.py`` only in such a server), which asks the kernel
zygote for a fork; the fork takes the connection file, environment and folder the server asked
for and becomes an ``IPKernelApp``. A kernel then costs what it writes, not what it imports.

The kernel is in a process group of its own, so JupyterLab's interrupt (SIGINT to the group),
restart and shutdown work as with a kernel the server started itself. Its parent is the kernel
zygote, which reaps it. When the server ends (its socket closes), the kernel zygote stops the
kernels still running and ends too.

Anywhere else (a server started the usual way, ``make lab``) the provisioner is not selected; if
it is and there is no kernel zygote, or the kernel is not this interpreter's ipykernel, it starts
the kernel as jupyter_client's ``LocalProvisioner`` does.

Protocol (SOCK_SEQPACKET, one JSON object per message): ``{"id": N, "argv": [...], "env": {...},
"cwd": "..."}`` answered with ``{"id": N, "pid": N, "started": T}`` (T: its /proc start time) or
``{"id": N, "error": "..."}`` once the fork is its own kernel (a fork that fails to report is
killed). The server drops an answer whose id is not the one it waits for (a request it gave up
on). Only the server that forked it holds the other end.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
import traceback

from jupyter_client.provisioning import LocalProvisioner

from course import forking

MAX_MESSAGE = 1 << 20
REPORT_TIMEOUT = 60.0  # how long the kernel zygote waits for a fork to become a kernel
FORK_TIMEOUT = REPORT_TIMEOUT + 30  # how long the server waits for the kernel zygote's answer


class Client:
    """The server's side: one socket to its kernel zygote."""

    def __init__(self, sock: socket.socket, pid: int):
        self.sock, self.pid = sock, pid
        self.sock.setblocking(False)
        self._lock: asyncio.Lock | None = None
        self._next_id = 0

    async def fork(self, argv: list[str], env: dict[str, str], cwd: str,
                   timeout: float = FORK_TIMEOUT) -> tuple[int, int | None]:
        """The pid and start time of a new kernel."""
        if self._lock is None:
            self._lock = asyncio.Lock()
        loop = asyncio.get_running_loop()
        async with self._lock:
            self._next_id += 1
            ask = self._next_id
            message = json.dumps({"id": ask, "argv": argv, "env": env, "cwd": cwd}).encode()
            await loop.sock_sendall(self.sock, message)
            answer = await asyncio.wait_for(self._reply(loop, ask), timeout)
        if "pid" not in answer:
            raise RuntimeError(f"could not fork a kernel: {answer.get('error')}")
        return answer["pid"], answer.get("started")

    async def _reply(self, loop, ask: int) -> dict:
        while True:
            reply = await loop.sock_recv(self.sock, MAX_MESSAGE)
            answer = json.loads(reply or b'{"error": "the kernel zygote has ended"}')
            if not reply or answer.get("id") == ask:
                return answer
            # the answer to a request given up on (timed out): that kernel runs unknown to the
            # server, so stop it
            if answer.get("pid") and answer.get("started") is not None:
                ForkedProcess(answer["pid"], answer["started"]).kill_group()

    def alive(self) -> bool:
        return _alive(self.pid)


CLIENT: Client | None = None  # set in a server forked from the hub's zygote


def start() -> None:
    """In a server forked from the hub's zygote, before it starts (no thread yet): fork its
    kernel zygote, and keep the socket to it in ``CLIENT``."""
    global CLIENT
    ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    for stream in (sys.stdout, sys.stderr):
        stream.flush()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the kernel zygote never returns
        code = 0
        try:
            ours.close()
            serve(theirs)
        except BaseException:  # noqa: BLE001
            traceback.print_exc()
            code = 70
        finally:
            os._exit(code)
    theirs.close()
    CLIENT = Client(ours, pid)


def _alive(pid: int, started: int | None = None) -> bool:
    """Running and not a zombie (a process we did not start cannot be waited for); with
    ``started``, also the same process (its pid not reused since)."""
    if started is not None and forking.start_time(pid) != started:
        return False
    try:
        os.kill(pid, 0)
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] not in ("Z", "X")
    except (ProcessLookupError, FileNotFoundError):
        return False
    except PermissionError:
        return True


class ForkedProcess:
    """The parts of ``subprocess.Popen`` jupyter_client uses, for a kernel forked by the kernel
    zygote (not our child: its exit status is the kernel zygote's to collect)."""

    stdin = stdout = stderr = None

    def __init__(self, pid: int, started: int | None = None):
        self.pid, self.started = pid, started
        self.returncode: int | None = None

    def reused(self) -> bool:
        """Its pid is now another process's (the kernel zygote reaped it at once)."""
        now = forking.start_time(self.pid)
        return self.started is not None and now is not None and now != self.started

    def kill_group(self, sig: int = signal.SIGKILL) -> None:
        """Signal its process group (led by it: a pid in use as a group id is not reused)."""
        if self.reused():
            return
        with contextlib.suppress(OSError):
            os.killpg(self.pid, sig)

    def poll(self) -> int | None:
        if self.returncode is None and not _alive(self.pid, self.started):
            self.returncode = 0
        return self.returncode

    def wait(self, timeout: float | None = None) -> int:
        end = None if timeout is None else time.monotonic() + timeout
        while self.poll() is None:
            if end is not None and time.monotonic() > end:
                raise subprocess.TimeoutExpired(str(self.pid), timeout)
            time.sleep(0.02)
        return self.returncode

    def send_signal(self, sig: int) -> None:
        if self.poll() is None:
            os.kill(self.pid, sig)

    def terminate(self) -> None:
        self.send_signal(signal.SIGTERM)

    def kill(self) -> None:
        self.send_signal(signal.SIGKILL)


def forkable(cmd: list[str]) -> list[str] | None:
    """The IPKernelApp arguments of ``cmd`` if it starts this interpreter's ipykernel, else
    None (that kernel is started the usual way)."""
    if len(cmd) < 3 or cmd[1:3] != ["-m", "ipykernel_launcher"]:
        return None
    if os.path.realpath(cmd[0]) != os.path.realpath(sys.executable):
        return None
    return list(cmd[3:])


class ForkedKernelProvisioner(LocalProvisioner):
    """jupyter_client's LocalProvisioner, except that an ipykernel is forked by the server's
    kernel zygote rather than started as a new interpreter."""

    forked = False

    async def launch_kernel(self, cmd: list[str], **kwargs):
        argv = forkable(cmd)
        env = dict(kwargs.get("env") or os.environ)
        if (CLIENT is None or argv is None or not CLIENT.alive()
                or forking.startup_mismatch(env)):
            self.forked = False
            return await super().launch_kernel(cmd, **kwargs)
        cwd = str(kwargs.get("cwd") or os.getcwd())
        try:
            pid, started = await CLIENT.fork(argv, env, cwd)
        except (OSError, RuntimeError, ValueError, asyncio.TimeoutError) as exc:
            self.log.warning("Starting the kernel as a new process, not forked: %s", exc)
            self.forked = False
            return await super().launch_kernel(cmd, **kwargs)
        self.forked = True
        self.process = ForkedProcess(pid, started)
        self.pid = self.pgid = pid  # the fork leads a process group of its own
        self.cwd = cwd
        return self.connection_info

    async def send_signal(self, signum: int) -> None:
        if not self.forked:
            return await super().send_signal(signum)
        if self.process:
            if self.process.reused():
                return  # the kernel has ended and its pid is another process's
            try:
                os.killpg(self.pgid, signum)
            except ProcessLookupError:
                pass  # already gone: the kernel manager finds that out by polling
            except OSError:
                self.process.send_signal(signum)

    async def kill(self, restart: bool = False) -> None:
        if not self.forked:
            return await super().kill(restart)
        await self.send_signal(signal.SIGKILL)

    async def terminate(self, restart: bool = False) -> None:
        if not self.forked:
            return await super().terminate(restart)
        await self.send_signal(signal.SIGTERM)


# --- the kernel zygote ------------------------------------------------------------------------
_kernels: set[int] = set()


def _reap(signum=None, frame=None) -> None:
    while True:
        try:
            pid, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return
        _kernels.discard(pid)


def end_kernels(grace: float = 5.0) -> None:
    """The server has gone: stop its kernels (TERM, then KILL), reap them."""
    signal.signal(signal.SIGCHLD, signal.SIG_DFL)
    for pid in list(_kernels):
        with contextlib.suppress(OSError):
            os.killpg(pid, signal.SIGTERM)
    end = time.monotonic() + grace
    while _kernels and time.monotonic() < end:
        for pid in list(_kernels):
            with contextlib.suppress(ChildProcessError):
                if os.waitpid(pid, os.WNOHANG)[0] != pid:
                    continue
            _kernels.discard(pid)
        time.sleep(0.05)
    for pid in list(_kernels):
        with contextlib.suppress(OSError):
            os.killpg(pid, signal.SIGKILL)
        with contextlib.suppress(ChildProcessError):
            os.waitpid(pid, 0)
    _kernels.clear()


def _kernel_child(request: dict, report: int) -> None:  # pragma: no cover - runs in a fork
    signal.signal(signal.SIGCHLD, signal.SIG_DFL)
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGCHLD})
    try:
        os.setsid()  # a process group of its own: interrupts reach the kernel and its children
        forking.close_inherited(report)
        os.chdir(request["cwd"])
        env = dict(request["env"])
        env["JPY_PARENT_PID"] = str(os.getppid())  # it ends if the kernel zygote does
        forking.take_environment(env, forking.SET_BY_KERNEL_IMPORTS)
        forking.reseed()
        forking.set_process_name("kernel")
        import ipykernel_launcher

        sys.argv = [ipykernel_launcher.__file__, *request["argv"]]
    except BaseException:  # noqa: BLE001
        os.write(report, json.dumps({"error": traceback.format_exc()}).encode() + b"\n")
        os._exit(70)
    os.write(report, b'{"ok": true}\n')
    os.close(report)
    code = 0
    try:
        from ipykernel.kernelapp import IPKernelApp

        IPKernelApp.launch_instance(list(request["argv"]))
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    except BaseException:  # noqa: BLE001 - the server sees a dead kernel
        traceback.print_exc()
        code = 70
    forking.exit_child(code)


def _fork_kernel(request: dict) -> dict:
    report_r, report_w = os.pipe()
    for stream in (sys.stdout, sys.stderr):
        stream.flush()
    signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGCHLD})
    try:
        pid = os.fork()
        if pid == 0:  # pragma: no cover
            try:
                os.close(report_r)
                _kernel_child(request, report_w)
            finally:
                os._exit(70)
        _kernels.add(pid)
        started = forking.start_time(pid)  # not reaped yet: SIGCHLD is blocked
    finally:
        signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGCHLD})
    os.close(report_w)
    try:
        answer = forking.await_report(report_r, REPORT_TIMEOUT)
    finally:
        os.close(report_r)
    if answer.get("ok"):
        return {"pid": pid, "started": started}
    # a fork that did not become a kernel must not run on unknown to the server
    with contextlib.suppress(OSError):
        os.kill(pid, signal.SIGKILL)
    return {"error": answer.get("error")}


def serve(sock: socket.socket) -> None:  # pragma: no cover - runs in the kernel zygote
    """The kernel zygote's loop: a kernel per request, until the server's end closes."""
    forking.close_inherited(sock.fileno())
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the server's interrupts are not for us
    signal.signal(signal.SIGCHLD, _reap)
    forking.set_process_name("kernel-zygote")
    while True:
        try:
            msg = sock.recv(MAX_MESSAGE)
        except ConnectionError:
            break
        if not msg:
            break
        request: dict = {}
        try:
            request = json.loads(msg)
            reply = _fork_kernel(request)
        except Exception as exc:  # noqa: BLE001
            reply = {"error": f"{type(exc).__name__}: {exc}"}
        reply["id"] = request.get("id") if isinstance(request, dict) else None
        try:
            sock.send(json.dumps(reply).encode())
        except OSError:
            break
    end_kernels()
