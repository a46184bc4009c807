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
overwrites the trainee's work: a file the trainee has not changed is updated; a changed one is
kept, and the new version is written beside it as ``NAME (course update).ipynb``.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass, field
from pathlib import Path

from course import notebook_files, syllabus
from course.link import ORIENTATION  # the notebook a trainee opens first, here and on the hub

SEED_RECORD = ".upstream-seed.json"  # hashes of what was seeded, to tell trainee edits apart

TRAINEE_README = """\
# Upstream: your course folder

This folder holds your copy of the Upstream course. Open `modules/00-orientation.ipynb` first.

- `modules/`: the course modules, in order. Run each cell with Shift+Enter.
- `exercises/`: the exercises. Your instructor may collect them; working alone, you can check
  your answers with the test cells under each task.

Everything here is yours to edit: course updates never overwrite a notebook you have changed
(an updated version appears beside it, named "… (course update)").

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


@dataclass
class SeedReport:
    folder: Path
    written: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    kept: list[str] = field(default_factory=list)  # the trainee's edited copy, update beside it

    def summary(self) -> str:
        lines = [f"course folder: {self.folder} (start with {ORIENTATION})"]
        if self.written:
            lines.append(f"  {len(self.written)} new file(s)")
        if self.updated:
            lines.append(f"  {len(self.updated)} file(s) updated to the course's new version")
        for path in self.kept:
            lines.append(f"  kept your edited {path}; the course's new version is beside it, "
                         f"as {_update_name(path)}")
        return "\n".join(lines)


def _update_name(path: str) -> str:
    stem, dot, suffix = path.rpartition(".")
    return f"{stem} (course update).{suffix}" if dot else f"{path} (course update)"


def seed(folder: str | Path, files: dict[str, bytes] | None = None) -> SeedReport:
    """Copy the trainee's material into ``folder``, keeping every file the trainee changed."""
    folder = Path(folder).expanduser().resolve()
    files = trainee_files() if files is None else files
    folder.mkdir(parents=True, exist_ok=True)
    record_path = folder / SEED_RECORD
    try:
        record = json.loads(record_path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        record = {}
    report = SeedReport(folder)
    for rel, content in files.items():
        target = folder / rel
        _refuse_links(folder, target)
        new_digest = _digest(content)
        if not target.exists():
            _write(target, content)
            report.written.append(rel)
        else:
            current = _digest(target.read_bytes())
            if current == new_digest:
                pass
            elif current == record.get(rel):  # untouched since we seeded it: safe to update
                _write(target, content)
                report.updated.append(rel)
            elif record.get(rel) != new_digest:  # the trainee's work: never overwritten
                _write(folder / _update_name(rel), content)
                report.kept.append(rel)
        record[rel] = new_digest
    _write(record_path, json.dumps(record, indent=1, sort_keys=True).encode("utf-8"))
    return report


def _refuse_links(folder: Path, target: Path) -> None:
    probe = target
    while probe != folder:
        if probe.is_symlink():
            raise WorkspaceError(f"{probe} is a symbolic link; the course writes only real files "
                                 "in its folder. Remove the link and run again.")
        probe = probe.parent


def _write(path: Path, content: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    tmp.write_bytes(content)
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
