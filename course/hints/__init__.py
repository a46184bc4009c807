"""Progressive hints for the exercises' analyst tasks: plain logic, no widgets.

Hints live as data in ``course/hints/<exercise>.yml`` (``ex01`` for ``ex01_warning_signs``)::

    tasks:
      count_factors:
        title: Counting the risk factors present
        hints:
          - A first nudge: what to look at.
          - A more specific step.
          - Nearly the method, without the code.

A trainee reveals them one at a time (:class:`HintLadder`); nothing is recorded or graded. The
view is :func:`course.widgets.hints`.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from pathlib import Path

import yaml

HINT_DIR = Path(__file__).parent


class HintError(ValueError):
    """A hint file that is missing or malformed, or a task it does not have."""


@dataclass(frozen=True)
class TaskHints:
    exercise: str
    task: str
    title: str
    hints: tuple[str, ...]


@cache
def _read(exercise: str) -> dict:
    path = HINT_DIR / f"{exercise}.yml"
    if not path.is_file():
        raise HintError(f"no hints for exercise {exercise!r}: expected {path.name} in {HINT_DIR}")
    raw = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    if not isinstance(raw, dict) or not isinstance(raw.get("tasks"), dict):
        raise HintError(f"{path.name}: the file needs a 'tasks' mapping")
    return raw["tasks"]


def tasks(exercise: str) -> list[str]:
    return list(_read(exercise))


def load_hints(exercise: str, task: str) -> TaskHints:
    found = _read(exercise)
    if task not in found:
        raise HintError(f"exercise {exercise!r} has no hints for task {task!r}; "
                        f"it has: {', '.join(found)}")
    raw = found[task] or {}
    if not isinstance(raw, dict) or not isinstance(raw.get("hints") or [], list):
        raise HintError(f"{exercise}.yml/{task}: give a title and a list of hints")
    hints = tuple(str(h).strip() for h in raw.get("hints") or [] if str(h).strip())
    if len(hints) < 2:
        raise HintError(f"{exercise}.yml/{task}: give at least two hints, from a nudge to the method")
    return TaskHints(exercise, task, str(raw.get("title") or task), hints)


class HintLadder:
    """Hints shown one at a time, never more than asked for."""

    def __init__(self, hints: TaskHints):
        self.hints = hints
        self.shown = 0

    @property
    def left(self) -> int:
        return len(self.hints.hints) - self.shown

    def next(self) -> str:
        """Reveal the next hint and return it."""
        if not self.left:
            raise HintError("that was the last hint: compare your code with the worked example "
                            "above the task, or ask your instructor")
        self.shown += 1
        return self.hints.hints[self.shown - 1]

    def visible(self) -> tuple[str, ...]:
        return self.hints.hints[:self.shown]
