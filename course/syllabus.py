"""The course's one ordered syllabus (``course/syllabus.yml``), read and checked."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

import yaml

COURSE_DIR = Path(__file__).parent
SYLLABUS = COURSE_DIR / "syllabus.yml"
STAGES = {"prevent", "react", "rebuild", "all"}


@dataclass(frozen=True)
class Exercise:
    id: str
    title: str
    notebook: Path  # the instructors' source (MyST Markdown, with solutions): never a trainee's
    minutes: int

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

    @property
    def trainee_path(self) -> str:
        """Where a trainee finds the module in their workspace (generated from its source)."""
        return f"modules/{self.notebook.stem}.ipynb"


class SyllabusError(ValueError):
    """syllabus.yml is malformed."""


def _exercise(raw: dict, where: str) -> Exercise:
    try:
        return Exercise(str(raw["id"]), str(raw["title"]), COURSE_DIR / raw["notebook"],
                        int(raw["minutes"]))
    except (KeyError, TypeError, ValueError) as exc:
        raise SyllabusError(f"{where}: an exercise needs id, title, notebook, minutes ({exc})") from None


def _module(raw: dict, where: str) -> Module:
    try:
        module = Module(str(raw["id"]), str(raw["title"]), COURSE_DIR / raw["notebook"],
                        int(raw["minutes"]), str(raw["stage"]),
                        tuple(_exercise(e, f"{where}/{e.get('id', '?')}")
                              for e in raw.get("exercises") or []))
    except (KeyError, TypeError, ValueError) as exc:
        raise SyllabusError(f"{where}: a module needs id, title, notebook, minutes, stage ({exc})") from None
    if module.stage not in STAGES:
        raise SyllabusError(f"{where}: stage must be one of {sorted(STAGES)}, not {module.stage!r}")
    return module


@cache
def modules(path: Path = SYLLABUS) -> tuple[Module, ...]:
    raw = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    mods = tuple(_module(m, f"module {i + 1}") for i, m in enumerate(raw.get("modules") or []))
    ids = [m.id for m in mods] + [e.id for m in mods for e in m.exercises]
    dupes = sorted({i for i in ids if ids.count(i) > 1})
    if dupes:
        raise SyllabusError(f"ids used twice in {path.name}: {', '.join(dupes)}")
    return mods


def exercises() -> tuple[Exercise, ...]:
    return tuple(e for m in modules() for e in m.exercises)


def module(module_id: str) -> Module:
    for m in modules():
        if m.id == module_id:
            return m
    raise SyllabusError(f"no module {module_id!r}; the syllabus has {[m.id for m in modules()]}")


def as_table():
    """The syllabus as a DataFrame: one row per module or exercise, in teaching order."""
    import pandas as pd

    rows = []
    for m in modules():
        rows.append({"id": m.id, "kind": "module", "title": m.title, "minutes": m.minutes,
                     "stage": m.stage, "file": m.trainee_path})
        rows += [{"id": e.id, "kind": "exercise", "title": e.title, "minutes": e.minutes,
                  "stage": m.stage, "file": e.trainee_path}
                 for e in m.exercises]
    return pd.DataFrame(rows)
