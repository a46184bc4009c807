"""Confine one kernel (one submission's code) before it starts.

Applied in the forked child that becomes the kernel, in this order: its own session; a new network
namespace (no network) and mount namespace in which the course root and the exercise sources are
covered by empty read-only mounts; resource limits; a private working folder; finally, as root,
an unprivileged user of its own. What applies depends on the privilege we have:

* ``root``: all of the above. Each concurrently running kernel gets its own uid (grader users
  ``upstream-grader-N``), so a fork bomb or a snoop cannot reach another submission's processes
  or files, and RLIMIT_NPROC counts only that kernel's processes.
* ``user`` (an ordinary account): limits, the private folder, and, where the Linux kernel allows
  unprivileged user namespaces, no network and the hidden paths too. Student code runs as the
  grader's own uid, so file permissions cannot keep it from the grader's other files.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import fcntl
import grp
import importlib.util
import os
import pwd
import resource
import subprocess
import sys
from dataclasses import asdict, dataclass, field

CLONE_NEWNS, CLONE_NEWUSER, CLONE_NEWNET = 0x00020000, 0x10000000, 0x40000000
MS_RDONLY, MS_NOSUID, MS_NODEV, MS_NOEXEC = 1, 2, 4, 8
MS_REMOUNT, MS_BIND, MS_REC, MS_PRIVATE = 32, 4096, 0x4000, 1 << 18
MNT_DETACH = 2
USER_PREFIX = "upstream-grader-"
GROUP = "upstream-grader"


@dataclass
class Limits:
    memory_mb: int = 2048       # RLIMIT_AS: address space of each kernel process
    cpu_seconds: int = 120      # RLIMIT_CPU: CPU time of the kernel
    file_mb: int = 64           # RLIMIT_FSIZE: largest file it may write
    processes: int = 64         # RLIMIT_NPROC: processes and threads of its uid (root level)


@dataclass
class Spec:
    """What the child needs to confine itself; sent over a pipe as JSON."""
    workdir: str
    level: str = "user"            # "root" or "user"
    uid: int | None = None         # root level: the grader user to become
    gid: int | None = None
    hide: list[str] = field(default_factory=list)  # folders covered by an empty mount
    limits: dict = field(default_factory=lambda: asdict(Limits()))

    def to_json(self) -> dict:
        return asdict(self)


@dataclass
class PoolSettings:
    level: str = "user"
    limits: dict = field(default_factory=dict)
    hide: list[str] = field(default_factory=list)
    ids: list = field(default_factory=list)  # (uid, gid) pairs this pool may use, root level
    preload: list[str] = field(default_factory=list)
    base: str | None = None  # the run's folder for kernel folders (removed by the orchestrator)


def default_level() -> str:
    return "root" if os.geteuid() == 0 else "user"


def user_namespaces_available() -> bool:
    """Can this process make a user namespace with its own network (the user level's
    no-network and hidden paths)? Tried in a throw-away child."""
    pid = os.fork()
    if pid == 0:  # pragma: no cover - child
        try:
            _libc_call("unshare", ctypes.c_int(CLONE_NEWUSER | CLONE_NEWNS | CLONE_NEWNET))
            os._exit(0)
        except BaseException:  # noqa: BLE001
            os._exit(1)
    return os.waitpid(pid, 0)[1] == 0


def achieved(level: str) -> list[str]:
    """The protections a kernel gets at ``level`` on this machine (see the module docstring)."""
    base = ["fresh-kernel", "temp-folder", "limits"]
    if level == "root":
        return base + ["own-user", "no-network", "hidden-paths", "private-tmp"]
    return base + (["no-network", "hidden-paths", "private-tmp"]
                   if user_namespaces_available() else [])


# ---- users (root level) ----------------------------------------------------------------------

def _ensure_user(index: int) -> tuple[int, int]:
    """(uid, gid) of grader user ``upstream-grader-<index>``, created with useradd if missing."""
    try:
        gid = grp.getgrnam(GROUP).gr_gid
    except KeyError:
        subprocess.run(["groupadd", "--system", GROUP], check=False, capture_output=True)
        gid = grp.getgrnam(GROUP).gr_gid
    name = f"{USER_PREFIX}{index}"
    try:
        entry = pwd.getpwnam(name)
    except KeyError:
        subprocess.run(["useradd", "--system", "--no-create-home", "--gid", GROUP,
                        "--home-dir", "/nonexistent", "--shell", "/usr/sbin/nologin", name],
                       check=False, capture_output=True)
        entry = pwd.getpwnam(name)  # KeyError here: useradd failed, and says why above
    return entry.pw_uid, gid


class UserLease:
    """Grader users held exclusively by one grading run on this machine.

    Everything a grader uid leaves behind is killed between submissions, so two runs (two
    courses, or two instructors) must never share one: each user is leased by holding an
    ``flock`` on its lock file for the whole run; a run that ends or dies frees its users."""

    LOCK_DIR = "/run/upstream-grading"

    def __init__(self, count: int):
        os.makedirs(self.LOCK_DIR, mode=0o700, exist_ok=True)
        self.fds: list[int] = []
        self.ids: list[tuple[int, int]] = []
        index = 0
        while len(self.ids) < count:
            fd = os.open(os.path.join(self.LOCK_DIR, f"{USER_PREFIX}{index}.lock"),
                         os.O_RDWR | os.O_CREAT, 0o600)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                os.close(fd)
            else:
                self.fds.append(fd)
                self.ids.append(_ensure_user(index))
            index += 1

    def release(self) -> None:
        for fd in self.fds:
            os.close(fd)
        self.fds, self.ids = [], []


def kill_uid(uid: int) -> None:
    """Kill every process of a grader uid (what a fork bomb leaves behind), from a child that
    becomes that uid: kill(-1) then reaches exactly that user's processes."""
    if os.geteuid() != 0 or uid == 0:
        return
    pid = os.fork()
    if pid == 0:  # pragma: no cover - child
        try:
            os.setgroups([])
            os.setresgid(65534, 65534, 65534)
            os.setresuid(uid, uid, uid)
            for _ in range(3):
                try:
                    os.kill(-1, 9)
                except ProcessLookupError:
                    break
        finally:
            os._exit(0)
    os.waitpid(pid, 0)


