"""The hub's warmed server process ("zygote"): every trainee's server is a fork of it.

``python -m course.server_zygote --control-fd N`` imports what a trainee's server and kernel load
(jupyter_server, JupyterLab, jupyterhub-singleuser and everything it pulls in, the course's server
extension, ipykernel, IPython, pandas, folium, the course's modules), freezes those objects out of
the garbage collector's reach (``gc.freeze``), and waits. For each server the hub wants, it forks:
the child becomes the trainee (uid, gid, groups, home), takes exactly the environment the spawner
computed, and runs ``course.serve`` (jupyterhub-singleuser) without a new interpreter. Every
server shares the pages of those imports with the zygote and with each other (copy-on-write), so
one more trainee costs what their server and kernel write, not what they import
(deploy/README.md, "Sizing a class").

Who may ask: only the hub, over the socket pair it started this process with (fd N). Nothing else
can reach it: no listening socket, no file. Every fork closes that socket (and every other
descriptor of the zygote's) and makes itself non-dumpable before it drops to the trainee's account,
and checks it kept no capability. A request without a uid (the fork stays who the zygote is) is
refused when the zygote is root, unless the spawner says it runs servers as the hub's own user
(``as_hub_user``: SimpleLocalProcessSpawner, for trials). What it holds: nothing secret. It is started with a clean environment and never sees a
server's environment (where the trainee's API token is): the hub writes that into a pipe and
passes only the pipe's read end (SCM_RIGHTS) here; the child reads it after the fork, so no
trainee's token is ever in the memory the next trainee's fork copies. It never runs trainee
code: children do, after dropping to the trainee's account.

Protocol (SOCK_SEQPACKET, one JSON object per message): after start-up it sends
``{"ready": true, "not_preloaded": [...]}``. Requests: ``{"op": "fork", "id": .., "argv": [...],
"uid": N|null, "gid": N, "groups": [...], "home": "...", "make_home": bool, "name": "...",
"as_hub_user": bool}`` with one file descriptor (the environment pipe), answered with ``{"id": ..,
"pid": N, "started": T (its /proc start time), "uid": .., "gid": .., "groups": [..], "cwd": ".."}``
once the child has become the trainee, or with
``"error"`` (the child, if any, is killed); ``{"op": "ping"}`` with ``{"pong": true, "servers":
N}``. When the hub goes away (EOF), the zygote forks no more but stays, reaping, until the last
server it forked has ended: servers outlive a hub restart, as LocalProcessSpawner's do.

Each server, before it starts, forks its own kernel zygote (course/kernel_zygote.py), already the
trainee, that shares all of this with the server and the zygote; its kernels are forks of that.
"""

from __future__ import annotations

import contextlib
import ctypes
import gc
import json
import os
import signal
import socket
import sys
import tempfile
import traceback

from course import forking

# What a trainee's server imports at start-up (its extensions as deploy/jupyter/trainee enables
# them), then what its kernel imports to run the modules. Importing is all: nothing here is
# started or configured, so nothing depends on who the trainee is.
SERVER_MODULES = [
    "jupyter_server.serverapp", "jupyter_server.services.kernels.kernelmanager",
    "jupyter_server.services.contents.largefilemanager", "jupyter_server.gateway.managers",
    "jupyterlab.labapp", "jupyterlab_server", "jupyterhub.singleuser",
    "jupyterhub.singleuser.extension", "jupyter_server_terminals", "terminado", "nbgitpuller",
    "notebook_shim", "nbformat", "jupyter_events", "jupyter_client.provisioning",
    "course.serve", "course.lazy_nbgrader", "course.kernel_zygote",
]
KERNEL_MODULES = [
    "ipykernel_launcher", "ipykernel.kernelapp", "ipykernel.ipkernel", "ipykernel.zmqshell",
    "ipykernel.debugger", "IPython.core.interactiveshell", "IPython.core.ultratb",
    "IPython.core.history", "IPython.core.debugger", "IPython.core.completerlib",
    "IPython.core.oinspect", "IPython.core.logger", "IPython.extensions.storemagic",
    "IPython.utils.wildcard", "pdb", "faulthandler", "runpy", "sqlite3",
    "tornado.platform.asyncio", "zmq.utils.garbage", "psutil", "comm", "ipywidgets", "pandas", "pandas.io.formats.style",
    "pandas.io.formats.html", "pandas.io.formats.string", "pandas.core.reshape.reshape",
    "folium", "branca",
    # the course's own modules, as the modules' notebooks import them (not course.charts, nor
    # matplotlib_inline: they import matplotlib, which reads its configuration and cache folders
    # from the trainee's home when imported; nothing here may import it)
    "course.data", "course.display", "course.checks", "course.palette", "course.syllabus",
    "course.quiz", "course.hints", "course.geography", "course.brief", "course.maps",
    "course.maps.views", "course.maps.offline", "course.maps.response_plan", "course.widgets",
    "course.warning_signs", "course.pyramid", "course.r2p", "course.rebuilding",
    "course.documentation", "course.documenting", "course.evidence",
    "course.widgets.warning_signs", "course.widgets.pyramid", "course.widgets.r2p",
    "course.widgets.rebuilding", "course.widgets.documentation", "course.widgets.documenting",
]
# --- the child's side: becoming the trainee ---------------------------------------------------
def drop_privileges(uid: int, gid: int, groups: list[int]) -> None:
    """Become ``uid``/``gid`` with supplementary ``groups`` for good (as JupyterHub's
    ``set_user_setuid`` does for LocalProcessSpawner), or raise."""
    os.setgid(gid)
    try:
        os.setgroups(groups)
        groups_ok = True
    except OSError:
        groups_ok = False
        with contextlib.suppress(OSError):
            os.setgroups([])
    os.setuid(uid)
    if os.getresuid() != (uid, uid, uid) or os.getresgid() != (gid, gid, gid):
        raise PermissionError(f"could not become uid {uid} gid {gid}")
    extra = set(os.getgroups()) - set(groups) - {gid}
    if not groups_ok and extra:
        raise PermissionError(f"could not drop the groups {sorted(extra)}")


