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
can reach it: no listening socket, no file. Every fork closes that socket before it becomes a
server. What it holds: nothing secret. It is started with a clean environment and never sees a
server's environment (where the trainee's API token is): the hub writes that into a pipe and
passes only the pipe's read end (SCM_RIGHTS) here; the child reads it after the fork, so no
trainee's token is ever in the memory the next trainee's fork copies. It never runs trainee
code: children do, after dropping to the trainee's account.

Protocol (SOCK_SEQPACKET, one JSON object per message): after start-up it sends
``{"ready": true, "not_preloaded": [...]}``. Requests: ``{"op": "fork", "id": .., "argv": [...],
"uid": N|null, "gid": N, "groups": [...], "home": "...", "make_home": bool, "name": "..."}`` with
one file descriptor (the environment pipe), answered with ``{"id": .., "pid": N, "uid": ..,
"gid": .., "groups": [..], "cwd": ".."}`` once the child has become the trainee, or with
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
import importlib
import json
import os
import select
import signal
import socket
import sys
import tempfile
import traceback

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
    "tornado.platform.asyncio", "zmq.utils.garbage", "psutil",
    "matplotlib_inline.backend_inline", "comm", "ipywidgets", "pandas", "pandas.io.formats.style",
    "pandas.io.formats.html", "pandas.io.formats.string", "pandas.core.reshape.reshape",
    "folium", "branca",
    # the course's own modules, as the modules' notebooks import them (not course.charts: it
    # imports matplotlib, which reads its configuration from the trainee's home when imported)
    "course.data", "course.display", "course.checks", "course.palette", "course.syllabus",
    "course.quiz", "course.hints", "course.geography", "course.brief", "course.maps",
    "course.maps.views", "course.maps.offline", "course.maps.response_plan", "course.widgets",
    "course.warning_signs", "course.pyramid", "course.r2p", "course.rebuilding",
    "course.documentation", "course.documenting", "course.evidence",
    "course.widgets.warning_signs", "course.widgets.pyramid", "course.widgets.r2p",
    "course.widgets.rebuilding", "course.widgets.documentation", "course.widgets.documenting",
]
# Variables read once, when an interpreter starts or a module above is imported, that a fork
# could not honour: a server (or kernel) whose environment sets one is started the usual way.
# PYTHONPATH is applied to the fork; the import-time defaults below are set again from the fork's
# own environment.
STARTUP_VARIABLES_APPLIED = {"PYTHONPATH"}
READ_AT_IMPORT = {"JUPYTERHUB_SINGLEUSER_APP", "JUPYTERHUB_SINGLEUSER_EXTENSION",
                  "IPYTHON_SUPPRESS_CONFIG_ERRORS", "PANDAS_FUTURE"}
READ_AT_IMPORT_PREFIXES = ("PYTHON", "PYDEVD_")  # the interpreter's; debugpy's (ipykernel's)


def startup_mismatch(env: dict[str, str]) -> list[str]:
    """The variables of ``env`` a forked interpreter could not honour (empty: forking is exact)."""
    return sorted(k for k in env if k in READ_AT_IMPORT or (
        k.startswith(READ_AT_IMPORT_PREFIXES) and k not in STARTUP_VARIABLES_APPLIED))


# What importing SERVER_MODULES and KERNEL_MODULES put into os.environ (debugpy sets
# PYDEVD_USE_FRAME_EVAL, when not set): a server or kernel that imports them itself has it too,
# so each fork gets it again on top of the environment it is given (never over it).
SET_BY_SERVER_IMPORTS: dict[str, str] = {}
SET_BY_KERNEL_IMPORTS: dict[str, str] = {}


def preload_recording(names: list[str], into: dict[str, str]) -> list[str]:
    before = dict(os.environ)
    failed = preload(names)
    into.update({k: v for k, v in os.environ.items() if before.get(k) != v})
    return failed


def _flag(value: str) -> bool:
    return value.lower() in ("true", "1")


