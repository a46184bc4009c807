"""The trainee's material, and the workspace a trainee works in.

What a trainee gets is one tree, the same in every channel (``make lab``, the ``trainee`` branch
that nbgitpuller pulls, the hub image, the installed package):

    README.md                                     what this folder is, for the trainee
    modules/NN-name.ipynb                         every module, generated from its MyST source
    exercises/<assignment>/<assignment>.ipynb     the student version of every exercise

It never holds an exercise source (solutions, hidden tests) or an answer key: the student
versions come from ``course/exercises/release/``, which nbgrader generates and a test keeps equal
to a fresh release.

A **workspace** is that tree copied somewhere the trainee may write (``make lab`` uses
``workspace/`` in the checkout, which git ignores). Seeding it again after a course update never
overwrites the trainee's work: a file the trainee has not changed is updated (a notebook counts
as unchanged while its cells are as seeded: opening or running it does not make it the
trainee's); a changed one is kept, and the new version is written beside it as
``NAME (course update).ipynb`` (or ``NAME (course update 2).ipynb`` once the trainee works in
that one). ``.upstream-seed.json`` in the workspace records what was written.
"""

from __future__ import annotations

import hashlib
import json
import os
import stat
from dataclasses import dataclass, field
from pathlib import Path

from course import notebook_files, syllabus
from course.link import ORIENTATION  # the notebook a trainee opens first, here and on the hub

SEED_RECORD = ".upstream-seed.json"  # hashes of what was seeded, to tell trainee edits apart
RECORD_FORMAT = 2  # files and updates, each {"bytes": sha256, "cells": sha256 for notebooks}

TRAINEE_README = """\
# Upstream: your course folder

This folder holds your copy of the Upstream course. Open `modules/00-orientation.ipynb` first.

- `modules/`: the course modules, in order. Run each cell with Shift+Enter.
- `exercises/`: the exercises. Your instructor may collect them; working alone, you can check
  your answers with the test cells under each task.

Everything here is yours to edit: course updates never overwrite a notebook you have changed
(an updated version appears beside it, named "… (course update)"). A notebook you only opened
or ran is updated in place; its saved outputs are cleared, so run its cells again.

The course works offline and sends nothing anywhere. The exercises use an invented country,
the Republic of Caldreth; every name and number in them is made up.
"""


class WorkspaceError(ValueError):
    """The workspace cannot be written; the message says what to do."""


def trainee_files() -> dict[str, bytes]:
    """Every file of the trainee's material, by its path in the trainee's tree."""
    files = {"README.md": TRAINEE_README.encode("utf-8")}
    for module in syllabus.modules():
        nb = notebook_files.read(module.notebook)
        files[module.trainee_path] = notebook_files.ipynb_text(nb).encode("utf-8")
    for exercise in syllabus.exercises():  # each module's exercises, then the capstone
        files.update(_release_files(exercise))
    return files


def _release_files(exercise: syllabus.Exercise) -> dict[str, bytes]:
    folder = exercise.release_folder
    notebook = folder / f"{exercise.id}.ipynb"
    if not notebook.is_file():
        raise WorkspaceError(
            f"the student version of {exercise.id} is missing ({notebook}); generate it with "
            "`make release-notebooks`")
    out = {}
    for path in sorted(folder.rglob("*")):
        if path.is_file() and not path.is_symlink() and "__pycache__" not in path.parts:
            out[f"exercises/{exercise.id}/{path.relative_to(folder).as_posix()}"] = path.read_bytes()
    return out


def _digest(content: bytes) -> str:
    return hashlib.sha256(content).hexdigest()


def _cells_digest(content: bytes) -> str | None:
    """A digest of a notebook's cells (their types and sources) only: what running it, saving
    its outputs or the kernel filling in its metadata leaves alone. None if it is no notebook."""
    try:
        cells = json.loads(content.decode("utf-8"))["cells"]
        pairs = [[cell["cell_type"], cell["source"] if isinstance(cell["source"], str)
                  else "".join(cell["source"])] for cell in cells]
    except (UnicodeDecodeError, ValueError, KeyError, TypeError):
        return None
    return _digest(json.dumps(pairs).encode("utf-8"))


