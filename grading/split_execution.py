"""Split grading: the student's cells run in the student's kernel, the tests somewhere else.

In stock nbgrader (and ``--tests-in student-kernel``) the test cells run in the student's own
kernel, after the student's code, so that code can watch, rewrite or fool every test. Here
(``--tests-in test-interpreter``, the default) nbgrader's Execute step is split in two:

1. every cell of the submission *except* the test cells runs in the sandboxed student kernel, as
   before (``SandboxedExecute``); no test cell is ever sent to it;
2. then a clean IPython kernel, forked by the worker's warmed fork server, in which no student
   code ever runs (``grading.test_interpreter``), runs the trusted cells of the exercise in the
   released order: the locked setup cells, from the grader's release notebook, and the test
   cells, from
   nbgrader's gradebook. Before each, the names it needs from the student are fetched from the
   student's kernel *as data* (``grading.crossing``); student functions become proxies that call
   back into the student's kernel with the arguments sent as data.

The test cells' outputs go into the notebook exactly as nbgrader's Execute would put them, so
nbgrader's SaveAutoGrades, feedback and the rest work unchanged.

Where a test's names come from:

* names the exercise asks the student to produce (bound inside the solution regions of the
  *source* notebook's answer cells, e.g. ``count_factors``, ``accepted``, ``my_pillars``): from
  the student's kernel, as they were where the test cell stands (a snapshot the student's kernel
  takes there, asked for by name only), fetched right before the test cell runs;
* names bound by the trusted cells run so far (setup cells such as ``indicators = data.load(...)``,
  earlier test cells, the test's own assignments and imports): the test interpreter's own, even if
  the student rebound them in their kernel;
* any other free name (neither of the above, not a builtin): from the student's kernel, if it
  has it; otherwise the test gets the NameError stock grading would give.

Student cells all run before the first test: what the student's code sees of a test (the
arguments of the calls it gets) arrives only after the last output the student gets back was
made.
"""

from __future__ import annotations

import ast
import builtins
import contextlib
import json
import shutil
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from jupyter_client.manager import AsyncKernelManager
from jupyter_client.provisioning import LocalProvisioner
from jupyter_core.utils import run_sync
from traitlets import Float, Unicode

from . import course_root
from .kernels import (
    BootedAhead,
    BoundedKernelManager,
    ForkedProcess,
    KernelPool,
    SandboxedExecute,
    copy_into,
    discard,
)
from .release import SOLUTION

TESTS_IN = ("test-interpreter", "student-kernel")
DEFAULT_TESTS_IN = "test-interpreter"
_BUILTINS = set(dir(builtins)) | {"get_ipython", "display", "__name__", "__file__"}


# ---- what the grader trusts: the exercise's own cells --------------------------------------------

@dataclass
class TrustedCell:
    kind: str              # "setup" (locked release cell) or "test" (graded test cell)
    grade_id: str
    source: str
    fetch: list[str] = field(default_factory=list)  # names taken from the student first


@dataclass
class Plan:
    cells: list[TrustedCell]
    answers: set[str]
    release_folder: Path

    @property
    def test_ids(self) -> set[str]:
        return {c.grade_id for c in self.cells if c.kind == "test"}


def _parse(source: str):
    try:
        return ast.parse(source)
    except SyntaxError:
        try:
            from IPython.core.inputtransformer2 import TransformerManager

            return ast.parse(TransformerManager().transform_cell(source))
        except (SyntaxError, ImportError):
            return None


