"""Record every ``execute_request`` a student kernel receives, inside that kernel (test only).

The student kernels are forks of ``grading.forkserver``, which runs with a clean environment, so
nothing can be handed to it through variables. For the length of a ``with recording(...)``, a
``.pth`` file in this interpreter's site-packages makes every *new* fork server whose parent (a
grading worker) was started for ``course_dir`` patch ipykernel's ``execute_request`` before it
forks any kernel: each request is appended, as JSON, to a log file opened before the fork (the
fork server's "close every other file" step is told to keep that one). No other process is
affected, and the file is removed afterwards.
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
_parent = open(f"/proc/{os.getppid()}/cmdline", "rb").read().decode("utf-8", "replace")
if _conf["course_dir"] in _parent:
    _fd = os.open(_conf["log"], os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o666)
    _closerange = os.closerange

    def closerange(low, high):
        if low <= _fd < high:
            _closerange(low, _fd)
            _closerange(_fd + 1, high)
        else:
            _closerange(low, high)

    os.closerange = closerange
    import ipykernel.kernelbase as _kb
    _orig = _kb.Kernel.execute_request

    async def execute_request(self, stream, ident, parent):
        record = {"pid": os.getpid(), "content": parent.get("content"),
                  "metadata": parent.get("metadata")}
        os.write(_fd, (json.dumps(record, default=str) + "\n").encode())
        return await _orig(self, stream, ident, parent)

    _kb.Kernel.execute_request = execute_request
'''


@contextlib.contextmanager
def recording(course_dir: Path, folder: Path):
    """Yields the log file: one JSON line per execute_request a student kernel received."""
    tag = uuid.uuid4().hex[:12]
    log = folder / f"student-requests-{tag}.jsonl"
    conf = folder / f"recorder-{tag}.json"
    script = folder / f"recorder-{tag}.py"
    conf.write_text(json.dumps({"course_dir": str(course_dir), "log": str(log)}))
    script.write_text(RECORDER.replace("CONF", repr(str(conf))))
    for path in (folder, conf, script):
        path.chmod(0o755 if path.is_dir() else 0o644)
    pth = Path(sysconfig.get_paths()["purelib"]) / f"upstream_test_recorder_{tag}.pth"
    pth.write_text(f"import sys; exec(open({str(script)!r}).read()) if 'grading.forkserver' "
                   "in getattr(sys, 'orig_argv', ()) else None\n")
    try:
        yield log
    finally:
        pth.unlink(missing_ok=True)


def requests(log: Path) -> list[dict]:
    return [json.loads(line) for line in log.read_text().splitlines()] if log.exists() else []
