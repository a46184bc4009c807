"""What a kernel started for a submission can and cannot do, at each isolation level, and that
parallel gradebook writes are never lost."""

from __future__ import annotations

import json
import multiprocessing as mp
import os
import shutil
import socket
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from grading import autograde, kernels, sandbox
from tests.helpers.sandbox import listener, run_in_kernel

ROOT_ONLY = pytest.mark.skipif(os.geteuid() != 0, reason="the root level needs root")
NAMESPACES = pytest.mark.skipif(not sandbox.user_namespaces_available(),
                                reason="this Linux kernel does not allow the namespaces")
CHECKOUT = Path(__file__).resolve().parent.parent
SECRET_VARIABLE, SECRET = "UPSTREAM_TEST_HUB_TOKEN", "hub-token-must-not-leak"
LIMITS = {"memory_mb": 1536, "cpu_seconds": 77, "file_mb": 5, "processes": 40, "disk_mb": 48}

# Runs inside the kernel; prints FACTS{json}. Every finding of issue #15 on the sandbox is a key.
PROBE = textwrap.dedent("""
    import ctypes, errno, json, os, resource, socket, subprocess
    ctypes.CDLL(None).prctl(4, 1, 0, 0, 0)  # PR_SET_DUMPABLE: what the attack did first
    def attempt(action):
        try:
            return action()
        except OSError as exc:
            return errno.errorcode.get(exc.errno, type(exc).__name__)
    def fill(folder, total):
        written = 0
        try:
            for i in range(total // 4_000_000):
                with open(os.path.join(folder, f"fill{i}"), "wb") as f:
                    f.write(b"x" * 4_000_000)
                written += 4_000_000
        except OSError as exc:
            return [written, errno.errorcode.get(exc.errno)]
        return [written, "none"]
    def connect(address, family=socket.AF_INET):
        with socket.socket(family) as s:
            s.settimeout(2)
            s.connect(address)
            return "connected"
    facts = {
        "uid": os.getuid(), "cwd": os.getcwd(), "root": sorted(os.listdir("/")),
        "etc": sorted(os.listdir("/etc")),
        "users": [line.split(":")[0] for line in open("/etc/passwd")],
        "environ": attempt(lambda: open("/proc/self/environ").read().split("\\0")),
        "pids": sorted(int(p) for p in os.listdir("/proc") if p.isdigit()),
        "cmdlines": [attempt(lambda p=p: open(f"/proc/{p}/cmdline").read())
                     for p in os.listdir("/proc") if p.isdigit()],
        "git": subprocess.run(["git", "-C", CHECKOUT, "show", "HEAD:pyproject.toml"],
                              capture_output=True, text=True).stderr,
        "checkout": attempt(lambda: sorted(os.listdir(CHECKOUT))),
        "sources": attempt(lambda: os.listdir(CHECKOUT + "/course/exercises/source")),
        "secret": attempt(lambda: open(SECRET_FILE).read()),
        "run_lock": attempt(lambda: open("/run/lock/upstream-probe", "w").write("x")),
        "dev_shm": [attempt(lambda: open("/dev/shm/upstream-probe", "w").write("x")),
                    sorted(os.listdir("/dev/shm"))],
        "host_tcp": attempt(lambda: connect(("127.0.0.1", PORT))),
        "host_unix": attempt(lambda: connect(UNIX_PATH, socket.AF_UNIX)),
        "host_abstract": attempt(lambda: connect(ABSTRACT, socket.AF_UNIX)),
        "umount": ctypes.CDLL(None, use_errno=True).umount2(
            (CHECKOUT + "/course/exercises").encode(), 2),
        "as": resource.getrlimit(resource.RLIMIT_AS)[0],
        "cpu": resource.getrlimit(resource.RLIMIT_CPU)[0],
        "fsize": resource.getrlimit(resource.RLIMIT_FSIZE)[0],
        "nproc": resource.getrlimit(resource.RLIMIT_NPROC)[0],
    }
    facts["disk"] = fill("/tmp", 3_000_000_000)  # "wrote 3 GB in 8 s"
    facts["submission"] = sorted(os.listdir("."))
    print("FACTS" + json.dumps(facts))
""")


