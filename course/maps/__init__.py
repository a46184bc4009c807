"""Offline-first maps with folium.

Every map these helpers build inlines the vendored Leaflet (``assets/``), uses no tiles unless the
caller asks for them explicitly, and comes with a plain-data alternative (``view.table``).

folium (with branca, jinja2 and requests behind it) is imported when a map is first drawn, not
when a notebook's first cell runs ``from course import maps``: on a hub where a class starts at
once, every trainee's first output comes that much sooner (benchmarks/server_cost.py).
"""

from __future__ import annotations

import importlib

# public name -> the submodule that defines it (imported on first use)
_WHERE = {
    "OnlineResourceError": "offline",
    "external_urls": "offline",
    "offline_html": "offline",
    "FICTIONAL_NOTE": "views",
    "MapView": "views",
    "add_points": "views",
    "choropleth": "views",
    "offline_map": "views",
    "scenario_choropleth": "views",
    "world_choropleth": "views",
}

__all__ = sorted(_WHERE)


def __getattr__(name: str):
    if name not in _WHERE:
        raise AttributeError(f"module 'course.maps' has no attribute {name!r}")
    value = getattr(importlib.import_module(f"course.maps.{_WHERE[name]}"), name)
    globals()[name] = value  # later look-ups skip this function
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_WHERE))
