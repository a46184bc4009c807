"""Where a plan's measures apply in the fictional country: the places they target, and how many
measures reach each province (what :func:`course.r2p.measure_map` shades)."""

from __future__ import annotations

from collections.abc import Iterable

import pandas as pd

from course.checks import require_columns
from course.geography import province_ids
from course.r2p.toolbox import Toolbox

PLACE_COLUMNS = ("place_id", "name", "province_id", "kind", "x", "y")
__all__ = ["PLACE_COLUMNS", "measure_places", "measures_per_province", "province_ids"]


def measure_places(measure_ids, measures: pd.DataFrame | Toolbox, places: pd.DataFrame) -> pd.DataFrame:
    """The places where each chosen measure applies (measures whose ``where`` is a place kind).

    Country-wide measures (``where`` = ``country``) have no single place and are left out here;
    :func:`measures_per_province` counts them in every province.
    """
    box = Toolbox.of(measures)
    ids = list(dict.fromkeys(box.ids(measure_ids)))
    require_columns(places, PLACE_COLUMNS, "the places table",
                    "load it with data.load('scenario_places')")
    rows = []
    for m in ids:
        kind = box.at(m, "where")
        for place in places[places["kind"] == kind].itertuples(index=False):
            rows.append({"measure_id": m, "label": box.at(m, "label"),
                         "place_id": place.place_id, "place": place.name,
                         "province_id": place.province_id, "kind": kind,
                         "x": place.x, "y": place.y})
    return pd.DataFrame(rows, columns=["measure_id", "label", "place_id", "place", "province_id",
                                       "kind", "x", "y"])


def measures_per_province(measure_ids, measures: pd.DataFrame | Toolbox, places: pd.DataFrame,
                          province_ids: Iterable[str]) -> pd.Series:
    """How many of the chosen measures reach each province: country-wide ones reach all, the
    others reach the provinces that hold a place of their kind."""
    box = Toolbox.of(measures)
    ids = list(dict.fromkeys(box.ids(measure_ids)))
    provinces = list(province_ids)
    counts = pd.Series(0, index=pd.Index(provinces, name="province_id"), dtype=int)
    located = measure_places(ids, box, places)
    for m in ids:
        if box.at(m, "where") == "country":
            counts += 1
        else:
            reached = set(located.loc[located["measure_id"] == m, "province_id"])
            counts += counts.index.isin(reached).astype(int)
    return counts.rename("measures")
