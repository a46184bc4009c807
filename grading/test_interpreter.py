"""The clean test interpreter of split grading: where test cells run, apart from student code.

Two parts:

* the test kernel itself (``_child``), forked for each submission by the worker's warmed fork
  server (``grading.forkserver``, request kind ``"test"``), the process that also forks the
  student kernels and in which no student code ever runs: it imported IPython, ipykernel and the
  exercise's libraries once. The child makes itself non-dumpable (so processes of the grader's
  uid without CAP_SYS_PTRACE, such as a student's kernel at the user level, can neither ptrace
  it nor read its memory; the server is not dumpable either), takes resource limits and its own
  folder, and becomes an ``IPKernelApp``. No student code ever runs in it.
* the runtime used *inside* that kernel (``attach``, ``prepare``, ``StudentFunction``): it talks
  to the student's kernel over the student kernel's own Jupyter sockets, sending only requests
  of ``grading.crossing.serve`` (never a test's code) and receiving values as data
  (``grading.crossing``). Student functions become ``StudentFunction`` proxies: calling one runs
  the student's function in the student's kernel, with the arguments sent as data and a time
  limit, and returns the result as data.

What student code can make a test see: only values it produced, rebuilt here from plain types;
the name of a built-in exception its function raised (never its message); and whether it wrote
to stderr (nbgrader counts that as a failure, as in stock grading). What it printed while a test
called it is not shown (it could otherwise replay the test's arguments into the feedback).
"""

from __future__ import annotations

import builtins
import contextlib
import ctypes
import hmac
import importlib
import importlib.util
import json
import os
import resource
import signal
import sys
import time
import traceback

from . import crossing

PR_SET_DUMPABLE = 4
STDERR_NOTE = ("(your code wrote to stderr while this test called it; nbgrader counts output "
               "on stderr as a failed test)\n")
_BUILTIN_ERRORS = {name for name, obj in vars(builtins).items()
                   if isinstance(obj, type) and issubclass(obj, BaseException)}


class ValueCannotBeChecked(AssertionError):
    """A value of the student's that could not be sent to the test as data."""


class StudentCodeError(Exception):
    """The student's function raised; its message stays in the student's kernel."""


class StudentKernelUnresponsive(ValueCannotBeChecked):
    """The student's kernel stopped answering (a call never returned, or the kernel died)."""


# ---- the runtime inside the test kernel ----------------------------------------------------------

def _zmq_context():
    """The test kernel's own zmq context where there is one: a new context starts an I/O thread
    of its own on its first socket (about 13 ms per submission, py-spy 2026-12-01)."""
    import zmq

    with contextlib.suppress(Exception):
        context = get_ipython().kernel.parent.context  # noqa: F821 - in the test kernel
        if type(context) is zmq.Context:  # not an asyncio one: this link blocks
            return context
    return zmq.Context.instance()


