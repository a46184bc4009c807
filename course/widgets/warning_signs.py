"""Views for Module 1: the risk-assessment workbench and the time-slider map.

Thin layers over :class:`course.warning_signs.Workbench` and
:class:`course.warning_signs.MonthlyMeasures`: they build ipywidgets, pass what the trainee does
to the logic and show what comes back. Errors from the logic appear as messages, not tracebacks.
"""

from __future__ import annotations

import html

import ipywidgets as W
import pandas as pd

from course import maps
from course.display import plural
from course.warning_signs import (
    FACTORS,
    MonthlyMeasures,
    Workbench,
    check_month,
    group_of,
    load_uploaded_country_table,
    risk_by_country,
)
from course.widgets import (
    guard,
    message_html,
    month_stepper,
    province_options,
    show_message,
    table_html,
)

__all__ = ["country_table_map", "time_slider_map", "workbench"]

CALLS = ("not judged", "absent", "present")


def _table_html(table: pd.DataFrame, caption: str, index: bool = False) -> str:
    if not len(table):
        return f"<p><b>{html.escape(caption)}</b></p><p><i>Nothing to show.</i></p>"
    return table_html(table, caption, index=index)


class _FactorRow:
    """One risk factor's controls: your call and your evidence note."""

    def __init__(self, number: int, name: str):
        self.number = number
        label = f"{number}. {name} ({group_of(number)})"
        self.call = W.ToggleButtons(options=list(CALLS), value="not judged",
                                    style={"button_width": "auto"},
                                    tooltips=["No call yet", "Judged absent", "Judged present"])
        self.note = W.Text(placeholder="Your evidence (indicator, event, source)",
                           layout=W.Layout(width="340px"))
        self.box = W.VBox([W.HTML(f"<b>{html.escape(label)}</b>"),
                           W.HBox([self.call, self.note])])

    def load(self, judgements: pd.DataFrame) -> None:
        mine = judgements[judgements["risk_factor"] == self.number]
        self.call.value = ("not judged" if mine.empty else
                           "present" if bool(mine["present"].iloc[0]) else "absent")
        self.note.value = "" if mine.empty else str(mine["note"].iloc[0])

    def record(self, bench: Workbench) -> None:
        if self.call.value == "not judged":
            bench.forget(self.number)
        else:
            bench.judge(self.number, self.call.value == "present", self.note.value)


def workbench(bench: Workbench, last: int = 6) -> W.VBox:
    """Pick a province and month, see its indicators, record your judgement, compare with data."""
    province = W.Dropdown(options=province_options(bench.provinces), value=bench.province,
                          description="Province", layout=W.Layout(width="auto"))
    month = W.Dropdown(options=bench.months, value=bench.month, description="Month")
    status = W.HTML()
    series, evidence, results = W.HTML(), W.HTML(), W.HTML()
    rows = [_FactorRow(n, bench.factor_names[n]) for n in FACTORS]
    record = W.Button(description="Record and compare", button_style="primary",
                      layout=W.Layout(width="auto"), tooltip="Save your calls for this province and month, then compare")

    def show_results() -> None:
        results.value = "".join([
            _table_html(bench.summary(), "Factors present by group: you and the data"),
            _table_html(bench.trend(last), f"Trend in the data, last {last} months", index=True),
            _table_html(bench.compare(), "Your judgement beside the indicator data"),
        ])

    def show_selection(_=None) -> None:
        try:
            bench.select(province.value, month.value)
        except ValueError as exc:
            show_message(status, str(exc), "error")
            return
        series.value = _table_html(bench.indicator_series(last),
                                   f"{province.label}: indicators, last {last} months", index=True)
        evidence.value = _table_html(bench.evidence(),
                                     f"Indicators past their threshold in {bench.month}")
        judged = bench.judgements()
        for row in rows:
            row.load(judged)
        show_results()
        show_message(status, f"Assessing {province.label} in {bench.month} (fictional scenario). "
                             "Calls you record are kept when you switch.", "info")

    def on_record(_=None) -> None:
        # The calls are for what the drop-downs show, even if other code moved the same bench.
        try:
            bench.select(province.value, month.value)
        except ValueError as exc:
            show_message(status, str(exc), "error")
            return
        # Record every valid call; list the ones that need fixing instead of dropping them all.
        problems = []
        for row in rows:
            try:
                row.record(bench)
            except ValueError as exc:
                problems.append(str(exc))
        show_results()
        if problems:
            show_message(status, " ".join(["Not recorded:", *problems]), "error")
        else:
            show_message(status, f"Recorded your calls for {province.label}, {bench.month}.", "ok")

    province.observe(show_selection, names="value")
    month.observe(show_selection, names="value")
    record.on_click(on_record)
    show_selection()
    calls = W.VBox([W.HTML("<p><b>Your judgement: which risk factors are present?</b></p>"),
                    *[r.box for r in rows], record])
    return W.VBox([W.HBox([province, month]), status, series, evidence, calls, results])


