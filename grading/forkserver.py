"""A warmed process that forks one fresh IPython kernel per request: a confined kernel for a
student's submission, or a test interpreter of split grading (``grading.test_interpreter``).

Starting a kernel the usual way costs a new interpreter plus importing IPython, ipykernel and the
exercise's libraries (pandas, the course package) — on a small machine that is most of the time
nbgrader spends per notebook. This process pays that once: it imports them, then for each request
forks a child. A student's kernel confines itself (``grading.sandbox.enter``) before it runs
anything; a test interpreter takes limits and its own folder (``test_interpreter._child``). Every
submission still gets its own new processes with clean namespaces; only already-imported library
modules are shared (copy-on-write). No student code ever runs in this process, which is not
dumpable: a student's kernel of the same uid can neither ptrace it nor read its memory, and so
cannot reach the test interpreters it forks next. What a student's kernel inherits of it is
library state and the paths of earlier requests (never a kernel's key: the server does not read
connection files).

Protocol (one JSON object per line): request ``{"spec": {...}, "connection_file": "..."}`` on
stdin, reply ``{"pid": N, "protections": [...]}`` (or with ``"error"``) on stdout, once the child
has confined itself; request ``{"kind": "test", "workdir": ..., "limits": ...,
"connection_file": ...}``, reply ``{"pid": N}``. EOF on stdin ends the server and kills the
kernels still running. The server runs with a clean environment.
"""

from __future__ import annotations

import contextlib
import importlib
import json
import os
import select
import signal
import sys
import traceback
from collections.abc import Callable

# Set before numpy is imported: a BLAS thread pool would not survive fork().
for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

# Also what every kernel otherwise imported on its own, per submission (py-spy, 2026-12-01):
# ipykernel's debugger (debugpy), IPython's history store and traceback formatter, and pandas'
# Styler with jinja2 (the course shows tables through it).
ESSENTIAL = ["ipykernel.kernelapp", "ipykernel.ipkernel", "ipykernel.zmqshell",
             "IPython.core.interactiveshell", "matplotlib_inline.backend_inline",
             "ipykernel.debugger", "sqlite3", "IPython.core.ultratb", "stack_data",
             "pandas.io.formats.style"]


def preload(modules: list[str]) -> list[str]:
    """Import what the kernels will need; returns the modules that failed (they load later)."""
    failed = []
    for name in ESSENTIAL + modules:
        try:
            importlib.import_module(name)
        except ModuleNotFoundError:
            # ``from course.maps import external_urls`` lists "course.maps.external_urls": a
            # name in a module, not a module. Looking it up imports what the module loads
            # lazily (folium, here), which each kernel would otherwise import for itself.
            parent, _, attr = name.rpartition(".")
            try:
                getattr(importlib.import_module(parent), attr)
            except Exception:  # noqa: BLE001 - what cannot load is simply not warmed
                failed.append(name)
        except Exception:  # noqa: BLE001 - a module that cannot load is simply not warmed
            failed.append(name)
    _warm_datasets()
    return failed


def _warm_datasets() -> None:
    """Read and check every course dataset once, here, when the exercises use ``course.data``:
    its loads are cached (each returns a copy), so every kernel forked from this process finds
    them read and checked instead of hashing and parsing each file again."""
    data = sys.modules.get("course.data")
    if data is None:
        return
    for name in data.names():
        with contextlib.suppress(Exception):  # a broken dataset fails in the kernel, as before
            data.load(name)


# The children forked and not yet reaped. A child the server leaves behind when it ends would be
# re-parented to PID 1, which in many containers never reaps it: it stays a zombie for good.
_children: set[int] = set()


def _reap(signum, frame) -> None:
    while True:
        try:
            pid, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return
        _children.discard(pid)


def remember_child(pid: int) -> None:
    _children.add(pid)


def end_children() -> None:
    """Kill and reap every child still here: no kernel outlives the server that forked it."""
    signal.signal(signal.SIGCHLD, signal.SIG_DFL)
    for pid in sorted(_children):
        try:
            # Only our own child can be waited for: a pid reaped meanwhile (and maybe reused
            # by someone else) raises here and is left alone.
            if os.waitpid(pid, os.WNOHANG)[0] == pid:
                continue
        except ChildProcessError:
            continue
        for kill in (os.killpg, os.kill):
            with contextlib.suppress(ProcessLookupError, PermissionError):
                kill(pid, signal.SIGKILL)
        with contextlib.suppress(ChildProcessError):
            os.waitpid(pid, 0)
    _children.clear()


def serve_forks(fork: Callable[[dict], dict], not_preloaded: list[str]) -> None:
    """The loop of a fork server: one JSON request per line on stdin, ``fork``'s reply per
    line on stdout. EOF on stdin ends the server, and with it every child still running."""
    signal.signal(signal.SIGCHLD, _reap)
    out = sys.stdout
    out.write(json.dumps({"ready": True, "not_preloaded": not_preloaded}) + "\n")
    out.flush()
    for line in sys.stdin:
        try:
            reply = fork(json.loads(line))
        except Exception as exc:  # noqa: BLE001 - a bad request must not end the server
            reply = {"error": str(exc)}
        out.write(json.dumps(reply) + "\n")
        out.flush()
    end_children()