class _Link:
    """The connection to one student's kernel (one per test kernel, set by ``attach``).

    Requests go over the student kernel's own channel (``crossing.listen``) where it has one,
    else as cells (``crossing.SERVE``) over the kernel's shell channel."""

    def __init__(self, connection: dict, pid: int, call_timeout: float, max_bytes: int,
                 installed: bool = False):
        self.connection, self.pid, self.call_timeout, self.dead = connection, pid, call_timeout, ""
        self.max_bytes, self.key = max_bytes, str(connection.get("key", "")).encode()
        self.kc = self.channel = None
        self.requests = 0
        self._install = ""
        if not installed:  # the worker sends it with the first snapshot, as a rule
            self._install = crossing.harness_source()
        else:
            self._open_channel()

    def _open_channel(self) -> None:
        import zmq

        path = f"{self.connection.get('ip', '')}{crossing.CHANNEL_SUFFIX}"
        if self.connection.get("transport") != "ipc" or not os.path.exists(path):
            return
        sock = _zmq_context().socket(zmq.DEALER)
        sock.setsockopt(zmq.LINGER, 0)
        # A message larger than this makes zmq drop it (and the connection): the student's
        # side cannot make us hold more than this in memory.
        sock.setsockopt(zmq.MAXMSGSIZE, self.max_bytes)
        sock.setsockopt(zmq.RCVHWM, 4)  # nor flood us with more than a few of them
        sock.connect(f"ipc://{path}")
        self.channel = sock
        # A kernel that can no longer take a new connection (its memory used up by the
        # student's code, say) is asked through cells instead, as it still can be.
        if not self._answers_ping(2.0):
            sock.close(linger=0)
            self.channel = None

    def _answers_ping(self, seconds: float) -> bool:
        self.requests += 1
        body = json.dumps({"op": "ping", "id": self.requests}).encode()
        self.channel.send_multipart([crossing.sign(self.key, body), body])
        end = time.monotonic() + seconds
        while (left := end - time.monotonic()) > 0:
            if self.channel.poll(left * 1000):
                frames = self.channel.recv_multipart()
                reply = _parse(frames[-1]) if len(frames) == 2 and hmac.compare_digest(
                    crossing.sign(self.key, frames[1]), frames[0]) else None
                if isinstance(reply, dict) and reply.get("id") == self.requests:
                    return True
        return False

    def _kernel_client(self):
        if self.kc is None:
            import zmq

            from .kernel_ready import PromptBlockingKernelClient

            kc = PromptBlockingKernelClient()
            kc.load_connection_info(self.connection)
            kc.context.setsockopt(zmq.MAXMSGSIZE, self.max_bytes)
            kc.start_channels()
            # Until the subscription is made, the kernel's answers would be lost (zmq "slow
            # joiner"): wait until a kernel_info round trip is seen on both channels.
            kc.wait_for_ready(timeout=60)
            self.poller = zmq.Poller()  # wakes for a message on either channel (after
            for channel in (kc.iopub_channel, kc.shell_channel):  # any reconnect)
                self.poller.register(channel.socket, zmq.POLLIN)
            self.kc = kc
        return self.kc

    def close(self) -> None:
        for sock in (self.channel,):
            if sock is not None:
                sock.close(linger=0)
        if self.kc is not None:
            self.kc.stop_channels()
        self.channel = self.kc = None

    def alive(self) -> bool:
        try:
            with open(f"/proc/{self.pid}/stat") as f:
                return f.read().rsplit(")", 1)[1].split()[0] not in ("Z", "X")
        except (OSError, IndexError):
            return False

    def request(self, payload: dict, what: str) -> tuple[dict, bool]:
        """Send one request to the student's kernel; its reply, and whether it wrote to stderr.
        The first request also sends the student's side of ``grading.crossing``."""
        if self.dead:
            raise StudentKernelUnresponsive(f"this value cannot be checked: {what}: {self.dead}")
        self.requests += 1
        deadline = time.monotonic() + self.call_timeout
        try:
            if self.channel is not None:
                reply, stderr = self._over_channel(payload, what, deadline)
            else:
                reply, stderr = self._as_cell(payload, what, deadline)
        except KeyboardInterrupt:  # the test cell timed out: free the student's kernel too
            self._interrupt()
            raise
        if reply is None:
            raise ValueCannotBeChecked(f"this value cannot be checked: {what}: the student's "
                                       "kernel sent no value back")
        if not isinstance(reply, dict) or reply.get("v") != crossing.VERSION or not isinstance(
                reply.get("reply"), dict):
            raise ValueCannotBeChecked(f"this value cannot be checked: {what}: the student's "
                                       "kernel sent back something that is not a value")
        return reply["reply"], stderr or reply.get("stderr") is True

    def _waited_too_long(self, what: str, deadline: float) -> None:
        if time.monotonic() > deadline:
            self._interrupt()
            raise StudentKernelUnresponsive(
                f"this value cannot be checked: {what} did not return within "
                f"{self.call_timeout:g} s")
        if not self.alive():
            self.dead = "the student's kernel is no longer running"
            raise StudentKernelUnresponsive(f"this value cannot be checked: {what}: "
                                            f"{self.dead}")

    def _over_channel(self, payload: dict, what: str, deadline: float):
        body = json.dumps({**payload, "id": self.requests}, separators=(",", ":")).encode()
        self.channel.send_multipart([crossing.sign(self.key, body), body])
        while True:
            self._waited_too_long(what, deadline)
            if not self.channel.poll(100):
                continue
            frames = self.channel.recv_multipart()
            if len(frames) != 2 or not hmac.compare_digest(crossing.sign(self.key, frames[1]),
                                                           frames[0]):
                continue
            reply = _parse(frames[1])
            if isinstance(reply, dict) and reply.get("id") not in (None, self.requests):
                continue  # the late answer to a request that timed out
            return reply, False

    def _as_cell(self, payload: dict, what: str, deadline: float):
        kc = self._kernel_client()
        code, metadata = crossing.SERVE, {"upstream_call": json.dumps(payload,
                                                                      separators=(",", ":"))}
        installing = bool(self._install)
        if installing:
            code = f"{crossing.INSTALL}\n{crossing.SERVE}"
            metadata["upstream_module"], self._install = self._install, ""
        msg = kc.session.msg("execute_request", {
            "code": code, "silent": True, "store_history": False, "user_expressions": {},
            "allow_stdin": False, "stop_on_error": False}, metadata=metadata)
        msg_id = msg["header"]["msg_id"]
        kc.shell_channel.send(msg)
        doc, status, stderr, idle = None, None, False, False
        while status is None or not idle:
            self._waited_too_long(what, deadline)
            got = False
            if kc.iopub_channel.msg_ready():
                got = True
                m = kc.iopub_channel.get_msg(timeout=0)
                if m.get("parent_header", {}).get("msg_id") == msg_id:
                    kind, content = m["header"]["msg_type"], m["content"]
                    if kind == "stream" and content.get("name") == "stderr":
                        stderr = True
                    elif kind == "display_data" and crossing.MIME in content.get("data", {}):
                        doc = content["data"][crossing.MIME]
                    elif kind == "status" and content.get("execution_state") == "idle":
                        idle = True
            if kc.shell_channel.msg_ready():
                got = True
                m = kc.shell_channel.get_msg(timeout=0)
                if m.get("parent_header", {}).get("msg_id") == msg_id:
                    status = m["content"].get("status", "error")
            if not got:
                self.poller.poll(20)
        if installing:
            self._open_channel()  # the module just installed opened it
        return (None if doc is None else _parse(doc)), stderr

    def _interrupt(self) -> None:
        """As nbclient does on a cell timeout: interrupt the student's kernel, and see whether
        it recovers (if not, every later request fails at once instead of waiting again)."""
        for kill in (os.killpg, os.kill):  # the kernel is in the group of the process we know
            with contextlib.suppress(ProcessLookupError, PermissionError):
                kill(self.pid, signal.SIGINT)
                break
        end = time.monotonic() + 3
        while time.monotonic() < end:
            if self.channel is not None:
                if self.channel.poll(20):
                    self.channel.recv_multipart()
                    return
            elif self.kc is not None and self.kc.shell_channel.msg_ready():
                self.kc.shell_channel.get_msg(timeout=0)
                return
            else:
                time.sleep(0.02)
        self.dead = "the student's kernel stopped responding"


