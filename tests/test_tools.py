"""The maintainer tools in tools/: one npm fetch-and-verify, the rehash command, the entry points."""

from __future__ import annotations

import base64
import hashlib
import io
import shutil
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest

from course import data
from tests.helpers.paths import ROOT
from tools import npm, vendor, world_outlines
from tools.rehash import rehash


def _tarball(folder, name="pkg", version="1.0.0", files=None):
    """A tarball shaped as `npm pack` writes one, and its npm integrity value."""
    path = folder / npm.tarball_name(name, version)
    with tarfile.open(path, "w:gz") as archive:
        for inner, content in (files or {"LICENSE": b"MIT\n"}).items():
            info = tarfile.TarInfo(f"package/{inner}")
            info.size = len(content)
            archive.addfile(info, io.BytesIO(content))
    digest = base64.b64encode(hashlib.sha512(path.read_bytes()).digest()).decode()
    return path, f"sha512-{digest}"


def test_npm_fetch_uses_a_present_tarball_and_checks_it(tmp_path):
    path, integrity = _tarball(tmp_path, files={"dist/a.js": b"ok"})
    assert npm.fetch("pkg", "1.0.0", integrity, tmp_path, download=False) == path
    assert npm.member(path, "dist/a.js") == b"ok"
    with pytest.raises(SystemExit, match="no file package/dist/b.js"):
        npm.member(path, "dist/b.js")


def test_npm_fetch_refuses_a_tarball_whose_bytes_changed(tmp_path):
    path, integrity = _tarball(tmp_path)
    path.write_bytes(path.read_bytes() + b"\0")
    with pytest.raises(SystemExit, match="sha512 integrity does not match the pinned value"):
        npm.fetch("pkg", "1.0.0", integrity, tmp_path, download=False)


def test_npm_fetch_offline_names_the_missing_tarball(tmp_path):
    with pytest.raises(SystemExit, match=r"pkg-1\.0\.0\.tgz is missing"):
        npm.fetch("pkg", "1.0.0", "sha512-x", tmp_path, download=False)


def test_both_npm_rebuilds_go_through_the_one_helper():
    for module in (vendor, world_outlines):
        text = Path(module.__file__).read_text(encoding="utf-8")
        assert "from tools import npm" in text and "subprocess" not in text, module.__name__
        assert "hashlib.new" not in text, f"{module.__name__} checks integrity itself"


def test_vendor_writes_the_chosen_files_and_their_hashes(tmp_path, monkeypatch):
    path, integrity = _tarball(tmp_path, "leaflet", "9.9.9",
                               {"LICENSE": b"BSD\n", "dist/leaflet.js": b"L={}", "dist/x.css": b""})
    monkeypatch.setattr(npm, "fetch", lambda *a, **k: path)
    assets = tmp_path / "assets"
    record = vendor.vendor("leaflet", "9.9.9", integrity, ["LICENSE", "dist/leaflet.js"], assets)
    assert (assets / "leaflet" / "leaflet.js").read_bytes() == b"L={}"
    assert record["files"] == {"leaflet/LICENSE": hashlib.sha256(b"BSD\n").hexdigest(),
                               "leaflet/leaflet.js": hashlib.sha256(b"L={}").hexdigest()}
    assert not (assets / "leaflet" / "x.css").exists()


def test_rehash_rewrites_only_what_changed(tmp_path):
    copy = data.Catalogue(tmp_path / "datasets")
    shutil.copytree(data.ROOT, copy.root)
    assert rehash(copy) == []
    path = copy.root / "record_types.csv"
    path.write_text(path.read_text().replace("One thing done", "A single thing done"))
    assert rehash(copy) == ["record_types"]
    (copy.root / "record_types.csv").unlink()
    with pytest.raises(data.DatasetFileMissingError, match="record_types.csv is missing"):
        rehash(copy)


def test_course_data_points_maintainers_at_the_rehash_tool():
    done = subprocess.run([sys.executable, "-m", "course.data", "rehash"], capture_output=True,
                          text=True, cwd=ROOT, timeout=60)
    assert done.returncode == 2 and "python -m tools.rehash" in done.stderr


@pytest.mark.parametrize("tool", ["tools.rehash", "tools.scenario", "tools.vendor",
                                  "tools.world_outlines"])
def test_every_tool_has_a_make_target(tool):
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    assert f"-m {tool}" in makefile, f"add a Makefile target that runs python -m {tool}"
