"""Module 2 views: the pyramid sorting widget and the escalation explorer.

Thin layers over :class:`course.pyramid.PyramidSorter` and
:class:`course.pyramid.EscalationExplorer`: every decision is made there; a ``ValueError`` is
shown as a message. Charts are PNG images rendered here, so the views need no browser to build
and call no outside host; each chart carries alt text and has a table alternative beside it.
"""

from __future__ import annotations

import html

import ipywidgets as W
import pandas as pd

from course import maps, pyramid
from course.display import plural
from course.widgets import chart_html, guard, message_html, month_stepper, show_message, table_html

__all__ = ["escalation_explorer", "share_map", "sorting_widget"]


def _table_html(frame: pd.DataFrame, caption: str) -> str:
    return (f"<details><summary>{html.escape(caption)}</summary>"
            f"{table_html(frame, label=caption)}</details>")


def _pyramid_alt(counts: pd.Series) -> str:
    """The pyramid chart in words: how many items the trainee put on each level."""
    levels = "; ".join(f"level {lvl}, {pyramid.LEVEL_NAMES[lvl].lower()}: "
                       f"{plural(int(counts.get(lvl, 0)), 'item')}" for lvl in pyramid.LEVELS)
    return f"Bar chart of your pyramid, level 1 at the bottom. {levels}."


def _item_html(item: dict) -> str:
    where = " · ".join(html.escape(str(item[k])) for k in ("month", "province_id", "kind", "actor")
                       if k in item)
    return (f"<div style='border:1px solid #ccc;padding:8px;margin:4px 0'>"
            f"<small>Fictional scenario · {html.escape(str(item['item_id']))} · {where}</small>"
            f"<p style='margin:6px 0 0 0'>{html.escape(str(item['summary']))}</p></div>")


def sorting_widget(sorter: pyramid.PyramidSorter) -> W.VBox:
    """Place each item on a level; feedback with the reason; a live pyramid and a summary."""
    chooser = W.Dropdown(options=sorter.item_ids, value=sorter.next_item() or sorter.item_ids[0],
                         description="Item")
    item_box, feedback, summary = W.HTML(), W.HTML(), W.HTML()
    chart = W.HTML(layout=W.Layout(max_width="560px"))
    chart_text = W.HTML()
    # Narrower towards the top, so the buttons themselves read as a pyramid.
    buttons = [W.Button(description=f"{lvl}. {pyramid.LEVEL_NAMES[lvl]}",
                        tooltip=f"Place this item on level {lvl}",
                        layout=W.Layout(width=f"{100 - 10 * (lvl - 1)}%"))
               for lvl in pyramid.LEVELS]
    next_button = W.Button(description="Next unsorted item", icon="arrow-right",
                           layout=W.Layout(width="auto"))

    def refresh_progress():
        from course import charts  # matplotlib loads with the first chart drawn
        chart.value = chart_html(charts.figure_png(charts.pyramid_figure(sorter.counts())),
                                 _pyramid_alt(sorter.counts()))
        counts = sorter.counts().rename(index=pyramid.LEVEL_NAMES).to_frame()
        chart_text.value = _table_html(counts, "Your pyramid as a table")
        disagreements = sorter.disagreements()[["item_id", "chosen", "reference", "level_reason"]]
        summary.value = (message_html(sorter.summary_text(), "info")
                         + (_table_html(disagreements, "Where you differ from the reference")
                            if len(disagreements) else ""))

    def show_item(_=None):
        item = guard(feedback, lambda: sorter.item(chooser.value))
        if item is not None:
            item_box.value = _item_html(item)
            feedback.value = ""

    def place(level):
        def on_click(_):
            result = guard(feedback, lambda: sorter.answer(chooser.value, level))
            if result is not None:
                # A disagreement is a judgement to discuss, not a mistake: no error styling.
                show_message(feedback, result.message, "ok" if result.agrees else "info")
                refresh_progress()
        return on_click

    def go_next(_):
        upcoming = sorter.next_item()
        if upcoming is None:
            show_message(feedback, "Every item is sorted: read the summary below.", "info")
        else:
            chooser.value = upcoming

    for lvl, button in zip(pyramid.LEVELS, buttons, strict=True):
        button.on_click(place(lvl))
    chooser.observe(show_item, names="value")
    next_button.on_click(go_next)
    show_item()
    refresh_progress()
    # Level 5 at the top, as on the pyramid.
    levels = W.VBox(list(reversed(buttons)), layout=W.Layout(align_items="center",
                                                             max_width="640px"))
    return W.VBox([W.HBox([chooser, next_button]), item_box,
                   W.HTML("<b>Which level is this?</b>"), levels, feedback,
                   W.HBox([chart, chart_text]), summary])


def escalation_explorer(explorer: pyramid.EscalationExplorer,
                        province: str | None = None) -> W.Widget:
    """Monthly counts by level for a province or the country, up to the chosen month."""
    province = pyramid.COUNTRY if province is None else province
    if province != pyramid.COUNTRY and province not in explorer.provinces:
        return W.HTML(message_html(f"unknown province {province!r}: choose one of "
                                   f"{', '.join(explorer.provinces)}, or None for the whole "
                                   "country", "error"))
    where = W.Dropdown(options=explorer.options(), value=province, description="Where")
    month, month_row = month_stepper(explorer.months, explorer.months[-1], "Up to")
    chart = W.HTML(layout=W.Layout(max_width="760px"))
    status, table = W.HTML(), W.HTML()

    def update(_=None):
        state = guard(status, lambda: explorer.state(where.value, month.value))
        if state is None:
            return
        from course import charts  # matplotlib loads with the first chart drawn
        chart.value = chart_html(
            charts.figure_png(charts.escalation_figure(state)),
            f"Stacked bar chart of the items in the log each month, by level, {state.place}, "
            f"up to {state.month}; escalating months are marked with a triangle. "
            + state.describe())
        show_message(status, state.describe(), "error" if state.flags.iloc[-1] else "info")
        frame = state.counts.rename(columns=pyramid.LEVEL_NAMES).assign(
            share_3_plus=state.share.round(2), escalating=state.flags)
        table.value = _table_html(frame, "The same numbers as a table")

    where.observe(update, names="value")
    month.observe(update, names="value")
    update()
    return W.VBox([W.HBox([where]), month_row, chart, status, table])


def share_map(log: pd.DataFrame, month: str | None = None) -> W.Widget:
    """The provinces shaded by their share of items at level 3+ in the chosen month."""
    try:
        months = pyramid.month_range(pyramid.check_log(log, ("month", "province_id",
                                                             "pyramid_level"))["month"])
        month = pyramid.check_month(month or months[-1])
        if month not in months:
            raise ValueError(f"month {month} is outside the log: choose a month from "
                             f"{months[0]} to {months[-1]}")
    except (ValueError, IndexError) as exc:
        text = str(exc) if isinstance(exc, ValueError) else "the media log is empty"
        return W.HTML(message_html(text, "error"))
    slider, month_row = month_stepper(months, month, "Month")
    status, frame = W.HTML(), W.HTML()

    def render(_=None):
        view = guard(status, lambda: maps.scenario_choropleth(
            pyramid.share_by_province(log, slider.value).round(2),
            title=f"Share of logged items at level 3+, {slider.value}",
            legend_title="share at level 3+", bins=[0, 0.2, 0.4, 0.6, 0.8, 1]))
        if view is not None:
            # The view's own rich display: the map in a sandboxed iframe, then its table.
            frame.value = view._repr_html_()
            status.value = ""

    slider.observe(render, names="value")
    render()
    return W.VBox([month_row, status, frame])
