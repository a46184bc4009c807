"""Confine one kernel (one submission's code) before it starts.

Runs in the process the fork server forked for a kernel. Where Linux lets us make namespaces (as
root, or as an ordinary user where unprivileged user namespaces are allowed), the kernel gets a
machine of its own, with nothing of the host in it:

* its own network (only a loopback of its own: no host port, no abstract Unix socket is reachable),
  its own process list (a PID namespace with a fresh ``/proc``), its own hostname and SysV IPC;
* its own file system: a new, read-only root holding only the system folders (``/usr``, a few
  entries of ``/etc``),
  the Python environment and the installed ``course`` package (the exercise sources and other
  hidden paths covered by empty mounts). Nothing else of the checkout (no ``.git``, tests, tools,
  ``grading``), no ``/run``, ``/var``, ``/home``, no host socket;
* one size-limited tmpfs for everything it may write: its folder ``/submission`` (the copy of the
  submission), ``/tmp``, ``/var/tmp`` and ``/dev/shm``. It vanishes with the kernel;
* no privileges: no capabilities, ``no_new_privs``, and as root a grader user of its own.

Process tree: the forked process (the one the grader knows, in the host's PID namespace) enters
the namespaces, builds the root and waits; its child is PID 1 of the new namespace (it mounts
``/proc``, switches to the new root and reaps); its child in turn becomes the kernel. When any of
them dies, the whole namespace is killed.

Without namespaces (an ordinary user on a Linux kernel that forbids them) the kernel gets the
rest: a clean environment (the fork server itself was started with one, so even
``/proc/self/environ`` holds nothing of the grader's), resource limits and a folder of its own.
The table in grading/README.md says what each level gives.
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import fcntl
import grp
import importlib.util
import json
import os
import platform
import pwd
import resource
import signal
import socket
import struct
import subprocess
import sys
from dataclasses import asdict, dataclass, field

CLONE_NEWNS, CLONE_NEWCGROUP, CLONE_NEWUTS = 0x00020000, 0x02000000, 0x04000000
CLONE_NEWIPC, CLONE_NEWUSER, CLONE_NEWPID, CLONE_NEWNET = (0x08000000, 0x10000000, 0x20000000,
                                                           0x40000000)
MS_RDONLY, MS_NOSUID, MS_NODEV, MS_NOEXEC = 1, 2, 4, 8
MS_NOATIME, MS_NODIRATIME, MS_RELATIME = 1024, 2048, 1 << 21
MS_REMOUNT, MS_BIND, MS_REC, MS_PRIVATE = 32, 4096, 0x4000, 1 << 18
MNT_DETACH = 2
PR_SET_PDEATHSIG, PR_CAPBSET_DROP, PR_SET_NO_NEW_PRIVS, PR_CAP_AMBIENT = 1, 24, 38, 47
PR_CAP_AMBIENT_CLEAR_ALL = 4
SYS_PIVOT_ROOT = {"x86_64": 155, "aarch64": 41}.get(platform.machine())
USER_PREFIX = "upstream-grader-"
GROUP = "upstream-grader"

SUBMISSION = "/submission"  # the submission's folder, as the kernel sees it
CONTROL = "/kernel"         # its connection file and sockets, as the kernel sees them
SYSTEM_FOLDERS = ("/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32")
# Of the host's /etc, only what programs need to run (libraries, time zone, fonts, MIME types,
# certificates, alternatives): no roster, hub configuration or host's list of users. passwd,
# group, hosts and hostname are written afresh.
ETC_ENTRIES = ("ld.so.cache", "ld.so.conf", "ld.so.conf.d", "localtime", "timezone", "fonts",
               "alternatives", "mime.types", "ssl", "ca-certificates", "nsswitch.conf",
               "host.conf", "gai.conf", "locale.alias", "os-release", "matplotlibrc")
DEVICES = ("null", "zero", "full", "random", "urandom")

# What a kernel can get, in the words autograde prints and grading/README.md explains.
ALWAYS = ["fresh-kernel", "clean-environment", "limits"]
NAMESPACED = ["no-network", "own-processes", "own-filesystem", "disk-quota", "no-privileges"]


@dataclass
class Limits:
    memory_mb: int = 2048       # RLIMIT_AS: address space of each kernel process
    cpu_seconds: int = 120      # RLIMIT_CPU: CPU time of the kernel
    file_mb: int = 64           # RLIMIT_FSIZE: largest file it may write
    processes: int = 64         # RLIMIT_NPROC: processes and threads of its uid (root level)
    disk_mb: int = 256          # the tmpfs holding its folder, /tmp and /dev/shm, all together


@dataclass
class Spec:
    """What the child needs to confine itself; sent over a pipe as JSON."""
    folder: str                    # the kernel's folder on the host (connection file, work/)
    level: str = "user"            # "root" or "user"
    uid: int | None = None         # root level: the grader user to become
    gid: int | None = None
    hide: list[str] = field(default_factory=list)  # folders covered by an empty mount
    limits: dict = field(default_factory=lambda: asdict(Limits()))
    namespaces: bool = True        # False: the plain level (where Linux allows none)

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
    namespaces: bool = True  # False after the user level found Linux refuses them


def default_level() -> str:
    return "root" if os.geteuid() == 0 else "user"


def clean_environment(home: str) -> dict[str, str]:
    """All a kernel's process inherits: nothing of the grader's own variables (tokens, keys)."""
    bin_dir = os.path.dirname(sys.executable)
    return {"PATH": f"{bin_dir}:/usr/local/bin:/usr/bin:/bin", "LANG": "C.UTF-8", "HOME": home,
            "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1",
            "PYTHONDONTWRITEBYTECODE": "1"}


def _namespace_flags(level: str) -> int:
    flags = (CLONE_NEWNS | CLONE_NEWNET | CLONE_NEWPID | CLONE_NEWIPC | CLONE_NEWUTS
             | CLONE_NEWCGROUP)
    return flags if level == "root" else flags | CLONE_NEWUSER


def user_namespaces_available() -> bool:
    """Can this process make the namespaces the user level needs? Tried in a throw-away child."""
    pid = os.fork()
    if pid == 0:  # pragma: no cover - child
        try:
            _libc_call("unshare", ctypes.c_int(_namespace_flags("user")))
            os._exit(0)
        except BaseException:  # noqa: BLE001
            os._exit(1)
    return os.waitpid(pid, 0)[1] == 0


def achieved(level: str) -> list[str]:
    """The protections a kernel gets at ``level`` on this machine (see the module docstring)."""
    if level == "root" and os.geteuid() == 0:
        return ALWAYS + NAMESPACED + ["own-user"]
    return ALWAYS + (NAMESPACED if user_namespaces_available() else [])


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


# ---- system calls ------------------------------------------------------------------------------

_libc = None


def _libc_call(name: str, *args) -> int:
    global _libc
    if _libc is None:
        _libc = ctypes.CDLL(ctypes.util.find_library("c"), use_errno=True)
    result = getattr(_libc, name)(*args)
    if result == -1 or (name != "syscall" and result != 0):
        err = ctypes.get_errno()
        raise OSError(err, f"{name}: {os.strerror(err)}")
    return result


def _mount(src, target, fstype=None, flags=0, data=None) -> None:
    enc = [None if x is None else os.fsencode(x) for x in (src, target, fstype, data)]
    _libc_call("mount", enc[0], enc[1], enc[2], ctypes.c_ulong(flags), enc[3])


def _prctl(option: int, arg: int = 0) -> None:
    _libc_call("prctl", ctypes.c_int(option), ctypes.c_ulong(arg), ctypes.c_ulong(0),
               ctypes.c_ulong(0), ctypes.c_ulong(0))


def _die_with_parent() -> None:
    """SIGKILL when the parent dies (checked afterwards: it may have died already)."""
    parent = os.getppid()
    _prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    if os.getppid() != parent:
        os._exit(1)


def _drop_bounding_set() -> None:
    """No capability may come back (EINVAL past the last one; EPERM: we may drop none)."""
    cap = 0
    while True:
        try:
            _prctl(PR_CAPBSET_DROP, cap)
        except OSError:
            return
        cap += 1


def _drop_privileges() -> None:
    """No capabilities left, and none to be gained by exec (set-uid files included)."""
    _drop_bounding_set()
    with contextlib.suppress(OSError):
        _libc_call("prctl", ctypes.c_int(PR_CAP_AMBIENT), ctypes.c_ulong(PR_CAP_AMBIENT_CLEAR_ALL),
                   ctypes.c_ulong(0), ctypes.c_ulong(0), ctypes.c_ulong(0))
    header = struct.pack("Ii", 0x20080522, 0)  # _LINUX_CAPABILITY_VERSION_3, this process
    data = bytes(24)                           # effective, permitted, inheritable: none
    _libc_call("capset", ctypes.c_char_p(header), ctypes.c_char_p(data))
    _prctl(PR_SET_NO_NEW_PRIVS, 1)


# ---- building the kernel's own root (in the process the grader knows) -------------------------

def _mount_flags_of(path: str) -> int:
    """The flags a read-only remount of a bind of ``path`` must keep (Linux refuses to clear the
    locked ones of a mount inherited into a user namespace)."""
    f = os.statvfs(path).f_flag
    flags = MS_NOSUID | MS_NODEV
    for st_flag, ms_flag in ((os.ST_NOEXEC, MS_NOEXEC), (os.ST_NOATIME, MS_NOATIME),
                             (os.ST_NODIRATIME, MS_NODIRATIME), (os.ST_RELATIME, MS_RELATIME)):
        if f & st_flag:
            flags |= ms_flag
    return flags


def _bind_read_only(source: str, root: str) -> None:
    target = root + source
    if os.path.isdir(source):
        os.makedirs(target, exist_ok=True)
    else:
        os.makedirs(os.path.dirname(target), exist_ok=True)
        open(target, "a").close()
    _mount(source, target, None, MS_BIND | MS_REC)
    _mount(None, target, None, MS_REMOUNT | MS_BIND | MS_RDONLY | _mount_flags_of(source))


def package_folders(names=("course",)) -> list[str]:
    """The folders of the installed packages the notebooks import (the package folder itself,
    never the checkout around it: an editable install points into the checkout)."""
    folders = []
    for name in names:
        spec = importlib.util.find_spec(name)
        folders += [os.path.realpath(p) for p in (spec.submodule_search_locations or [])] \
            if spec else []
    return folders


def exposed_folders() -> list[str]:
    """Host folders the kernel sees (read-only): the system, Python and the course package."""
    folders = [f for f in SYSTEM_FOLDERS if os.path.isdir(f) and not os.path.islink(f)]
    folders += {os.path.realpath(p) for p in (sys.prefix, sys.base_prefix, sys.exec_prefix)}
    folders += package_folders()
    # A folder inside another comes along with it.
    return [f for f in sorted(set(folders))
            if not any(f.startswith(other + os.sep) for other in folders if other != f)]


def _build_root(spec: Spec, root: str, connection: bytes) -> None:
    """Mount a new root at ``root`` (a folder of ours) and fill it: read-only host folders, the
    devices, the sized tmpfs for all writes. The caller's child then switches to it."""
    lim = Limits(**spec.limits)
    owner = (spec.uid, spec.gid) if spec.uid is not None else (os.getuid(), os.getgid())
    _mount("tmpfs", root, "tmpfs", MS_NOSUID | MS_NODEV, "mode=755,size=1m,nr_inodes=4096")
    # The one writable place: a tmpfs of the disk quota, shared by the folder and /tmp & co.
    # First, so that a host folder the kernel needs under /tmp (a CI clone) is bound over it.
    quota = root + "/.quota"
    os.mkdir(quota)
    _mount("tmpfs", quota, "tmpfs", MS_NOSUID | MS_NODEV,
           f"size={lim.disk_mb}m,nr_inodes=65536,mode=700,uid={owner[0]},gid={owner[1]}")
    for name, mode, targets in (("work", 0o700, [SUBMISSION]), ("control", 0o700, [CONTROL]),
                                ("tmp", 0o1777, ["/tmp", "/var/tmp"]),
                                ("shm", 0o1777, ["/dev/shm"])):
        os.mkdir(f"{quota}/{name}")
        os.chown(f"{quota}/{name}", *owner)
        os.chmod(f"{quota}/{name}", mode)
        for target in targets:
            os.makedirs(root + target, exist_ok=True)
            _mount(f"{quota}/{name}", root + target, None, MS_BIND)
    exposed = exposed_folders()
    for folder in exposed:
        _bind_read_only(folder, root)
    for link in SYSTEM_FOLDERS:  # /bin -> usr/bin and the like (merged /usr)
        if os.path.islink(link):
            os.symlink(os.readlink(link), root + link)
    _fill_etc(root, owner)
    for path in spec.hide:
        inside = any((path + os.sep).startswith(f + os.sep) for f in exposed)
        if inside and os.path.isdir(path):
            _mount("tmpfs", root + path, "tmpfs", MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC,
                   "size=4k,mode=000")
    for name in DEVICES:
        open(f"{root}/dev/{name}", "a").close()
        _mount(f"/dev/{name}", f"{root}/dev/{name}", None, MS_BIND)
    for name, target in (("fd", "/proc/self/fd"), ("stdin", "/proc/self/fd/0"),
                         ("stdout", "/proc/self/fd/1"), ("stderr", "/proc/self/fd/2")):
        os.symlink(target, f"{root}/dev/{name}")
    os.makedirs(root + "/proc")
    os.mkdir(f"{quota}/control/ipc")
    os.chown(f"{quota}/control/ipc", *owner)
    # The kernel binds its sockets here; the grader reaches them through /proc/<pid>/root.
    info = json.loads(connection)
    info["ip"] = f"{CONTROL}/ipc/kernel"
    fd = os.open(f"{quota}/control/kernel.json", os.O_WRONLY | os.O_CREAT, 0o600)
    os.write(fd, json.dumps(info).encode())
    os.close(fd)
    os.chown(f"{quota}/control/kernel.json", *owner)
    _libc_call("umount2", os.fsencode(quota), ctypes.c_int(MNT_DETACH))
    os.rmdir(quota)


