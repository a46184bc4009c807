"""Shared by the sandbox tests: listening sockets for hostile code to aim at, and running code in
a fresh kernel of a pool. Used by tests/test_grading_sandbox.py and tests/test_grading_hostile.py
(and, as nobody, by the ordinary-user test's own grader process)."""

from __future__ import annotations

import json
import os
import socket

from grading import kernels


def listener(family: int, address) -> socket.socket:
    """A listening socket that waits 0.2 s for a connection; a Unix one is world-writable, as
    the one found under /run was."""
    s = socket.socket(family)
    s.bind(address)
    if family == socket.AF_UNIX and not address.startswith("\0"):
        os.chmod(address, 0o777)
    s.listen(4)
    s.settimeout(0.2)
    return s


def run_in_kernel(pool: kernels.KernelPool, code: str) -> tuple[dict, kernels.Kernel]:
    """Run ``code`` in a fresh pool kernel (with a file in its folder); the JSON it printed
    after ``FACTS``, and the kernel."""
    kernel = pool.take()
    try:
        (kernel.work / "data.csv").write_text("a,b\n1,2\n")
        kc = kernel.km.blocking_client()
        kc.start_channels()
        kc.wait_for_ready(timeout=120)
        seen = []
        kc.execute_interactive(code, timeout=120, output_hook=lambda m: seen.append(
            m["content"].get("text", "") or m["content"].get("evalue", "")))
        kc.stop_channels()
    finally:
        pool.release(kernel)
    text = "".join(seen)
    assert "FACTS" in text, text
    return json.loads(text.split("FACTS", 1)[1]), kernel
