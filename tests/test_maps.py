"""course.maps: offline HTML, classes and legends, the text alternative, and a real render."""

from __future__ import annotations

import folium
import pandas as pd
import pytest

from course import maps
from course.maps import offline

SQUARES = {
    "type": "FeatureCollection",
    "features": [
        {"type": "Feature", "properties": {"province_id": pid, "name": name},
         "geometry": {"type": "Polygon", "coordinates": [[[x, 0], [x + 500, 0], [x + 500, 500],
                                                          [x, 500], [x, 0]]]}}
        for pid, name, x in [("P01", "West", 0), ("P02", "East", 500)]
    ],
}


def test_stock_folium_reaches_out_but_ours_does_not():
    stock = folium.Map().get_root().render()
    assert maps.external_urls(stock), "stock folium should reference CDNs (the reason for maps)"
    view = maps.choropleth(SQUARES, {"P01": 1, "P02": 4}, key="province_id", title="t",
                           legend_title="count")
    html = view.html()
    assert maps.external_urls(html) == []
    assert "L.map(" in html and "Leaflet" in html  # Leaflet is inlined, not linked
    assert "sourceMappingURL" not in html


def test_leaflet_css_images_are_inlined():
    css = offline.leaflet_css()
    assert "url(images/" not in css and "data:image/png;base64," in css


def test_external_urls_sees_through_srcdoc_escaping_and_ignores_localhost():
    html = ('<iframe srcdoc="&lt;script src=&quot;https://cdn.example.org/x.js&quot;&gt;"></iframe>'
            '<img src="http://127.0.0.1:8888/a.png"><a href="https://example.org">link</a>')
    assert maps.external_urls(html) == ["https://cdn.example.org/x.js"]


def test_tiles_need_explicit_consent():
    with pytest.raises(maps.OnlineResourceError, match="allow_online=True"):
        maps.offline_map(tiles="OpenStreetMap")
    m = maps.offline_map(crs="EPSG3857", tiles="OpenStreetMap", allow_online=True)
    assert maps.external_urls(maps.offline_html(m, allow_online=True))
    with pytest.raises(maps.OnlineResourceError, match="outside hosts"):
        maps.offline_html(m)


def test_unbundled_plugins_are_refused():
    m = maps.offline_map(crs="EPSG3857")
    folium.Marker([0, 0], icon=folium.Icon(icon="info-sign")).add_to(m)
    with pytest.raises(maps.OnlineResourceError, match="add_points"):
        maps.offline_html(m)


def test_bad_crs_and_unknown_ids_get_clear_errors():
    with pytest.raises(ValueError, match="crs must be"):
        maps.offline_map(crs="Mercator")
    with pytest.raises(ValueError, match="no outline for province_id P99"):
        maps.choropleth(SQUARES, {"P99": 1}, key="province_id", title="t", legend_title="n")


def test_table_alternative_and_no_data():
    view = maps.choropleth(SQUARES, pd.Series({"P02": 0.5}), key="province_id", title="Share",
                           legend_title="share", fictional=True)
    table = view.table.set_index("province_id")
    assert table.loc["P02", "share"] == 0.5
    assert table.loc["P01", "class"] == "no data"
    assert maps.FICTIONAL_NOTE in view.caption
    text = view.text_alternative()
    assert "East" in text and "West" in text and "Share" in text


def test_categorical_values_and_details_in_tooltips():
    details = pd.DataFrame({"note": ["discussed in source A"]}, index=["P01"])
    view = maps.choropleth(SQUARES, {"P01": "discussed"}, key="province_id", title="t",
                           legend_title="status", details=details)
    assert "discussed in source A" in view.html()
    assert list(view.table.columns) == ["province_id", "name", "status", "class", "note"]


def test_points_are_circles_listed_in_the_alternative():
    view = maps.choropleth(SQUARES, {"P01": 1}, key="province_id", title="t", legend_title="n")
    places = pd.DataFrame({"name": ["Town"], "kind": ["town"], "x": [100], "y": [200]})
    maps.add_points(view, places, columns=["kind"])
    assert "L.circleMarker" in view.html()
    assert view.points.to_dict("records") == [{"name": "Town", "kind": "town"}]
    with pytest.raises(ValueError, match="lacks column"):
        maps.add_points(view, places.drop(columns="x"))


def test_repr_is_a_sandboxed_iframe_with_the_table():
    view = maps.choropleth(SQUARES, {"P01": 1}, key="province_id", title="t", legend_title="n")
    out = view._repr_html_()
    assert out.count("<iframe") == 1 and 'sandbox="allow-scripts"' in out
    assert "<details>" in out and "<table" in out
    assert maps.external_urls(out) == []


