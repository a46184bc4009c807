"""Map builders: choropleths and points over bundled outlines, each with a plain-data alternative."""

from __future__ import annotations

import copy
import html
import json
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

import folium
import pandas as pd

from course.checks import require_columns
from course.display import table_html
from course.maps.offline import OnlineResourceError, offline_html
from course.palette import NO_DATA, QUALITATIVE, sequential

WORLD_VIEW = [[-58.0, -170.0], [84.0, 190.0]]
FICTIONAL_NOTE = "Fictional scenario: the country, places and data are invented for training."


@dataclass
class MapView:
    """A map plus its text alternative. Displays as the map with the table under it."""

    map: folium.Map
    table: pd.DataFrame
    title: str
    caption: str = ""
    height: int = 420
    points: pd.DataFrame | None = None
    allow_online: bool = field(default=False, repr=False)

    def html(self) -> str:
        """The map as a standalone, offline HTML document."""
        return offline_html(self.map, allow_online=self.allow_online)

    def save(self, path) -> None:
        with open(path, "w", encoding="utf-8") as fh:
            fh.write(self.html())

    def text_alternative(self) -> str:
        """The same information as the map, as plain text (for screen readers and printouts)."""
        parts = [self.title, self.caption, self.table.to_string(index=False)]
        if self.points is not None and len(self.points):
            parts += ["Places:", self.points.to_string(index=False)]
        return "\n".join(p for p in parts if p)

    def _repr_html_(self) -> str:
        # sandbox without allow-same-origin: the map's scripts run, but cannot reach the notebook.
        frame = (f'<iframe srcdoc="{html.escape(self.html(), quote=True)}" '
                 f'title="{html.escape(self.title)}" sandbox="allow-scripts" '
                 f'style="width:100%;height:{self.height}px;border:1px solid #ccc"></iframe>')
        tables = table_html(self.table, label=f"{self.title}: the map's data", index=False)
        if self.points is not None and len(self.points):
            tables += table_html(self.points, "Places", index=False)
        return (f'<figure style="margin:0"><figcaption><b>{html.escape(self.title)}</b> '
                f"{html.escape(self.caption)}</figcaption>{frame}"
                "<details><summary>Table (the same data as text)</summary>"
                f"{tables}</details></figure>")


def _bounds(geojson: Mapping) -> list[list[float]]:
    """[[south, west], [north, east]] of every coordinate in a FeatureCollection."""
    xs, ys = [], []

    def walk(coords):
        if isinstance(coords[0], (int, float)):
            xs.append(coords[0])
            ys.append(coords[1])
        else:
            for c in coords:
                walk(c)

    for feature in geojson["features"]:
        walk(feature["geometry"]["coordinates"])
    if not xs:
        raise ValueError("the outlines hold no coordinates")
    return [[min(ys), min(xs)], [max(ys), max(xs)]]


def offline_map(*, crs: str = "Simple", bounds: Sequence[Sequence[float]] | None = None,
                tiles: str | None = None, allow_online: bool = False,
                background: str = "#f4f6f8") -> folium.Map:
    """A folium map with no tiles. ``crs="Simple"`` is a flat plane (the fictional country);
    ``"EPSG3857"`` is the usual web projection (world outlines). Tiles are online by nature:
    they are added only when asked for and ``allow_online=True``."""
    if crs not in ("Simple", "EPSG3857"):
        raise ValueError(f"crs must be 'Simple' or 'EPSG3857', not {crs!r}")
    if tiles and not allow_online:
        raise OnlineResourceError(
            "map tiles come from an outside server, which learns which area you look at; "
            "pass allow_online=True to use them knowingly")
    simple = crs == "Simple"
    m = folium.Map(location=[0, 0], zoom_start=0 if simple else 1, tiles=tiles or None, crs=crs,
                   zoom_snap=0.25, control_scale=not simple, prefer_canvas=False)
    # folium hands min/max zoom to the tile layer; with no tiles they must sit on the map itself,
    # or Leaflet cannot zoom out below 0 and a 1000-unit plane never fits a 700-pixel frame.
    m.options.update(minZoom=-4 if simple else 0, maxZoom=4 if simple else 8)
    m.get_root().header.add_child(folium.Element(
        f"<style>html body .leaflet-container{{background:{background}}}</style>"))
    if bounds is not None:
        m.fit_bounds(bounds)
        m.get_root().script.add_child(folium.Element(
            _REFIT.replace("MAP", m.get_name()).replace("BOUNDS", json.dumps(bounds))))
    return m