def _fingerprint(rel: str, content: bytes) -> dict[str, str]:
    """What the seed record keeps of a file it wrote: its exact bytes' digest and, for a
    notebook, its cells' digest (so opening and running it does not count as editing it)."""
    found = {"bytes": _digest(content)}
    cells = _cells_digest(content) if rel.endswith(".ipynb") else None
    if cells:
        found["cells"] = cells
    return found


def _unchanged(current: bytes, seeded: dict[str, str] | None) -> bool:
    """Whether ``current`` is still what the seed wrote: the same bytes, or for a notebook the
    same cells (its outputs and metadata may differ)."""
    if not seeded:
        return False
    if _digest(current) == seeded.get("bytes"):
        return True
    return "cells" in seeded and _cells_digest(current) == seeded["cells"]


def _has_outputs(content: bytes) -> bool:
    try:
        cells = json.loads(content.decode("utf-8"))["cells"]
        return any(cell.get("outputs") for cell in cells if isinstance(cell, dict))
    except (UnicodeDecodeError, ValueError, KeyError, TypeError):
        return False


@dataclass
class SeedReport:
    folder: Path
    written: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    outputs_cleared: list[str] = field(default_factory=list)  # updated; its saved outputs lost
    kept: list[str] = field(default_factory=list)  # the trainee's edited copy, update beside it
    beside: dict[str, str] = field(default_factory=dict)  # edited copy: where its update went
    retired: list[str] = field(default_factory=list)  # seeded before, no longer in the course

    def summary(self) -> str:
        lines = [f"course folder: {self.folder} (start with {ORIENTATION})"]
        if self.written:
            lines.append(f"  {len(self.written)} new file(s)")
        if self.updated:
            lines.append(f"  {len(self.updated)} file(s) updated to the course's new version")
        if self.outputs_cleared:
            lines.append(f"  the saved outputs of {', '.join(self.outputs_cleared)} were cleared "
                         "by the update (you had not changed its cells): run its cells again")
        for path in self.kept:
            beside = self.beside.get(path, _update_name(path))
            lines.append(f"  kept your edited {path}; the course's new version is beside it, "
                         f"as {beside}")
        if self.retired:
            lines.append(f"  no longer part of the course: {', '.join(self.retired)}; kept "
                         "(delete it when you no longer need it)")
        return "\n".join(lines)


def _update_name(path: str, number: int = 1) -> str:
    label = "course update" if number == 1 else f"course update {number}"
    stem, dot, suffix = path.rpartition(".")
    if dot and "/" not in suffix:
        return f"{stem} ({label}).{suffix}"
    return f"{path} ({label})"


def _read_record(record_path: Path) -> tuple[dict, dict]:
    """The seed record's fingerprints of the files it wrote, and of the updates it wrote beside
    a trainee's edited copy. An unreadable record counts as none; a record from before notebooks
    were compared by their cells holds bytes digests only."""
    try:
        data = json.loads(record_path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError):
        return {}, {}
    if not isinstance(data, dict):
        return {}, {}
    if data.get("format") != RECORD_FORMAT:  # the first format: {path: sha256 of its bytes}
        return {rel: {"bytes": digest} for rel, digest in data.items()
                if isinstance(rel, str) and isinstance(digest, str)}, {}
    return _fingerprints(data.get("files")), _fingerprints(data.get("updates"))


def _fingerprints(entries: object) -> dict[str, dict[str, str]]:
    if not isinstance(entries, dict):
        return {}
    return {rel: {k: v for k, v in found.items() if k in ("bytes", "cells") and isinstance(v, str)}
            for rel, found in entries.items() if isinstance(rel, str) and isinstance(found, dict)}