def test_every_class_gets_its_own_colour():
    """Module 0's population map had six classes on five colours: 500-600k and 600-700k were
    both #fd8d3c (issue #16, item 3)."""
    from course import data, palette
    from course.maps import views

    provinces = data.load("scenario_provinces")
    population = {f["properties"]["province_id"]: f["properties"]["population"]
                  for f in provinces["features"]}
    edges, labels = views._classes(pd.Series(population, dtype=float), None)
    assert len(labels) <= 5
    for classes in range(1, 10):
        colours = palette.sequential(classes)
        assert len(set(colours)) == classes
    many = maps.choropleth(SQUARES, {"P01": 1.0, "P02": 6.5}, key="province_id", title="t",
                           legend_title="n", bins=[0, 1, 2, 3, 4, 5, 6, 7])
    legend = many.html().split('aria-label="Legend"')[1].split("</aside>")[0]
    colours = [c for c in palette.YLORRD[7] if c in legend]
    assert len(colours) == 7
    with pytest.raises(ValueError, match="distinct colours"):
        maps.choropleth(SQUARES, {"P01": 1.0}, key="province_id", title="t", legend_title="n",
                        bins=list(range(12)))


def test_the_map_document_has_a_title_a_language_a_heading_and_labels():
    view = maps.choropleth(SQUARES, {"P01": 1}, key="province_id", title="Share <by> province",
                           legend_title="n", labels=True)
    page = view.html()
    assert '<html lang="en">' in page and "<title>Share &lt;by&gt; province</title>" in page
    assert page.count("<h1") == 1 and "<main" in page and "user-scalable=no" not in page
    assert page.count("upstream-label") == 2 and "\\u003eWest\\u003c/span" in page
    assert "right:10px" in page
    world_like = maps.choropleth(SQUARES, {"P01": 1}, key="province_id", title="t",
                                 legend_title="n", legend_corner="left")
    assert "bottom:18px;left:10px" in world_like.html()
    with pytest.raises(ValueError, match="legend_corner"):
        maps.choropleth(SQUARES, {"P01": 1}, key="province_id", title="t", legend_title="n",
                        legend_corner="top")


@pytest.mark.browser
def test_map_renders_in_chromium_with_no_network(browser, artifacts):
    view = maps.choropleth(SQUARES, {"P01": 1, "P02": 4}, key="province_id", title="Offline",
                           legend_title="count", fictional=True)
    maps.add_points(view, pd.DataFrame({"name": ["Town"], "x": [250], "y": [250]}))
    page = browser.new_page()
    failed, outside = [], []
    page.on("requestfailed", lambda r: failed.append(r.url))
    page.on("request", lambda r: outside.append(r.url)
            if r.url.startswith(("http:", "https:")) else None)
    errors = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.set_content(view.html(), wait_until="load")
    page.wait_for_selector(".leaflet-container path.leaflet-interactive", timeout=10_000)
    polygons = page.locator("path.leaflet-interactive").count()
    page.screenshot(path=str(artifacts / "map-offline.png"))
    page.close()
    assert errors == [], errors
    assert polygons == 3  # two provinces and one place
    assert failed == [] and outside == []


def test_world_sized_maps_list_only_features_with_values():
    many = {"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": {"iso3": f"X{i:02d}", "name": f"Land {i}"},
         "geometry": {"type": "Polygon", "coordinates": [[[i, 0], [i + 1, 0], [i + 1, 1], [i, 0]]]}}
        for i in range(40)]}
    view = maps.choropleth(many, {"X01": 2.0}, key="iso3", title="t", legend_title="v",
                           crs="EPSG3857")
    assert view.table["iso3"].tolist() == ["X01"]
    full = maps.choropleth(many, {"X01": 2.0}, key="iso3", title="t", legend_title="v",
                           crs="EPSG3857", list_missing=True)
    assert len(full.table) == 40


@pytest.mark.browser
def test_map_refits_when_its_frame_is_laid_out_late(browser):
    """In JupyterLab an output iframe can start at zero width; the map must still fit its bounds."""
    view = maps.choropleth(SQUARES, {"P01": 1, "P02": 4}, key="province_id", title="t",
                           legend_title="n")
    page = browser.new_page(viewport={"width": 800, "height": 500})
    page.set_content('<iframe id="f" style="width:0;height:0;border:0"></iframe>')
    page.locator("#f").evaluate("(f, html) => { f.srcdoc = html; }", view.html())
    frame = page.frame_locator("#f")
    frame.locator(".leaflet-container").wait_for(state="attached")
    page.wait_for_timeout(300)
    page.locator("#f").evaluate("f => { f.style.width = '700px'; f.style.height = '400px'; }")
    page.wait_for_timeout(500)
    boxes = [frame.locator("path.leaflet-interactive").nth(i).bounding_box() for i in range(2)]
    page.close()
    left = min(b["x"] for b in boxes)
    right = max(b["x"] + b["width"] for b in boxes)
    top = min(b["y"] for b in boxes)
    bottom = max(b["y"] + b["height"] for b in boxes)
    # Fitted: the whole country lies inside the 700×400 frame and fills most of its height.
    assert left >= 0 and top >= 0 and right <= 700 and bottom <= 400, (left, top, right, bottom)
    assert bottom - top > 250, f"map not refitted after layout: {boxes}"
