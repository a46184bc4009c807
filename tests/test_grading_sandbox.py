"""What a kernel started for a submission can and cannot do, at each isolation level, and that
parallel gradebook writes are never lost."""

from __future__ import annotations

import json
import multiprocessing as mp
import os
import socket
from pathlib import Path

import pytest

from grading import autograde, kernels, sandbox

ROOT_ONLY = pytest.mark.skipif(os.geteuid() != 0, reason="the root level needs root")


def _facts(pool: kernels.KernelPool, secret_dir: Path, port: int) -> dict:
    """Run a probe in a fresh pool kernel and return what it saw."""
    code = f"""
import json, os, resource, socket
facts = {{"uid": os.getuid(), "cwd": os.getcwd(), "tmp": sorted(os.listdir("/tmp")),
          "as": resource.getrlimit(resource.RLIMIT_AS)[0],
          "cpu": resource.getrlimit(resource.RLIMIT_CPU)[0],
          "fsize": resource.getrlimit(resource.RLIMIT_FSIZE)[0],
          "nproc": resource.getrlimit(resource.RLIMIT_NPROC)[0]}}
try:
    socket.create_connection(("127.0.0.1", {port}), timeout=2).close()
    facts["net"] = "connected"
except OSError as exc:
    facts["net"] = type(exc).__name__
try:
    facts["secret"] = open({str(secret_dir / "secret.txt")!r}).read()
except OSError as exc:
    facts["secret"] = type(exc).__name__
try:
    open("/tmp/dropped-by-kernel", "w").write("x")
    facts["tmp_write"] = "ok"
except OSError as exc:
    facts["tmp_write"] = type(exc).__name__
print("FACTS" + json.dumps(facts))
"""
    kernel = pool.take()
    try:
        kc = kernel.km.blocking_client()
        kc.start_channels()
        kc.wait_for_ready(timeout=120)
        seen = []
        kc.execute_interactive(code, timeout=120, output_hook=lambda m: seen.append(
            m["content"].get("text", "")))
        kc.stop_channels()
    finally:
        pool.release(kernel)
    text = "".join(seen)
    assert "FACTS" in text, text
    return json.loads(text.split("FACTS", 1)[1])


@pytest.fixture
def secret(tmp_path):
    d = tmp_path / "course-root"
    d.mkdir()
    (d / "secret.txt").write_text("the gradebook")
    return d


@pytest.fixture
def listener():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    s.listen(4)
    s.settimeout(0.2)
    yield s
    s.close()


LIMITS = {"memory_mb": 1536, "cpu_seconds": 77, "file_mb": 5, "processes": 40}


@ROOT_ONLY
def test_root_level_kernel_is_confined(secret, listener):
    lease = sandbox.UserLease(2)  # users no concurrent grading run is using
    ids = lease.ids
    pool = kernels.KernelPool(kernels.PoolSettings(level="root", limits=LIMITS,
                                                   hide=[str(secret)], ids=ids))
    try:
        facts = _facts(pool, secret, listener.getsockname()[1])
    finally:
        pool.close()
        lease.release()
    assert facts["uid"] in {uid for uid, _ in ids} and facts["uid"] != 0
    assert facts["net"] != "connected"
    assert facts["secret"] in ("PermissionError", "FileNotFoundError")
    assert facts["tmp_write"] == "ok" and "dropped-by-kernel" not in os.listdir("/tmp")
    # /tmp holds only its own folder's parent, and the environment or course if they live there.
    needed_in_tmp = {p.split("/")[2] for p in sandbox._needed_folders(facts["cwd"])
                     if p.startswith("/tmp/")}
    assert sorted(facts["tmp"]) == sorted({facts["cwd"].split("/")[2]} | needed_in_tmp)
    assert (facts["as"], facts["cpu"], facts["fsize"], facts["nproc"]) == (
        1536 * 2**20, 77, 5 * 2**20, 40)
    with pytest.raises(OSError):
        listener.accept()
    assert not Path(facts["cwd"]).exists()  # the temporary folder is gone afterwards


def test_user_level_kernel_has_limits_and_where_possible_no_network(secret, listener):
    pool = kernels.KernelPool(kernels.PoolSettings(level="user", limits=LIMITS,
                                                   hide=[str(secret)]))
    try:
        facts = _facts(pool, secret, listener.getsockname()[1])
    finally:
        pool.close()
    assert facts["uid"] == os.getuid()
    assert (facts["as"], facts["cpu"], facts["fsize"]) == (1536 * 2**20, 77, 5 * 2**20)
    assert facts["nproc"] >= LIMITS["processes"]
    if sandbox.user_namespaces_available():
        assert facts["net"] != "connected"
        assert facts["secret"] == "FileNotFoundError"
        with pytest.raises(OSError):
            listener.accept()


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
def test_a_killed_fork_server_is_replaced_for_the_next_kernel(secret):
    pool = kernels.KernelPool(kernels.PoolSettings(level="user", limits=LIMITS,
                                                   hide=[str(secret)]))
    try:
        first = pool.take()
        pool.server.proc.kill()  # what a hostile submission at the user level could do
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