# A notebook may lay out a map's iframe after the map script has run (at zero size), leaving the
# map zoomed wrongly. Fit again once loaded and whenever the frame resizes, until the trainee
# zooms or pans themselves.
_REFIT = """
window.addEventListener("load", function () {
  var map = MAP, bounds = BOUNDS, touched = false;
  ["mousedown", "wheel", "keydown", "touchstart"].forEach(function (type) {
    map.getContainer().addEventListener(type, function () { touched = true; }, {passive: true});
  });
  function refit() { map.invalidateSize(); if (!touched) { map.fitBounds(bounds); } }
  window.addEventListener("resize", refit);
  refit();
});
"""


def _nice_step(raw: float) -> float:
    """The smallest 1, 2, 2.5 or 5 × 10^k at least ``raw``: class edges people can read."""
    exp = 10 ** math.floor(math.log10(raw))
    return next(m * exp for m in (1, 2, 2.5, 5, 10) if raw <= m * exp)


def _equal_steps(lo: float, hi: float, n: int, integral: bool) -> list[float]:
    """Edges at a readable step, starting at or below ``lo``: at most ``n`` classes."""
    step = _nice_step((hi - lo) / n if hi > lo else 1.0)
    while True:
        step = max(1.0, math.ceil(step)) if integral else step
        bins = [math.floor(lo / step) * step]
        while bins[-1] <= hi:
            bins.append(round(bins[-1] + step, 12))
        if len(bins) - 1 <= n:
            return bins
        step = _nice_step(step * 1.01)  # the next readable step up (a floored start added one)


def _classes(values: pd.Series, bins: Sequence[float] | None, n: int = 5):
    """Class edges and labels for numeric values (rounded equal intervals unless ``bins``)."""
    finite = values.dropna()
    integral = bool(len(finite)) and all(float(v).is_integer() for v in finite)
    if bins is None:
        lo, hi = (float(finite.min()), float(finite.max())) if len(finite) else (0.0, 1.0)
        if integral and hi - lo < n:
            bins = [lo + i for i in range(int(hi - lo) + 2)]  # one class per value
        else:
            bins = _equal_steps(lo, hi, n, integral)
    bins = sorted(float(b) for b in bins)
    if len(bins) < 2:
        raise ValueError("bins need at least two edges")
    sequential(len(bins) - 1)  # too many classes to tell apart: say so now
    labels = []
    for a, b in zip(bins[:-1], bins[1:], strict=True):
        if integral and a.is_integer() and b.is_integer():
            labels.append(f"{a:,.0f}" if b - a == 1 else f"{a:,.0f}–{b - 1:,.0f}")
        else:
            labels.append(f"{a:,.3g}–{b:,.3g}")
    return bins, labels


def _classify(value, bins, labels, palette):
    """(label, colour) of the class holding ``value``: lower edge included, upper excluded,
    except that the top class also holds its upper edge."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "no data", NO_DATA
    index = next((i for i, upper in enumerate(bins[1:]) if value < upper), len(labels) - 1)
    if value < bins[0]:
        index = 0
    return labels[index], palette[index]


def _legend_html(title: str, entries: Iterable[tuple[str, str]], note: str = "",
                 corner: str = "right") -> str:
    rows = "".join(f'<div><span style="display:inline-block;width:14px;height:14px;'
                   f'background:{colour};border:1px solid #555;margin-right:6px;'
                   f'vertical-align:middle"></span>{html.escape(label)}</div>'
                   for label, colour in entries)
    foot = f'<div style="margin-top:4px;font-style:italic;max-width:190px">{html.escape(note)}</div>' if note else ""
    return (f'<aside aria-label="Legend" style="position:absolute;bottom:18px;{corner}:10px;'
            f'z-index:1000;background:rgba(255,255,255,.92);padding:6px 8px;'
            f'border:1px solid #999;font:12px sans-serif;color:#1a1a1a">'
            f'<b>{html.escape(title)}</b>{rows}{foot}</aside>')


def _title_html(title: str) -> str:
    """The map's heading (the frame's only one), and the document's title."""
    return (f'<h1 style="position:absolute;top:8px;left:50px;z-index:1000;margin:0;'
            f'background:rgba(255,255,255,.92);padding:3px 8px;border:1px solid #999;'
            f'font:bold 13px sans-serif;color:#1a1a1a">{html.escape(title)}</h1>')


