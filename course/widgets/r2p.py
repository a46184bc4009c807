"""Module 4 views: the response simulator and the timeline of the Secretary-General's reports.

Thin layers over :class:`course.r2p.ResponseSimulator` and :func:`course.r2p.reports_for_theme`:
every decision is made there; a ``ValueError`` is shown as a message, never as a traceback.
Each view returns a ``VBox`` whose ``controls`` attribute names its parts (used by the tests and
handy for scripted demonstrations).
"""

from __future__ import annotations

import html

import ipywidgets as W
import pandas as pd

from course import r2p
from course.display import plural
from course.widgets import guard, message_html, show_message, table_html

__all__ = ["findings_html", "response_simulator", "report_timeline"]


def findings_html(findings: list[r2p.Finding],
                  measures: pd.DataFrame | r2p.Toolbox | None = None) -> str:
    """Feedback as an accessible list: the rule, why (with its source), and what to do; a debate
    (the sources disagree) is marked in words as one, with the trainee's turn to argue."""
    if not findings:
        return message_html("No rule is broken by your plan so far.", "ok")
    box = r2p.Toolbox.of(measures) if measures is not None else None
    label = (lambda m: box.at(m, "label")) if box is not None else str
    items = []
    for f in findings:
        steps = ", ".join(html.escape(label(m)) for m in f.measures)
        debate = f.kind == "debate"
        items.append(
            "<li>" + ("<b>To weigh (the sources disagree):</b> " if debate else "")
            + f"<b>{html.escape(f.title)}</b>"
            + (f" — <i>{steps}</i>" if steps else "")
            + (f" <small>{html.escape(f.detail)}</small>" if f.detail else "")
            + f"<br>{html.escape(f.message)} <small>[{html.escape(f.source)}]</small>"
            + f"<br><b>{'Your turn' if debate else 'What to do'}:</b> "
            + f"{html.escape(f.advice)}</li>")
    return f"<ul role='list' style='margin:4px 0'>{''.join(items)}</ul>"


def _measure_html(row: pd.Series) -> str:
    kind = "coercive" if row["coercive"] else "peaceful"
    return (f"<div style='border:1px solid #ccc;padding:8px;margin:4px 0'>"
            f"<b>{html.escape(row['label'])}</b><br>{html.escape(row['description'])}<br>"
            f"<small>Pillar {row['pillar']} · {html.escape(row['actor'])} · stage: {row['stage']}"
            f" · {kind} · source: {html.escape(row['source'])}</small></div>")


def _headlines_html(sim: r2p.ResponseSimulator) -> str:
    lines = "".join(f"<li>{html.escape(h)}</li>" for h in sim.headlines())
    title = f"Phase {r2p.PHASES.index(sim.phase) + 1} of 4: {r2p.PHASE_TITLES[sim.phase]}"
    if sim.finished:
        title = "The simulation is over: read the feedback on your whole plan below"
    news = (f"<details><summary>Headlines from this phase (fictional scenario)</summary>"
            f"<ul>{lines}</ul></details>") if lines and not sim.finished else ""
    return f"<p style='margin:4px 0'><b>{html.escape(title)}</b></p>{news}"


def _plan_html(sim: r2p.ResponseSimulator) -> str:
    """The plan so far, phase by phase, as a list (coercive steps marked in words, not colour)."""
    if not sim.steps:
        return "<p><b>Your plan so far:</b> nothing chosen yet.</p>"
    items = "".join(
        f"<li>{html.escape(r2p.PHASE_TITLES.get(step.phase, step.phase))}: "
        f"{html.escape(sim.measures.at[step.measure_id, 'label'])}"
        + (" <i>(coercive)</i>" if sim.measures.at[step.measure_id, "coercive"] else "")
        + "</li>" for step in sim.steps)
    return f"<p><b>Your plan so far</b></p><ol>{items}</ol>"