# Trait defaults these modules compute from the environment when their class is defined (found by
# reading every class and module body of the preloaded packages for os.environ/os.getenv): in a
# fork they would be the zygote's, so each fork sets them from its own environment.
TRAIT_DEFAULTS = [
    ("jupyter_client.session", "Session", "username", lambda e: e.get("USER", "username")),
    ("ipykernel.kernelapp", "IPKernelApp", "parent_handle",
     lambda e: int(e.get("JPY_PARENT_PID") or 0)),
    ("ipykernel.kernelapp", "IPKernelApp", "interrupt",
     lambda e: int(e.get("JPY_INTERRUPT_EVENT") or 0)),
    ("jupyterhub.services.auth", "HubAuth", "base_url",
     lambda e: e.get("JUPYTERHUB_SERVICE_PREFIX") or "/"),
    ("jupyterhub.services.auth", "HubAuth", "keyfile", lambda e: e.get("JUPYTERHUB_SSL_KEYFILE", "")),
    ("jupyterhub.services.auth", "HubAuth", "certfile",
     lambda e: e.get("JUPYTERHUB_SSL_CERTFILE", "")),
    ("jupyterhub.services.auth", "HubAuth", "client_ca",
     lambda e: e.get("JUPYTERHUB_SSL_CLIENT_CA", "")),
]
MODULE_DEFAULTS = [
    ("jupyter_core.paths", None, "allow_insecure_writes",
     lambda e: _flag(e.get("JUPYTER_ALLOW_INSECURE_WRITES", "false"))),
    ("jupyterhub.singleuser.extension", "JupyterHubSingleUser", "load_other_extensions",
     lambda e: e.get("JUPYTERHUB_SINGLEUSER_LOAD_OTHER_EXTENSIONS", "1") not in {"", "0"}),
]


def _subclasses(cls: type) -> list[type]:
    found, todo = [], [cls]
    while todo:
        c = todo.pop()
        found.append(c)
        todo.extend(c.__subclasses__())
    return found


def set_trait_default(cls: type, name: str, value) -> None:
    """Make ``value`` the default of trait ``name`` of ``cls`` and of its subclasses that share
    the trait (traitlets keeps a per-class copy of immutable defaults)."""
    trait = cls.class_traits()[name]
    trait.default_value = value
    for sub in _subclasses(cls):
        initial = sub.__dict__.get("_static_immutable_initial_values")
        if initial is not None and name in initial and sub.class_traits().get(name) is trait:
            initial[name] = value


def refresh_import_time_defaults(env: dict[str, str]) -> None:
    for module, cls_name, name, compute in TRAIT_DEFAULTS:
        mod = sys.modules.get(module)
        if mod is not None:
            set_trait_default(getattr(mod, cls_name), name, compute(env))
    for module, cls_name, name, compute in MODULE_DEFAULTS:
        mod = sys.modules.get(module)
        if mod is not None:
            setattr(getattr(mod, cls_name) if cls_name else mod, name, compute(env))


def preload(names: list[str]) -> list[str]:
    """Import ``names``; the ones that failed (they load later, in each server, as usual)."""
    failed = []
    for name in names:
        try:
            importlib.import_module(name)
        except Exception:  # noqa: BLE001 - a module that cannot load is simply not shared
            failed.append(name)
    return failed


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
            "groups": sorted(os.getgroups()), "cwd": os.getcwd()}


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


def take_environment(env: dict[str, str], set_by_imports: dict[str, str]) -> None:
    """Exactly ``env`` and nothing of the zygote's, as the spawner computed it (plus what the
    imports it shares would have set, had it imported them itself)."""
    os.environ.clear()
    os.environ.update(env)
    for key, value in set_by_imports.items():
        os.environ.setdefault(key, value)
    tempfile.tempdir = None  # found again from TMPDIR & co. when next asked
    refresh_import_time_defaults(os.environ)
    for entry in reversed([p for p in env.get("PYTHONPATH", "").split(os.pathsep) if p]):
        sys.path.insert(0, entry)


