"""The layers the code keeps, checked on the source so that a wrong import fails here first.

* ``course`` (what trainees install) never imports ``grading`` or ``tools`` (instructors' and
  maintainers' code), not even inside a function.
* Logic modules never import ipywidgets, matplotlib or folium at module level: only the view
  layer does (``course/widgets/``, ``course/maps/``, ``course/charts.py``). A logic module may
  import one inside the function that draws, so ``import course.<topic>`` stays light.
* The trainee package holds no instructor-only code: no scenario generator, no answer key.
* No two course modules import each other, not even through a deferred import.
* Test files share code through tests/helpers/, never by importing each other.
"""

from __future__ import annotations

import ast
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
COURSE = ROOT / "course"
VIEW_LIBRARIES = ("ipywidgets", "matplotlib", "folium")
VIEW_LAYER = ("course/widgets/", "course/maps/", "course/charts.py")
INSTRUCTORS = ("grading", "tools")


def _modules() -> list[Path]:
    return sorted(p for p in COURSE.rglob("*.py") if "__pycache__" not in p.parts)


def _name(path: Path) -> str:
    return path.relative_to(ROOT).as_posix()


def imports(source: str, *, top_level_only: bool = False) -> list[tuple[int, str]]:
    """(line, imported module) for every import in ``source``; with ``top_level_only``, only those
    that run when the module is imported (not inside a function or class body)."""
    tree = ast.parse(source)
    found = []

    def visit(node, inside: bool) -> None:
        for child in ast.iter_child_nodes(node):
            nested = inside or isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef
                                          | ast.ClassDef | ast.Lambda)
            if isinstance(child, ast.Import) and not (top_level_only and inside):
                found.extend((child.lineno, alias.name) for alias in child.names)
            elif (isinstance(child, ast.ImportFrom) and not (top_level_only and inside)
                  and child.level == 0 and child.module):
                found.append((child.lineno, child.module))
                if child.module == "tests":  # from tests import notebook_rules: a module too
                    found.extend((child.lineno, f"tests.{a.name}") for a in child.names)
            visit(child, nested)

    visit(tree, False)
    dynamic = re.finditer(r"import_module\(\s*[\"']([\w.]+)[\"']", source)
    found += [(source.count("\n", 0, m.start()) + 1, m.group(1)) for m in dynamic]
    return found


def _root(module: str) -> str:
    return module.split(".")[0]


def course_imports_of_instructor_code() -> list[str]:
    return [f"{_name(path)}:{line} imports {module}"
            for path in _modules()
            for line, module in imports(path.read_text(encoding="utf-8"))
            if _root(module) in INSTRUCTORS]


def logic_imports_of_view_libraries() -> list[str]:
    return [f"{_name(path)}:{line} imports {module} at module level"
            for path in _modules() if not _name(path).startswith(VIEW_LAYER)
            for line, module in imports(path.read_text(encoding="utf-8"), top_level_only=True)
            if _root(module) in VIEW_LIBRARIES]


# --- the checker itself ---------------------------------------------------------------------------

def test_the_import_scanner_tells_module_level_from_function_level():
    source = ("import os\nfrom folium import Map\n"
              "try:\n    import matplotlib.pyplot as plt\nexcept ImportError:\n    pass\n"
              "def draw():\n    import ipywidgets\n    from grading import release\n"
              "class View:\n    import folium\n"
              "def later():\n    return importlib.import_module('tools.scenario')\n")
    everything = [m for _, m in imports(source)]
    assert everything == ["os", "folium", "matplotlib.pyplot", "ipywidgets", "grading", "folium",
                          "tools.scenario"]
    assert [m for _, m in imports(source, top_level_only=True)] == [
        "os", "folium", "matplotlib.pyplot", "tools.scenario"]


# --- the layers -----------------------------------------------------------------------------------

