"""Bring submissions into ``submitted/<student>/<assignment>/``.

Three sources, recognised by their shape:

* an nbgrader exchange (its ``<course>/inbound`` folder, the course folder, or the exchange root):
  entries ``<student>+<assignment>+<timestamp>[+<random>]``; the latest per student is taken;
* a folder: ``<student>/<assignment>/*.ipynb`` or ``<student>/*.ipynb``;
* an LMS zip download (or its unpacked folder) of flat files ``<student>_<ids>_<name>.ipynb``
  (Canvas style) or one folder per student (``<student>_<ids>_assignsubmission_file_/``, Moodle).

Student ids are checked (letters, digits, ``.``, ``_``, ``@``, ``-``); anything unusable is
skipped with a reason, never silently dropped.
"""

from __future__ import annotations

import re
import shutil
import tempfile
import zipfile
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

from . import course_root

STUDENT_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._@-]{0,99}$")
CANVAS = re.compile(r"^(?P<student>[^_]+)_(?:late_)?(?:\d+_)+(?P<name>.+)$")
MOODLE_DIR = re.compile(r"^(?P<student>.+?)_\d+_assignsubmission_\w*$")
MAX_UNZIP = 2 * 1024**3  # refuse zip bombs


@dataclass
class CollectReport:
    collected: dict[str, list[str]] = field(default_factory=dict)  # student -> files
    skipped: list[str] = field(default_factory=list)
    source_kind: str = ""


def student_id(raw: str) -> str | None:
    """A safe student id from a name in a download; None if nothing usable is left."""
    cand = raw.strip()
    if not STUDENT_ID.match(cand):
        cand = re.sub(r"[^A-Za-z0-9._@-]+", "-", cand).strip("-.")
    return cand if STUDENT_ID.match(cand) and ".." not in cand else None


def _copy_folder(src: Path, dest: Path) -> list[str]:
    if dest.exists():
        shutil.rmtree(dest)
    shutil.copytree(src, dest, symlinks=False,
                    ignore=shutil.ignore_patterns(".ipynb_checkpoints", "__pycache__"))
    return sorted(str(p.relative_to(dest)) for p in dest.rglob("*") if p.is_file())


def _write_timestamp(dest: Path, stamp: str | None) -> None:
    if not (dest / "timestamp.txt").exists():
        stamp = stamp or datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M:%S.%f UTC")
        (dest / "timestamp.txt").write_text(stamp)


def _exchange_inbound(src: Path, course_id: str) -> Path | None:
    for cand in (src, src / "inbound", src / course_id / "inbound"):
        if cand.is_dir() and cand.name == "inbound":
            return cand
    return None


def from_exchange(inbound: Path, assignment: str, dest_root: Path, rep: CollectReport) -> None:
    latest: dict[str, tuple[str, Path]] = {}
    for entry in sorted(inbound.iterdir()):
        parts = entry.name.split("+")
        if len(parts) < 3 or not entry.is_dir():
            rep.skipped.append(f"{entry.name}: not an nbgrader submission (student+assignment+time)")
            continue
        if parts[1] != assignment:
            continue
        sid = student_id(parts[0])
        if sid is None:
            rep.skipped.append(f"{entry.name}: unusable student id {parts[0]!r}")
            continue
        if sid not in latest or parts[2] > latest[sid][0]:
            latest[sid] = (parts[2], entry)
    for sid, (stamp, entry) in sorted(latest.items()):
        dest = dest_root / sid / assignment
        rep.collected[sid] = _copy_folder(entry, dest)
        ts = entry / "timestamp.txt"
        _write_timestamp(dest, ts.read_text().strip() if ts.exists() else stamp)


def _expected_name(name: str, expected: list[str]) -> str:
    """An LMS may append '-1', '(1)' etc. to a re-uploaded file; map it back when unambiguous."""
    if name in expected:
        return name
    stem = re.sub(r"(-\d+|\s*\(\d+\))$", "", Path(name).stem) + Path(name).suffix
    return stem if stem in expected else name


