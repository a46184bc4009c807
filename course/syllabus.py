"""The course's one ordered syllabus (``course/syllabus.yml``), read and checked.

Modules may list their learning ``objectives``, each with what assesses it (``assessed_by``):
``quiz:SECTION`` (a section of the module's self-check file) or ``EXERCISE_ID:GRADE_ID`` (a graded
cell of that exercise's source). Exercises may give a ``pass_mark`` and their ``points`` by part
(``{core: N, analyst: M}``). The optional top-level ``capstone`` is the course's final
assignment, after the last module; :func:`exercises` lists it last, as nbgrader assignments.

:func:`problems` lists every way the syllabus disagrees with what it describes: objectives that
differ from the module header's list, an objective with no assessment or one that does not exist,
and points or a pass mark that differ from the exercise's graded cells (summed by grade_id prefix,
``core_`` needing no programming, ``analyst_`` the optional pandas part) or its header.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

import yaml

COURSE_DIR = Path(__file__).parent
SYLLABUS = COURSE_DIR / "syllabus.yml"
STAGES = {"prevent", "react", "rebuild", "all"}
PARTS = ("core", "analyst")
_ASSESSMENT = re.compile(r"^(quiz:[\w-]+|[a-z]\w*:[\w-]+)$")


@dataclass(frozen=True)
class Objective:
    text: str
    assessed_by: tuple[str, ...]


@dataclass(frozen=True)
class Exercise:
    id: str
    title: str
    notebook: Path  # the instructors' source (MyST Markdown, with solutions): never a trainee's
    minutes: int
    pass_mark: int | None = None
    points: dict[str, int] | None = field(default=None, compare=False)

    @property
    def release_folder(self) -> Path:
        """The generated student version that trainees get (nbgrader's release)."""
        return COURSE_DIR / "exercises" / "release" / self.id

    @property
    def trainee_path(self) -> str:
        """Where a trainee finds the exercise in their workspace."""
        return f"exercises/{self.id}/{self.id}.ipynb"


@dataclass(frozen=True)
class Module:
    id: str
    title: str
    notebook: Path
    minutes: int
    stage: str
    exercises: tuple[Exercise, ...] = field(default_factory=tuple)
    objectives: tuple[Objective, ...] = field(default_factory=tuple)

    @property
    def trainee_path(self) -> str:
        """Where a trainee finds the module in their workspace (generated from its source)."""
        return f"modules/{self.notebook.stem}.ipynb"


class SyllabusError(ValueError):
    """syllabus.yml is malformed."""


def _points(raw, where: str) -> dict[str, int] | None:
    if raw is None:
        return None
    if not isinstance(raw, dict) or set(raw) != set(PARTS):
        raise SyllabusError(f"{where}: points must be {{core: N, analyst: M}}, not {raw!r}")
    try:
        points = {part: int(raw[part]) for part in PARTS}
    except (TypeError, ValueError):
        raise SyllabusError(f"{where}: points must be whole numbers, not {raw!r}") from None
    if min(points.values()) < 0:
        raise SyllabusError(f"{where}: points cannot be negative")
    return points


def _exercise(raw: dict, where: str) -> Exercise:
    try:
        exercise = Exercise(str(raw["id"]), str(raw["title"]), COURSE_DIR / raw["notebook"],
                            int(raw["minutes"]),
                            None if raw.get("pass_mark") is None else int(raw["pass_mark"]),
                            _points(raw.get("points"), where))
    except (KeyError, TypeError, ValueError) as exc:
        raise SyllabusError(f"{where}: an exercise needs id, title, notebook, minutes ({exc})") from None
    if exercise.pass_mark is not None:
        if exercise.points is None:
            raise SyllabusError(f"{where}: give points {{core, analyst}} with a pass_mark")
        if not 0 < exercise.pass_mark <= exercise.points["core"]:
            raise SyllabusError(f"{where}: the pass mark ({exercise.pass_mark}) must be more than "
                                f"0 and reachable from the core part alone "
                                f"({exercise.points['core']} points)")
    return exercise


def _objectives(raw, where: str) -> tuple[Objective, ...]:
    if raw is None:
        return ()
    if not isinstance(raw, list):
        raise SyllabusError(f"{where}: objectives must be a list")
    found = []
    for number, item in enumerate(raw, start=1):
        if not isinstance(item, dict) or not str(item.get("text", "")).strip():
            raise SyllabusError(f"{where}: objective {number} needs a text")
        assessed = item.get("assessed_by") or []
        if isinstance(assessed, str) or not assessed:
            raise SyllabusError(f"{where}: objective {number} needs assessed_by, a list of "
                                "quiz:SECTION or EXERCISE_ID:GRADE_ID")
        bad = [a for a in assessed if not _ASSESSMENT.match(str(a))]
        if bad:
            raise SyllabusError(f"{where}: objective {number}: {bad} are not quiz:SECTION or "
                                "EXERCISE_ID:GRADE_ID")
        found.append(Objective(str(item["text"]).strip(), tuple(map(str, assessed))))
    return tuple(found)


def _module(raw: dict, where: str) -> Module:
    try:
        module = Module(str(raw["id"]), str(raw["title"]), COURSE_DIR / raw["notebook"],
                        int(raw["minutes"]), str(raw["stage"]),
                        tuple(_exercise(e, f"{where}/{e.get('id', '?')}")
                              for e in raw.get("exercises") or []),
                        _objectives(raw.get("objectives"), where))
    except (KeyError, TypeError, ValueError) as exc:
        raise SyllabusError(f"{where}: a module needs id, title, notebook, minutes, stage ({exc})") from None
    if module.stage not in STAGES:
        raise SyllabusError(f"{where}: stage must be one of {sorted(STAGES)}, not {module.stage!r}")
    return module


@cache
def _read(path: Path) -> tuple[tuple[Module, ...], Exercise | None]:
    raw = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    mods = tuple(_module(m, f"module {i + 1}") for i, m in enumerate(raw.get("modules") or []))
    final = None if raw.get("capstone") is None else _exercise(raw["capstone"], "capstone")
    ids = [m.id for m in mods] + [e.id for m in mods for e in m.exercises]
    ids += [final.id] if final else []
    dupes = sorted({i for i in ids if ids.count(i) > 1})
    if dupes:
        raise SyllabusError(f"ids used twice in {path.name}: {', '.join(dupes)}")
    return mods, final


def modules(path: Path = SYLLABUS) -> tuple[Module, ...]:
    return _read(path)[0]


def capstone(path: Path = SYLLABUS) -> Exercise | None:
    """The course's final assignment (after the last module), or None if there is none."""
    return _read(path)[1]


def exercises(path: Path = SYLLABUS) -> tuple[Exercise, ...]:
    """Every nbgrader assignment in teaching order: each module's exercises, then the capstone."""
    final = capstone(path)
    return tuple(e for m in modules(path) for e in m.exercises) + ((final,) if final else ())


def module(module_id: str) -> Module:
    for m in modules():
        if m.id == module_id:
            return m
    raise SyllabusError(f"no module {module_id!r}; the syllabus has {[m.id for m in modules()]}")


OBJECTIVES_HEADING = re.compile(r"^## Learning objectives\s*$", re.M)
LIST_ITEM = re.compile(r"^\s*\d+\.\s+")


def header_objectives(notebook: Path) -> list[str]:
    """The numbered learning objectives in a module's header (its first Markdown cell), each
    as one line of text with its whitespace collapsed."""
    from course import notebook_files

    nb = notebook_files.read(notebook)
    header = nb.cells[0].source if nb.cells else ""
    found = OBJECTIVES_HEADING.search(header)
    if not found:
        return []
    items: list[str] = []
    for line in header[found.end():].splitlines():
        if LIST_ITEM.match(line):
            items.append(LIST_ITEM.sub("", line).strip())
        elif items and line.strip() and line.startswith((" ", "\t")):
            items[-1] += " " + line.strip()
        elif items and line.strip():
            break
    return [" ".join(item.split()) for item in items]


def graded_cells(exercise: Exercise) -> dict[str, float]:
    """grade_id -> points of every graded cell in the exercise's source."""
    from course import notebook_files

    cells = {}
    for cell in notebook_files.read(exercise.notebook).cells:
        meta = cell.metadata.get("nbgrader", {})
        if meta.get("grade"):
            cells[meta["grade_id"]] = float(meta.get("points", 0))
    return cells


def points_by_part(exercise: Exercise) -> dict[str, float]:
    """The points of the exercise's graded cells, summed by part (grade_id prefix)."""
    sums = dict.fromkeys(PARTS, 0.0)
    for grade_id, points in graded_cells(exercise).items():
        part = grade_id.split("_", 1)[0]
        sums[part] = sums.get(part, 0.0) + points
    return sums


_STATED = {what: re.compile(rf"{what}\W*(\d+)\s*points", re.I)
           for what in ("pass mark", "core part", "analyst part")}


def header_points(exercise: Exercise) -> dict[str, float | None]:
    """The pass mark and the core and analyst points the exercise's header (first cell) states,
    e.g. ``**Pass mark:** 11 points (of 23) · **core part:** 12 points · **analyst part:** 11
    points``; None for what it does not state."""
    from course import notebook_files

    nb = notebook_files.read(exercise.notebook)
    header = nb.cells[0].source if nb.cells else ""
    return {what: float(m.group(1)) if (m := rx.search(header)) else None
            for what, rx in _STATED.items()}


def _assessment_problem(mod: Module, ref: str) -> str | None:
    from course import quiz

    kind, _, name = ref.partition(":")
    if not name:
        return f"{ref!r} is neither 'quiz:SECTION' nor 'EXERCISE_ID:GRADE_ID'"
    if kind == "quiz":
        try:
            quiz.load_quiz(mod.id, name)
        except quiz.QuizError as exc:
            return f"{ref!r}: {exc}"
        return None
    exercise = next((e for e in exercises() if e.id == kind), None)
    if exercise is None:
        return f"{ref!r}: no exercise {kind!r} in the syllabus"
    if name not in graded_cells(exercise):
        return f"{ref!r}: {kind} has no graded cell {name!r}"
    return None


def problems(mods: tuple[Module, ...] | None = None) -> list[str]:
    """Every way the syllabus disagrees with the notebooks and quizzes it describes."""
    found = []
    for mod in modules() if mods is None else mods:
        if not mod.objectives:
            found.append(f"{mod.id}: no objectives mapped to assessments")
        elif mod.notebook.exists():
            header = header_objectives(mod.notebook)
            listed = [" ".join(o.text.split()) for o in mod.objectives]
            if header != listed:
                found.append(f"{mod.id}: the objectives differ from the header's list "
                             f"(header {len(header)}, syllabus {len(listed)}; the texts must be "
                             "equal, in order)")
        for number, objective in enumerate(mod.objectives, start=1):
            if not objective.assessed_by:
                found.append(f"{mod.id}: objective {number} is not assessed by anything")
            found += [f"{mod.id}: objective {number}: {p}" for ref in objective.assessed_by
                      if (p := _assessment_problem(mod, ref))]
        for exercise in mod.exercises:
            if exercise.pass_mark is None or exercise.points is None:
                found.append(f"{exercise.id}: no pass_mark and points")
                continue
            actual = points_by_part(exercise)
            if actual != exercise.points:
                found.append(f"{exercise.id}: syllabus points {exercise.points} but the graded "
                             f"cells sum to {actual} (grade_ids must start core_ or analyst_)")
            stated = header_points(exercise)
            want = {"pass mark": exercise.pass_mark, "core part": exercise.points["core"],
                    "analyst part": exercise.points["analyst"]}
            if stated != want:
                found.append(f"{exercise.id}: the header states {stated}, the syllabus {want}")
    return found


def objectives_table():
    """One row per learning objective: module, number, text, and what assesses it."""
    import pandas as pd

    return pd.DataFrame([{"module": m.id, "objective": n, "text": o.text,
                          "assessed_by": ", ".join(o.assessed_by)}
                         for m in modules() for n, o in enumerate(m.objectives, start=1)])


def as_table():
    """The syllabus as a DataFrame: one row per module or exercise, in teaching order."""
    import pandas as pd

    rows = []
    for m in modules():
        rows.append({"id": m.id, "kind": "module", "title": m.title, "minutes": m.minutes,
                     "stage": m.stage, "file": m.trainee_path})
        rows += [{"id": e.id, "kind": "exercise", "title": e.title, "minutes": e.minutes,
                  "stage": m.stage, "file": e.trainee_path, "pass_mark": e.pass_mark,
                  "core_points": (e.points or {}).get("core"),
                  "analyst_points": (e.points or {}).get("analyst")}
                 for e in m.exercises]
    final = capstone()
    if final is not None:
        rows.append({"id": final.id, "kind": "capstone", "title": final.title,
                     "minutes": final.minutes, "stage": "all",
                     "file": final.trainee_path})
    return pd.DataFrame(rows)