def _parse(doc):
    """A reply document as JSON, or ``False`` where it is not JSON of an acceptable size."""
    if not isinstance(doc, (str, bytes)) or len(doc) > crossing.MAX_BYTES:
        return False
    try:
        return json.loads(doc)
    except (ValueError, RecursionError):
        return False


_LINK: _Link | None = None


def attach(connection: dict, pid: int, call_timeout: float = 30.0,
           max_bytes: int = crossing.MAX_BYTES, installed: bool = False) -> None:
    """Connect this test kernel to the student's kernel (called once, by the grader)."""
    global _LINK
    _LINK = _Link(connection, pid, call_timeout, max_bytes, installed)


class StudentFunction:
    """A function (or other callable) of the student's: calling it runs it in the student's
    kernel, with the arguments sent as data; the result comes back as data."""

    __slots__ = ("_ref", "_name")

    def __init__(self, ref: int, name: str):
        self._ref, self._name = ref, name

    def __repr__(self) -> str:
        return f"<student function {self._name}>"

    def __call__(self, *args, **kwargs):
        what = f"{self._name}(...)"
        enc = crossing.Encoder(handle=_send_handle, path=_send_path)
        try:
            sent_args = [enc.encode(a) for a in args]
            sent_kwargs = {str(k): enc.encode(v) for k, v in kwargs.items()}
        except crossing.CannotCross as exc:
            raise ValueCannotBeChecked(f"this value cannot be checked: an argument for "
                                       f"{what}: {exc}") from None
        reply, stderr = _LINK.request({"op": "call", "ref": self._ref, "args": sent_args,
                                       "kwargs": sent_kwargs}, what)
        if stderr:
            sys.stderr.write(STDERR_NOTE)
        if "raised" in reply:
            ename = reply["raised"] if reply["raised"] in _BUILTIN_ERRORS else \
                "an exception of its own"
            raise StudentCodeError(f"{self._name} raised {ename} (the message stays with "
                                   "your code: run the visible tests in your notebook to see it)")
        value = _decode(reply.get("value"), f"the value {what} returned")
        after = reply.get("after") or {}
        if isinstance(after, dict):
            _write_back(args, kwargs, after, what)
        return value