def _centre(geometry: Mapping) -> tuple[float, float]:
    """(x, y): the middle of a feature's bounding box, where its name label goes."""
    box = _bounds({"features": [{"geometry": geometry}]})
    return (box[0][1] + box[1][1]) / 2, (box[0][0] + box[1][0]) / 2


def _label_features(m: folium.Map, features: Iterable[Mapping], label_field: str) -> None:
    """Print each feature's name on the map (dark text on a light box: readable on any class)."""
    for feature in features:
        x, y = _centre(feature["geometry"])
        text = html.escape(str(feature["properties"].get(label_field, "")))
        folium.Marker(location=[y, x], icon=folium.DivIcon(
            html=(f'<span style="display:inline-block;transform:translate(-50%,-50%);'
                  f'white-space:nowrap;font:11px sans-serif;color:#1a1a1a;'
                  f'background:rgba(255,255,255,.8);padding:0 3px;border-radius:2px">'
                  f"{text}</span>"),
            icon_size=(0, 0), icon_anchor=(0, 0), class_name="upstream-label"),
            interactive=False).add_to(m)


def choropleth(geojson: Mapping, values: pd.Series | Mapping, *, key: str, title: str,
               legend_title: str, name_field: str = "name", bins: Sequence[float] | None = None,
               details: pd.DataFrame | None = None, crs: str = "Simple", fictional: bool = False,
               caption: str = "", height: int = 420, list_missing: bool | None = None,
               bounds: Sequence[Sequence[float]] | None = None, labels: bool = False,
               legend_corner: str = "right") -> MapView:
    """Shade each feature of ``geojson`` (matched on property ``key``) by ``values``.

    Numeric values get sequential classes (equal intervals, or ``bins``); text values get one
    colour per category. ``details`` (indexed by key) adds tooltip lines and table columns.
    Features with no value are grey; the table lists them as "no data" when ``list_missing``
    (by default only on maps of 30 features or fewer, so a world map's table stays readable).
    ``labels`` prints each feature's name on the map; ``legend_corner`` ("right" or "left") is
    where the legend sits, bottom left or right, so it can be kept off the land.
    """
    if legend_corner not in ("left", "right"):
        raise ValueError(f"legend_corner must be 'left' or 'right', not {legend_corner!r}")
    values = pd.Series(values, dtype=object if not len(values) else None)
    values.index = values.index.astype(str)
    feature_ids = [str(f["properties"].get(key)) for f in geojson["features"]]
    unknown = sorted(set(values.index) - set(feature_ids))
    if unknown:
        raise ValueError(f"no outline for {key} {', '.join(unknown[:10])}: check the ids "
                         f"(known: {', '.join(sorted(feature_ids)[:12])}…)")
    numeric = pd.api.types.is_numeric_dtype(values) or not len(values)
    if numeric:
        values = values.astype(float)
        edges, labels = _classes(values, bins)
        palette = sequential(len(labels))
        classify = lambda v: _classify(v, edges, labels, palette)  # noqa: E731
        legend = [(label, classify(edge)[1]) for label, edge in zip(labels, edges, strict=False)]
    else:
        cats = sorted(values.dropna().astype(str).unique())
        colours = dict(zip(cats, QUALITATIVE, strict=False))
        classify = lambda v: (str(v), colours.get(str(v), NO_DATA)) if pd.notna(v) else ("no data", NO_DATA)  # noqa: E731
        legend = list(colours.items())
    if len(values) < len(feature_ids):
        legend.append(("no data", NO_DATA))

    gj = copy.deepcopy(dict(geojson))
    rows, colour_of = [], {}
    extra_cols = [c for c in (details.columns if details is not None else []) if c != key]
    for feature in gj["features"]:
        fid = str(feature["properties"].get(key))
        value = values.get(fid)
        label, colour = classify(value)
        colour_of[fid] = colour
        shown = ("no data" if value is None or (isinstance(value, float) and math.isnan(value))
                 else f"{value:g}" if isinstance(value, float) else str(value))
        feature["id"] = fid
        props = {key: fid, "name": str(feature["properties"].get(name_field, fid)),
                 "value": shown}
        for col in extra_cols:
            props[col] = str(details[col].get(fid, "")) if fid in details.index else ""
        feature["properties"] = props
        rows.append({key: fid, "name": props["name"], legend_title: value, "class": label,
                     **{c: props[c] for c in extra_cols}})

    m = offline_map(crs=crs, bounds=bounds or _bounds(gj))
    folium.GeoJson(
        gj, name=legend_title,
        style_function=lambda f: {"fillColor": colour_of.get(str(f["id"]), NO_DATA),
                                  "color": "#444", "weight": 1, "fillOpacity": 0.85},
        highlight_function=lambda f: {"weight": 3, "color": "#000"},
        tooltip=folium.GeoJsonTooltip(fields=["name", "value", *extra_cols],
                                      aliases=["", legend_title, *extra_cols], sticky=True),
    ).add_to(m)
    if labels:
        _label_features(m, gj["features"], "name")
    m.get_root().header.add_child(folium.Element(f"<title>{html.escape(title)}</title>"))
    root = m.get_root().html
    root.add_child(folium.Element(_title_html(title)))
    root.add_child(folium.Element(_legend_html(legend_title, legend,
                                               FICTIONAL_NOTE if fictional else "",
                                               legend_corner)))
    table = pd.DataFrame(rows)
    if list_missing is None:
        list_missing = len(feature_ids) <= 30
    if not list_missing:
        table = table[table["class"] != "no data"]
    if numeric:
        table = table.sort_values(legend_title, ascending=False, na_position="last")
    caption = " ".join(p for p in (caption, FICTIONAL_NOTE if fictional else "") if p)
    return MapView(m, table.reset_index(drop=True), title, caption, height)


