"""Turn a folium map into HTML that loads nothing from the network.

Stock folium links Leaflet, jQuery, Bootstrap and Font Awesome from CDNs. With no network such a
map renders as nothing, and every view tells the CDN (and a tile server) what the trainee looks at.
Here the rendered HTML is rewritten: Leaflet, vendored under ``assets/``, is inlined; the other
default links, which our helpers never use, are dropped; anything else that would still reach out
raises :class:`OnlineResourceError` rather than leak silently.
"""

from __future__ import annotations

import base64
import html as html_lib
import re
from functools import cache
from pathlib import Path

import folium

ASSETS = Path(__file__).parent / "assets"

# folium's default links our maps do not need (no awesome markers, no Bootstrap popups).
_UNUSED = re.compile(r"jquery|bootstrap|awesome-markers|awesome_markers|fontawesome|"
                     r"leaflet\.awesome|glyphicons", re.I)
_LEAFLET_JS = re.compile(r"/leaflet(@[\d.]+)?/dist/leaflet\.js$")
_LEAFLET_CSS = re.compile(r"/leaflet(@[\d.]+)?/dist/leaflet\.css$")
_SCRIPT_LINK = re.compile(r'<script\s+src="([^"]+)"\s*>\s*</script>\s*')
_CSS_LINK = re.compile(r'<link\s+rel="stylesheet"\s+href="([^"]+)"\s*/?>\s*')

# Places where a URL makes the browser fetch something (links a trainee may click are not fetches).
_FETCHING = [
    re.compile(r"<(?:script|img|iframe|source|video|audio|embed)\b[^>]*?\bsrc\s*=\s*[\"']?"
               r"((?:https?:)?//[^\"'\s>]+)", re.I),
    re.compile(r"<link\b[^>]*?\bhref\s*=\s*[\"']?((?:https?:)?//[^\"'\s>]+)", re.I),
    re.compile(r"url\(\s*[\"']?((?:https?:)?//[^\"')\s]+)", re.I),
    re.compile(r"@import\s+[\"']((?:https?:)?//[^\"']+)", re.I),
    re.compile(r"tileLayer(?:\.wms)?\(\s*[\"']((?:https?:)?//[^\"']+)", re.I),
    re.compile(r"\bfetch\(\s*[\"']((?:https?:)?//[^\"']+)", re.I),
]
_LOCAL = re.compile(r"^(?:https?:)?//(?:localhost|127\.\d+\.\d+\.\d+|\[::1\])(?::\d+)?(?:/|$)")


class OnlineResourceError(RuntimeError):
    """A map would load something from an outside host."""


def external_urls(text: str) -> list[str]:
    """URLs of outside hosts that ``text`` (HTML, possibly inside an iframe's srcdoc) would fetch."""
    text = html_lib.unescape(text)
    found = {m.group(1) for pattern in _FETCHING for m in pattern.finditer(text)}
    return sorted(url for url in found if not _LOCAL.match(url))


@cache
def leaflet_js() -> str:
    js = (ASSETS / "leaflet" / "leaflet.js").read_text(encoding="utf-8")
    # The source map is for developers' tools only; dropping the comment avoids a fetch attempt.
    return re.sub(r"//# sourceMappingURL=\S+\s*$", "", js)


@cache
def leaflet_css() -> str:
    css = (ASSETS / "leaflet" / "leaflet.css").read_text(encoding="utf-8")

    def data_uri(match: re.Match) -> str:
        png = (ASSETS / "leaflet" / "images" / match.group(1)).read_bytes()
        return f"url(data:image/png;base64,{base64.b64encode(png).decode()})"

    # Relative image URLs would resolve against the notebook server inside an iframe: inline them.
    return re.sub(r"url\(images/([\w.-]+\.png)\)", data_uri, css)


def _inline_resource(match: re.Match, kind: str) -> str:
    url = match.group(1)
    if kind == "js" and _LEAFLET_JS.search(url):
        return f"<script>{leaflet_js()}</script>\n"
    if kind == "css" and _LEAFLET_CSS.search(url):
        return f"<style>{leaflet_css()}</style>\n"
    if _UNUSED.search(url):
        return ""
    return match.group(0)  # unknown: left in place so that the check below names it


_VIEWPORT = re.compile(r'<meta name="viewport"[^>]*>')


def accessible_document(rendered: str, lang: str = "en") -> str:
    """A folium page as a document a screen reader can name and read: its language, a viewport
    that lets people zoom, and the map inside a ``main`` landmark (the title, a heading, and the
    ``<title>`` come from the map builders)."""
    rendered = rendered.replace("<html>", f'<html lang="{html_lib.escape(lang, quote=True)}">', 1)
    rendered = _VIEWPORT.sub('<meta name="viewport" content="width=device-width, '
                             'initial-scale=1.0" />', rendered, count=1)
    start, end = rendered.find("<body>"), rendered.rfind("</body>")
    if start < 0 or end < start:
        return rendered
    start += len("<body>")
    # main is positioned and sized like the page, so the map's 100% height still means the frame
    return (rendered[:start] + '<main style="position:absolute;inset:0;margin:0">'
            + rendered[start:end] + "</main>" + rendered[end:])


def offline_html(m: folium.Map, *, allow_online: bool = False) -> str:
    """The map as one standalone, accessible HTML document with its scripts and styles inlined."""
    rendered = accessible_document(m.get_root().render())
    if "L.AwesomeMarkers" in rendered:
        raise OnlineResourceError("this map uses folium's awesome-markers icons, which are not "
                                  "bundled; use course.maps.add_points (circle markers) instead")
    rendered = _SCRIPT_LINK.sub(lambda mt: _inline_resource(mt, "js"), rendered)
    rendered = _CSS_LINK.sub(lambda mt: _inline_resource(mt, "css"), rendered)
    leaks = external_urls(rendered)
    if leaks and not allow_online:
        raise OnlineResourceError(
            "this map would load from outside hosts: " + ", ".join(leaks)
            + ". Maps must work offline and privately; if you really mean to go online "
              "(for example for map tiles), pass allow_online=True.")
    return rendered
