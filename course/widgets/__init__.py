"""Thin ipywidgets views over the course's plain logic objects.

Convention: the logic lives in ``course/<topic>.py`` (no ipywidgets there, unit-tested); the view
in ``course/widgets/<topic>.py`` only builds widgets, forwards events to the logic and shows what
it returns. A ``ValueError`` from the logic is shown to the trainee as a message, never as a
traceback (:func:`show_message`, :func:`guard`).
"""

from __future__ import annotations

import base64
import html
from collections.abc import Callable

import ipywidgets as W

from course.display import table_html
from course.quiz import Quiz, QuizError, load_quiz

__all__ = ["chart_html", "guard", "hints", "month_stepper", "province_options", "quiz_view",
           "self_check", "show_message", "message_html", "table_html"]

_STYLES = {
    "ok": ("#e6f4ea", "#1e7b34", "✓"),
    "error": ("#fdecea", "#a4262c", "!"),
    "info": ("#eef3fb", "#1f4e8c", "i"),
}


def message_html(text: str, kind: str = "info") -> str:
    """A short, accessible status message (colour is never the only cue: an icon and text too)."""
    bg, fg, icon = _STYLES[kind]
    return (f'<div role="status" style="background:{bg};color:{fg};padding:6px 10px;'
            f'border-left:4px solid {fg};margin:4px 0"><b aria-hidden="true">{icon}</b> '
            f"{html.escape(text)}</div>")


def show_message(target: W.HTML, text: str, kind: str = "info") -> None:
    target.value = message_html(text, kind)


def guard(status: W.HTML, action: Callable[[], object]) -> object | None:
    """Run ``action``; show a ValueError's message in ``status`` instead of raising it."""
    try:
        return action()
    except ValueError as exc:
        show_message(status, str(exc), "error")
        return None


def chart_html(png: bytes, alt: str, width: str = "100%") -> str:
    """A chart as an image with alt text (an ipywidgets Image cannot carry one)."""
    data = base64.b64encode(bytes(png)).decode("ascii")
    return (f'<img src="data:image/png;base64,{data}" alt="{html.escape(alt, quote=True)}" '
            f'style="max-width:{width};height:auto">')


def province_options(province_ids) -> list[tuple[str, str]]:
    """Drop-down choices that show a province's name with its code: ("Quessmar (P01)", "P01")."""
    from course import data, geography

    try:
        names = geography.province_names(data.load("scenario_provinces"))
    except (OSError, ValueError):  # the datasets are missing: the codes alone still work
        names = {}
    return [(f"{names[p]} ({p})" if p in names else str(p), p) for p in province_ids]


def month_stepper(months, value: str, description: str = "Month",
                  width: str = "170px") -> tuple[W.Dropdown, W.HBox]:
    """Choose a month from a drop-down, or step with Earlier / Later.

    Used instead of a slider: ipywidgets' slider handle has no accessible name, so a screen
    reader announces an unnamed number; a drop-down is labelled and keyboard-friendly. Returns
    the drop-down (observe its ``value``) and the row to display."""
    months = list(months)
    picker = W.Dropdown(options=months, value=value, description=description,
                        layout=W.Layout(width=width))
    earlier = W.Button(description="Earlier", icon="chevron-left", layout=W.Layout(width="auto"),
                       tooltip="The month before")
    later = W.Button(description="Later", icon="chevron-right", layout=W.Layout(width="auto"),
                     tooltip="The month after")

    def step(by: int):
        def on_click(_):
            at = months.index(picker.value) + by
            picker.value = months[min(max(at, 0), len(months) - 1)]
        return on_click

    def ends(_=None):
        earlier.disabled = picker.value == months[0]
        later.disabled = picker.value == months[-1]

    earlier.on_click(step(-1))
    later.on_click(step(1))
    picker.observe(ends, names="value")
    ends()
    return picker, W.HBox([picker, earlier, later])


