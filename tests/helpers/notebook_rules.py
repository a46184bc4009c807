"""Checks on notebooks as files, shared by the tests (no execution here)."""

from __future__ import annotations

import re

from course import notebook_files

HEADER_PARTS = {
    "a title line starting with '# '": re.compile(r"^# \S", re.M),
    "a content note ('**Content note.**')": re.compile(r"\*\*Content note\.?\*\*", re.I),
    "'**Estimated time:** N minutes'": re.compile(r"\*\*Estimated time:\*\*\s*\d+\s*minutes", re.I),
    "'**Prerequisites:**'": re.compile(r"\*\*Prerequisites:\*\*", re.I),
    "a '## Learning objectives' heading": re.compile(r"^## Learning objectives", re.M),
}
DEFINES = re.compile(r"^\s*(def |class |async def )|\blambda\b", re.M)
IMPORTS_COURSE = re.compile(r"^\s*(import course\b|from course\b)", re.M)
SELF_CHECK = re.compile(r"self_check\(\s*['\"](\w+)['\"]\s*,\s*['\"]([\w-]+)['\"]\s*\)")


def read(path):
    """A course notebook from its MyST source, as the trainee or nbgrader gets it."""
    return notebook_files.read(path)


def header_problems(nb, minutes: int) -> list[str]:
    if not nb.cells or nb.cells[0].cell_type != "markdown":
        return ["the first cell must be the Markdown header"]
    text = nb.cells[0].source
    found = [f"header lacks {what}" for what, rx in HEADER_PARTS.items() if not rx.search(text)]
    stated = re.search(r"\*\*Estimated time:\*\*\s*(\d+)", text)
    if stated and int(stated.group(1)) != minutes:
        found.append(f"header says {stated.group(1)} minutes, syllabus.yml says {minutes}")
    return found


def footer_problems(nb) -> list[str]:
    tail = [c for c in nb.cells[-2:]]
    if len(tail) < 2 or any(c.cell_type != "markdown" for c in tail):
        return ["the last two cells must be Markdown: '## Key points' then '## References'"]
    found = []
    if not tail[0].source.lstrip().startswith("## Key points"):
        found.append("the second-to-last cell must start with '## Key points'")
    if not tail[1].source.lstrip().startswith("## References"):
        found.append("the last cell must start with '## References'")
    return found


def code_problems(nb) -> list[str]:
    code = [c for c in nb.cells if c.cell_type == "code"]
    found = []
    if not code or not IMPORTS_COURSE.search(code[0].source):
        found.append("the first code cell must import course")
    for i, cell in enumerate(nb.cells):
        if cell.cell_type == "code" and DEFINES.search(cell.source):
            found.append(f"cell {i} defines a function or class: move it into the course package")
    return found


def self_checks(nb) -> list[tuple[str, str]]:
    return [m.groups() for c in nb.cells if c.cell_type == "code"
            for m in SELF_CHECK.finditer(c.source)]