def _send_handle(value):
    if isinstance(value, StudentFunction):
        return value._ref
    raise crossing.CannotCross("it is a function of the test, which student code cannot call")


def _send_path(path) -> dict:
    """A Path argument: the file (or folder) it names goes along, as a copy."""
    import base64

    node = {"t": "path", "v": str(path)}
    total = 0
    if path.is_file():
        data = path.read_bytes()
        total = len(data)
        node["files"] = {"kind": "file", "b64": base64.b64encode(data).decode()}
    elif path.is_dir():
        entries = []
        for item in sorted(path.rglob("*")):
            if item.is_file() and not item.is_symlink():
                data = item.read_bytes()
                total += len(data)
                entries.append([item.relative_to(path).as_posix(),
                                base64.b64encode(data).decode()])
                if total > crossing.MAX_FILE_BYTES:
                    break
        node["files"] = {"kind": "dir", "entries": entries}
    else:
        node["files"] = {"kind": "missing"}
    if total > crossing.MAX_FILE_BYTES:
        raise crossing.CannotCross(f"the files at {path} are larger than "
                                   f"{crossing.MAX_FILE_BYTES // 2**20} MB")
    return node


def _import_module(name: str):
    """A module the student's kernel holds: the test gets its own copy, from the environment."""
    top = name.split(".")[0]
    spec = importlib.util.find_spec(top)
    origin = getattr(spec, "origin", None) or ""
    if spec is None or (origin and os.path.realpath(origin).startswith(
            os.path.realpath(os.getcwd()) + os.sep)):
        raise crossing.CannotCross(f"it is the module {name}, which is not installed")
    return importlib.import_module(name)


def _decode(node, what: str):
    try:  # the size is bounded already: the document it came in was at most MAX_BYTES
        return crossing.decode_node(node, callable=StudentFunction, module=_import_module)
    except crossing.CannotCross as exc:
        raise ValueCannotBeChecked(f"this value cannot be checked: {what}: {exc}") from None
    except (TypeError, ValueError, RecursionError):
        raise ValueCannotBeChecked(f"this value cannot be checked: {what}: it is not well "
                                   "formed") from None


def _write_back(args, kwargs, after: dict, what: str) -> None:
    """A list, dict or set argument the student's function changed is changed here too, as it
    would be in a shared kernel (a test may check that its argument was left alone)."""
    for key, node in after.items():
        target = (args[int(key)] if key.isdigit() and int(key) < len(args) else
                  kwargs.get(key))
        if type(target) not in (list, dict, set):
            continue
        new = _decode(node, f"an argument {what} changed")
        if type(new) is not type(target) or new == target:
            continue
        if isinstance(target, list):
            target[:] = new
        else:
            target.clear()
            target.update(new)


class _Unusable:
    """Stands for a student's value that could not cross: any use fails the test, saying why."""

    __slots__ = ("_why",)

    def __init__(self, why: str):
        object.__setattr__(self, "_why", why)

    def _fail(self, *args, **kwargs):
        raise ValueCannotBeChecked(object.__getattribute__(self, "_why"))

    def __getattr__(self, name):
        self._fail()

    def __repr__(self):
        return "<a value that cannot be checked>"

    __call__ = __eq__ = __ne__ = __lt__ = __le__ = __gt__ = __ge__ = __bool__ = __len__ = _fail
    __iter__ = __getitem__ = __contains__ = __hash__ = __add__ = __sub__ = __mul__ = _fail
    __truediv__ = __float__ = __int__ = __index__ = __str__ = __format__ = _fail