def _child(request: dict, report: int) -> None:  # pragma: no cover - runs in the fork
    """Confine this process, tell the server what it achieved (on ``report``), become the
    kernel."""
    from grading import sandbox

    signal.signal(signal.SIGCHLD, signal.SIG_DFL)
    devnull = os.open(os.devnull, os.O_RDWR)
    for fd in (0, 1, 2):
        os.dup2(devnull, fd)
    # Nothing of the server's open files (its pipes to the grader) may reach the kernel.
    os.closerange(3, report)
    os.closerange(report + 1, 65536)
    # The server is not dumpable (see ``serve``); a student's kernel is as any process of its
    # user (the grader reaches its sockets through /proc/PID/root), as before the two kinds of
    # kernel shared a server: made so only now that it holds nothing of the server's.
    _set_dumpable(True)
    code = 0
    try:
        spec = sandbox.Spec(**request["spec"])
        protections, connection_file = sandbox.enter(spec, request["connection_file"], report)
    except BaseException:  # noqa: BLE001 - report and leave; the grader says why
        os.write(report, (json.dumps({"error": traceback.format_exc()}) + "\n").encode())
        os._exit(70)
    os.write(report, (json.dumps({"protections": protections}) + "\n").encode())
    os.close(report)
    try:
        from ipykernel.kernelapp import IPKernelApp

        app = IPKernelApp.instance()
        app.initialize(["-f", connection_file, "--HistoryManager.hist_file=:memory:"])
        app.start()
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else 1
    except BaseException:  # noqa: BLE001 - the grader sees a dead kernel
        code = 70
    os._exit(code)


def _await_report(report: int, timeout: float = 60.0) -> dict:
    """The child's one line: what it achieved, or why it could not start."""
    data = b""
    while not data.endswith(b"\n"):
        ready, _, _ = select.select([report], [], [], timeout)
        chunk = os.read(report, 65536) if ready else b""
        if not chunk:
            return {"error": "the kernel process died before it was confined"
                    if ready else "the kernel process did not report within 60 s"}
        data += chunk
    return json.loads(data)


class Client:
    """The grader's side: starts ``python -m grading.forkserver`` and asks it for kernels: a
    student's (``fork``) or a test interpreter's (``fork_test``), one JSON line each way."""

    def __init__(self, preload: list[str]):
        import subprocess
        import tempfile

        from grading import sandbox

        self.preload = list(preload)
        # Started with a clean environment: every kernel is a fork of this process, and
        # /proc/self/environ shows what the process was started with.
        self.home = tempfile.mkdtemp(prefix="upstream-forkserver-")
        self.proc = subprocess.Popen([sys.executable, "-m", "grading.forkserver", *self.preload],
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
                                     bufsize=1, cwd="/", env=sandbox.clean_environment(self.home))
        self.not_preloaded = None

    def wait_ready(self) -> None:
        if self.not_preloaded is not None:
            return
        hello = json.loads(self.proc.stdout.readline() or "{}")
        if not hello.get("ready"):
            raise RuntimeError("the kernel fork server did not start")
        self.not_preloaded = hello.get("not_preloaded", [])

    def ask(self, request: dict) -> dict:
        """One request, its reply (``{"error": ...}`` if the server died)."""
        self.wait_ready()
        try:
            self.proc.stdin.write(json.dumps(request) + "\n")
            self.proc.stdin.flush()
            line = self.proc.stdout.readline()
        except OSError:
            line = ""
        return json.loads(line or '{"error": "the fork server died"}')

    def fork(self, spec, connection_file: str) -> tuple[int, list[str]]:
        """A confined kernel process: its pid and the protections it achieved."""
        reply = self.ask({"spec": spec.to_json(), "connection_file": connection_file})
        if "pid" not in reply or "error" in reply:
            raise RuntimeError(f"could not start a kernel: {reply.get('error')}")
        return reply["pid"], reply["protections"]

    def fork_test(self, request: dict) -> int:
        """A test interpreter's kernel process (``grading.test_interpreter``): its pid."""
        reply = self.ask({**request, "kind": "test"})
        if "pid" not in reply:
            raise RuntimeError(f"could not start a test interpreter: {reply.get('error')}")
        return reply["pid"]

    def close(self) -> None:
        import shutil
        import subprocess

        if self.proc.poll() is None:
            with contextlib.suppress(OSError):
                self.proc.stdin.close()
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
        shutil.rmtree(self.home, ignore_errors=True)


def _fork_kernel(request: dict) -> dict:
    if request.get("kind") == "test":
        return _fork_test_kernel(request)
    report, child_end = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(report)
        _child(request, child_end)
    remember_child(pid)
    os.close(child_end)
    try:
        return {"pid": pid, **_await_report(report)}
    finally:
        os.close(report)


def _fork_test_kernel(request: dict) -> dict:
    """A test interpreter of split grading (``grading.test_interpreter``): no student code has
    ever run in this process, so its forks are as clean as a new interpreter."""
    from grading import test_interpreter

    server_pid = os.getpid()
    pid = os.fork()
    if pid == 0:
        test_interpreter._child(request, server_pid)
    remember_child(pid)
    return {"pid": pid}


PR_SET_DUMPABLE = 4


def _set_dumpable(dumpable: bool) -> None:
    import ctypes

    ctypes.CDLL(None, use_errno=True).prctl(PR_SET_DUMPABLE, int(dumpable), 0, 0, 0)


def serve(modules: list[str]) -> None:
    # Neither this server nor the test interpreters it forks may be ptraced, or have their
    # memory read, by processes of the same uid without CAP_SYS_PTRACE (a student's kernel at
    # the user level): the kernels it forks next, the tests' among them, are copies of it.
    _set_dumpable(False)
    # The test interpreters' runtime (and the crossing format it reads values in), imported
    # once here rather than in every test kernel. A student's kernel gets its own copy of the
    # harness from the grader, never this module object (grading.crossing.INSTALL).
    failed = preload([*modules, "grading.test_interpreter"])
    serve_forks(_fork_kernel, failed)


if __name__ == "__main__":
    serve([m for m in sys.argv[1:] if m])