def _fill_etc(root: str, owner: tuple[int, int]) -> None:
    """The kernel's /etc: the few host entries programs need, read-only, and its own passwd,
    group, hosts and hostname (its user, root and nobody: not the host's accounts)."""
    os.makedirs(root + "/etc", exist_ok=True)
    for name in ETC_ENTRIES:
        path = f"/etc/{name}"
        if os.path.islink(path):
            os.symlink(os.readlink(path), root + path)
        elif os.path.exists(path):
            _bind_read_only(path, root)
    try:
        user = pwd.getpwuid(owner[0]).pw_name
    except KeyError:
        user = "trainee"
    users = {0: ("root", 0, "/nonexistent"), 65534: ("nobody", 65534, "/nonexistent"),
             owner[0]: (user, owner[1], SUBMISSION)}
    groups = {0: "root", 65534: "nogroup", owner[1]: user}
    files = {
        "passwd": "".join(f"{name}:x:{uid}:{gid}:{name}:{home}:/usr/sbin/nologin\n"
                          for uid, (name, gid, home) in sorted(users.items())),
        "group": "".join(f"{name}:x:{gid}:\n" for gid, name in sorted(groups.items())),
        "hosts": "127.0.0.1 localhost sandbox\n::1 localhost\n",
        "hostname": "sandbox\n"}
    for name, text in files.items():
        if not os.path.lexists(f"{root}/etc/{name}"):
            with open(f"{root}/etc/{name}", "w") as f:
                f.write(text)