def top_level_bindings(source: str) -> set[str]:
    """Names a cell binds at its top level (not inside functions, classes or comprehensions)."""
    tree = _parse(source)
    names: set[str] = set()
    if tree is None:
        return names

    def visit(node):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(node.name)
            return
        if isinstance(node, (ast.Lambda, ast.ListComp, ast.SetComp, ast.DictComp,
                             ast.GeneratorExp)):
            return
        if isinstance(node, ast.Name) and isinstance(node.ctx, (ast.Store, ast.Del)):
            names.add(node.id)
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            for alias in node.names:
                if alias.name != "*":
                    names.add(alias.asname or alias.name.split(".")[0])
        elif isinstance(node, ast.ExceptHandler) and node.name:
            names.add(node.name)
        elif isinstance(node, ast.NamedExpr) and isinstance(node.target, ast.Name):
            names.add(node.target.id)
        for child in ast.iter_child_nodes(node):
            visit(child)

    visit(tree)
    return names


def answer_parts(source: str) -> tuple[set[str], str]:
    """For a source answer cell: the names its solution regions bind (what the student is asked
    to produce), and the scaffold around them that binds other names (assignments the exercise
    gives, such as ``plan = brief.plan_picture(response_plan, ...)`` after the answer), as code.

    The test interpreter runs that scaffold itself, from the source's text, on the student's
    answers: a test then checks what trusted code makes of the answers, not an object the
    student's kernel built."""
    tree = _parse(source)
    if tree is None:
        return top_level_bindings(source), ""
    lines = source.splitlines()
    regions, start = [], None
    for number, line in enumerate(lines, 1):
        if line.strip().startswith(SOLUTION[0]):
            start = number
        elif line.strip().startswith(SOLUTION[1]) and start is not None:
            regions.append((start, number))
            start = None
    if not regions:
        return top_level_bindings(source), ""
    inside, outside = [], []
    for node in tree.body:
        overlaps = any(node.lineno <= b and (node.end_lineno or node.lineno) >= a
                       for a, b in regions)
        (inside if overlaps else outside).append(node)
    answers = set()
    for node in inside:
        answers |= top_level_bindings(ast.unparse(node))
    scaffold = []
    for node in outside:
        if not isinstance(node, (ast.Assign, ast.AnnAssign, ast.AugAssign)):
            continue
        bound = top_level_bindings(ast.unparse(node))
        if bound and not bound & answers:
            scaffold.append("\n".join(lines[node.lineno - 1:node.end_lineno]))
    return answers, "\n".join(scaffold)


def names_used(source: str) -> tuple[set[str], set[str]]:
    """(names a cell reads, names it binds anywhere) — from its syntax tree."""
    tree = _parse(source)
    if tree is None:
        return set(), set()
    loads, binds = set(), set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Name):
            (loads if isinstance(node.ctx, ast.Load) else binds).add(node.id)
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            binds.add(node.name)
        elif isinstance(node, ast.arg):
            binds.add(node.arg)
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            for alias in node.names:
                binds.add(alias.asname or alias.name.split(".")[0])
        elif isinstance(node, ast.ExceptHandler) and node.name:
            binds.add(node.name)
        elif isinstance(node, (ast.Global, ast.Nonlocal)):
            binds.update(node.names)
    return loads, binds


# Functions of the course that only show something (a widget) and change nothing a later cell
# could read: a setup cell made only of calls to them, with constant arguments, is not run in
# the test interpreter, where nothing it shows is kept.
DISPLAY_ONLY = {"course.widgets.hints"}


def imports_and_rebinds(source: str) -> tuple[dict[str, str], set[str]]:
    """What a cell's import statements bind (alias -> module or ``module.name``), and every
    name it binds any other way."""
    tree = _parse(source)
    if tree is None:
        return {}, set()
    imported: dict[str, str] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.asname:
                    imported[alias.asname] = alias.name
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            for alias in node.names:
                imported[alias.asname or alias.name] = f"{node.module}.{alias.name}"
    other = names_used(source)[1] - set(imported)
    return imported, other


