"""Fresh, confined kernels started ahead of need, and the nbgrader Execute step that uses them.

``KernelPool`` (one per autograde worker) keeps one kernel booted and waiting while the previous
submission runs; each kernel serves exactly one submission and is then killed. Kernels are forked
from a warmed process (``grading.forkserver``) and reached over IPC sockets in their private
folder (a link to their sockets inside the root of their own, through /proc/PID/root).

``SandboxedExecute`` is nbgrader's own ``Execute`` preprocessor (same timeouts, same error
handling, same outputs) except for where the kernel comes from and a cap on the output kept.
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import shutil
import signal
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import zmq
import zmq.asyncio
from jupyter_client.asynchronous import AsyncKernelClient
from jupyter_client.manager import AsyncKernelManager
from jupyter_client.provisioning import LocalProvisioner
from jupyter_core.utils import run_sync
from nbclient.exceptions import CellTimeoutError
from nbformat import NotebookNode
from nbgrader.preprocessors import Execute
from traitlets import Bool, Integer, Type

from . import forkserver, sandbox
from .kernel_ready import PromptKernelClient
from .sandbox import PoolSettings  # noqa: F401 - part of this module's interface


class ForkedProcess:
    """The bits of ``subprocess.Popen`` jupyter_client uses, for a kernel forked elsewhere."""

    stdin = stdout = stderr = None

    def __init__(self, pid: int):
        self.pid = pid
        self.returncode = None

    def poll(self):
        if self.returncode is None:
            try:
                os.kill(self.pid, 0)
                with open(f"/proc/{self.pid}/stat") as f:
                    if f.read().rsplit(")", 1)[1].split()[0] == "Z":
                        self.returncode = -1
            except (ProcessLookupError, FileNotFoundError):
                self.returncode = -1
            except PermissionError:
                pass
        return self.returncode

    def wait(self, timeout=None):
        end = None if timeout is None else time.monotonic() + timeout
        while self.poll() is None:
            if end is not None and time.monotonic() > end:
                raise subprocess.TimeoutExpired(str(self.pid), timeout)
            time.sleep(0.02)
        return self.returncode

    def send_signal(self, sig):
        with contextlib.suppress(ProcessLookupError):
            os.kill(self.pid, sig)

    def terminate(self):
        self.send_signal(signal.SIGTERM)

    def kill(self):
        try:
            os.killpg(self.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            self.send_signal(signal.SIGKILL)


class ForkProvisioner(LocalProvisioner):
    """Launches the kernel by asking the forkserver for a confined fork."""

    server = None  # ForkServer
    spec: sandbox.Spec | None = None
    protections: list[str] = []

    async def launch_kernel(self, cmd, **kwargs):
        km = self.parent
        if self.spec.uid is not None:
            os.chown(km.connection_file, self.spec.uid, self.spec.gid)
        pid, self.protections = self.server.fork(self.spec, km.connection_file)
        # A kernel with a root of its own binds its sockets there; we reach them through it.
        ipc = Path(self.spec.folder) / "ipc"
        if not os.path.lexists(ipc):
            ipc.symlink_to(f"/proc/{pid}/root{sandbox.CONTROL}/ipc")
        self.process = ForkedProcess(pid)
        self.pid = self.pgid = pid
        self.cwd = self.spec.folder
        return self.connection_info


@dataclass
class Kernel:
    km: AsyncKernelManager
    folder: Path      # on the host: its connection file, and the link to its sockets
    work: Path        # the submission's folder, as the grader reaches it
    uid: int | None
    protections: list[str]
    started: float = field(default_factory=time.monotonic)


# A message larger than this is refused by ZMQ before the grader reads it (the kernel's
# connection is dropped and made again), so one huge print cannot cost the grader its size
# several times over. Far above what is kept of a cell (``max_output_bytes``), so that a cell
# printing a little too much is still truncated and reported as before.
MAX_MESSAGE_BYTES = 64_000_000
_CONTEXT: zmq.asyncio.Context | None = None


class BoundedKernelManager(AsyncKernelManager):
    """Its clients refuse messages over ``MAX_MESSAGE_BYTES`` and are ready without sleeping
    (``grading.kernel_ready``)."""

    client_factory = Type(PromptKernelClient, klass=AsyncKernelClient)

    def client(self, **kwargs):
        global _CONTEXT
        if _CONTEXT is None:
            _CONTEXT = zmq.asyncio.Context()
            _CONTEXT.setsockopt(zmq.MAXMSGSIZE, MAX_MESSAGE_BYTES)
        kwargs.setdefault("context", _CONTEXT)
        return super().client(**kwargs)


class BootedAhead:
    """One kernel booted ahead of need; a new one for every submission. Subclasses give
    ``_start()`` and ``release(kernel)``, and set ``ready``, ``base`` and ``server`` (or their
    own ``close``)."""

    ready = None

    def take(self):
        kernel, self.ready = self.ready, None
        if kernel is None or not run_sync(kernel.km.is_alive)():
            if kernel is not None:
                self.release(kernel)
            kernel = self._start()
        return kernel

    def refill(self) -> None:
        """Boot the next kernel now, so it is ready when the next submission comes."""
        if self.ready is None:
            self.ready = self._start()

    def close(self) -> None:
        if self.ready is not None:
            self.release(self.ready)
            self.ready = None
        self.server.close()
        shutil.rmtree(self.base, ignore_errors=True)


class KernelPool(BootedAhead):
    """The student kernels of one worker (see ``BootedAhead``)."""

    def __init__(self, settings: PoolSettings, server: forkserver.Client | None = None):
        self.settings = settings
        self.server = server or forkserver.Client(settings.preload)
        self.server.wait_ready()
        self.base = Path(tempfile.mkdtemp(prefix="upstream-sandbox-", dir=settings.base))
        self.base.chmod(0o711)  # others may enter their own folder, but not list the others
        self._next_id = 0
        self.ready: Kernel | None = None
        self.ready = self._start()

    def live_server(self) -> forkserver.Client:
        """The fork server, started again if it died: at the user level a submission runs as
        our own uid and could kill it; the next submission must not pay for that."""
        if self.server.proc.poll() is not None:
            self.server = forkserver.Client(self.settings.preload)
            self.server.wait_ready()
        return self.server

    def _ids(self):
        if not self.settings.ids:
            return None, None
        uid, gid = self.settings.ids[self._next_id % len(self.settings.ids)]
        self._next_id += 1
        return uid, gid

    def _start(self) -> Kernel:
        uid, gid = self._ids()
        folder = Path(tempfile.mkdtemp(dir=self.base))
        (folder / "work").mkdir()  # used only where the kernel cannot have a root of its own
        if uid is not None:
            sandbox.kill_uid(uid)  # nothing may survive from this uid's previous submission
            for path in (folder, folder / "work"):
                os.chown(path, uid, gid)
        spec = sandbox.Spec(folder=str(folder), level=self.settings.level, uid=uid, gid=gid,
                            hide=self.settings.hide, limits=self.settings.limits,
                            namespaces=self.settings.namespaces)
        self.live_server()
        km = BoundedKernelManager(kernel_name="python3", transport="ipc",
                                ip=str(folder / "ipc" / "kernel"),
                                connection_file=str(folder / "kernel.json"))
        provisioner = ForkProvisioner(kernel_id=os.path.basename(folder),
                                      kernel_spec=km.kernel_spec, parent=km)
        provisioner.server, provisioner.spec = self.server, spec
        km.provisioner = provisioner
        try:
            run_sync(km.start_kernel)()
        except RuntimeError:
            if self.settings.level == "root" or not spec.namespaces:
                raise
            # An ordinary user where Linux allows user namespaces but not all we build in
            # them (a container's masked /proc, say): the plain level, as the outcome says.
            shutil.rmtree(folder, ignore_errors=True)
            self.settings.namespaces = False
            return self._start()
        own_root = "own-filesystem" in provisioner.protections
        work = Path(f"/proc/{provisioner.pid}/root{sandbox.SUBMISSION}") if own_root \
            else folder / "work"
        return Kernel(km, folder, work, uid, provisioner.protections)

    def release(self, kernel: Kernel) -> None:
        discard(kernel.km)
        if kernel.uid is not None:
            sandbox.kill_uid(kernel.uid)
        shutil.rmtree(kernel.folder, ignore_errors=True)  # its own root went with its processes


def discard(km) -> None:
    """Kill a kernel we are done with, and free what its manager holds (connection file,
    sockets). Not jupyter_client's ``shutdown_kernel(now=True)``: that interrupts the kernel
    first, then polls every 0.1 s until the process is gone, which its fork server reaps; on
    the worker's path, for every submission, twice (the student's kernel and the tests')."""
    pid = getattr(km.provisioner, "pid", None)
    if isinstance(pid, int) and pid > 0:
        for kill in (os.killpg, os.kill):  # the kernel leads its own process group
            try:
                kill(pid, signal.SIGKILL)
                break
            except (ProcessLookupError, PermissionError, OSError):
                continue
    with contextlib.suppress(Exception):  # a kernel that is already gone is fine
        run_sync(km._async_cleanup_resources)()


