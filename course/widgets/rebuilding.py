"""Module 5 views: the reparations planner, the transitional-justice design, the aftermath map.

Thin layers over :mod:`course.rebuilding`: every decision is made there; a ``ValueError`` is
shown as a message, never as a traceback. Each view returns a ``VBox`` whose ``controls``
attribute names its parts (used by the tests and handy for scripted demonstrations).
"""

from __future__ import annotations

import html

import ipywidgets as W
import pandas as pd

from course import rebuilding
from course.widgets import guard, message_html, show_message, table_html

__all__ = ["aftermath_explorer", "findings_html", "justice_designer", "reparations_planner"]


def findings_html(findings: list[rebuilding.Finding]) -> str:
    """Feedback as an accessible list; a debate is marked in words as one, not as a problem."""
    if not findings:
        return message_html("Nothing to flag: now argue your choices in your own words.", "ok")
    items = []
    for f in findings:
        lead = "<b>To weigh (the sources disagree):</b> " if f.kind == "debate" else ""
        items.append(
            f"<li>{lead}<b>{html.escape(f.title)}</b>"
            + (f" <small>{html.escape(f.detail)}</small>" if f.detail else "")
            + f"<br>{html.escape(f.message)} <small>[{html.escape(f.source)}]</small>"
            + f"<br><b>{'Your turn' if f.kind == 'debate' else 'What to do'}:</b> "
            + f"{html.escape(f.advice)}</li>")
    return f"<ul role='list' style='margin:4px 0'>{''.join(items)}</ul>"


def _table_html(frame: pd.DataFrame) -> str:
    return table_html(frame, na_rep="")  # the course's one table style (course/display.py)


def reparations_planner(planner: rebuilding.ReparationsPlanner) -> W.VBox:
    """Choose a group, a form, a provider and a tranche; add; read the grid and the feedback."""
    group = W.Dropdown(options=[(row["group_label"], harm)
                                for harm, row in planner.claims.iterrows()],
                       description="Group", layout=W.Layout(width="95%"))
    form = W.Dropdown(options=[(planner.forms.at[f, "label"], f) for f in rebuilding.FORMS],
                      description="Form")
    provider = W.Dropdown(options=[(v, k) for k, v in rebuilding.PROVIDERS.items()],
                          description="From", layout=W.Layout(width="60%"))
    tranche = W.Dropdown(options=[(v, k) for k, v in rebuilding.TRANCHES.items()],
                         description="When")
    consulted = W.Checkbox(description="Victims' groups and defenders were consulted",
                           indent=False, layout=W.Layout(width="auto"))
    gender = W.Checkbox(description="Designed with gender in mind (women's groups took part)",
                        indent=False, layout=W.Layout(width="auto"))
    add = W.Button(description="Add to plan", button_style="primary", icon="plus")
    remove = W.Button(description="Remove", icon="minus",
                      tooltip="Remove this form for this group")
    check = W.Button(description="Check the plan", button_style="warning", icon="check")
    restart = W.Button(description="Start again", icon="refresh")
    claim, form_help, status, grid, feedback = (W.HTML() for _ in range(5))

    def describe(_=None):
        row = planner.claims.loc[group.value]
        claim.value = (f"<small><b>Record:</b> {html.escape(row['evidence'])}<br>"
                       f"<b>Central forms:</b> {html.escape(', '.join(row['central_forms']))} "
                       f"[{html.escape(row['source'])}]</small>")
        form_help.value = f"<small>{html.escape(planner.form_text(form.value))}</small>"

    def refresh():
        grid.value = "<b>Who gets what (provider, tranche)</b>" + _table_html(planner.grid())

    def on_add(_):
        award = guard(status, lambda: planner.add(group.value, form.value, provider.value,
                                                  tranche.value))
        if award is not None:
            show_message(status, f"Added: {form.label} for {group.label}.", "ok")
            refresh()

    def on_remove(_):
        if guard(status, lambda: planner.remove(group.value, form.value) or True):
            show_message(status, f"Removed: {form.label} for {group.label}.", "info")
            refresh()

    def on_check(_):
        planner.set_process(consulted=consulted.value, gender_specific=gender.value)
        findings = guard(status, planner.findings)
        if findings is not None:
            feedback.value = "<b>Feedback on your plan</b>" + findings_html(findings)

    def on_restart(_):
        planner.reset()
        consulted.value = gender.value = False
        feedback.value = ""
        show_message(status, "A new plan.", "info")
        refresh()

    group.observe(describe, names="value")
    form.observe(describe, names="value")
    add.on_click(on_add)
    remove.on_click(on_remove)
    check.on_click(on_check)
    restart.on_click(on_restart)
    describe()
    refresh()
    box = W.VBox([group, claim, W.HBox([form, tranche]), form_help, provider,
                  W.HBox([add, remove]), consulted, gender, W.HBox([check, restart]), status,
                  grid, feedback])
    box.controls = {"group": group, "form": form, "provider": provider, "tranche": tranche,
                    "consulted": consulted, "gender": gender, "add": add, "remove": remove,
                    "check": check, "restart": restart, "status": status, "grid": grid,
                    "feedback": feedback, "claim": claim}
    return box


