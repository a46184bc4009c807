"""Rebuild the vendored map assets from the npm registry at pinned versions.

Run ``python -m course.maps.vendor`` (needs npm). The assets are committed, so nobody needs this
to use the course; it exists so that anyone can check that the files we ship are the published
ones, byte for byte, and can bump a version in one place.
"""

from __future__ import annotations

import base64
import hashlib
import json
import shutil
import subprocess
import tarfile
import tempfile
from pathlib import Path

ASSETS = Path(__file__).parent / "assets"

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


def _check_integrity(tarball: Path, integrity: str) -> None:
    algo, _, expected = integrity.partition("-")
    digest = base64.b64encode(hashlib.new(algo, tarball.read_bytes()).digest()).decode()
    if digest != expected:
        raise SystemExit(f"{tarball.name}: integrity mismatch (got {algo}-{digest})")


def vendor(name: str, version: str, integrity: str, files: list[str]) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run(
            ["npm", "pack", f"{name}@{version}", "--silent"], cwd=tmp, check=True,
            capture_output=True,
        )
        tarball = next(Path(tmp).glob("*.tgz"))
        _check_integrity(tarball, integrity)
        with tarfile.open(tarball) as tar:
            tar.extractall(tmp, filter="data")
        dest = ASSETS / name
        shutil.rmtree(dest, ignore_errors=True)
        record = {}
        for rel in files:
            src = Path(tmp) / "package" / rel
            out = dest / rel.removeprefix("dist/")
            out.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(src, out)
            record[str(out.relative_to(ASSETS))] = hashlib.sha256(out.read_bytes()).hexdigest()
    return {"version": version, "integrity": integrity, "files": record}


def main() -> None:
    manifest = {name: vendor(name, *spec) for name, spec in PACKAGES.items()}
    (ASSETS / "MANIFEST.json").write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n")
    print(json.dumps(manifest, indent=2))


if __name__ == "__main__":
    main()
