"""The crossing harness's own channel (grading.crossing.listen, grading.test_interpreter._Link),
against a real IPython kernel: requests answered without cells, a call that outlives its time
interrupted (the kernel answers again afterwards), unsigned requests ignored, and the fallback to
cells where the kernel has no channel."""

from __future__ import annotations

import json

import pytest
import zmq
from jupyter_client.manager import KernelManager

from grading import crossing
from grading import test_interpreter as ti

STUDENT_CELLS = """
import time
def double(x):
    return 2 * x
def sleepy(seconds):
    time.sleep(seconds)
    return "woke"
answer = [1, 2, 3]
"""


@pytest.fixture(scope="module")
def student(tmp_path_factory):
    """A student's kernel with the harness installed, as the grader installs it."""
    folder = tmp_path_factory.mktemp("student")
    km = KernelManager(kernel_name="python3", transport="ipc", ip=str(folder / "kernel"))
    km.start_kernel(extra_arguments=["--HistoryManager.hist_file=:memory:"])
    kc = km.blocking_client()
    kc.start_channels()
    kc.wait_for_ready(timeout=60)
    kc.execute(STUDENT_CELLS, reply=True, timeout=60)
    kc.shell_channel.send(crossing.install_request(kc.session))
    kc.get_shell_msg(timeout=60)
    kc.stop_channels()
    info = {k: (v.decode() if isinstance(v, bytes) else v)
            for k, v in km.get_connection_info().items()}
    yield km, info
    km.shutdown_kernel(now=True)


def _names(link: ti._Link, *names: str) -> dict:
    reply, _ = link.request({"op": "get", "names": list(names), "snapshot": ""}, "names")
    return {k: ti._decode(v, k) for k, v in reply["values"].items()}


def test_requests_go_over_the_channel_and_calls_return_data(student):
    km, info = student
    link = ti._Link(info, km.provisioner.pid, 10.0, crossing.MAX_BYTES, installed=True)
    try:
        assert link.channel is not None and link.kc is None  # no kernel client was needed
        values = _names(link, "double", "answer")
        assert values["answer"] == [1, 2, 3]
        ti._LINK = link
        assert values["double"](21) == 42
    finally:
        ti._LINK = None
        link.close()


def test_a_call_that_outlives_its_time_is_interrupted_and_the_kernel_answers_again(student):
    km, info = student
    link = ti._Link(info, km.provisioner.pid, 1.5, crossing.MAX_BYTES, installed=True)
    try:
        sleepy, double = (_names(link, "sleepy", "double")[n] for n in ("sleepy", "double"))
        ti._LINK = link
        with pytest.raises(ti.StudentKernelUnresponsive, match="did not return within 1.5 s"):
            sleepy(30)
        assert not link.dead  # the interrupt reached the kernel, which answered
        assert double(4) == 8
    finally:
        ti._LINK = None
        link.close()


def test_an_unsigned_request_gets_no_answer(student):
    km, info = student
    sock = zmq.Context.instance().socket(zmq.DEALER)
    sock.setsockopt(zmq.LINGER, 0)
    sock.connect(f"ipc://{info['ip']}{crossing.CHANNEL_SUFFIX}")
    try:
        body = json.dumps({"op": "get", "names": ["answer"], "snapshot": "", "id": 1}).encode()
        sock.send_multipart([b"0" * 64, body])
        assert not sock.poll(1000)
        sock.send_multipart([crossing.sign(info["key"].encode(), body), body])
        assert sock.poll(5000)  # signed with the kernel's key: answered
    finally:
        sock.close()


def test_without_a_channel_requests_go_as_cells(student, tmp_path):
    km, info = student
    elsewhere = dict(info, ip=str(tmp_path / "no-kernel-here"))  # no <ip>-upstream socket
    link = ti._Link(elsewhere, km.provisioner.pid, 10.0, crossing.MAX_BYTES, installed=True)
    assert link.channel is None
    link.connection = info  # reach the kernel itself, as cells
    try:
        assert _names(link, "answer")["answer"] == [1, 2, 3]
        assert link.kc is not None
    finally:
        link.close()