# ---- the confinement itself (runs in the forked child) ---------------------------------------

_libc = None


def _libc_call(name: str, *args) -> None:
    global _libc
    if _libc is None:
        _libc = ctypes.CDLL(ctypes.util.find_library("c"), use_errno=True)
    if getattr(_libc, name)(*args) != 0:
        err = ctypes.get_errno()
        raise OSError(err, f"{name}: {os.strerror(err)}")


def _namespaces(spec: Spec) -> list[str]:
    """Enter new network and mount namespaces; cover hidden paths. Returns what was achieved."""
    flags = CLONE_NEWNS | CLONE_NEWNET
    if spec.level != "root":
        flags |= CLONE_NEWUSER
        uid, gid = os.getuid(), os.getgid()
    try:
        _libc_call("unshare", ctypes.c_int(flags))
    except OSError:
        return []
    if spec.level != "root":
        # Map ourselves to ourselves, so files keep their owner inside the namespace.
        with open("/proc/self/setgroups", "w") as f:
            f.write("deny")
        with open("/proc/self/uid_map", "w") as f:
            f.write(f"{uid} {uid} 1")
        with open("/proc/self/gid_map", "w") as f:
            f.write(f"{gid} {gid} 1")
    achieved = ["no-network"]
    try:
        _libc_call("mount", b"none", b"/", None, ctypes.c_ulong(MS_REC | MS_PRIVATE), None)
        if spec.level == "root":
            _expose_interpreter(spec.workdir)
        _private_scratch(spec.workdir)
        achieved.append("private-tmp")
        for path in spec.hide:
            if os.path.isdir(path) and not os.path.realpath(spec.workdir).startswith(
                    os.path.realpath(path) + os.sep):
                _mount("tmpfs", path, "tmpfs", MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC,
                       "size=4k,mode=000")
        achieved.append("hidden-paths")
    except OSError:
        pass
    return achieved


def _mount(src, target, fstype, flags, data=None) -> None:
    enc = [None if x is None else os.fsencode(x) for x in (src, target, fstype, data)]
    _libc_call("mount", enc[0], enc[1], enc[2], ctypes.c_ulong(flags), enc[3])


def _blocked_ancestor(path: str) -> str | None:
    """The outermost folder on the way to ``path`` that other users may not enter."""
    parts = os.path.abspath(path).split(os.sep)[1:]
    for i in range(1, len(parts) + 1):
        anc = os.sep + os.sep.join(parts[:i])
        if not os.stat(anc).st_mode & 0o001:
            return anc
    return None


def _expose_interpreter(workdir: str) -> None:
    """Python itself may live in a folder the grader user cannot enter (e.g. pyenv under /root).
    In the kernel's own mount namespace, cover that folder with an empty tmpfs that holds only
    the interpreter's prefix, bound read-only: nothing else of it is visible."""
    prefix = sys.base_prefix
    blocked = _blocked_ancestor(prefix)
    if blocked is None:
        return
    stage = os.path.join(workdir, ".interpreter")
    os.mkdir(stage)
    _mount(prefix, stage, None, MS_BIND | MS_REC)
    _mount("tmpfs", blocked, "tmpfs", MS_NOSUID | MS_NODEV, "mode=755,size=64k")
    os.makedirs(prefix, exist_ok=True)
    _mount(stage, prefix, None, MS_BIND | MS_REC)
    _mount(None, prefix, None, MS_REMOUNT | MS_BIND | MS_RDONLY | MS_NOSUID | MS_NODEV)
    _libc_call("umount2", os.fsencode(stage), ctypes.c_int(MNT_DETACH))
    os.rmdir(stage)
    _mount(None, blocked, None, MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NODEV)


