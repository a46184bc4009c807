"""Record every request sent to a student kernel, at its sockets (test only).

For the length of a ``with recording(...)``, a ``.pth`` file in this interpreter's site-packages
patches jupyter_client's ``Session.send`` in the processes that talk to student kernels for
``course_dir``: the grading worker (nbclient runs the student's cells) and the worker's fork
server, whose test kernels inherit the patch (they call the student's functions; its student
kernels inherit it too, and leave it idle). Every
``execute_request`` sent on a socket whose endpoint is a student kernel's (not a test
interpreter's) is appended, as JSON, to the log, and so is every request sent on the crossing
harness's own channel (``"channel"``: its text): everything those kernels were ever asked. No other process is affected, and the ``.pth`` file is removed afterwards.
"""

from __future__ import annotations

import contextlib
import json
import sysconfig
import uuid
from pathlib import Path

RECORDER = r'''
import json, os, sys
_conf = json.load(open(CONF))
_worker = "grading.worker" in sys.orig_argv
_who = open(f"/proc/{os.getpid() if _worker else os.getppid()}/cmdline",
            "rb").read().decode("utf-8", "replace")
if _conf["course_dir"] in _who and not getattr(sys, "_upstream_recording", False):
    sys._upstream_recording = True
    import zmq
    from jupyter_client import session as _session
    _send = _session.Session.send

    def _recorded():  # the worker, or a test kernel (student kernels are forks of the same
        return _worker or getattr(sys, "_upstream_test_kernel", False)  # server: not them)

    def send(self, stream, msg_or_type, content=None, *args, **kwargs):
        msg = _send(self, stream, msg_or_type, content, *args, **kwargs)
        if not _recorded():
            return msg
        try:
            endpoint = stream.getsockopt(zmq.LAST_ENDPOINT).decode()
        except Exception:
            endpoint = ""
        if (isinstance(msg, dict) and msg.get("msg_type") == "execute_request"
                and "upstream-tests-" not in endpoint):
            record = {"pid": os.getpid(), "endpoint": endpoint, "content": msg.get("content"),
                      "metadata": msg.get("metadata")}
            with open(_conf["log"], "a") as f:
                f.write(json.dumps(record, default=str) + "\n")
        return msg

    _session.Session.send = send
    _send_multipart = zmq.Socket.send_multipart

    def send_multipart(self, parts, *args, **kwargs):
        if not _recorded():
            return _send_multipart(self, parts, *args, **kwargs)
        try:
            endpoint = self.getsockopt(zmq.LAST_ENDPOINT).decode()
        except Exception:
            endpoint = ""
        if endpoint.endswith("-upstream"):  # the crossing harness's own channel
            record = {"pid": os.getpid(), "endpoint": endpoint,
                      "channel": bytes(parts[-1]).decode("utf-8", "replace")}
            with open(_conf["log"], "a") as f:
                f.write(json.dumps(record) + "\n")
        return _send_multipart(self, parts, *args, **kwargs)

    zmq.Socket.send_multipart = send_multipart
'''


@contextlib.contextmanager
def recording(course_dir: Path, folder: Path):
    """Yields the log file: one JSON line per request sent to a student kernel."""
    tag = uuid.uuid4().hex[:12]
    log = folder / f"student-requests-{tag}.jsonl"
    conf = folder / f"recorder-{tag}.json"
    script = folder / f"recorder-{tag}.py"
    conf.write_text(json.dumps({"course_dir": str(course_dir), "log": str(log)}))
    script.write_text(RECORDER.replace("CONF", repr(str(conf))))
    pth = Path(sysconfig.get_paths()["purelib"]) / f"upstream_test_recorder_{tag}.pth"
    pth.write_text(f"import sys; exec(open({str(script)!r}).read(), {{}}) if {{'grading.worker', "
                   "'grading.forkserver'} & set(getattr(sys, 'orig_argv', ())) "
                   "else None\n")
    try:
        yield log
    finally:
        pth.unlink(missing_ok=True)


def requests(log: Path) -> list[dict]:
    return [json.loads(line) for line in log.read_text().splitlines()] if log.exists() else []
