"""The locker under stress: a writer killed mid-write, and two processes writing at once.

Real processes and real SIGKILLs: the writer is a separate Python process running the locker's
own code, killed at varying moments (during a file copy, a transaction, or a commit).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import pytest

from course.evidence import Locker

WRITER = r"""
import os, sys
from course.evidence import Locker
root, name, n, size, wait = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), sys.argv[5]
record = dict(event_start="2024-05-01", province_id="P02", act_type="forced-displacement",
              victim_group="Group B", perpetrator_type="unidentified armed men", source_id="S9",
              source_type="local-ngo", information_type="document", consent_recorded=False,
              summary="Families left the village after threats.")
with Locker(root) as lk:
    print("ready", flush=True)
    for i in range(n):
        if wait == "wait":  # each round starts together with the other writer's
            sys.stdin.readline()
        item = lk.add_bytes(os.urandom(size), f"{name}-{i}.bin", handler=name, source="test",
                            method="generated")
        rec = lk.add_incident(dict(record, report_ref=f"{name}-{i}"), handler=name)
        print("committed", item["item_id"], rec, flush=True)
"""


def start_writer(root, name, n, size, wait=False):
    return subprocess.Popen([sys.executable, "-c", WRITER, str(root), name, str(n), str(size),
                             "wait" if wait else "go"],
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)


@pytest.mark.parametrize("delay", [0.05, 0.2, 0.5, 0.9, 1.4])
def test_a_writer_killed_mid_write_leaves_a_consistent_store(tmp_path, delay):
    root = tmp_path / "locker"
    Locker(root).close()
    proc = start_writer(root, "w", 10_000, 2 * 1024 * 1024)
    assert proc.stdout.readline().strip() == "ready"
    time.sleep(delay)
    os.kill(proc.pid, signal.SIGKILL)
    # Read through the text wrapper, not communicate(): readline may have buffered lines past
    # "ready" (the first commits, on a loaded machine), which communicate() would not see.
    out = proc.stdout.read()
    proc.wait()
    proc.stdin.close()
    assert proc.returncode == -signal.SIGKILL
    reported = [line.split() for line in out.splitlines() if line.startswith("committed")]
    with Locker(root) as lk:
        report = lk.verify()
        assert report.intact, report.summary()
        counts = lk.counts()
        items = set(lk.items()["item_id"])
        records = set(lk.incidents()["record_id"])
    # Everything the writer saw committed survived; at most one more add committed unreported.
    assert {r[1] for r in reported} <= items and {r[2] for r in reported} <= records
    assert len(reported) <= counts["items"] <= len(reported) + 1
    assert counts["custody"] == counts["items"] + counts["incidents"]
    # A killed add can leave only an unregistered file behind, never a half-registered item.
    assert all(s.startswith(("staging/", "evidentiary/", "working/")) for s in report.stray)
    with Locker(root) as lk:  # and the locker carries on from where it was
        lk.add_bytes(b"after the crash", "after.txt", handler="h", source="s", method="m")
        assert lk.verify().intact


@pytest.mark.slow  # over about 5 s: out of `make check`
def test_two_processes_writing_at_once_lose_nothing(tmp_path):
    root = tmp_path / "locker"
    Locker(root).close()
    n = 25
    writers = [start_writer(root, name, n, 64 * 1024, wait=True) for name in ("alpha", "beta")]
    for w in writers:  # both have imported everything and opened the locker...
        assert w.stdout.readline().strip() == "ready"
    outs = [[], []]
    for _ in range(n):  # ...then, round by round, both write at the same moment. In rounds,
        for w in writers:  # so a loaded machine cannot run one writer to its end first.
            w.stdin.write("go\n")
            w.stdin.flush()
        for w, out in zip(writers, outs, strict=True):
            out.append(w.stdout.readline())
    outs = ["".join(out) + w.communicate(timeout=240)[0] for w, out in zip(writers, outs,
                                                                         strict=True)]
    assert [w.returncode for w in writers] == [0, 0]
    # Both really wrote at the same time: their commits interleave in the custody log.
    with Locker(root) as lk:
        report = lk.verify()
        assert report.intact, report.summary()
        assert lk.counts() == {"items": 2 * n, "custody": 4 * n, "incidents": 2 * n}
        log = lk.custody_log()
        handlers = list(log["handler"])
        assert sorted(set(lk.incidents()["report_ref"])) == sorted(
            f"{name}-{i}" for name in ("alpha", "beta") for i in range(n))
    switches = sum(1 for a, b in zip(handlers, handlers[1:], strict=False) if a != b)
    assert switches > 1, "the writers ran one after the other, so this proved nothing"
    print(f"{switches} switches between writers in {len(handlers)} log entries")
    assert sum(len(o.splitlines()) for o in outs) == 2 * n