@pytest.fixture
def hostile_host(tmp_path, monkeypatch):
    """What the probe tries to reach: a grader secret in the environment and in a file, a TCP
    listener, a world-writable Unix socket, an abstract socket."""
    monkeypatch.setenv(SECRET_VARIABLE, SECRET)
    secret_dir = tmp_path / "course-root"
    secret_dir.mkdir()
    (secret_dir / "secret.txt").write_text("the gradebook")
    tcp = listener(socket.AF_INET, ("127.0.0.1", 0))
    unix = listener(socket.AF_UNIX, str(tmp_path / "world.sock"))
    abstract_name = f"\0upstream-test-{os.getpid()}"
    abstract = listener(socket.AF_UNIX, abstract_name)
    yield {"CHECKOUT": str(CHECKOUT), "SECRET_FILE": str(secret_dir / "secret.txt"),
           "PORT": tcp.getsockname()[1], "UNIX_PATH": str(tmp_path / "world.sock"),
           "ABSTRACT": abstract_name, "hide": [str(secret_dir),
                                               str(CHECKOUT / "course" / "exercises")],
           "listeners": [tcp, unix, abstract]}
    for s in (tcp, unix, abstract):
        s.close()


def _probe_code(host: dict) -> str:
    names = ("CHECKOUT", "SECRET_FILE", "PORT", "UNIX_PATH", "ABSTRACT")
    return "".join(f"{n} = {host[n]!r}\n" for n in names) + PROBE


def _assert_nothing_of_the_host(facts: dict, host: dict) -> None:
    """The outcome issue #15 asks for, finding by finding."""
    assert facts["cwd"] == sandbox.SUBMISSION
    assert facts["submission"] == [".ipython", "data.csv"]
    # The environment: only the clean one, even read back through /proc after PR_SET_DUMPABLE.
    names = {v.split("=", 1)[0] for v in facts["environ"] if v}
    assert names == set(sandbox.clean_environment("/x"))
    assert SECRET not in json.dumps(facts)
    # The repository: no git repository, nothing of the checkout but the package and Python.
    assert "not a git repository" in facts["git"]
    assert facts["checkout"] == sorted({".venv", "course"} & set(facts["checkout"]))
    assert "course" in facts["checkout"]
    assert facts["sources"] == "EACCES"
    assert facts["secret"] == "ENOENT"
    assert facts["umount"] == -1  # no privilege to uncover what is covered
    # Of /etc, only what programs need: no roster, no hub configuration, no host accounts.
    assert set(facts["etc"]) <= set(sandbox.ETC_ENTRIES) | {"passwd", "group", "hosts",
                                                            "hostname"}
    assert len(facts["users"]) <= 3 and facts["users"][0] == "root"
    # Writes: bounded by the disk quota, in a tmpfs that goes with the kernel; no /run at all.
    written, error = facts["disk"]
    assert error == "ENOSPC" and written <= LIMITS["disk_mb"] * 2**20
    assert "run" not in facts["root"] and facts["run_lock"] == "ENOENT"
    assert facts["dev_shm"] == [1, ["upstream-probe"]]
    assert not os.path.exists("/run/lock/upstream-probe")
    assert not os.path.exists("/dev/shm/upstream-probe")
    # Sockets: no host port, no host Unix socket by path or in the abstract namespace.
    assert facts["host_tcp"] == "ECONNREFUSED"
    assert facts["host_unix"] == "ENOENT"
    assert facts["host_abstract"] == "ECONNREFUSED"
    for waiting in host["listeners"]:
        with pytest.raises(OSError):
            waiting.accept()
    # Processes: only the sandbox's own (its PID 1, the kernel, what the kernel started).
    assert facts["pids"][:2] == [1, 2] and len(facts["pids"]) <= 4
    assert all("pytest" not in c for c in facts["cmdlines"])


