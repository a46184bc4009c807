"""Module 4's map: where a response plan's measures apply in the fictional country.

The view layer (folium); what it shows is computed in :mod:`course.r2p.places`. Also reachable as
``course.r2p.measure_map``, imported only when a map is drawn.
"""

from __future__ import annotations

import pandas as pd

from course.maps.views import add_points, scenario_choropleth
from course.r2p.places import measure_places, measures_per_province, province_ids
from course.r2p.toolbox import Toolbox

__all__ = ["measure_map"]


def measure_map(measure_ids, measures: pd.DataFrame | Toolbox, places: pd.DataFrame,
                provinces: dict, *, title: str = "Where the plan's measures apply"):
    """An offline map: provinces shaded by how many chosen measures reach them, with the camps,
    crossings and towns that place-bound measures target marked on top."""
    box = Toolbox.of(measures)
    counts = measures_per_province(measure_ids, box, places, province_ids(provinces))
    view = scenario_choropleth(counts, title=title, legend_title="measures",
                               caption="Country-wide measures count in every province.")
    located = measure_places(measure_ids, box, places)
    if len(located):
        add_points(view, located, label="place", columns=["label"])
    return view