def _switch_root(root: str) -> None:
    """In PID 1 of the new namespace: a fresh /proc, then ``root`` becomes "/" (for the whole
    mount namespace) and the host's tree is detached; the root goes read-only."""
    _mount("proc", root + "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC)
    os.chdir(root)
    if SYS_PIVOT_ROOT is None:
        raise OSError("pivot_root: unknown system call number on this machine")
    _libc_call("syscall", ctypes.c_long(SYS_PIVOT_ROOT), b".", b".")
    _libc_call("umount2", b".", ctypes.c_int(MNT_DETACH))
    os.chdir("/")
    _mount(None, "/", None, MS_REMOUNT | MS_BIND | MS_RDONLY | MS_NOSUID | MS_NODEV)


def _loopback_up() -> None:
    """Bring up the namespace's own loopback (reachable only from inside the sandbox)."""
    siocgifflags, siocsifflags, iff_up = 0x8913, 0x8914, 0x1
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        req = struct.pack("16sH14x", b"lo", 0)
        flags = struct.unpack("16sH14x", fcntl.ioctl(s, siocgifflags, req))[1]
        fcntl.ioctl(s, siocsifflags, struct.pack("16sH14x", b"lo", flags | iff_up))


def _unshare(spec: Spec) -> bool:
    """Enter the new namespaces; False where Linux does not let us."""
    uid, gid = os.getuid(), os.getgid()
    try:
        _libc_call("unshare", ctypes.c_int(_namespace_flags(spec.level)))
    except OSError:
        return False
    if spec.level != "root":
        # Map ourselves to ourselves, so files keep their owner inside the namespace.
        with open("/proc/self/setgroups", "w") as f:
            f.write("deny")
        with open("/proc/self/uid_map", "w") as f:
            f.write(f"{uid} {uid} 1")
        with open("/proc/self/gid_map", "w") as f:
            f.write(f"{gid} {gid} 1")
    return True


def _wait_and_exit(child: int, reap_all: bool, report: int | None) -> None:
    """Wait for ``child`` (reaping any orphan, as PID 1 must), then leave with its status."""
    if report is not None:
        os.close(report)  # only the kernel reports: a child that dies is seen at once
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # interrupts are for the kernel only
    while True:
        try:
            pid, status = os.waitpid(-1 if reap_all else child, 0)
        except ChildProcessError:
            os._exit(1)
        if pid == child:
            os._exit(os.waitstatus_to_exitcode(status) & 0xFF)


# ---- the confinement itself --------------------------------------------------------------------

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


def _limits(spec: Spec, nproc: int) -> None:
    lim = Limits(**spec.limits)
    mb = 1024 * 1024
    pairs = [(resource.RLIMIT_AS, lim.memory_mb * mb), (resource.RLIMIT_CPU, lim.cpu_seconds),
             (resource.RLIMIT_FSIZE, lim.file_mb * mb), (resource.RLIMIT_CORE, 0),
             (resource.RLIMIT_NPROC, nproc)]
    for res, value in pairs:
        soft, hard = resource.getrlimit(res)
        if hard != resource.RLIM_INFINITY:
            value = min(value, hard)
        resource.setrlimit(res, (value, value if spec.level == "root" else hard))


def enter(spec: Spec, connection_file: str, report: int | None = None
          ) -> tuple[list[str], str]:
    """Confine the current process as ``spec`` says. Returns, in the process that becomes the
    kernel, the protections achieved and the connection file to start it with; the processes
    that hold the namespaces never return (they close ``report``, the pipe the kernel reports
    on, so that its death is seen at once)."""
    os.setsid()
    _die_with_parent()
    lim = Limits(**spec.limits)
    # RLIMIT_NPROC counts every task of the uid. At root level the uid is this kernel's alone;
    # as an ordinary user it is shared with the grader, so the budget is on top of what runs now
    # (counted here, while the host's processes are still in view).
    nproc = lim.processes if spec.level == "root" else tasks_of(os.getuid()) + lim.processes
    got = list(ALWAYS)
    with open(connection_file, "rb") as f:
        connection = f.read()
    if spec.namespaces and _unshare(spec):
        _mount("none", "/", None, MS_REC | MS_PRIVATE)
        root = spec.folder  # mounted over: the host's folder stays as it is
        _build_root(spec, root, connection)
        with contextlib.suppress(OSError):
            _libc_call("sethostname", b"sandbox", ctypes.c_size_t(7))
        child = os.fork()
        if child:
            _wait_and_exit(child, False, report)  # never returns
        _die_with_parent()  # PID 1 of the namespace: when it goes, everything in it goes
        _switch_root(root)
        with contextlib.suppress(OSError):
            _loopback_up()
        child = os.fork()
        if child:
            _wait_and_exit(child, True, report)  # never returns
        _die_with_parent()
        got += NAMESPACED
        workdir, connection_file = SUBMISSION, f"{CONTROL}/kernel.json"
        home = SUBMISSION
    else:
        workdir = os.path.join(spec.folder, "work")
        os.makedirs(os.path.join(spec.folder, "ipc"), exist_ok=True)
        home = workdir
    _limits(spec, nproc)
    os.umask(0o077)
    os.chdir(workdir)
    env = clean_environment(home)
    env["TMPDIR"] = "/tmp" if workdir == SUBMISSION else workdir
    env["MPLCONFIGDIR"] = os.path.join(env["TMPDIR"], ".matplotlib")
    env["NBGRADER_EXECUTION"] = "autograde"
    if spec.level == "root" and spec.uid:
        _drop_bounding_set()
        os.setgroups([])
        os.setresgid(spec.gid, spec.gid, spec.gid)
        os.setresuid(spec.uid, spec.uid, spec.uid)  # clears the capabilities
        env["USER"] = env["LOGNAME"] = pwd.getpwuid(spec.uid).pw_name
        got.append("own-user")
        with contextlib.suppress(OSError):
            _die_with_parent()  # a change of uid cleared it
    if "no-privileges" in got:
        _drop_privileges()
    else:
        with contextlib.suppress(OSError):
            _prctl(PR_SET_NO_NEW_PRIVS, 1)
    os.environ.clear()
    os.environ.update(env)
    return got, connection_file