def display_only(source: str, imported: dict[str, str]) -> bool:
    """Whether a cell only calls ``DISPLAY_ONLY`` functions (``widgets.hints("ex01", "x")``),
    through names trusted cells imported, with constant arguments."""
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return False
    if not tree.body:
        return False
    for stmt in tree.body:
        call = stmt.value if isinstance(stmt, ast.Expr) else None
        if not (isinstance(call, ast.Call) and isinstance(call.func, ast.Attribute)
                and isinstance(call.func.value, ast.Name)):
            return False
        if f"{imported.get(call.func.value.id)}.{call.func.attr}" not in DISPLAY_ONLY:
            return False
        values = [*call.args, *(k.value for k in call.keywords)]
        if not all(isinstance(v, ast.Constant) for v in values) or any(
                k.arg is None for k in call.keywords):
            return False
    return True


def plan_cells(cells: list[TrustedCell], answers: set[str]) -> list[TrustedCell]:
    """Fill in each trusted cell's ``fetch`` list (see the module docstring for the rule)."""
    bound: set[str] = set()
    for cell in cells:
        loads, binds = names_used(cell.source)
        free = loads - binds - _BUILTINS
        cell.fetch = sorted((loads & answers) | {n for n in free if n not in bound})
        bound |= binds | top_level_bindings(cell.source)
    return cells


def trusted_cells(released, source, test_sources: dict[str, str], graded: set[str],
                  solutions: set[str]) -> tuple[list[TrustedCell], set[str]]:
    """The trusted cells in the release's order, and the answer names (see module docstring):
    locked setup cells from the release, the scaffold of answer cells from the source, test
    cells with their full source (``test_sources``, from the gradebook)."""
    answer_cells = {}
    for cell in source.cells if source is not None else []:
        meta = cell.metadata.get("nbgrader", {})
        if cell.cell_type == "code" and meta.get("solution") and meta.get("grade_id"):
            answer_cells[meta["grade_id"]] = answer_parts(cell.source)
    cells, answers = [], set()
    imported: dict[str, str] = {}  # names the trusted cells so far bound by importing
    for cell in released.cells:
        meta = cell.metadata.get("nbgrader", {})
        gid = meta.get("grade_id")
        if cell.cell_type != "code":
            continue
        count = len(cells)
        if gid in solutions or meta.get("solution"):
            names, scaffold = answer_cells.get(gid, (top_level_bindings(cell.source), ""))
            answers |= names
            for name in names:  # the student's value, from now on
                imported.pop(name, None)
            if scaffold:
                cells.append(TrustedCell("setup", f"{gid} (scaffold)", scaffold))
        elif gid in graded and gid in test_sources:
            cells.append(TrustedCell("test", gid, test_sources[gid]))
        elif (meta.get("locked") and not meta.get("grade") and not meta.get("solution")
              and not display_only(cell.source, imported)):
            cells.append(TrustedCell("setup", gid or "", cell.source))
        if len(cells) > count:  # what the trusted cell just added binds, by importing or not
            new, rebound = imports_and_rebinds(cells[-1].source)
            for name in rebound | set(new):
                imported.pop(name, None)
            imported.update(new)
    return plan_cells(cells, answers), answers


def load_plan(course_dir, assignment: str, notebook: str, db_url: str) -> Plan | None:
    """The trusted cells of one notebook of an assignment: setup cells from the release
    notebook, test cells from the gradebook, in the release's order."""
    import nbformat
    from nbgrader.api import Gradebook, MissingEntry

    course = course_root.CourseRoot(course_dir)
    release_path = course.release(assignment) / f"{notebook}.ipynb"
    if not release_path.is_file():
        return None
    released = nbformat.read(release_path, as_version=4)
    with Gradebook(db_url) as gb:
        try:
            record = gb.find_notebook(notebook, assignment)
        except MissingEntry:
            return None
        sources = {c.name: c.source for c in record.source_cells}
        graded = {c.name for c in record.grade_cells}
        solutions = {c.name for c in record.solution_cells}
    source_path = course.source(assignment) / f"{notebook}.ipynb"
    source = nbformat.read(source_path, as_version=4) if source_path.is_file() else None
    cells, answers = trusted_cells(released, source, sources, graded, solutions)
    return Plan(cells, answers, course.release(assignment))