def _needed_folders(workdir: str) -> list[str]:
    """Folders the kernel cannot run without: its own folder, the Python environment and the
    installed course. Any of them may live under /tmp (CI clones there, for one)."""
    folders = {os.path.realpath(p) for p in (workdir, sys.prefix, sys.base_prefix)}
    for package in ("course", "grading"):
        spec = importlib.util.find_spec(package)
        for location in (spec.submodule_search_locations or []) if spec else []:
            folders.add(os.path.realpath(os.path.dirname(location)))
    # A folder inside another comes along with it, except the submission's own folder, which is
    # bound again after its parent so that it alone stays writable. Sorted: parents first.
    work = os.path.realpath(workdir)
    return [f for f in sorted(folders) if f == work
            or not any(f.startswith(other + os.sep) for other in folders if other != f)]


def _private_scratch(workdir: str) -> None:
    """Cover the world-writable folders with empty private ones, so the only place student code
    can write to is its own folder (and these throw-away tmpfs). Folders the kernel needs that
    live under them are bound back in (hidden paths are covered again afterwards)."""
    needed = _needed_folders(workdir)
    for folder in ("/tmp", "/var/tmp", "/dev/shm"):
        if not os.path.isdir(folder) or os.path.islink(folder):
            continue
        inside = [p for p in needed if p.startswith(os.path.realpath(folder) + os.sep)]
        # Keep handles on those folders: once covered, they are reachable only through them.
        fds = [(p, os.open(p, os.O_PATH | os.O_DIRECTORY)) for p in inside]
        _mount("tmpfs", folder, "tmpfs", MS_NOSUID | MS_NODEV, "mode=1777,size=64m")
        for path, fd in fds:
            os.makedirs(path, exist_ok=True)
            _mount(f"/proc/self/fd/{fd}", path, None, MS_BIND | MS_REC)
            if path != os.path.realpath(workdir):  # only the submission's folder stays writable
                _mount(None, path, None, MS_REMOUNT | MS_BIND | MS_RDONLY | MS_NOSUID | MS_NODEV)
            os.close(fd)


def tasks_of(uid: int) -> int:
    """Processes plus threads the uid runs now (what RLIMIT_NPROC counts)."""
    count = 0
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/status") as f:
                    fields = dict(line.split(":", 1) for line in f if ":" in line)
                if int(fields["Uid"].split()[0]) == uid:
                    count += int(fields["Threads"])
            except (OSError, KeyError, ValueError):
                continue
    return count


def _limits(spec: Spec) -> None:
    lim = Limits(**spec.limits)
    mb = 1024 * 1024
    # RLIMIT_NPROC counts every task of the uid. At root level the uid is this kernel's alone;
    # as an ordinary user it is shared with the grader, so the budget is on top of what runs now.
    nproc = lim.processes if spec.level == "root" else tasks_of(os.getuid()) + lim.processes
    pairs = [(resource.RLIMIT_AS, lim.memory_mb * mb), (resource.RLIMIT_CPU, lim.cpu_seconds),
             (resource.RLIMIT_FSIZE, lim.file_mb * mb), (resource.RLIMIT_CORE, 0),
             (resource.RLIMIT_NPROC, nproc)]
    for res, value in pairs:
        soft, hard = resource.getrlimit(res)
        if hard != resource.RLIM_INFINITY:
            value = min(value, hard)
        resource.setrlimit(res, (value, value if spec.level == "root" else hard))


def enter(spec: Spec) -> list[str]:
    """Confine the current process as ``spec`` says; returns the protections achieved."""
    os.setsid()
    achieved = _namespaces(spec)
    _limits(spec)
    achieved.append("limits")
    os.umask(0o077)
    os.chdir(spec.workdir)
    env = {"HOME": spec.workdir, "TMPDIR": spec.workdir, "MPLCONFIGDIR": spec.workdir,
           "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1",
           "PYTHONDONTWRITEBYTECODE": "1", "NBGRADER_EXECUTION": "autograde"}
    for key in ("PATH", "LANG", "LC_ALL", "PYTHONPATH", "VIRTUAL_ENV"):
        if key in os.environ:
            env[key] = os.environ[key]
    if spec.level == "root" and spec.uid:
        os.setgroups([])
        os.setresgid(spec.gid, spec.gid, spec.gid)
        os.setresuid(spec.uid, spec.uid, spec.uid)
        env["USER"] = env["LOGNAME"] = pwd.getpwuid(spec.uid).pw_name
        achieved.append("own-user")
    os.environ.clear()
    os.environ.update(env)
    return achieved