def _question_box(number: int, question, on_answer: Callable[[int, bool], None],
                  order: tuple[int, ...] | None = None) -> W.VBox:
    """One question, its options shown in ``order`` (indices into ``question.options``)."""
    order = tuple(range(len(question.options))) if order is None else order
    labels = [(question.options[i].text, i) for i in order]
    if question.multiple:
        choice = W.VBox([W.Checkbox(value=False, description=t, indent=False,
                                    layout=W.Layout(width="auto")) for t, _ in labels])
    else:
        choice = W.RadioButtons(options=labels, value=None, layout=W.Layout(width="auto"))
    button = W.Button(description="Check", button_style="primary",
                      tooltip="Check your answer")
    feedback = W.HTML()

    def chosen():
        if question.multiple:
            return [i for (_, i), box in zip(labels, choice.children, strict=True) if box.value]
        return choice.value

    def check(_=None):
        result = guard(feedback, lambda: question.check(chosen()))
        if result is not None:
            show_message(feedback, result.message, "ok" if result.correct else "error")
            on_answer(number, result.correct)

    button.on_click(check)
    prompt = W.HTML(f"<p><b>{number + 1}.</b> {html.escape(question.prompt)}</p>")
    return W.VBox([prompt, choice, button, feedback])


def quiz_view(quiz: Quiz) -> W.VBox:
    """A self-check: each question gives immediate feedback with an explanation; a running score."""
    results: dict[int, bool] = {}
    score = W.HTML()

    def on_answer(number: int, correct: bool) -> None:
        results[number] = correct
        score.value = (f"<i>{sum(results.values())} of {len(quiz.questions)} right so far. "
                       "Self-checks are not graded: try again as often as you like.</i>")

    boxes = [_question_box(i, q, on_answer, quiz.display_order(i))
             for i, q in enumerate(quiz.questions)]
    # h3: a self-check sits in a notebook section (h2) or under its own h3, so it never skips a
    # heading level (screen-reader users move through a page by its headings).
    header = W.HTML(f"<h3>{html.escape(quiz.title)}</h3>")
    return W.VBox([header, *boxes, score], layout=W.Layout(border="1px solid #ddd",
                                                           padding="8px"))


def self_check(module_id: str, section: str) -> W.Widget:
    """The self-check for one section of a module, from ``course/quizzes/<module_id>.yml``."""
    try:
        return quiz_view(load_quiz(module_id, section))
    except QuizError as exc:
        return W.HTML(message_html(f"This self-check could not be loaded: {exc}", "error"))


def hints(exercise: str, task: str) -> W.Widget:
    """Progressive hints for one analyst task (``course/hints/<exercise>.yml``), revealed one at
    a time with a button. Never graded, never recorded."""
    from course.hints import HintError, HintLadder, load_hints

    try:
        ladder = HintLadder(load_hints(exercise, task))
    except HintError as exc:
        return W.HTML(message_html(f"These hints could not be loaded: {exc}", "error"))
    shown = W.HTML()
    button = W.Button(description=f"Show a hint (1 of {len(ladder.hints.hints)})",
                      tooltip="Reveal the next hint; hints are not graded")

    def reveal(_=None):
        guard(shown, ladder.next)
        items = "".join(f"<li>{html.escape(h)}</li>" for h in ladder.visible())
        shown.value = f"<ol>{items}</ol>"
        if ladder.left:
            button.description = f"Show a hint ({ladder.shown + 1} of {len(ladder.hints.hints)})"
        else:
            button.description, button.disabled = "No more hints", True

    button.on_click(reveal)
    title = W.HTML(f"<p><b>Hints: {html.escape(ladder.hints.title)}</b> "
                   "<i>(not graded; open them one at a time, only if you need them)</i></p>")
    return W.VBox([title, button, shown], layout=W.Layout(border="1px dashed #bbb",
                                                          padding="6px"))
