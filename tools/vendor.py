"""Rebuild the vendored map assets (``course/maps/assets``) from the npm registry at pinned versions.

Run ``python -m tools.vendor`` or ``make vendor`` (needs npm). The assets are committed, so nobody
needs this to use the course; it exists so that anyone can check that the files we ship are the
published ones, byte for byte, and can bump a version in one place.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import tempfile
from pathlib import Path

from tools import npm

ASSETS = Path(__file__).resolve().parent.parent / "course" / "maps" / "assets"

# name -> (version, npm integrity, files to keep from the package)
PACKAGES = {
    "leaflet": (
        "1.9.4",
        "sha512-nxS1ynzJOmOlHp+iL3FyWqK89GtNL8U8rvlMOsQdTTssxZwCXh8N2NB3GDQOL+YR3XnWyZAxwQixURb+FA74PA==",
        [
            "LICENSE",
            "dist/leaflet.js",
            "dist/leaflet.css",
            "dist/images/layers.png",
            "dist/images/layers-2x.png",
            "dist/images/marker-icon.png",
            "dist/images/marker-icon-2x.png",
            "dist/images/marker-shadow.png",
        ],
    ),
}


def vendor(name: str, version: str, integrity: str, files: list[str],
           assets: Path = ASSETS) -> dict:
    """Replace ``assets/<name>`` with the package's ``files``; their SHA-256 for the manifest."""
    with tempfile.TemporaryDirectory() as tmp:
        tarball = npm.fetch(name, version, integrity, Path(tmp))
        dest = assets / name
        shutil.rmtree(dest, ignore_errors=True)
        record = {}
        for rel in files:
            out = dest / rel.removeprefix("dist/")
            out.parent.mkdir(parents=True, exist_ok=True)
            out.write_bytes(npm.member(tarball, rel))
            record[str(out.relative_to(assets))] = hashlib.sha256(out.read_bytes()).hexdigest()
    return {"version": version, "integrity": integrity, "files": record}


def main() -> None:
    manifest = {name: vendor(name, *spec) for name, spec in PACKAGES.items()}
    (ASSETS / "MANIFEST.json").write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n")
    print(json.dumps(manifest, indent=2))


if __name__ == "__main__":
    main()
