"""Build ``course/datasets/world_outlines.geojson`` from pinned npm packages.

    python -m tools.world_outlines            # fetches the two tarballs with `npm pack`
    python -m tools.world_outlines --from DIR # uses tarballs already in DIR (offline)
    make world-outlines                       # the first, then rehashes the manifest

Source: ``world-atlas`` (ISC, Mike Bostock), which packages Natural Earth's 1:110m admin-0
country boundaries (public domain) as TopoJSON. Natural Earth names are kept as ``name``; the
ISO 3166-1 numeric ids are mapped to alpha-3 with ``i18n-iso-countries`` (MIT), whose
``codes.json`` lists (alpha-2, alpha-3, numeric) triples. Three features have no ISO id in
Natural Earth (N. Cyprus, Somaliland, Kosovo): their ``iso3`` is empty. Coordinates are rounded
to 2 decimals (about 1 km), exterior rings are turned counter-clockwise, as RFC 7946 asks, and
rings that cross the antimeridian are kept whole (see ``unwrapped``).
The course ships the output; this script exists so anyone can rebuild and check it, and so a
version bump happens in one place. Run ``python -m tools.rehash`` afterwards.
"""

from __future__ import annotations

import argparse
import json
import tempfile
from pathlib import Path

from tools import npm

OUT = Path(__file__).resolve().parent.parent / "course" / "datasets" / "world_outlines.geojson"
DECIMALS = 2

# name -> (version, npm integrity)
PACKAGES = {
    "world-atlas": ("2.0.2", "sha512-IXfV0qwlKXpckz1FhwXVwKRjiIhOnWttOskm5CtxMsjgE/MXAYRHWJqgXOpM8IkcPBoXnyTU5lFHcYa5ChG0LQ=="),
    "i18n-iso-countries": ("7.14.0", "sha512-nXHJZYtNrfsi1UQbyRqm3Gou431elgLjKl//CYlnBGt5aTWdRPH1PiS2T/p/n8Q8LnqYqzQJik3Q7mkwvLokeg=="),
}


def tarball(name: str, directory: Path, fetch: bool) -> Path:
    version, integrity = PACKAGES[name]
    return npm.fetch(name, version, integrity, directory, download=fetch)


member = npm.member


def decode_arcs(topology: dict) -> list[list[tuple[float, float]]]:
    """TopoJSON arcs are delta-encoded integers; undo the deltas, then the transform."""
    (sx, sy), (tx, ty) = topology["transform"]["scale"], topology["transform"]["translate"]
    arcs = []
    for arc in topology["arcs"]:
        x = y = 0
        points = []
        for dx, dy in arc:
            x, y = x + dx, y + dy
            points.append((x * sx + tx, y * sy + ty))
        arcs.append(points)
    return arcs


def ring(indexes: list[int], arcs) -> list[tuple[float, float]]:
    points: list[tuple[float, float]] = []
    for i in indexes:
        arc = arcs[i] if i >= 0 else list(reversed(arcs[~i]))
        points.extend(arc if not points else arc[1:])  # consecutive arcs share an end point
    return points


def rounded(points) -> list[list[float]]:
    out: list[list[float]] = []
    for x, y in points:
        p = [round(x, DECIMALS), round(y, DECIMALS)]
        if not out or p != out[-1]:
            out.append(p)
    if out[0] != out[-1]:
        out.append(out[0])
    return out


def unwrapped(points) -> list[list[float]]:
    """A ring that crosses the antimeridian and comes back (Russia's far east, Fiji) is shifted
    east past 180° so that it stays whole: Leaflet draws a ring as given, and a jump from 180 to
    -180 paints a band across the whole map. A ring that circles the globe (Antarctica) crosses
    once and is left alone."""
    jumps = sum(abs(a[0] - b[0]) > 180 for a, b in zip(points, points[1:], strict=False))
    if jumps < 2:
        return points
    return [[round(x + 360, DECIMALS) if x < 0 else x, y] for x, y in points]


def signed_area(points) -> float:
    return sum(x0 * y1 - x1 * y0 for (x0, y0), (x1, y1) in zip(points, points[1:], strict=False)) / 2


def polygon(rings_arcs, arcs) -> list[list[list[float]]] | None:
    rings = [unwrapped(rounded(ring(r, arcs))) for r in rings_arcs]
    rings = [r for r in rings if len(r) >= 4]
    if not rings:
        return None
    # RFC 7946: exterior counter-clockwise, holes clockwise.
    return [r if (signed_area(r) > 0) == (k == 0) else r[::-1] for k, r in enumerate(rings)]


def build(world_atlas: Path, iso: Path) -> dict:
    topology = json.loads(member(world_atlas, "countries-110m.json"))
    numeric_to_iso3 = {numeric: alpha3 for _a2, alpha3, numeric, *_ in json.loads(member(iso, "codes.json"))}
    arcs = decode_arcs(topology)
    features = []
    for geometry in topology["objects"]["countries"]["geometries"]:
        parts = [geometry["arcs"]] if geometry["type"] == "Polygon" else geometry["arcs"]
        polygons = [p for p in (polygon(part, arcs) for part in parts) if p]
        geo = ({"type": "Polygon", "coordinates": polygons[0]} if len(polygons) == 1
               else {"type": "MultiPolygon", "coordinates": polygons})
        features.append({
            "type": "Feature",
            "properties": {"iso3": numeric_to_iso3.get(geometry.get("id", ""), ""),
                           "name": geometry["properties"]["name"],
                           "iso_numeric": geometry.get("id", "")},
            "geometry": geo,
        })
    features.sort(key=lambda f: (f["properties"]["iso3"] or "~", f["properties"]["name"]))
    versions = ", ".join(f"{n}@{v}" for n, (v, _) in PACKAGES.items())
    return {
        "type": "FeatureCollection",
        "name": "world_outlines",
        "fictional": False,
        "note": ("Natural Earth 1:110m admin-0 countries (public domain), via world-atlas (ISC); ISO "
                 f"alpha-3 codes from i18n-iso-countries (MIT). Built from {versions} by "
                 "tools/world_outlines.py. Boundaries are Natural Earth's and imply no view "
                 "on any disputed border."),
        "features": features,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--from", dest="source", type=Path, help="folder holding the npm tarballs")
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        folder = args.source or Path(tmp)
        collection = build(tarball("world-atlas", folder, args.source is None),
                           tarball("i18n-iso-countries", folder, args.source is None))
    text = json.dumps(collection, separators=(",", ":"), ensure_ascii=False)
    # one feature per line keeps diffs readable
    text = text.replace(',{"type":"Feature"', ',\n{"type":"Feature"')
    args.out.write_text(text + "\n", encoding="utf-8")
    print(f"wrote {args.out} ({args.out.stat().st_size:,} bytes, {len(collection['features'])} countries)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