@pytest.mark.slow  # a kernel against the hostile host: about 3 s of CPU, 16-21 s measured
@ROOT_ONLY
def test_root_level_kernel_has_nothing_of_the_host(hostile_host):
    lease = sandbox.UserLease(2)  # users no concurrent grading run is using
    ids = lease.ids
    pool = kernels.KernelPool(kernels.PoolSettings(level="root", limits=LIMITS,
                                                   hide=hostile_host["hide"], ids=ids))
    try:
        facts, kernel = run_in_kernel(pool, _probe_code(hostile_host))
    finally:
        pool.close()
        lease.release()
    assert kernel.protections == sandbox.achieved("root")
    assert facts["uid"] in {uid for uid, _ in ids} and facts["uid"] != 0
    _assert_nothing_of_the_host(facts, hostile_host)
    assert (facts["as"], facts["cpu"], facts["fsize"], facts["nproc"]) == (
        1536 * 2**20, 77, 5 * 2**20, 40)
    assert not kernel.folder.exists()  # the kernel's folder is gone afterwards


@pytest.mark.slow  # a kernel against the hostile host: about 3 s of CPU, 16-21 s measured
@NAMESPACES
def test_user_namespace_level_kernel_has_nothing_of_the_host(hostile_host):
    """The user level's code path (a user namespace of our own) run by this process."""
    pool = kernels.KernelPool(kernels.PoolSettings(level="user", limits=LIMITS,
                                                   hide=hostile_host["hide"]))
    try:
        facts, kernel = run_in_kernel(pool, _probe_code(hostile_host))
    finally:
        pool.close()
    assert "no-privileges" in kernel.protections and "own-user" not in kernel.protections
    assert facts["uid"] == os.getuid()
    _assert_nothing_of_the_host(facts, hostile_host)
    assert (facts["as"], facts["cpu"], facts["fsize"]) == (1536 * 2**20, 77, 5 * 2**20)
    assert facts["nproc"] >= LIMITS["processes"]


USER_SCRIPT = textwrap.dedent("""
    import json, sys
    from grading import kernels
    from tests.helpers.sandbox import run_in_kernel
    pool = kernels.KernelPool(kernels.PoolSettings(level="user", limits=json.loads(sys.argv[1]),
                                                   hide=json.loads(sys.argv[2])))
    try:
        facts, kernel = run_in_kernel(pool, sys.stdin.read())
    finally:
        pool.close()
    print("RESULT" + json.dumps({"facts": facts, "protections": kernel.protections}))
""")


def _as_ordinary_user(args: list[str], stdin: str) -> subprocess.CompletedProcess:
    """Run ``args`` as nobody, in a mount namespace where the interpreter (which may live in
    root's home, e.g. pyenv) is reachable: the root setup a test needs, not the sandbox's."""
    prefix = os.path.realpath(sys.base_prefix)
    blocked = next((p for p in [*reversed(Path(prefix).parents), Path(prefix)]
                    if not p.stat().st_mode & 0o001), None)
    setup = ""
    if blocked is not None:
        setup = (f'd=$(mktemp -d); mount --bind {prefix} "$d"; '
                 f"mount -t tmpfs -o mode=755 tmpfs {blocked}; mkdir -p {prefix}; "
                 f'mount --move "$d" {prefix}; ')
    return subprocess.run(
        ["unshare", "--mount", "--propagation", "private", "sh", "-c",
         setup + 'exec setpriv --reuid=65534 --regid=65534 --clear-groups "$@"', "sh",
         "env", "HOME=/tmp", f"PYTHONPATH={CHECKOUT}", *args],
        input=stdin, capture_output=True, text=True, timeout=300, cwd="/tmp")


@ROOT_ONLY
@pytest.mark.slow  # a grader of its own, as nobody: 10-20 s
@pytest.mark.skipif(not (shutil.which("unshare") and shutil.which("setpriv")),
                    reason="needs unshare(1) and setpriv(1) to become an ordinary user")