def test_course_never_imports_grading_or_tools():
    found = course_imports_of_instructor_code()
    assert not found, ("the course trainees install must not need instructors' or maintainers' "
                       "code; move what it needs into course/: " + "; ".join(found))


def test_logic_modules_import_no_view_library_at_module_level():
    found = logic_imports_of_view_libraries()
    assert not found, ("only the view layer (course/widgets/, course/maps/, course/charts.py) "
                       "imports ipywidgets, matplotlib or folium at module level; move the "
                       "drawing there or import inside the function: " + "; ".join(found))


@pytest.mark.slow  # over about 5 s: out of `make check`
def test_importing_the_logic_loads_no_view_library():
    logic = sorted(".".join(p.relative_to(ROOT).with_suffix("").parts).removesuffix(".__init__")
                   for p in _modules()
                   if not _name(p).startswith(VIEW_LAYER) and p.name != "__main__.py")
    code = ("import importlib, sys\n"
            f"for name in {logic!r}:\n    importlib.import_module(name)\n"
            f"print(sorted(m for m in {VIEW_LIBRARIES + INSTRUCTORS!r} if m in sys.modules))")
    # run outside the checkout, so that tools/ is not importable from the working directory
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=120, cwd="/")
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]", f"importing {logic} loaded {done.stdout.strip()}"


def test_the_trainee_package_holds_no_scenario_generator_or_answer_key():
    assert not (COURSE / "scenario").exists(), "the generator lives in tools/scenario/"
    for path in _modules():
        tree = ast.parse(path.read_text(encoding="utf-8"))
        defined = {n.name for n in ast.walk(tree)
                   if isinstance(n, ast.FunctionDef | ast.ClassDef)}
        generator = {"incident_rows", "media_rows", "indicator_rows", "province_rings"} & defined
        assert not generator, f"{_name(path)} defines scenario generator code: {generator}"
        assert "incident_truth" not in defined, f"{_name(path)} defines the answer key"
        assert "incident_truth" not in path.read_text(encoding="utf-8"), (
            f"{_name(path)} reaches the generator's incident_truth (instructors' tools only)")


def test_no_trainee_notebook_reaches_the_generator():
    """Exercise 3 takes the matched reports from the scenario_event_matches dataset."""
    for path in [*(COURSE / "exercises" / "source").rglob("*.md"),
                 *(COURSE / "modules").glob("*.md")]:
        text = path.read_text(encoding="utf-8")
        assert "incident_truth" not in text, path.name
        assert not re.search(r"^\s*(from|import) tools\b", text, re.M), path.name


def test_the_package_build_leaves_tools_out():
    text = (ROOT / "pyproject.toml").read_text(encoding="utf-8")
    include = re.search(r"\[tool\.setuptools\.packages\.find\]\s*include\s*=\s*\[([^\]]*)\]", text)
    assert include, "pyproject.toml should list the packages it ships (packages.find include)"
    shipped = re.findall(r"[\"']([^\"']+)[\"']", include.group(1))
    assert shipped and not [p for p in shipped if p.startswith("tools")], shipped


@pytest.mark.parametrize("kind, path, line", [
    ("view", "course/warning_signs/factors.py", "import matplotlib"),
    ("view", "course/r2p/rules.py", "from folium import Map"),
    ("instructors", "course/checks.py", "from grading import release"),
    ("instructors", "course/pyramid.py", "    from tools.scenario import incident_truth"),
])
def test_the_guards_fail_on_an_added_import(kind, path, line, tmp_path, monkeypatch):
    """Copy the package, add one wrong import, and see the matching guard name it."""
    import shutil

    copy = tmp_path / "course"
    shutil.copytree(COURSE, copy, ignore=shutil.ignore_patterns("__pycache__", "datasets",
                                                                "exercises", "modules", "assets"))
    target = tmp_path / path
    text = target.read_text(encoding="utf-8")
    if line.startswith(" "):  # inside a function: append one that imports when called
        text += f"\n\ndef _added():\n{line}\n"
    else:
        text = text.replace("from __future__ import annotations\n",
                            f"from __future__ import annotations\n\n{line}\n", 1)
    target.write_text(text, encoding="utf-8")
    monkeypatch.setattr(sys.modules[__name__], "ROOT", tmp_path)
    monkeypatch.setattr(sys.modules[__name__], "COURSE", copy)
    found = (logic_imports_of_view_libraries() if kind == "view"
             else course_imports_of_instructor_code())
    assert len(found) == 1 and found[0].startswith(f"{path}:"), found