_POOL: KernelPool | None = None


def set_pool(pool: KernelPool | None) -> None:
    global _POOL
    _POOL = pool


@dataclass
class SubmissionRecord:
    """What the Execute steps of one submission report to the worker."""
    stopped: list[str] = field(default_factory=list)   # why the grader stopped a notebook
    output_bytes: int = 0                              # output kept so far, all notebooks
    protections: list[str] = field(default_factory=list)


RECORD = SubmissionRecord()


def begin_submission() -> SubmissionRecord:
    """A new record for the next submission (its notebooks share the output budget)."""
    global RECORD
    RECORD = SubmissionRecord()
    return RECORD


def copy_into(src: Path, dest: Path, uid: int | None, gid: int | None) -> None:
    """The submission's folder, minus notebooks (they carry the hidden tests after sanitizing)."""
    for path in src.rglob("*"):
        rel = path.relative_to(src)
        if path.suffix == ".ipynb" or path.is_symlink() or ".ipynb_checkpoints" in rel.parts:
            continue
        target = dest / rel
        if path.is_dir():
            target.mkdir(exist_ok=True)
        else:
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(path, target)
        if uid is not None:
            os.chown(target, uid, gid)


def _watch_disconnects(sock) -> zmq.Socket:
    """A socket that becomes readable when ``sock`` loses its connection (which, for the
    kernel's IOPub channel, means ZMQ refused a message over MAX_MESSAGE_BYTES)."""
    address = f"inproc://upstream-iopub-monitor-{id(sock)}-{time.monotonic_ns()}"
    sock.monitor(address, zmq.EVENT_DISCONNECTED)
    watcher = zmq.Context.shadow(sock.context.underlying).socket(zmq.PAIR)
    watcher.connect(address)
    return watcher