def add_points(view: MapView, points: pd.DataFrame, *, x: str = "x", y: str = "y",
               label: str = "name", columns: Sequence[str] = (), colour: str = "#222",
               radius: int = 5) -> MapView:
    """Mark places as small circles (no icon images, so nothing to download).

    ``x``/``y`` are plane coordinates on a ``Simple`` map, or longitude/latitude columns.
    """
    require_columns(points, (x, y, label, *columns), "the points table",
                    "give one row per place (e.g. data.load('scenario_places'))")
    for _, row in points.iterrows():
        text = "<br>".join([f"<b>{html.escape(str(row[label]))}</b>",
                            *(f"{html.escape(c)}: {html.escape(str(row[c]))}" for c in columns)])
        folium.CircleMarker(location=[float(row[y]), float(row[x])], radius=radius,
                            color=colour, weight=1, fill=True, fill_color=colour,
                            fill_opacity=0.9, tooltip=folium.Tooltip(text)).add_to(view.map)
    listed = points[[label, *columns]].reset_index(drop=True)
    view.points = listed if view.points is None else pd.concat([view.points, listed],
                                                               ignore_index=True)
    return view


def scenario_choropleth(values: pd.Series | Mapping, *, title: str, legend_title: str,
                        places: bool = False, **kwargs) -> MapView:
    """A choropleth of the fictional country's provinces, keyed by ``province_id``."""
    from course import data  # imported here: maps must not need the datasets to import

    kwargs.setdefault("labels", True)  # eight provinces: every name fits on the map
    view = choropleth(data.load("scenario_provinces"), values, key="province_id", title=title,
                      legend_title=legend_title, crs="Simple", fictional=True, **kwargs)
    if places:
        add_points(view, data.load("scenario_places"), columns=["kind"])
    return view


def world_choropleth(values: pd.Series | Mapping, *, title: str, legend_title: str,
                     **kwargs) -> MapView:
    """A choropleth of countries, keyed by ISO 3166-1 alpha-3 code, over bundled outlines."""
    from course import data

    kwargs.setdefault("height", 380)
    # Frame the inhabited world: Mercator blows Antarctica up to half the map otherwise.
    kwargs.setdefault("bounds", WORLD_VIEW)
    kwargs.setdefault("legend_corner", "left")  # bottom right is Australia; bottom left is sea
    return choropleth(data.load("world_outlines"), values, key="iso3", title=title,
                      legend_title=legend_title, crs="EPSG3857", **kwargs)