def run_steps(steps: list) -> None:
    """The grader's steps before a test cell, in one request, each on its own (one that fails
    does not stop the next, as when each was a request): ``["attach", connection, pid, timeout,
    installed]``, ``["prepare", names, snapshot]``, and ``["run", source]`` for a setup cell of
    the exercise, run as a silent cell of its own would be."""
    shell = get_ipython()  # noqa: F821 - runs inside the test kernel
    for step in steps:
        try:
            if step[0] == "attach":
                attach(step[1], step[2], step[3], installed=step[4])
            elif step[0] == "prepare":
                prepare(step[1], step[2])
            elif step[0] == "run":
                shell.run_cell(step[1], silent=True, store_history=False)
        except Exception:  # noqa: BLE001 - its output is not kept, as a request's was not
            traceback.print_exc()


def prepare(names: list[str], snapshot: str = "") -> None:
    """Bind ``names`` in the test's namespace to the student's values (called before a test):
    as they were where the test cell stands in the notebook (``snapshot``), if taken."""
    ns = get_ipython().user_ns  # noqa: F821 - runs inside the test kernel
    if not names:
        return
    try:
        reply, _ = _LINK.request({"op": "get", "names": list(names), "snapshot": snapshot},
                                 ", ".join(names))
        values = reply.get("values")
        if not isinstance(values, dict):
            raise ValueCannotBeChecked("the student's kernel sent back something that is not "
                                       "a value")
    except ValueCannotBeChecked as exc:
        why = str(exc)
        for name in names:
            ns[name] = _Unusable(why if why.startswith("this value") else
                                 f"this value cannot be checked: {name}: {why}")
        return
    for name in names:
        node = values.get(name)
        if isinstance(node, dict) and node.get("t") == "missing":
            ns.pop(name, None)  # a NameError, as in the student's own kernel
            continue
        try:
            ns[name] = _decode(node, name)
        except ValueCannotBeChecked as exc:
            ns[name] = _Unusable(str(exc))


# ---- the test kernel, forked by grading.forkserver ------------------------------------------

def _child(request: dict, server_pid: int) -> None:  # pragma: no cover - runs in the fork
    signal.signal(signal.SIGCHLD, signal.SIG_DFL)
    devnull = os.open(os.devnull, os.O_RDWR)
    for fd in (0, 1, 2):
        os.dup2(devnull, fd)
    os.closerange(3, 65536)  # nothing of the server's (its pipes to the grader)
    sys._upstream_test_kernel = True  # what this process is, for the test suite's recorder
    code, workdir = 0, ""
    try:
        workdir = request["workdir"]
        os.setsid()
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(PR_SET_DUMPABLE, 0, 0, 0, 0)
        mb = 1024 * 1024
        limits = request.get("limits", {})
        for res, value in ((resource.RLIMIT_AS, limits.get("memory_mb", 4096) * mb),
                           (resource.RLIMIT_CPU, limits.get("cpu_seconds", 600)),
                           (resource.RLIMIT_CORE, 0)):
            soft, hard = resource.getrlimit(res)
            resource.setrlimit(res, (value if hard == resource.RLIM_INFINITY else
                                     min(value, hard), hard))
        os.umask(0o077)
        os.chdir(workdir)
        env = {"HOME": workdir, "TMPDIR": workdir, "MPLCONFIGDIR": workdir,
               "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1",
               "PYTHONDONTWRITEBYTECODE": "1", "NBGRADER_EXECUTION": "autograde"}
        for key in ("PATH", "LANG", "LC_ALL", "PYTHONPATH", "VIRTUAL_ENV"):
            if key in os.environ:
                env[key] = os.environ[key]
        os.environ.clear()
        os.environ.update(env)
        import tempfile

        tempfile.tempdir = None  # forget the server's TMPDIR
        from ipykernel.kernelapp import IPKernelApp

        app = IPKernelApp.instance()
        app.initialize(["-f", request["connection_file"],
                        "--HistoryManager.hist_file=:memory:",
                        f"--IPKernelApp.parent_handle={server_pid}"])
        app.start()
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else 1
    except BaseException:  # noqa: BLE001 - report and leave; the grader sees a dead kernel
        with contextlib.suppress(OSError), open(
                os.path.join(workdir or "/nonexistent", "kernel-error.txt"), "w") as f:
            f.write(traceback.format_exc())
        code = 70
    os._exit(code)
