"""Fetch a pinned npm package tarball and check it against its published integrity value.

Both npm-based rebuilds (``tools.vendor``, ``tools.world_outlines``) go through here, so there is
one way to download (``npm pack``, no install scripts run) and one check of the bytes.
"""

from __future__ import annotations

import base64
import hashlib
import subprocess
import tarfile
from pathlib import Path


def tarball_name(name: str, version: str) -> str:
    """The file name ``npm pack`` gives an unscoped package's tarball."""
    return f"{name}-{version}.tgz"


def check_integrity(tarball: Path, integrity: str) -> None:
    """Raise SystemExit unless the file's digest is the npm ``integrity`` (``sha512-<base64>``)."""
    algorithm, _, expected = integrity.partition("-")
    actual = base64.b64encode(hashlib.new(algorithm, Path(tarball).read_bytes()).digest()).decode()
    if actual != expected:
        raise SystemExit(f"{Path(tarball).name}: {algorithm} integrity does not match the pinned "
                         f"value (got {algorithm}-{actual})")


def fetch(name: str, version: str, integrity: str, directory: Path, *,
          download: bool = True) -> Path:
    """The checked tarball of ``name@version`` in ``directory``, fetched with ``npm pack`` when it
    is not there yet (``download=False``: never fetch, say what is missing)."""
    path = Path(directory) / tarball_name(name, version)
    if not path.exists():
        if not download:
            raise SystemExit(f"{path} is missing: fetch it with `npm pack {name}@{version}` "
                             "or run without --from")
        subprocess.run(["npm", "pack", f"{name}@{version}", "--silent"], cwd=directory,
                       check=True, stdout=subprocess.DEVNULL)
    check_integrity(path, integrity)
    return path


def member(tarball: Path, inner: str) -> bytes:
    """One file of the package, by its path inside the package (``dist/leaflet.js``)."""
    with tarfile.open(tarball) as archive:
        try:
            handle = archive.extractfile(f"package/{inner}")
        except KeyError:
            handle = None
        if handle is None:
            raise SystemExit(f"{Path(tarball).name} has no file package/{inner}")
        return handle.read()