def seed(folder: str | Path, files: dict[str, bytes] | None = None) -> SeedReport:
    """Copy the trainee's material into ``folder``, keeping every file the trainee changed.

    A file the trainee has not changed (for a notebook: its cells are as seeded, whatever its
    outputs and metadata) is updated in place, keeping its permissions. A changed one is kept
    and the course's new version goes beside it, as ``NAME (course update).ipynb``, or, if the
    trainee has worked in that one too, the next free ``NAME (course update N).ipynb``. Files
    the course no longer has are kept and reported. Nothing is written if any target is in the
    way (a link, or a folder where a file goes)."""
    folder = Path(folder).expanduser().resolve()
    files = trainee_files() if files is None else files
    record_path = folder / SEED_RECORD
    for target in [record_path, *(folder / rel for rel in files)]:
        _check_target(folder, target)
    folder.mkdir(parents=True, exist_ok=True)
    seeded, updates = _read_record(record_path)
    report = SeedReport(folder)
    for rel, content in files.items():
        target = folder / rel
        if not target.exists():
            _write(target, content)
            report.written.append(rel)
        else:
            current = target.read_bytes()
            before = seeded.get(rel)
            if current == content or (before and before.get("bytes") == _digest(content)):
                pass  # up to date, or the course has not changed it since the last seed
            elif _unchanged(current, before) or (
                    _cells_digest(current) is not None
                    and _cells_digest(current) == _fingerprint(rel, content).get("cells")):
                _write(target, content, mode=target.stat().st_mode)  # untouched: update it
                report.updated.append(rel)
                if _has_outputs(current):
                    report.outputs_cleared.append(rel)
            else:  # the trainee's work: never overwritten
                beside = _write_beside(folder, rel, content, updates)
                report.kept.append(rel)
                report.beside[rel] = beside
        seeded[rel] = _fingerprint(rel, content)
    for rel in sorted(set(seeded) - set(files)):
        if (folder / rel).is_file() and not (folder / rel).is_symlink():
            report.retired.append(rel)
        else:
            del seeded[rel]  # the trainee removed it: forget it
    record = {"format": RECORD_FORMAT, "files": seeded, "updates": updates}
    _write(record_path, json.dumps(record, indent=1, sort_keys=True).encode("utf-8"))
    return report


def _write_beside(folder: Path, rel: str, content: bytes, updates: dict) -> str:
    """Write the course's new version of ``rel`` beside the trainee's edited copy, into the
    first update file that is free or still as the course wrote it; returns its path."""
    number = 1
    while True:
        name = _update_name(rel, number)
        path = folder / name
        if not os.path.lexists(path):
            _write(path, content)
            break
        if path.is_file() and not path.is_symlink():
            current = path.read_bytes()
            if current == content:
                break
            if _unchanged(current, updates.get(name)):  # the trainee has not worked in it
                _write(path, content, mode=path.stat().st_mode)
                break
        number += 1
    updates[name] = _fingerprint(name, content)
    return name


def _check_target(folder: Path, target: Path) -> None:
    """Refuse, before anything is written, a target the course must not or cannot write."""
    probe = target
    while True:
        if probe.is_symlink():
            raise WorkspaceError(f"{probe} is a symbolic link; the course writes only real files "
                                 "in its folder. Remove the link and run again.")
        if probe == target and probe.exists() and not probe.is_file():
            raise WorkspaceError(
                f"{probe} is a folder (or another special file) where the course puts a file. "
                "Rename or move it and run again; nothing was written.")
        if probe != target and probe.exists() and not probe.is_dir():
            raise WorkspaceError(
                f"{probe} is a file where the course needs a folder. Rename or move it and run "
                "again; nothing was written.")
        if probe == folder:
            return
        probe = probe.parent


def _write(path: Path, content: bytes, mode: int | None = None) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    tmp.write_bytes(content)
    if mode is not None:
        os.chmod(tmp, stat.S_IMODE(mode))
    os.replace(tmp, path)


def build_distribution(folder: str | Path) -> list[str]:
    """Write the trainee distribution (exactly the trainee's material) into an empty folder."""
    folder = Path(folder).expanduser().resolve()
    if folder.exists() and any(folder.iterdir()):
        raise WorkspaceError(f"{folder} is not empty; give a new or empty folder")
    files = trainee_files()
    for rel, content in files.items():
        _write(folder / rel, content)
    return sorted(files)