def reseed() -> None:
    """Nothing random is shared between forks: ``random`` (also reseeded by Python on fork) and
    numpy's global generator, seeded once in the zygote when numpy was imported."""
    import random

    random.seed()
    numpy = sys.modules.get("numpy")
    if numpy is not None:
        with contextlib.suppress(Exception):
            numpy.random.seed()


def close_inherited(*keep: int) -> None:
    """Close every descriptor above stderr except ``keep``: nothing of the zygote's (its socket to
    the hub above all) reaches a server."""
    devnull = os.open(os.devnull, os.O_RDONLY)
    os.dup2(devnull, 0)
    os.close(devnull)
    low = 3
    for fd in sorted(k for k in keep if k >= 3):
        os.closerange(low, fd)
        low = fd + 1
    os.closerange(low, 1 << 16)


def set_process_name(name: str) -> None:
    """What ``ps -o comm`` and psutil's name() show (15 bytes; /proc/PID/cmdline stays the
    zygote's: use the spawner's pid to find a server)."""
    with contextlib.suppress(Exception):
        ctypes.CDLL(None, use_errno=True).prctl(15, name.encode()[:15], 0, 0, 0)  # PR_SET_NAME


def read_all(fd: int, limit: int = 16 << 20) -> bytes:
    chunks, size = [], 0
    while True:
        chunk = os.read(fd, 65536)
        if not chunk:
            return b"".join(chunks)
        chunks.append(chunk)
        size += len(chunk)
        if size > limit:
            raise ValueError("the environment is too large")


def exit_child(code: int) -> None:  # pragma: no cover - runs in a fork
    """End a forked server or kernel as an interpreter would: exit handlers (IPython saves its
    history there), streams flushed; never back into the zygote's loop."""
    with contextlib.suppress(BaseException):
        import atexit

        atexit._run_exitfuncs()
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(BaseException):
            stream.flush()
    os._exit(code)


def _server_child(request: dict, env_fd: int, report: int) -> None:  # pragma: no cover - fork
    """In the fork: become the trainee, tell the zygote (on ``report``), run the server."""
    gc.enable()
    signal.signal(signal.SIGCHLD, signal.SIG_DFL)
    signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGCHLD})
    try:
        os.setsid()  # its own session, as LocalProcessSpawner's start_new_session
        env = json.loads(read_all(env_fd))
        os.close(env_fd)
        home = request.get("home")
        if request.get("make_home") and home:
            os.makedirs(home, 0o755, exist_ok=True)
        if request.get("uid") is not None:
            drop_privileges(int(request["uid"]), int(request["gid"]),
                            [int(g) for g in request.get("groups", [])])
        go_home(home)
        take_environment(env, SET_BY_SERVER_IMPORTS)
        reseed()
        close_inherited(report)
        set_process_name(f"srv-{request.get('name', '')}")
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
    exit_child(code)


def await_report(fd: int, timeout: float = 60.0) -> dict:
    """The one line a child writes once it has become the trainee, or why it could not."""
    data = b""
    while not data.endswith(b"\n"):
        ready, _, _ = select.select([fd], [], [], timeout)
        chunk = os.read(fd, 65536) if ready else b""
        if not chunk:
            return {"error": "the process died before it started" if ready
                    else f"the process did not report within {timeout:.0f} s"}
        data += chunk
    return json.loads(data)


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
    finally:
        signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGCHLD})
    os.close(report_w)
    try:
        report = await_report(report_r)
    finally:
        os.close(report_r)
    if "error" in report:
        # a fork that did not become the trainee must not run on unknown to the hub
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
    return {"pid": pid, **report}


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
    failed = preload_recording(SERVER_MODULES, SET_BY_SERVER_IMPORTS)
    failed += preload_recording(KERNEL_MODULES, SET_BY_KERNEL_IMPORTS)
    with contextlib.suppress(Exception):  # orphans of its servers come here to be reaped
        ctypes.CDLL(None, use_errno=True).prctl(36, 1, 0, 0, 0)  # PR_SET_CHILD_SUBREAPER
    set_process_name("upstream-zygote")
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
