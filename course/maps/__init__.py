"""Offline-first maps with folium.

Every map these helpers build inlines the vendored Leaflet (``assets/``), uses no tiles unless the
caller asks for them explicitly, and comes with a plain-data alternative (``view.table``).
"""

from course.maps.offline import OnlineResourceError, external_urls, offline_html
from course.maps.views import (
    FICTIONAL_NOTE,
    MapView,
    add_points,
    choropleth,
    offline_map,
    scenario_choropleth,
    world_choropleth,
)

__all__ = [
    "FICTIONAL_NOTE",
    "MapView",
    "OnlineResourceError",
    "add_points",
    "choropleth",
    "external_urls",
    "offline_html",
    "offline_map",
    "scenario_choropleth",
    "world_choropleth",
]
