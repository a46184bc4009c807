"""The course's structural rules: syllabus, module headers and footers, clean notebooks."""

from __future__ import annotations

import pytest

from course import syllabus
from course.quiz import load_quiz
from tests.helpers import notebook_rules as rules
from tests.helpers.paths import COURSE

MODULES = syllabus.modules()
EXERCISES = syllabus.exercises()


def test_syllabus_lists_every_notebook_and_every_entry_exists():
    listed = {m.notebook.resolve() for m in MODULES} | {e.notebook.resolve() for e in EXERCISES}
    on_disk = {p.resolve() for p in (COURSE / "modules").glob("*.md")}
    on_disk |= {p.resolve() for p in (COURSE / "exercises" / "source").glob("*/*.md")}
    orphans = sorted(str(p.relative_to(COURSE)) for p in on_disk - listed)
    missing = sorted(str(p.relative_to(COURSE)) for p in listed - on_disk)
    assert not orphans, f"notebooks not in course/syllabus.yml: {orphans}"
    assert not missing, f"syllabus.yml entries with no file: {missing}"


def test_syllabus_order_and_ids():
    assert MODULES[0].id == "m0" and MODULES[0].notebook.name.startswith("00-")
    # File names sort in teaching order by their prefix: "00" Module 0, "00p" the primer that
    # follows it, "01" Module 1, … (a letter after the number inserts a module without renumbering).
    prefixes = [m.notebook.name.split("-", 1)[0] for m in MODULES]
    assert prefixes == sorted(prefixes) and len(set(prefixes)) == len(prefixes), (
        f"module file prefixes must be unique and sort in teaching order: {prefixes}")
    assert all(p[:2].isdigit() for p in prefixes), prefixes
    for e in EXERCISES:
        assert e.notebook.parent.name == e.id == e.notebook.stem, (
            f"{e.id}: nbgrader wants exercises/source/<assignment>/<assignment>.md")


@pytest.mark.parametrize("module", MODULES, ids=lambda m: m.id)
def test_module_header_footer_and_code(module):
    nb = rules.read(module.notebook)
    problems = (rules.header_problems(nb, module.minutes) + rules.footer_problems(nb)
                + rules.code_problems(nb))
    assert not problems, f"{module.notebook.name}: " + "; ".join(problems)


@pytest.mark.parametrize("module", MODULES, ids=lambda m: m.id)
def test_module_self_checks_exist(module):
    checks = rules.self_checks(rules.read(module.notebook))
    assert checks, f"{module.notebook.name} has no self-check (widgets.self_check(...))"
    for module_id, section in checks:
        assert module_id == module.id, f"self_check({module_id!r}, …) in module {module.id}"
        load_quiz(module_id, section)  # raises a QuizError naming what is wrong


@pytest.mark.parametrize("path", [m.notebook for m in MODULES] + [e.notebook for e in EXERCISES],
                         ids=lambda p: p.name)
def test_notebook_source_is_canonical_myst(path):
    """Reading a source and writing it back gives the same text (what the diff shows is what
    the notebook holds; nbgrader metadata survive the round trip)."""
    from tools import notebooks

    assert path.suffix == ".md", f"{path.name}: notebooks are authored as MyST Markdown"
    assert not notebooks.non_canonical([path]), (
        f"{path.name} is not in canonical form: run `.venv/bin/python -m tools.notebooks format`")
