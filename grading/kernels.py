"""Fresh, confined kernels started ahead of need, and the nbgrader Execute step that uses them.

``KernelPool`` (one per autograde worker) keeps one kernel booted and waiting while the previous
submission runs; each kernel serves exactly one submission and is then killed. Kernels are forked
from a warmed process (``grading.forkserver``) and reached over IPC sockets in their private
folder, which also works from inside their network-less namespace.

``SandboxedExecute`` is nbgrader's own ``Execute`` preprocessor (same timeouts, same error
handling, same outputs) except for where the kernel comes from and a cap on the output kept.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from jupyter_client.manager import AsyncKernelManager
from jupyter_client.provisioning import LocalProvisioner
from jupyter_core.utils import run_sync
from nbformat import NotebookNode
from nbgrader.preprocessors import Execute
from traitlets import Integer

from . import forkserver, sandbox
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

    async def launch_kernel(self, cmd, **kwargs):
        km = self.parent
        if self.spec.uid is not None:
            os.chown(km.connection_file, self.spec.uid, self.spec.gid)
        pid = self.server.fork(self.spec, km.connection_file)
        self.process = ForkedProcess(pid)
        self.pid = self.pgid = pid
        self.cwd = self.spec.workdir
        return self.connection_info


@dataclass
class Kernel:
    km: AsyncKernelManager
    workdir: Path
    uid: int | None
    started: float = field(default_factory=time.monotonic)


class KernelPool:
    """One kernel booted ahead of need; a new one for every submission."""

    def __init__(self, settings: PoolSettings, server: forkserver.Client | None = None):
        self.settings = settings
        self.server = server or forkserver.Client(settings.preload)
        self.server.wait_ready()
        self.base = Path(tempfile.mkdtemp(prefix="upstream-sandbox-", dir=settings.base))
        self.base.chmod(0o711)  # others may enter their own folder, but not list the others
        self._next_id = 0
        self.ready: Kernel | None = None
        self.ready = self._start()

    def _ids(self):
        if not self.settings.ids:
            return None, None
        uid, gid = self.settings.ids[self._next_id % len(self.settings.ids)]
        self._next_id += 1
        return uid, gid

    def _start(self) -> Kernel:
        uid, gid = self._ids()
        workdir = Path(tempfile.mkdtemp(dir=self.base))
        if uid is not None:
            sandbox.kill_uid(uid)  # nothing may survive from this uid's previous submission
            os.chown(workdir, uid, gid)
        spec = sandbox.Spec(workdir=str(workdir), level=self.settings.level, uid=uid, gid=gid,
                            hide=self.settings.hide, limits=self.settings.limits)
        if self.server.proc.poll() is not None:
            # At the user level a submission runs as our own uid and could kill the fork server;
            # the next submission must not pay for that.
            self.server = forkserver.Client(self.settings.preload)
            self.server.wait_ready()
        km = AsyncKernelManager(kernel_name="python3", transport="ipc",
                                ip=str(workdir / "kernel"),
                                connection_file=str(workdir / "kernel.json"))
        provisioner = ForkProvisioner(kernel_id=os.path.basename(workdir),
                                      kernel_spec=km.kernel_spec, parent=km)
        provisioner.server, provisioner.spec = self.server, spec
        km.provisioner = provisioner
        run_sync(km.start_kernel)()
        return Kernel(km, workdir, uid)

    def take(self) -> Kernel:
        kernel = self.ready
        if kernel is None or not run_sync(kernel.km.is_alive)():
            if kernel is not None:
                self.release(kernel)
            kernel = self._start()
        self.ready = None
        return kernel

    def refill(self) -> None:
        """Boot the next kernel now, so it is ready when the next submission comes."""
        if self.ready is None:
            self.ready = self._start()

    def release(self, kernel: Kernel) -> None:
        with contextlib.suppress(Exception):  # a kernel that is already gone is fine
            run_sync(kernel.km.shutdown_kernel)(now=True)
        with contextlib.suppress(ProcessLookupError, PermissionError, TypeError, OSError):
            os.killpg(kernel.km.provisioner.pid if kernel.km.provisioner else -1, signal.SIGKILL)
        if kernel.uid is not None:
            sandbox.kill_uid(kernel.uid)
        shutil.rmtree(kernel.workdir, ignore_errors=True)

    def close(self) -> None:
        if self.ready is not None:
            self.release(self.ready)
            self.ready = None
        self.server.close()
        shutil.rmtree(self.base, ignore_errors=True)


_POOL: KernelPool | None = None


def set_pool(pool: KernelPool | None) -> None:
    global _POOL
    _POOL = pool


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


class SandboxedExecute(Execute):
    """nbgrader's Execute, run in a pre-started confined kernel in a copy of the folder."""

    max_output_bytes = Integer(
        2_000_000, help="Output kept per cell; beyond this it is dropped (a flood of output "
                        "must not exhaust the grader's memory)").tag(config=True)

    def preprocess(self, nb, resources=None, km=None):
        if _POOL is None:  # not inside a grading worker: behave exactly like nbgrader
            return super().preprocess(nb, resources, km=km)
        kernel = _POOL.take()
        try:
            folder = Path(resources.get("metadata", {}).get("path") or ".")
            copy_into(folder, kernel.workdir, kernel.uid,
                      None if kernel.uid is None else os.stat(kernel.workdir).st_gid)
            self._kept = {}
            return super().preprocess(nb, resources, km=kernel.km)
        finally:
            if self.kc is not None:
                self.kc.stop_channels()
                self.kc = None
            _POOL.release(kernel)
            _POOL.refill()

    def output(self, outs, msg, display_id, cell_index):
        size = len(json.dumps(msg.get("content", {})))
        kept = self._kept.get(cell_index, 0) if hasattr(self, "_kept") else 0
        if kept + size > self.max_output_bytes:
            if kept <= self.max_output_bytes:
                outs.append(NotebookNode(output_type="stream", name="stderr",
                                         text="\n... output truncated by the grader ...\n"))  # integrity.TRUNCATED
                self._kept[cell_index] = self.max_output_bytes + 1
            return None
        if hasattr(self, "_kept"):
            self._kept[cell_index] = kept + size
        return super().output(outs, msg, display_id, cell_index)