def response_simulator(sim: r2p.ResponseSimulator) -> W.VBox:
    """Choose measures phase by phase; end a phase to get feedback; see the plan's summary."""
    header, detail, status, feedback, summary = W.HTML(), W.HTML(), W.HTML(), W.HTML(), W.HTML()
    toolbox = W.Select(options=[], rows=10, description="Toolbox",
                       layout=W.Layout(width="95%"))
    chosen = W.Select(options=[], rows=5, description="This phase",
                      layout=W.Layout(width="95%"))
    add = W.Button(description="Add to plan", button_style="primary", icon="plus")
    withdraw = W.Button(description="Withdraw", icon="minus")
    end_phase = W.Button(description="End this phase", button_style="warning",
                         icon="arrow-right", tooltip="Close this phase and get feedback")
    restart = W.Button(description="Start again", icon="refresh")

    def refresh():
        header.value = _headlines_html(sim)
        if sim.finished:
            toolbox.options, chosen.options = [], []
        else:
            toolbox.options = [(f"{row['label']} ({row['actor']})", mid)
                               for mid, row in sim.available().iterrows()]
            chosen.options = [(sim.measures.at[m, "label"], m) for m in sim.current_choices()]
        for button in (add, withdraw, end_phase):
            button.disabled = sim.finished
        counts = sim.summary()
        counts.index = [f"{p} — {r2p.PILLAR_NAMES[p]}" if p in r2p.PILLAR_NAMES else p
                        for p in counts.index]
        summary.value = (_plan_html(sim) + "<b>Your plan by pillar and stage</b>"
                         + table_html(counts.rename_axis("pillar"),
                                      label="Your plan by pillar and stage"))
        describe()

    def describe(_=None):
        detail.value = ("" if toolbox.value is None
                        else _measure_html(sim.measures.loc[toolbox.value]))

    def on_add(_):
        if toolbox.value is None:
            show_message(status, "Pick a measure in the toolbox first.", "error")
            return
        if guard(status, lambda: sim.choose(toolbox.value)) is not None:
            show_message(status, f"Added: {sim.measures.at[toolbox.value, 'label']}.", "ok")
            refresh()

    def on_withdraw(_):
        if chosen.value is None:
            show_message(status, "Pick one of this phase's choices to withdraw.", "error")
            return
        label = sim.measures.at[chosen.value, "label"]
        if guard(status, lambda: sim.withdraw(chosen.value) or True) is not None:
            show_message(status, f"Withdrawn: {label}.", "info")
            refresh()

    def on_end(_):
        ended = sim.phase
        findings = guard(status, sim.advance)
        if findings is not None:
            title = r2p.PHASE_TITLES.get(ended, ended)
            feedback.value = (f"<b>Feedback at the end of the phase “{html.escape(title)}”</b>"
                              + findings_html(findings, sim.toolbox))
            show_message(status, f"The phase “{title}” is over.", "info")
            refresh()

    def on_restart(_):
        sim.reset()
        feedback.value = detail.value = ""
        show_message(status, "A new plan: the crisis starts again.", "info")
        refresh()

    toolbox.observe(describe, names="value")
    add.on_click(on_add)
    withdraw.on_click(on_withdraw)
    end_phase.on_click(on_end)
    restart.on_click(on_restart)
    refresh()
    box = W.VBox([header, toolbox, detail, W.HBox([add, withdraw, end_phase, restart]), chosen,
                  status, feedback, summary])
    box.controls = {"toolbox": toolbox, "chosen": chosen, "add": add, "withdraw": withdraw,
                    "end_phase": end_phase, "restart": restart, "status": status,
                    "feedback": feedback, "summary": summary, "header": header,
                    "detail": detail}
    return box


def _timeline_html(reports: pd.DataFrame) -> str:
    rows = "".join(
        f"<li><b>{int(r.year)}</b> · <code>{html.escape(str(r.symbol))}</code> · "
        f"{html.escape(str(r.title))}<br><small>Themes: {html.escape(str(r.themes))}</small></li>"
        for r in reports.itertuples(index=False))
    return (f"<p>{plural(len(reports), 'report')}</p>"
            f"<ol style='list-style:none;border-left:3px solid #1f4e8c;padding-left:12px'>"
            f"{rows}</ol>")


def report_timeline(reports: pd.DataFrame) -> W.VBox:
    """The Secretary-General's annual R2P reports by year, filtered by theme."""
    themes = r2p.report_themes(reports)
    theme = W.Dropdown(options=[("all themes", "all"), *[(t, t) for t in themes]],
                       value="all", description="Theme")
    listing, status = W.HTML(), W.HTML()

    def show(_=None):
        chosen = guard(status, lambda: r2p.reports_for_theme(reports, theme.value))
        if chosen is not None:
            status.value = ""
            listing.value = _timeline_html(chosen)

    theme.observe(show, names="value")
    show()
    box = W.VBox([theme, status, listing])
    box.controls = {"theme": theme, "listing": listing, "status": status}
    return box