def from_folder(src: Path, assignment: str, expected: list[str], dest_root: Path,
                rep: CollectReport) -> None:
    flat = sorted(p for p in src.iterdir() if p.is_file() and not p.name.startswith("."))
    for path in flat:
        m = CANVAS.match(path.name) or re.match(r"^(?P<student>[^_]+)_(?P<name>.+)$", path.name)
        sid = student_id(m["student"]) if m else None
        if sid is None:
            rep.skipped.append(f"{path.name}: cannot tell whose submission this is "
                               "(expected <student>_<...>_<notebook>.ipynb)")
            continue
        dest = dest_root / sid / assignment
        dest.mkdir(parents=True, exist_ok=True)
        name = _expected_name(m["name"], expected)
        shutil.copyfile(path, dest / name)
        rep.collected.setdefault(sid, []).append(name)
        _write_timestamp(dest, None)
    for folder in sorted(p for p in src.iterdir() if p.is_dir() and not p.name.startswith(".")):
        m = MOODLE_DIR.match(folder.name)
        sid = student_id(m["student"] if m else folder.name)
        if sid is None:
            rep.skipped.append(f"{folder.name}/: unusable student id")
            continue
        inner = folder / assignment if (folder / assignment).is_dir() else folder
        if not any(inner.rglob("*.ipynb")):
            rep.skipped.append(f"{folder.name}/: no notebook inside")
            continue
        dest = dest_root / sid / assignment
        rep.collected[sid] = _copy_folder(inner, dest)
        if m:  # LMS names: map re-uploaded names back
            for nb in dest.glob("*.ipynb"):
                fixed = _expected_name(nb.name, expected)
                if fixed != nb.name and not (dest / fixed).exists():
                    nb.rename(dest / fixed)
        _write_timestamp(dest, None)


def _safe_extract(zpath: Path, into: Path) -> None:
    with zipfile.ZipFile(zpath) as zf:
        total = sum(i.file_size for i in zf.infolist())
        if total > MAX_UNZIP:
            raise course_root.CourseError(f"{zpath} would unpack to {total / 1e9:.1f} GB; refused")
        for info in zf.infolist():
            target = (into / info.filename).resolve()
            if not target.is_relative_to(into.resolve()):
                raise course_root.CourseError(f"{zpath}: entry {info.filename!r} points outside "
                                              "the folder; refused")
        zf.extractall(into)


def collect(course_dir, assignment: str, src) -> CollectReport:
    course_dir = Path(course_dir).resolve()
    course_root.check_assignment(course_dir, assignment)
    config = course_root.load_config(course_dir)
    src = Path(src).expanduser().resolve()
    if not src.exists():
        raise course_root.CourseError(f"{src} does not exist")
    expected = sorted(p.name for p in (course_dir / "source" / assignment).glob("*.ipynb"))
    dest_root = course_dir / "submitted"
    rep = CollectReport()
    if src.is_file():
        if not zipfile.is_zipfile(src):
            raise course_root.CourseError(f"{src} is a file but not a zip archive; give a folder, "
                                          "an nbgrader exchange, or an LMS zip download")
        with tempfile.TemporaryDirectory() as tmp:
            _safe_extract(src, Path(tmp))
            root = Path(tmp)
            items = [p for p in root.iterdir() if not p.name.startswith("__MACOSX")]
            if len(items) == 1 and items[0].is_dir() and not MOODLE_DIR.match(items[0].name):
                root = items[0]
            rep.source_kind = "zip"
            from_folder(root, assignment, expected, dest_root, rep)
        return rep
    inbound = _exchange_inbound(src, config.CourseDirectory.get("course_id", ""))
    if inbound is not None:
        rep.source_kind = "exchange"
        from_exchange(inbound, assignment, dest_root, rep)
    else:
        rep.source_kind = "folder"
        from_folder(src, assignment, expected, dest_root, rep)
    return rep