def identity() -> dict:
    """Who this process is, as the hub's log and tests want to see it."""
    return {"uid": os.getuid(), "euid": os.geteuid(), "gid": os.getgid(),
            "groups": sorted(os.getgroups()), "cwd": os.getcwd(),
            "dumpable": bool(ctypes.CDLL(None).prctl(3, 0, 0, 0, 0))}  # PR_GET_DUMPABLE


def go_home(home: str | None) -> None:
    """Start in the trainee's home; where it cannot be entered, in the temporary folder (as
    JupyterHub's ``_try_setcwd`` does)."""
    for path in (home, tempfile.gettempdir()):
        if not path:
            continue
        try:
            os.chdir(path)
            return
        except OSError:
            continue


def _server_child(request: dict, env_fd: int, report: int) -> None:  # pragma: no cover - fork
    """In the fork: become the trainee, tell the zygote (on ``report``), run the server."""
    gc.enable()
    signal.signal(signal.SIGCHLD, signal.SIG_DFL)
    signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGCHLD})
    try:
        os.setsid()  # its own session, as LocalProcessSpawner's start_new_session
        env = json.loads(forking.read_all(env_fd))
        os.close(env_fd)
        home = request.get("home")
        if request.get("make_home") and home:
            os.makedirs(home, 0o755, exist_ok=True)
        uid = request.get("uid")
        # Nothing of the zygote's (its socket to the hub above all) reaches the trainee's
        # account, and nobody else of that account may ptrace it or read its memory meanwhile.
        forking.close_inherited(report)
        forking.set_dumpable(False)
        if uid is not None:
            drop_privileges(int(uid), int(request["gid"]),
                            [int(g) for g in request.get("groups", [])])
            forking.assert_no_capabilities()
        go_home(home)
        forking.take_environment(env, forking.SET_BY_SERVER_IMPORTS)
        forking.reseed()
        forking.set_process_name(f"srv-{request.get('name', '')}")
        from course import kernel_zygote

        kernel_zygote.start()  # the trainee's own kernel fork server, before any thread exists
    except BaseException:  # noqa: BLE001 - report and leave; the hub logs why
        os.write(report, json.dumps({"error": traceback.format_exc()}).encode() + b"\n")
        os._exit(70)
    os.write(report, json.dumps(identity()).encode() + b"\n")
    os.close(report)
    code = 0
    try:
        from course import serve

        sys.argv = ["jupyterhub-singleuser", *request.get("argv", [])]
        code = serve.main(list(request.get("argv", [])))
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    except BaseException:  # noqa: BLE001 - the hub sees a server that ended
        traceback.print_exc()
        code = 1
    forking.exit_child(code)


# --- the zygote's side ------------------------------------------------------------------------
_children: set[int] = set()


def _reap(signum=None, frame=None) -> None:
    while True:
        try:
            pid, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return
        _children.discard(pid)