def test_ordinary_user_kernel_has_nothing_of_the_host(hostile_host):
    """The user level as it really runs: the grader is an ordinary account (nobody here)."""
    probe = subprocess.run(["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups",
                            "unshare", "--user", "--map-current-user", "--net", "--pid",
                            "--fork", "--mount", "true"], capture_output=True, timeout=60)
    if probe.returncode != 0:
        pytest.skip("this Linux kernel does not allow an ordinary user the namespaces: "
                    f"{probe.stderr.decode().strip()}")
    done = _as_ordinary_user(
        [sys.executable, "-c", USER_SCRIPT, json.dumps(LIMITS), json.dumps(hostile_host["hide"])],
        _probe_code(hostile_host))
    assert "RESULT" in done.stdout, done.stderr[-3000:]
    result = json.loads(done.stdout.split("RESULT", 1)[1])
    assert result["protections"] == sandbox.ALWAYS + sandbox.NAMESPACED
    facts = result["facts"]
    assert facts["uid"] == 65534
    _assert_nothing_of_the_host(facts, hostile_host)


@pytest.mark.slow  # a kernel against the hostile host: about 3 s of CPU, 16-21 s measured
def test_plain_level_keeps_limits_and_a_clean_environment(hostile_host):
    """Where no namespace can be made: limits, its own folder, a clean environment."""
    code = textwrap.dedent("""
        import json, os, resource
        print("FACTS" + json.dumps({
            "environ": open("/proc/self/environ").read().split("\\0"), "cwd": os.getcwd(),
            "files": sorted(os.listdir(".")),
            "fsize": resource.getrlimit(resource.RLIMIT_FSIZE)[0]}))
    """)
    pool = kernels.KernelPool(kernels.PoolSettings(level="user", limits=LIMITS,
                                                   namespaces=False))
    try:
        facts, kernel = run_in_kernel(pool, code)
    finally:
        pool.close()
    assert kernel.protections == sandbox.ALWAYS
    assert {v.split("=", 1)[0] for v in facts["environ"] if v} == set(
        sandbox.clean_environment("/x"))
    assert facts["cwd"] == str(kernel.folder / "work") and "data.csv" in facts["files"]
    assert facts["fsize"] == 5 * 2**20


@ROOT_ONLY
def test_concurrent_runs_never_share_a_grader_user():
    first, second = sandbox.UserLease(3), sandbox.UserLease(3)
    try:
        assert not set(first.ids) & set(second.ids)
        assert all(uid != 0 for uid, _ in first.ids + second.ids)
    finally:
        first.release()
        second.release()


def _write_students(db_url: str, start: int, count: int, lock: str) -> None:
    from nbgrader.api import Gradebook

    autograde.serialize_gradebook(Path(lock))
    for i in range(start, start + count):
        with Gradebook(db_url) as gb:
            gb.update_or_create_student(f"s{i:04d}", first_name=f"n{i}")


@pytest.mark.slow  # six processes or two kernel start-ups: 6-10 s
def test_no_gradebook_write_is_lost_under_parallel_load(tmp_path):
    from nbgrader.api import Gradebook

    db_url = f"sqlite:///{tmp_path / 'gradebook.db'}"
    with Gradebook(db_url):
        pass
    ctx = mp.get_context("fork")
    procs = [ctx.Process(target=_write_students,
                         args=(db_url, k * 25, 25, str(tmp_path / "gradebook.lock")))
             for k in range(6)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(300)
    assert [p.exitcode for p in procs] == [0] * 6
    with Gradebook(db_url) as gb:
        assert len(gb.students) == 150


@pytest.mark.slow  # six processes or two kernel start-ups: 6-10 s
def test_a_killed_fork_server_is_replaced_for_the_next_kernel():
    pool = kernels.KernelPool(kernels.PoolSettings(level="user", limits=LIMITS))
    try:
        first = pool.take()
        pool.server.proc.kill()  # what a hostile submission at the plain user level could do
        pool.server.proc.wait()
        pool.release(first)
        pool.refill()
        kernel = pool.take()
        kc = kernel.km.blocking_client()
        kc.start_channels()
        kc.wait_for_ready(timeout=120)
        reply = kc.execute_interactive("1 + 1", timeout=60)
        kc.stop_channels()
        assert reply["content"]["status"] == "ok"
        pool.release(kernel)
    finally:
        pool.close()
