"""Self-check questions: plain logic, no widgets.

Questions live as data in ``course/quizzes/<module_id>.yml``::

    sections:
      risk-factors:
        title: Check your understanding
        questions:
          - prompt: Which factors are common to all atrocity crimes?
            multiple: false            # true: tick every right option
            options:
              - text: Factors 1 to 8
                correct: true
              - text: Factors 9 to 14
                feedback: Those are the specific ones.   # shown when this option is chosen
            explanation: Why the right answer is right, with a citation.
            id: factor-kinds           # optional; the question's number (1, 2, …) otherwise

Options are written with the right one wherever the author likes; trainees see them in a shuffled
order (:meth:`Quiz.display_order`) that is the same every time for a question: it is seeded by the
module, the section and the question's id, so an answer can never be found by its position.

The view in :mod:`course.widgets` is a thin layer over :class:`Quiz`.
"""

from __future__ import annotations

import hashlib
import random
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import yaml

QUIZ_DIR = Path(__file__).parent / "quizzes"


class QuizError(ValueError):
    """A quiz file that is missing or malformed, or an answer that makes no sense."""


@dataclass(frozen=True)
class Option:
    text: str
    correct: bool = False
    feedback: str = ""


@dataclass(frozen=True)
class Feedback:
    correct: bool
    message: str


@dataclass(frozen=True)
class Question:
    prompt: str
    options: tuple[Option, ...]
    explanation: str
    multiple: bool = False
    id: str = ""

    @property
    def answer(self) -> frozenset[int]:
        return frozenset(i for i, o in enumerate(self.options) if o.correct)

    def check(self, chosen: int | Iterable[int] | None) -> Feedback:
        picked = self._normalise(chosen)
        if not picked:
            return Feedback(False, "Choose an answer first.")
        correct = picked == self.answer
        notes = [self.options[i].feedback for i in sorted(picked) if self.options[i].feedback]
        verdict = "Correct." if correct else "Not quite."
        if self.multiple and not correct:
            missed = len(self.answer - picked)
            wrong = len(picked - self.answer)
            verdict += f" ({missed} right option(s) not ticked, {wrong} ticked that should not be.)"
        return Feedback(correct, " ".join([verdict, *notes, self.explanation]))

    def _normalise(self, chosen) -> frozenset[int]:
        if chosen is None:
            return frozenset()
        picked = frozenset([chosen] if isinstance(chosen, int) else chosen)
        bad = [i for i in picked if not (isinstance(i, int) and 0 <= i < len(self.options))]
        if bad:
            raise QuizError(f"option(s) {bad} do not exist: choose from 0 to {len(self.options) - 1}")
        if not self.multiple and len(picked) > 1:
            raise QuizError("this question takes one answer only")
        return picked


@dataclass(frozen=True)
class Quiz:
    module_id: str
    section: str
    title: str
    questions: tuple[Question, ...]

    def question_id(self, index: int) -> str:
        return self.questions[index].id or str(index + 1)

    def display_order(self, index: int) -> tuple[int, ...]:
        """The order in which question ``index``'s options are shown: a permutation of their
        indices, seeded by module, section and question id (stable across runs and machines,
        and unchanged when other questions are added or moved)."""
        key = f"{self.module_id}/{self.section}/{self.question_id(index)}"
        seed = int.from_bytes(hashlib.sha256(key.encode("utf-8")).digest()[:8], "big")
        order = list(range(len(self.questions[index].options)))
        random.Random(seed).shuffle(order)
        return tuple(order)

    def score(self, answers: dict[int, int | Iterable[int]]) -> tuple[int, int]:
        """(number right, number of questions) for answers keyed by question index."""
        right = sum(self.questions[i].check(a).correct for i, a in answers.items())
        return right, len(self.questions)


def _question(raw: dict, where: str) -> Question:
    try:
        options = tuple(Option(str(o["text"]), bool(o.get("correct", False)),
                               str(o.get("feedback", ""))) for o in raw["options"])
        q = Question(str(raw["prompt"]), options, str(raw["explanation"]),
                     bool(raw.get("multiple", False)), str(raw.get("id") or ""))
    except (KeyError, TypeError) as exc:
        raise QuizError(f"{where}: each question needs prompt, options (with text) and "
                        f"explanation; missing {exc}") from None
    if len(q.options) < 2:
        raise QuizError(f"{where}: a question needs at least two options")
    if not q.answer or (not q.multiple and len(q.answer) != 1):
        raise QuizError(f"{where}: mark exactly one option correct (or set multiple: true)")
    if not q.explanation.strip():
        raise QuizError(f"{where}: give an explanation, shown after every answer")
    return q


@cache
def _read(module_id: str) -> dict:
    path = QUIZ_DIR / f"{module_id}.yml"
    if not path.exists():
        raise QuizError(f"no quiz file for module {module_id!r}: expected {path}")
    raw = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    if not isinstance(raw.get("sections"), dict):
        raise QuizError(f"{path.name}: the file needs a 'sections' mapping")
    return raw["sections"]


def sections(module_id: str) -> list[str]:
    return list(_read(module_id))


def load_quiz(module_id: str, section: str) -> Quiz:
    all_sections = _read(module_id)
    if section not in all_sections:
        raise QuizError(f"module {module_id!r} has no quiz section {section!r}; "
                        f"it has: {', '.join(all_sections)}")
    raw = all_sections[section]
    questions = tuple(_question(q, f"{module_id}.yml/{section}/question {i + 1}")
                      for i, q in enumerate(raw.get("questions") or []))
    if not questions:
        raise QuizError(f"{module_id}.yml/{section}: no questions")
    ids = [q.id for q in questions if q.id]
    if len(ids) != len(set(ids)):
        raise QuizError(f"{module_id}.yml/{section}: two questions share an id")
    return Quiz(module_id, section, str(raw.get("title", "Check your understanding")), questions)