def fork_server(request: dict, fds: list[int]) -> dict:
    if len(fds) != 1:
        raise ValueError("a fork request carries exactly one descriptor: the environment pipe")
    if request.get("uid") is None and os.geteuid() == 0 and not request.get("as_hub_user"):
        raise PermissionError("a fork without a uid would run as root: only a spawner that runs "
                              "servers as the hub's own user (as_hub_user) may ask for one")
    env_fd = fds[0]
    report_r, report_w = os.pipe()
    for stream in (sys.stdout, sys.stderr):
        stream.flush()
    # No reaping between fork() and remembering the pid.
    signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGCHLD})
    try:
        pid = os.fork()
        if pid == 0:  # pragma: no cover - the child never returns
            try:
                os.close(report_r)
                _server_child(request, env_fd, report_w)
            finally:
                os._exit(70)
        _children.add(pid)
        started = forking.start_time(pid)  # not reaped yet: SIGCHLD is blocked
    finally:
        signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGCHLD})
    os.close(report_w)
    try:
        report = forking.await_report(report_r)
    finally:
        os.close(report_r)
    if "error" in report:
        # a fork that did not become the trainee must not run on unknown to the hub
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
    # the child's report cannot name another pid or start time
    return {**report, "pid": pid, "started": started}


def handle(request: dict, fds: list[int]) -> dict:
    op = request.get("op")
    if op == "fork":
        return fork_server(request, fds)
    if op == "ping":
        return {"pong": True, "servers": len(_children), "pid": os.getpid()}
    raise ValueError(f"unknown request {op!r}")


def linger() -> None:
    """The hub has gone: fork no more, reap every server (and orphan) until none is left."""
    signal.signal(signal.SIGCHLD, signal.SIG_DFL)
    while True:
        try:
            pid, _ = os.waitpid(-1, 0)
        except ChildProcessError:
            return
        except InterruptedError:
            continue
        _children.discard(pid)


def serve(control: socket.socket, not_preloaded: list[str]) -> None:
    signal.signal(signal.SIGCHLD, _reap)
    control.send(json.dumps({"ready": True, "not_preloaded": not_preloaded,
                             "pid": os.getpid()}).encode())
    while True:
        try:
            msg, fds, _, _ = socket.recv_fds(control, 1 << 16, 4)
        except ConnectionError:
            break
        if not msg:
            for fd in fds:
                os.close(fd)
            break
        request: dict = {}
        try:
            request = json.loads(msg)
            reply = handle(request, fds)
        except Exception as exc:  # noqa: BLE001 - a bad request must not end the zygote
            reply = {"error": f"{type(exc).__name__}: {exc}"}
        finally:
            for fd in fds:
                with contextlib.suppress(OSError):
                    os.close(fd)
        reply["id"] = request.get("id") if isinstance(request, dict) else None
        try:
            control.send(json.dumps(reply).encode())
        except OSError:
            break
    control.close()
    linger()


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] != ["--control-fd"] or len(argv) != 2:
        print("usage: python -m course.server_zygote --control-fd N (started by the hub)",
              file=sys.stderr)
        return 2
    control = socket.socket(fileno=int(argv[1]))
    # `python -m` put the folder it was started in first on sys.path; servers must not import
    # from there.
    if sys.path and sys.path[0] == os.getcwd():
        del sys.path[0]
    # Set before numpy is imported: a BLAS thread pool would not survive fork(). Kernels forked
    # from here compute with one thread (a class shares the machine's cores anyway).
    for var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ.setdefault(var, "1")
    gc.disable()
    from course import serve as serve_module

    serve_module.skip_iri_checker()
    failed = forking.preload_recording(SERVER_MODULES, forking.SET_BY_SERVER_IMPORTS)
    failed += forking.preload_recording(KERNEL_MODULES, forking.SET_BY_KERNEL_IMPORTS)
    with contextlib.suppress(Exception):  # orphans of its servers come here to be reaped
        ctypes.CDLL(None, use_errno=True).prctl(36, 1, 0, 0, 0)  # PR_SET_CHILD_SUBREAPER
    forking.set_process_name("upstream-zygote")
    # As Python's gc documentation advises for forking with the least copy-on-write: no
    # collection while importing (it would free blocks amid the shared objects, which each fork's
    # new objects would then fill, copying those pages), every object frozen out of the
    # collector's reach before the first fork, collection again in each fork.
    gc.freeze()
    serve(control, failed)
    return 0


if __name__ == "__main__":
    # Run as the one module course.kernel_zygote (and everything else) imports, not as a second
    # copy named __main__: the state main() records must be the state the forks read.
    from course import server_zygote

    sys.exit(server_zygote.main())