# ---- test kernels, forked by the worker's fork server (request kind "test") ---------------------

class _TestProvisioner(LocalProvisioner):
    server = None
    request: dict = {}

    async def launch_kernel(self, cmd, **kwargs):
        pid = self.server.fork_test({**self.request,
                                     "connection_file": self.parent.connection_file})
        self.process = ForkedProcess(pid)
        self.pid = self.pgid = pid
        self.cwd = self.request["workdir"]
        return self.connection_info


@dataclass
class TestKernel:
    km: AsyncKernelManager
    workdir: Path


class TestKernels(BootedAhead):
    """One test kernel booted ahead of need; a new one for every submission, forked by the
    fork server the worker's student kernels come from (``pool``'s)."""

    def __init__(self, pool: KernelPool, base: str | None = None, limits: dict | None = None):
        self.pool = pool
        self.base = Path(tempfile.mkdtemp(prefix="upstream-tests-", dir=base))
        self.base.chmod(0o700)
        self.limits = dict(limits or {})
        self.ready: TestKernel | None = None

    def _start(self) -> TestKernel:
        server = self.pool.live_server()  # started again if a submission killed it
        workdir = Path(tempfile.mkdtemp(dir=self.base))
        km = BoundedKernelManager(kernel_name="python3", transport="ipc",
                                  ip=str(workdir / "kernel"),
                                  connection_file=str(workdir / "kernel.json"))
        provisioner = _TestProvisioner(kernel_id=workdir.name, kernel_spec=km.kernel_spec,
                                       parent=km)
        provisioner.server = server
        provisioner.request = {"workdir": str(workdir), "limits": self.limits}
        km.provisioner = provisioner
        run_sync(km.start_kernel)()
        return TestKernel(km, workdir)

    def close(self) -> None:  # the fork server is the pool's to close
        if self.ready is not None:
            self.release(self.ready)
            self.ready = None
        shutil.rmtree(self.base, ignore_errors=True)

    def release(self, kernel: TestKernel) -> None:
        discard(kernel.km)
        shutil.rmtree(kernel.workdir, ignore_errors=True)


_TESTS: TestKernels | None = None


def start(pool: KernelPool, base: str | None = None, limits: dict | None = None) -> None:
    """Set up the test kernels (forked by ``pool``'s fork server) and boot the first before any
    submission is graded."""
    global _TESTS
    if _TESTS is None:
        _TESTS = TestKernels(pool, base, limits)
        _TESTS.refill()  # the first submission's test kernel boots while its cells run


def stop() -> None:
    global _TESTS
    if _TESTS is not None:
        _TESTS.close()
        _TESTS = None


# ---- the Execute step ------------------------------------------------------------------------

