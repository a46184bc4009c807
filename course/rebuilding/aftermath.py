"""The aftermath by province: who left, who was hosted, who has come home (offline map data).

Everything is derived from the fictional scenario's tables: ``scenario_displacement``
(``displaced_out``: people leaving a province that month; ``displaced_in``: arrivals),
``scenario_timeline`` (the phase of each month) and ``scenario_returns`` (people coming back to
their home province in the aftermath). No figure here describes a real place.
"""

from __future__ import annotations

import pandas as pd

from course.checks import require_columns

# measure -> (column of displacement_by_province, legend title, what it shows)
AFTERMATH_MEASURES = {
    "left": ("left_during_crisis", "people who left",
             "People who left the province during the escalation and atrocities phases"),
    "hosted": ("arrived_during_crisis", "people who arrived",
               "People displaced from elsewhere who arrived during the escalation and atrocities"),
    "returned": ("returned", "people who returned",
                 "People who came back to the province in the aftermath"),
    "not_yet_returned": ("not_yet_returned", "not yet back",
                         "People who left during the crisis and had not come back by the last "
                         "month of the data"),
}
CRISIS_PHASES = ("escalation", "atrocities")
COLUMNS = ["name", "left_during_crisis", "arrived_during_crisis", "left_in_aftermath",
           "returned", "not_yet_returned", "share_returned"]


def displacement_by_province(displacement: pd.DataFrame, timeline: pd.DataFrame,
                             returns: pd.DataFrame, provinces: dict) -> pd.DataFrame:
    """One row per province (index ``province_id``), in province order.

    ``left_during_crisis`` and ``arrived_during_crisis`` sum the escalation and atrocities
    months; ``left_in_aftermath`` the aftermath months; ``returned`` the returns;
    ``not_yet_returned`` is left_during_crisis minus returned (never below 0) and
    ``share_returned`` returned / left_during_crisis (NaN where no one left).
    """
    require_columns(displacement, ("month", "province_id", "displaced_in", "displaced_out"),
          "the displacement table", "load it with data.load('scenario_displacement')")
    require_columns(timeline, ("month", "phase"), "the timeline", "load it with data.load('scenario_timeline')")
    require_columns(returns, ("month", "province_id", "returned"), "the returns table",
          "load it with data.load('scenario_returns')")
    try:
        names = {f["properties"]["province_id"]: f["properties"]["name"]
                 for f in provinces["features"]}
    except (KeyError, TypeError):
        raise ValueError("provinces must be the GeoJSON of data.load('scenario_provinces')") from None
    phase = timeline.set_index("month")["phase"]
    unknown = sorted(set(displacement["month"]) - set(phase.index))
    if unknown:
        raise ValueError(f"months not in the timeline: {', '.join(unknown[:5])}")
    moves = displacement.assign(phase=displacement["month"].map(phase))
    crisis = moves[moves["phase"].isin(CRISIS_PHASES)].groupby("province_id")
    after = moves[moves["phase"] == "aftermath"].groupby("province_id")
    table = pd.DataFrame(index=pd.Index(sorted(names), name="province_id"))
    table["name"] = [names[p] for p in table.index]
    table["left_during_crisis"] = crisis["displaced_out"].sum()
    table["arrived_during_crisis"] = crisis["displaced_in"].sum()
    table["left_in_aftermath"] = after["displaced_out"].sum()
    table["returned"] = returns.groupby("province_id")["returned"].sum()
    counts = COLUMNS[1:5]
    table[counts] = table[counts].fillna(0).astype(int)
    table["not_yet_returned"] = (table["left_during_crisis"] - table["returned"]).clip(lower=0)
    left = table["left_during_crisis"].where(table["left_during_crisis"] > 0)
    table["share_returned"] = (table["returned"] / left).round(3)
    return table[COLUMNS]


def aftermath_map(table: pd.DataFrame, measure: str = "not_yet_returned", *, places=None):
    """An offline map of one measure of :data:`AFTERMATH_MEASURES`, with the table alternative.

    ``table`` is :func:`displacement_by_province`'s result; ``places`` (optional,
    ``data.load('scenario_places')``) marks the camps and crossings.
    """
    from course import maps  # imported here: the logic above needs no map library

    if measure not in AFTERMATH_MEASURES:
        raise ValueError(f"unknown measure {measure!r}: use one of {', '.join(AFTERMATH_MEASURES)}")
    require_columns(table, COLUMNS, "the table", "make it with rebuilding.displacement_by_province(...)")
    column, legend, title = AFTERMATH_MEASURES[measure]
    details = table[["left_during_crisis", "returned", "not_yet_returned"]].astype(str)
    view = maps.scenario_choropleth(table[column], title=title, legend_title=legend,
                                    details=details,
                                    caption="Totals by province, from the scenario's "
                                            "displacement and returns tables.")
    if places is not None:
        marked = places[places["kind"].isin(["camp", "crossing"])]
        maps.add_points(view, marked, columns=["kind"])
    return view
