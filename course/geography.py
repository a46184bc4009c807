"""Reading the bundled outlines: the fictional country's provinces, and the world's countries.

The province GeoJSON (``data.load('scenario_provinces')``) and the world outlines
(``data.load('world_outlines')``) are plain dicts; these are the one place that reads their
features, so a wrong object gets the same clear message wherever it is passed.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

PROVINCES_HINT = ("expected the provinces GeoJSON (province_id and name on every feature): "
                  "load it with data.load('scenario_provinces')")


def province_names(provinces: Mapping) -> dict[str, str]:
    """``province_id`` -> name for every feature of the provinces GeoJSON, in file order."""
    try:
        return {str(f["properties"]["province_id"]): str(f["properties"]["name"])
                for f in provinces["features"]}
    except (KeyError, TypeError):
        raise ValueError(PROVINCES_HINT) from None


def province_ids(provinces: Mapping) -> list[str]:
    """The ``province_id`` of every feature in the provinces GeoJSON, in file order."""
    return list(province_names(provinces))


def iso3_by_name(outlines: Mapping, key: Callable[[str], str] = str.casefold) -> dict[str, str]:
    """``key(country name)`` -> ISO 3166-1 alpha-3 code, from the world outlines.

    Outlines without a code (some disputed areas) are left out: a name never maps to ''.
    """
    try:
        return {key(str(f["properties"]["name"])): str(f["properties"]["iso3"])
                for f in outlines["features"] if f["properties"].get("iso3")}
    except (KeyError, TypeError):
        raise ValueError("expected the world outlines GeoJSON: load it with "
                         "data.load('world_outlines')") from None