class SplitExecute(SandboxedExecute):
    """nbgrader's Execute, with test cells run in a clean test interpreter (see module doc)."""

    tests_in = Unicode(DEFAULT_TESTS_IN, help="Where test cells run: 'test-interpreter' (apart "
                       "from student code) or 'student-kernel' (as stock nbgrader)"
                       ).tag(config=True)
    call_timeout = Float(0, help="Seconds one call of a student function from a test may take "
                         "(0: the cell timeout)").tag(config=True)

    _plans: dict = {}

    def _plan(self, resources) -> Plan | None:
        info = resources.get("nbgrader", {}) if resources else {}
        root = self.config.CourseDirectory.get("root")
        key = (root, info.get("assignment"), info.get("notebook"))
        if None in key or not info.get("db_url"):
            return None
        if key not in self._plans:
            self._plans[key] = load_plan(root, key[1], key[2], info["db_url"])
        return self._plans[key]

    def preprocess(self, nb, resources=None, km=None):
        from . import kernels

        self._split, self._installed, self._link = None, False, None
        if self.tests_in == "test-interpreter" and kernels._POOL is not None:
            plan = self._plan(resources)
            if plan is not None and plan.cells:
                if _TESTS is None:
                    start(kernels._POOL, kernels._POOL.settings.base)
                self._split = plan
                self._split_index = {
                    i: c.metadata["nbgrader"]["grade_id"] for i, c in enumerate(nb.cells)
                    if c.cell_type == "code" and c.metadata.get("nbgrader", {}).get("grade")
                    and not c.metadata["nbgrader"].get("solution")
                    and c.metadata["nbgrader"].get("grade_id") in plan.test_ids}
        try:
            return super().preprocess(nb, resources, km=km)
        finally:
            if self._link is not None:
                self._link.close()
                self._link = None

    def preprocess_cell(self, cell, resources, index):
        if getattr(self, "_split", None) is None:
            return super().preprocess_cell(cell, resources, index)
        if index in self._split_index:
            cell.outputs, cell.execution_count = [], None  # never sent to the student's kernel
            self._snapshot(self._split_index[index])
        else:
            cell, resources = super().preprocess_cell(cell, resources, index)
        if index == len(self.nb.cells) - 1:
            self._run_tests()
        return cell, resources

    def _snapshot(self, grade_id: str) -> None:
        """Where a test cell stands, have the student's kernel keep the names the test will
        take, as they are now (the request holds names only, never the test's code)."""
        names = next((c.fetch for c in self._split.cells if c.grade_id == grade_id), [])
        if not names or getattr(self, "_stopped", None):
            return
        from . import crossing

        request = {"op": "snapshot", "tag": grade_id, "names": names}
        timeout = min(10, self.call_timeout or self.timeout or 30)
        link = getattr(self, "_link", None)
        if link is not None:  # the harness's own channel, once it is installed
            with contextlib.suppress(Exception):  # a snapshot that fails: the test takes the
                link.request(request, "a snapshot")  # names as they are at the end, as before
            return
        installing = not getattr(self, "_installed", False)
        if installing:
            msg = crossing.install_request(self.kc.session, serve=request)
            self._installed = True
            run_sync(_quiet)(self.kc, msg["content"]["code"], timeout, msg["metadata"])
            self._link = _student_link(self.km, timeout)
            return
        run_sync(_quiet)(self.kc, crossing.SERVE, timeout,
                         {"upstream_call": json.dumps(request)})


    def _run_tests(self) -> None:
        """The trusted cells, in the test interpreter; outputs into the notebook's test cells."""
        plan, student_km, student_kc = self._split, self.km, self.kc
        info = student_km.get_connection_info()
        info = {k: (v.decode() if isinstance(v, bytes) else v) for k, v in info.items()}
        tk = _TESTS.take()
        tkc = None
        try:
            _copy_release(plan.release_folder, tk.workdir)
            tkc = tk.km.client()
            tkc.start_channels()
            run_sync(tkc.wait_for_ready)(timeout=120)  # a loaded machine boots slowly
            timeout = self.call_timeout or self.timeout or 30
            # What runs before each test cell (attaching to the student's kernel, setup cells,
            # taking the student's names) goes as one request, not one each: each still runs
            # on its own there (grading.test_interpreter.run_steps). Setup cells after the last
            # test cell are not run: nothing graded follows them.
            steps = [["attach", info, int(student_km.provisioner.pid), float(timeout),
                      bool(getattr(self, "_installed", False))]]
            seconds = 60.0
            by_id = {gid: i for i, gid in self._split_index.items()}
            tests = [t for t in plan.cells if t.kind == "test" and t.grade_id in by_id]
            last = plan.cells.index(tests[-1]) if tests else -1
            self.km, self.kc = tk.km, tkc
            for trusted in plan.cells[:last + 1]:
                index = by_id.get(trusted.grade_id) if trusted.kind == "test" else None
                if trusted.kind == "test" and index is None:
                    continue  # deleted from the submission: not run, as in stock nbgrader
                if getattr(self, "_stopped", None):  # the sandbox stopped this notebook
                    if index is not None:
                        self._not_run(self.nb.cells[index])
                    continue
                if trusted.fetch:
                    tag = trusted.grade_id if trusted.kind == "test" else ""
                    steps.append(["prepare", trusted.fetch, tag])
                    seconds += timeout + 30
                if trusted.kind == "setup" and "await" in trusted.source:
                    # top-level await cannot run inside another cell: a request of its own
                    _flush(tkc, steps, seconds)
                    steps, seconds = [], 0.0
                    run_sync(_quiet)(tkc, trusted.source, self.timeout or 60)
                    continue
                if trusted.kind == "setup":
                    steps.append(["run", trusted.source])
                    seconds += self.timeout or 60
                    continue
                _flush(tkc, steps, seconds)
                steps, seconds = [], 0.0
                if getattr(self, "_stopped", None):
                    self._not_run(self.nb.cells[index])
                    continue
                cell = self.nb.cells[index]
                cell.source = trusted.source
                self.execute_cell(cell, index, store_history=True)
        finally:
            self.km, self.kc = student_km, student_kc
            if tkc is not None:
                tkc.stop_channels()
            _TESTS.release(tk)
            _TESTS.refill()


    def _not_run(self, cell) -> None:
        from .kernels import NOT_RUN

        cell.outputs = [nbformat_node(output_type="error", ename=NOT_RUN,
                                      evalue=f"not run: {self._stopped}",
                                      traceback=[f"{NOT_RUN}: not run: {self._stopped}"])]
        cell.execution_count = None