def justice_designer(design: rebuilding.TransitionalJusticeDesign) -> W.VBox:
    """Pick mechanisms; see which elements they serve, their trade-offs, and the feedback."""
    table = design.mechanisms
    pick = W.Select(options=[(row["label"], mid) for mid, row in table.iterrows()], rows=8,
                    description="Mechanisms", layout=W.Layout(width="95%"))
    add = W.Button(description="Add to design", button_style="primary", icon="plus")
    drop = W.Button(description="Drop", icon="minus")
    restart = W.Button(description="Start again", icon="refresh")
    detail, status, covered, traded, feedback = (W.HTML() for _ in range(5))

    def describe(_=None):
        if pick.value is None:
            detail.value = ""
            return
        row = table.loc[pick.value]
        detail.value = (f"<div style='border:1px solid #ccc;padding:6px'>"
                        f"<b>{html.escape(row['label'])}</b>: {html.escape(row['description'])}"
                        f"<br><small>Serves: {html.escape(', '.join(row['elements']) or 'the process')}"
                        f" · source: {html.escape(row['source'])}</small></div>")

    def refresh():
        covered.value = "<b>Elements served</b>" + _table_html(design.coverage())
        traded.value = ("<b>Trade-offs of your design</b>" + _table_html(design.tradeoffs())
                        if design.chosen else "<p>Nothing chosen yet.</p>")
        feedback.value = "<b>Feedback</b>" + findings_html(design.findings())

    def on_add(_):
        if pick.value is None:
            show_message(status, "Pick a mechanism first.", "error")
        elif guard(status, lambda: design.choose(pick.value) or True):
            show_message(status, f"Added: {table.at[pick.value, 'label']}.", "ok")
            refresh()

    def on_drop(_):
        if pick.value is not None and guard(status, lambda: design.drop(pick.value) or True):
            show_message(status, f"Dropped: {table.at[pick.value, 'label']}.", "info")
            refresh()

    def on_restart(_):
        design.reset()
        show_message(status, "A new design.", "info")
        refresh()

    pick.observe(describe, names="value")
    add.on_click(on_add)
    drop.on_click(on_drop)
    restart.on_click(on_restart)
    describe()
    refresh()
    box = W.VBox([pick, detail, W.HBox([add, drop, restart]), status, covered, feedback, traded])
    box.controls = {"pick": pick, "add": add, "drop": drop, "restart": restart,
                    "status": status, "coverage": covered, "tradeoffs": traded,
                    "feedback": feedback, "detail": detail}
    return box


def aftermath_explorer(table: pd.DataFrame, places: pd.DataFrame | None = None) -> W.VBox:
    """Choose what the aftermath map shows; the map and its table alternative redraw."""
    measure = W.Dropdown(options=[(spec[2], key)
                                  for key, spec in rebuilding.AFTERMATH_MEASURES.items()],
                         value="not_yet_returned", description="Show",
                         layout=W.Layout(width="95%"))
    shown, status = W.HTML(), W.HTML()

    def draw(_=None):
        view = guard(status, lambda: rebuilding.aftermath_map(table, measure.value,
                                                              places=places))
        if view is not None:
            status.value = ""
            shown.value = view._repr_html_()  # the map in a sandboxed frame, and its table

    measure.observe(draw, names="value")
    draw()
    box = W.VBox([measure, status, shown])
    box.controls = {"measure": measure, "status": status, "map": shown}
    return box