def time_slider_map(measures: MonthlyMeasures, measure: str = "factors",
                    month: str | None = None) -> W.VBox:
    """A choropleth of the provinces that follows a month slider and a choice of measure."""
    options = measures.measures()
    try:
        if measure not in [m for _, m in options]:
            raise ValueError(f"Unknown measure {measure!r}: choose one of "
                             f"{', '.join(m for _, m in options)}.")
        month = check_month(month or measures.months[-1], measures.months)
    except ValueError as exc:
        return W.HTML(message_html(str(exc), "error"))
    slider, month_row = month_stepper(measures.months, month, "Month")
    choice = W.Dropdown(options=options, value=measure, description="Show",
                        layout=W.Layout(width="420px"))
    status, frame = W.HTML(), W.HTML()

    def render(_=None) -> None:
        def build():
            return maps.scenario_choropleth(
                measures.values(slider.value, choice.value),
                title=measures.title(slider.value, choice.value),
                legend_title=measures.legend_title(choice.value),
                bins=measures.bins(choice.value))
        view = guard(status, build)
        if view is not None:
            # The view's own rich display: the map in a sandboxed iframe plus its table.
            frame.value = view._repr_html_()
            status.value = ""

    slider.observe(render, names="value")
    choice.observe(render, names="value")
    render()
    return W.VBox([W.HBox([choice]), month_row, status, frame])


def country_table_map(outlines) -> W.VBox:
    """Upload a country-level risk table (CSV) and see it on a world map with its table.

    The file is checked by ``course.data.load_user_csv``; problems are listed row by row and
    nothing is shown until they are fixed. Countries that match no outline are named.
    """
    upload = W.FileUpload(accept=".csv", multiple=False, description="Upload CSV")
    status, frame = W.HTML(), W.HTML()
    show_message(status, "Choose a CSV file with a country (iso3 or name) and a risk column "
                         "(0 to 1). It stays in this session and is not sent anywhere.", "info")

    def on_upload(change) -> None:
        files = change["new"]
        if not files:
            return
        item = files[0]

        def build():
            table = load_uploaded_country_table(item["name"], item["content"])
            values, unmatched = risk_by_country(table, outlines)
            if values.empty:
                raise ValueError(f"No row of {item['name']} matches a country on the map "
                                 f"(unmatched: {', '.join(unmatched[:10])}). Check the iso3 codes "
                                 "or country names.")
            view = maps.world_choropleth(values, title=f"Your table: {item['name']}",
                                         legend_title="risk (0-1)")
            return view, len(values), unmatched

        result = guard(status, build)
        if result is None:
            frame.value = ""
            return
        view, shown, unmatched = result
        frame.value = view._repr_html_()
        note = f" Not on the map (no match): {', '.join(unmatched)}." if unmatched else ""
        show_message(status, f"Loaded {item['name']}: {plural(shown, 'country')} shown.{note}",
                     "info" if unmatched else "ok")

    upload.observe(on_upload, names="value")
    return W.VBox([upload, status, frame])