_RUN_STEPS = ("__import__('grading.test_interpreter', fromlist=['run_steps']).run_steps("
              "__import__('json').loads({!r}))")


def _flush(kc, steps: list, seconds: float) -> None:
    """Send the steps gathered so far to the test kernel, as one request (none if empty)."""
    if steps:
        run_sync(_quiet)(kc, _RUN_STEPS.format(json.dumps(steps)), seconds)


def _student_link(km, timeout: float):
    """The worker's own link to the harness's channel in the student's kernel (None where the
    kernel has none: snapshots then go as cells)."""
    from . import crossing
    from .test_interpreter import _Link

    info = {k: (v.decode() if isinstance(v, bytes) else v)
            for k, v in km.get_connection_info().items()}
    try:
        link = _Link(info, int(km.provisioner.pid), timeout, crossing.MAX_BYTES, installed=True)
    except Exception:  # noqa: BLE001 - no channel: cells, as before
        return None
    if link.channel is None:
        return None
    return link


def nbformat_node(**fields):
    from nbformat import NotebookNode

    return NotebookNode(**fields)


async def _quiet(kc, code: str, timeout: float, metadata: dict | None = None) -> dict:
    """Run code in a kernel without keeping any output; the reply's content."""
    msg = kc.session.msg("execute_request", {"code": code, "silent": True,
                                             "store_history": False, "user_expressions": {},
                                             "allow_stdin": False, "stop_on_error": False},
                         metadata=metadata or {})
    kc.shell_channel.send(msg)
    msg_id = msg["header"]["msg_id"]
    deadline = time.monotonic() + timeout
    while True:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            return {"status": "timeout"}
        try:
            msg = await kc.get_shell_msg(timeout=remaining)
        except Exception:  # noqa: BLE001 - queue.Empty on timeout
            return {"status": "timeout"}
        if msg.get("parent_header", {}).get("msg_id") == msg_id:
            return msg["content"]


def _copy_release(src: Path, dest: Path) -> None:
    """The released folder's files (data the tests may read), without notebooks or links:
    the same copy the student's kernel gets of its submission."""
    if src.is_dir():
        copy_into(src, dest, None, None)
