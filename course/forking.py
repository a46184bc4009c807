"""What a process forked from one of the course's zygotes does to become a fresh server or kernel.

Shared by ``course.server_zygote`` (the hub's zygote, which forks trainees' servers) and
``course.kernel_zygote`` (each server's, which forks its kernels): which variables a fork cannot
honour, the defaults preloaded modules took from the zygote's environment and each fork sets again
from its own, taking the environment it was given, reseeding, closing what it inherited, ending.
"""

from __future__ import annotations

import contextlib
import ctypes
import importlib
import json
import os
import select
import sys
import tempfile

# Variables read once, when an interpreter starts or the zygote imports a module it preloads
# (course.server_zygote's SERVER_MODULES and KERNEL_MODULES), that a fork could not honour: a server (or kernel) whose environment sets one is started the usual way.
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


# What importing the zygote's SERVER_MODULES and KERNEL_MODULES put into os.environ (debugpy sets
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


# Defaults derived from HOME (and XDG_*/JUPYTER_* paths) when the zygote imported the module: the
# zygote's HOME is an empty folder of its own, so each fork computes them again from its own.
def _lab_settings_dir(e):
    from jupyterlab.commands import get_user_settings_dir

    return get_user_settings_dir()


def _lab_workspaces_dir(e):
    from jupyterlab.commands import get_workspaces_dir

    return get_workspaces_dir()


TRAIT_DEFAULTS += [
    ("jupyterlab.labapp", "LabApp", "user_settings_dir", _lab_settings_dir),
    ("jupyterlab.labapp", "LabApp", "workspaces_dir", _lab_workspaces_dir),
]


def _refresh_send2trash(env) -> None:
    mod = sys.modules.get("send2trash.plat_other")
    if mod is None:
        return
    data_home = os.path.expanduser(os.fsencode(env.get("XDG_DATA_HOME", "~/.local/share")))
    mod.XDG_DATA_HOME = data_home
    mod.HOMETRASH_B = os.path.join(data_home, b"Trash")
    mod.HOMETRASH = os.fsdecode(mod.HOMETRASH_B)
    uid = os.getuid()
    mod.uid = uid
    mod.TOPDIR_FALLBACK = b".Trash-" + str(uid).encode("ascii")


def _refresh_user_site(env) -> None:
    """The user's site-packages (~/.local/lib/pythonX.Y/site-packages) is the fork's."""
    import site

    old = site.USER_SITE
    site.USER_BASE = site.USER_SITE = None
    new = site.getusersitepackages()
    import sysconfig

    if sysconfig._CONFIG_VARS and "userbase" in sysconfig._CONFIG_VARS:  # as site sets it
        sysconfig._CONFIG_VARS["userbase"] = site.USER_BASE
    if old and old != new and old in sys.path:
        sys.path.remove(old)
    if site.ENABLE_USER_SITE and os.path.isdir(new) and new not in sys.path:
        site.addsitedir(new)


MODULE_REFRESHERS = [_refresh_send2trash, _refresh_user_site]


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
    for refresh in MODULE_REFRESHERS:
        refresh(env)


def preload(names: list[str]) -> list[str]:
    """Import ``names``; the ones that failed (they load later, in each server, as usual)."""
    failed = []
    for name in names:
        try:
            importlib.import_module(name)
        except Exception:  # noqa: BLE001 - a module that cannot load is simply not shared
            failed.append(name)
    return failed


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


def start_time(pid: int) -> int | None:
    """When process ``pid`` started (clock ticks since boot, /proc/<pid>/stat field 22), or None
    if there is no such process: with the pid, names a process for good (a pid is reused)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return int(f.read().rsplit(")", 1)[1].split()[19])
    except (OSError, IndexError, ValueError):
        return None


def set_dumpable(dumpable: bool) -> None:
    """PR_SET_DUMPABLE: a non-dumpable process cannot be ptraced by, nor have its memory read by,
    another process of its uid, and leaves no core dump (its /proc entries become root's)."""
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(4, int(dumpable), 0, 0, 0) != 0:
        raise OSError(ctypes.get_errno(), "prctl(PR_SET_DUMPABLE) failed")


def assert_no_capabilities() -> None:
    """After dropping to a trainee: no permitted, effective or ambient capability is left."""
    with open("/proc/self/status") as f:
        caps = {k: int(v, 16) for k, _, v in (line.partition(":") for line in f)
                if k in ("CapPrm", "CapEff", "CapAmb")}
    if len(caps) != 3 or any(caps.values()):
        raise PermissionError(f"capabilities left after dropping privileges: {caps}")


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