def _stop_watching(sock, watcher) -> None:
    """Stop the monitor before closing its reader. libzmq's I/O thread sends monitor events with
    a blocking send: an event for a monitor whose reader is gone (the kernel closing its end
    as it is released) blocks that thread for good, and with it every connection the worker's
    shared context makes later. Seen as a kernel that runs, idle, but never answers: nbclient
    waits out its 180 s start-up limit (about one run in two with 4 workers on 2 cores, and in
    CI's end-to-end tests)."""
    with contextlib.suppress(zmq.ZMQError):
        sock.disable_monitor()
    watcher.close(linger=0)


class SubmissionStopped(RuntimeError):
    """The submission cannot be run at all (its folder does not fit in its disk space)."""


NOT_RUN = "NotRunByGrader"  # ename of the error put in cells after the grader stopped a notebook
STOP_MARK = "the grader stopped this notebook"


class SandboxedExecute(Execute):
    """nbgrader's Execute, run in a pre-started confined kernel in a copy of the folder, with
    the output it keeps bounded per cell and per submission."""

    max_output_bytes = Integer(
        2_000_000, help="Output kept per cell; beyond this it is dropped (a flood of output "
                        "must not exhaust the grader's memory)").tag(config=True)
    max_total_output_bytes = Integer(
        10_000_000, help="Output kept per submission, all cells and notebooks together; a "
                         "notebook that passes it is stopped: the rest of its cells are not "
                         "run (they score 0) and the outcome says why").tag(config=True)
    store_widget_state = Bool(False, help="Widget state is not kept (it is not graded and "
                                          "would be another unbounded store)").tag(config=True)

    def preprocess(self, nb, resources=None, km=None):
        if _POOL is None:  # not inside a grading worker: behave exactly like nbgrader
            return super().preprocess(nb, resources, km=km)
        kernel = _POOL.take()
        self._kernel, self._kept, self._stopped, self._monitor = kernel, {}, None, None
        RECORD.protections = kernel.protections
        name = os.path.basename((resources or {}).get("metadata", {}).get("name") or "notebook")
        self._notebook = name if name.endswith(".ipynb") else f"{name}.ipynb"
        try:
            folder = Path(resources.get("metadata", {}).get("path") or ".")
            try:
                copy_into(folder, kernel.work, kernel.uid,
                          None if kernel.uid is None else os.stat(kernel.folder).st_gid)
            except OSError as exc:
                if exc.errno != errno.ENOSPC:
                    raise
                detail = (f"disk-full: the submitted folder does not fit in the "
                          f"{self._disk_mb()} MB the grader gives a submission; not run")
                RECORD.stopped.append(detail)
                raise SubmissionStopped(detail) from None
            return super().preprocess(nb, resources, km=kernel.km)
        finally:
            if self._monitor is not None:
                _stop_watching(*self._monitor)
            if self.kc is not None:
                self.kc.stop_channels()
                self.kc = None
            _POOL.release(kernel)
            _POOL.refill()

    def _disk_mb(self) -> int:
        return int((_POOL.settings.limits or {}).get("disk_mb", sandbox.Limits().disk_mb))

    def _stop(self, reason: str, cell_index: int) -> None:
        """Stop the notebook: interrupt the kernel, keep no more output, run no more cells."""
        if self._stopped:
            return
        self._stopped = f"{reason} (cell {cell_index + 1} of {self._notebook})"
        RECORD.stopped.append(self._stopped)
        with contextlib.suppress(OSError, TypeError):
            os.killpg(self._kernel.km.provisioner.pgid, signal.SIGINT)

    def _disk_full(self) -> bool:
        if "disk-quota" not in self._kernel.protections:
            return False
        try:
            fs = os.statvfs(self._kernel.work)
        except OSError:
            return False
        return fs.f_bavail * fs.f_frsize < 1_000_000

    def preprocess_cell(self, cell, resources, index):
        if _POOL is None:
            return super().preprocess_cell(cell, resources, index)
        if self._stopped:
            if cell.cell_type == "code":
                cell.outputs = [NotebookNode(
                    output_type="error", ename=NOT_RUN, evalue=f"not run: {self._stopped}",
                    traceback=[f"{NOT_RUN}: not run: {self._stopped}"])]
                cell.execution_count = None
            return cell, self.resources
        if self._monitor is None:
            sock = self.kc.iopub_channel.socket
            self._monitor = (sock, _watch_disconnects(sock))
        refused = (f"output-limit: the kernel sent a single output over the "
                   f"{MAX_MESSAGE_BYTES // 1_000_000} MB the grader reads")
        try:
            result = super().preprocess_cell(cell, resources, index)
        except CellTimeoutError as exc:
            if "IOPub" not in str(exc) or not self._monitor[1].poll(0):
                raise
            # The reply came but its output did not: a message over MAX_MESSAGE_BYTES was
            # refused, and what followed it was lost while the connection was made again.
            self._stop(refused, index)
            cell.outputs.append(NotebookNode(output_type="error", ename="OutputLimit",
                                             evalue=self._stopped, traceback=[self._stopped]))
            result = cell, self.resources
        if not self._stopped and self._monitor[1].poll(0):
            self._stop(refused, index)  # ZMQ refused it (and reconnected) before we read it
        if not self._stopped and self._disk_full():
            self._stop(f"disk-full: the submission filled the {self._disk_mb()} MB of disk "
                       "the grader gives it (its folder, /tmp and /dev/shm together)", index)
        if self._stopped and cell.cell_type == "code":
            cell.outputs.append(NotebookNode(output_type="stream", name="stderr",
                                             text=f"\n... {STOP_MARK}: {self._stopped} ...\n"))
        return result

    def _allow(self, size: int, cell_index: int) -> str:
        """"keep", "truncate" (the cell's first refusal: say so) or "drop"."""
        if self._stopped:
            return "drop"
        kept = self._kept.get(cell_index, 0)
        if kept + size > self.max_output_bytes:  # dropped, so not counted in the total
            first = kept <= self.max_output_bytes
            self._kept[cell_index] = self.max_output_bytes + 1
            return "truncate" if first else "drop"
        if RECORD.output_bytes + size > self.max_total_output_bytes:
            self._stop(f"output-limit: the submission's output passed the "
                       f"{self.max_total_output_bytes // 1_000_000} MB the grader keeps",
                       cell_index)
            return "drop"
        self._kept[cell_index] = kept + size
        RECORD.output_bytes += size
        return "keep"

    def output(self, outs, msg, display_id, cell_index):
        if _POOL is None:
            return super().output(outs, msg, display_id, cell_index)
        verdict = self._allow(len(json.dumps(msg.get("content", {}))), cell_index)
        if verdict == "truncate":
            outs.append(NotebookNode(output_type="stream", name="stderr",
                                     text="\n... output truncated by the grader ...\n"))  # integrity.TRUNCATED
        return super().output(outs, msg, display_id, cell_index) if verdict == "keep" else None

    def _update_display_id(self, display_id, msg):
        # An update replaces earlier output in place: it is output too, and counted as such.
        if _POOL is not None and msg["msg_type"] == "update_display_data" and self._allow(len(json.dumps(msg.get("content", {}))),
                                             self._cell_index_of(display_id)) != "keep":
            return None
        return super()._update_display_id(display_id, msg)

    def _cell_index_of(self, display_id) -> int:
        cells = self._display_id_map.get(display_id, {})
        return next(iter(cells), -1)
