"""A warmed process that forks one fresh, confined IPython kernel per submission.

Starting a kernel the usual way costs a new interpreter plus importing IPython, ipykernel and the
exercise's libraries (pandas, the course package) — on a small machine that is most of the time
nbgrader spends per notebook. This process pays that once: it imports them, then for each request
forks a child, which confines itself (``grading.sandbox.enter``) and becomes an ``IPKernelApp``
with the connection file it was given. Every submission still gets its own new process with a
clean namespace; only already-imported library modules are shared (copy-on-write).

Protocol (one JSON object per line): request ``{"spec": {...}, "connection_file": "..."}`` on
stdin, reply ``{"pid": N}`` (or ``{"error": "..."}``) on stdout. EOF on stdin ends the server.
"""

from __future__ import annotations

import importlib
import json
import os
import signal
import sys
import traceback

# Set before numpy is imported: a BLAS thread pool would not survive fork().
for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

ESSENTIAL = ["ipykernel.kernelapp", "ipykernel.ipkernel", "ipykernel.zmqshell",
             "IPython.core.interactiveshell", "matplotlib_inline.backend_inline"]


def preload(modules: list[str]) -> list[str]:
    """Import what the kernels will need; returns the modules that failed (they load later)."""
    failed = []
    for name in ESSENTIAL + modules:
        try:
            importlib.import_module(name)
        except Exception:  # noqa: BLE001 - a module that cannot load is simply not warmed
            failed.append(name)
    return failed


def _reap(signum, frame) -> None:
    while True:
        try:
            pid, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return


def _child(request: dict, server_pid: int) -> None:  # pragma: no cover - runs in the fork
    from grading import sandbox

    signal.signal(signal.SIGCHLD, signal.SIG_DFL)
    devnull = os.open(os.devnull, os.O_RDWR)
    for fd in (0, 1, 2):
        os.dup2(devnull, fd)
    code = 0
    try:
        sandbox.enter(sandbox.Spec(**request["spec"]))
        from ipykernel.kernelapp import IPKernelApp

        app = IPKernelApp.instance()
        app.initialize(["-f", request["connection_file"],
                        "--HistoryManager.hist_file=:memory:",
                        f"--IPKernelApp.parent_handle={server_pid}"])
        app.start()
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else 1
    except BaseException:  # noqa: BLE001 - report and leave; the grader sees a dead kernel
        with open(os.path.join(request["spec"]["workdir"], "kernel-error.txt"), "w") as f:
            f.write(traceback.format_exc())
        code = 70
    os._exit(code)


class Client:
    """The grader's side: starts ``python -m grading.forkserver`` and asks it for kernels."""

    def __init__(self, preload: list[str]):
        import subprocess

        self.proc = subprocess.Popen([sys.executable, "-m", "grading.forkserver", *preload],
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
                                     bufsize=1)
        self.not_preloaded = None

    def wait_ready(self) -> None:
        if self.not_preloaded is not None:
            return
        hello = json.loads(self.proc.stdout.readline() or "{}")
        if not hello.get("ready"):
            raise RuntimeError("the kernel fork server did not start")
        self.not_preloaded = hello.get("not_preloaded", [])

    def fork(self, spec, connection_file: str) -> int:
        self.proc.stdin.write(json.dumps({"spec": spec.to_json(),
                                          "connection_file": connection_file}) + "\n")
        self.proc.stdin.flush()
        reply = json.loads(self.proc.stdout.readline() or '{"error": "fork server died"}')
        if "pid" not in reply:
            raise RuntimeError(f"could not start a kernel: {reply.get('error')}")
        return reply["pid"]

    def close(self) -> None:
        import subprocess

        if self.proc.poll() is None:
            self.proc.stdin.close()
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()


def serve(modules: list[str]) -> None:
    failed = preload(modules)
    signal.signal(signal.SIGCHLD, _reap)
    out = sys.stdout
    out.write(json.dumps({"ready": True, "not_preloaded": failed}) + "\n")
    out.flush()
    server_pid = os.getpid()
    for line in sys.stdin:
        try:
            request = json.loads(line)
            pid = os.fork()
        except Exception as exc:  # noqa: BLE001 - a bad request must not end the server
            out.write(json.dumps({"error": str(exc)}) + "\n")
            out.flush()
            continue
        if pid == 0:
            _child(request, server_pid)
        out.write(json.dumps({"pid": pid}) + "\n")
        out.flush()


if __name__ == "__main__":
    serve([m for m in sys.argv[1:] if m])