# --- the tests' own layout ------------------------------------------------------------------------

def test_test_files_import_helpers_never_each_other():
    tests = ROOT / "tests"
    found = [f"{_name(path)}:{line} imports {module}"
             for path in sorted(tests.glob("test_*.py")) + [tests / "conftest.py"]
             for line, module in imports(path.read_text(encoding="utf-8"))
             if module.startswith("tests.") and not module.startswith("tests.helpers")
             and module != f"tests.{path.stem}"]  # a module may name itself (for pickling)
    assert not found, "put shared test code in tests/helpers/: " + "; ".join(found)
    loose = sorted(p.name for p in tests.glob("*.py")
                   if not p.name.startswith("test_") and p.name not in ("__init__.py",
                                                                        "conftest.py"))
    assert not loose, f"helpers belong in tests/helpers/, not tests/: {loose}"


# --- no import cycles inside course ---------------------------------------------------------------

def _module_of(path: Path) -> str:
    return ".".join(path.relative_to(ROOT).with_suffix("").parts).removesuffix(".__init__")


def import_graph() -> dict[str, set[str]]:
    """course module -> the course modules it imports anywhere (functions too; relative imports
    resolved; ``from a import b`` counts as importing a.b when that is a module)."""
    paths = {_module_of(p): p for p in _modules()}
    graph: dict[str, set[str]] = {}
    for name, path in paths.items():
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        targets = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                targets |= {a.name for a in node.names}
            elif isinstance(node, ast.ImportFrom):
                base = package.rsplit(".", node.level - 1)[0] if node.level else ""
                module = ".".join(p for p in (base, node.module or "") if p)
                for alias in node.names:
                    child = f"{module}.{alias.name}"
                    targets.add(child if child in paths else module)
        graph[name] = {t for t in targets if t in paths and t != name}
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The groups of modules that import each other, directly or through others (Tarjan)."""
    index, low, stack, on_stack, found = {}, {}, [], set(), []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in sorted(graph.get(node, ())):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            group = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                group.append(member)
                if member == node:
                    break
            if len(group) > 1:
                found.append(sorted(group))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def test_the_cycle_finder_finds_a_deferred_cycle():
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert cycles({"a": {"b"}, "b": set()}) == []


def test_course_modules_do_not_import_each_other_in_a_circle():
    found = cycles(import_graph())
    assert not found, ("these modules import each other (even inside a function), so neither "
                       "can be read or tested alone; move what both need into a third: "
                       + "; ".join(" <-> ".join(group) for group in found))


def _module_sources() -> list[Path]:
    from course import syllabus

    return [m.notebook for m in syllabus.modules()]


@pytest.mark.parametrize("module", _module_sources(), ids=lambda p: p.stem)
def test_a_modules_first_cell_loads_no_map_or_chart_library(module):
    """On a hub a whole class runs its first cell at once: folium and matplotlib load only when a
    map or chart is first drawn (issue #21)."""
    from course import notebook_files

    first = next(c.source for c in notebook_files.read(module).cells if c.cell_type == "code")
    probe = (f"import sys\nexec({first!r})\n"
             "print(sorted(m for m in ('folium', 'matplotlib', 'branca', 'requests') "
             "if m in sys.modules))")
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                          timeout=120, cwd="/")
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().splitlines()[-1] == "[]", f"{module.name}: {done.stdout}"
