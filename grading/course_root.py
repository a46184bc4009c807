"""The instructors' nbgrader course root: creating it, and finding its parts.

A course root holds student data (submissions, grades), so it must live outside the git checkout.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

from traitlets.config import Config

REPO_SOURCE = Path(__file__).resolve().parent.parent / "course" / "exercises" / "source"
STATE_DIR = ".upstream-grading"  # our own records inside the course root (outcomes per run)

CONFIG_TEMPLATE = '''\
# nbgrader configuration written by `python -m grading init`; edit freely.
c = get_config()  # noqa: F821
c.CourseDirectory.course_id = {course_id!r}
c.CourseDirectory.root = {root!r}
c.CourseDirectory.db_url = {db_url!r}
# Stock nbgrader settings that `python -m grading` honours as well:
c.Execute.timeout = 30          # seconds per cell before a CellTimeoutError
c.ClearSolutions.code_stub = {{"python": "# YOUR CODE HERE\\nraise NotImplementedError()"}}
'''


# nbgrader runs the `alembic` script (installed next to this interpreter) when it creates a
# gradebook; make sure it is found even when the venv is not activated.
_BIN = str(Path(sys.executable).parent)
if _BIN not in os.environ.get("PATH", "").split(os.pathsep):
    os.environ["PATH"] = _BIN + os.pathsep + os.environ.get("PATH", "")


class CourseError(ValueError):
    """A problem with the course root or its contents, with what to do about it."""


def git_toplevel(path: Path) -> Path | None:
    """The git work tree containing ``path`` (or its nearest existing parent), if any."""
    probe = path
    while not probe.exists():
        probe = probe.parent
    try:
        out = subprocess.run(["git", "-C", str(probe), "rev-parse", "--show-toplevel"],
                             capture_output=True, text=True, check=False)
    except FileNotFoundError:  # no git installed: fall back to the checkout this file is in
        out = None
    if out is not None and out.returncode == 0 and out.stdout.strip():
        return Path(out.stdout.strip()).resolve()
    repo = REPO_SOURCE.parent.parent.parent
    return repo if path.resolve().is_relative_to(repo) and (repo / ".git").exists() else None


def init(course_dir: str | Path, *, course_id: str = "upstream", db_url: str | None = None,
         source: str | Path | None = None) -> Path:
    """Create an nbgrader course root with a config and ``source/`` copied from the course."""
    root = Path(course_dir).expanduser().resolve()
    top = git_toplevel(root)
    if top is not None:
        raise CourseError(
            f"{root} is inside the git checkout {top}: student data must never land in the "
            "repository. Choose a folder elsewhere, e.g. ~/upstream-grading.")
    src = Path(source).resolve() if source else REPO_SOURCE
    assignments = sorted(p.name for p in src.iterdir() if p.is_dir()) if src.is_dir() else []
    if not assignments:
        raise CourseError(f"no exercises found in {src} (expected <assignment>/<assignment>.md)")
    if (root / "nbgrader_config.py").exists():
        raise CourseError(f"{root} already has an nbgrader_config.py; use it as it is, or choose "
                          "an empty folder")
    root.mkdir(parents=True, exist_ok=True)
    # Only the grader may enter the course root: sandboxed student code runs as another user.
    root.chmod(0o700)
    db_url = db_url or f"sqlite:///{root / 'gradebook.db'}"
    (root / "nbgrader_config.py").write_text(
        CONFIG_TEMPLATE.format(course_id=course_id, root=str(root), db_url=db_url))
    for name in assignments:
        copy_source(src / name, root / "source" / name)
    return root


def copy_source(folder: Path, target: Path) -> None:
    """One exercise's source folder into the course root, its MyST notebook made an .ipynb.

    The exercise is authored as ``<assignment>.md`` (MyST Markdown, see course.notebook_files);
    nbgrader works on ``<assignment>.ipynb``, generated here with the course's cell ids.
    """
    from course import notebook_files

    shutil.copytree(folder, target, dirs_exist_ok=True,
                    ignore=shutil.ignore_patterns(".ipynb_checkpoints", "__pycache__",
                                                  f"{folder.name}.md"))
    text_source = folder / f"{folder.name}.md"
    if text_source.is_file():
        notebook_files.write_ipynb(notebook_files.read(text_source),
                                   target / f"{folder.name}.ipynb")


def load_config(course_dir: str | Path) -> Config:
    """The course's nbgrader_config.py as a traitlets Config (root and paths made absolute)."""
    root = Path(course_dir).expanduser().resolve()
    cfg_file = root / "nbgrader_config.py"
    if not cfg_file.is_file():
        raise CourseError(f"{root} is not a course root (no nbgrader_config.py); create one "
                          f"with: python -m grading init {root}")
    from traitlets.config.loader import PyFileConfigLoader

    cfg = PyFileConfigLoader(cfg_file.name, path=str(root)).load_config()
    cfg.CourseDirectory.root = str(root)
    return cfg


def coursedir(course_dir: str | Path, config: Config | None = None):
    """nbgrader's CourseDirectory for the course root (nbgrader is imported only when needed:
    it takes seconds, and the autograde orchestrator does not need it)."""
    from nbgrader.coursedir import CourseDirectory

    config = config if config is not None else load_config(course_dir)
    return CourseDirectory(config=config)


def assignments(course_dir: str | Path) -> list[str]:
    source = Path(course_dir).resolve() / "source"
    return sorted(p.name for p in source.iterdir() if p.is_dir()) if source.is_dir() else []


def check_assignment(course_dir: str | Path, assignment: str) -> None:
    if assignment not in assignments(course_dir):
        known = ", ".join(assignments(course_dir)) or "none"
        raise CourseError(f"no assignment {assignment!r} in {Path(course_dir) / 'source'} "
                          f"(known: {known})")


def state_dir(course_dir: str | Path, assignment: str) -> Path:
    path = Path(course_dir).resolve() / STATE_DIR / assignment
    path.mkdir(parents=True, exist_ok=True)
    return path


def submitted_students(course_dir: str | Path, assignment: str) -> list[str]:
    sub = Path(course_dir).resolve() / "submitted"
    if not sub.is_dir():
        return []
    return sorted(p.name for p in sub.iterdir() if (p / assignment).is_dir())


def release_notebooks(course_dir: str | Path, assignment: str) -> list[Path]:
    rel = Path(course_dir).resolve() / "release" / assignment
    return sorted(rel.glob("*.ipynb"))


def is_private(path: Path) -> bool:
    """True when no one but the owner (and group) can enter ``path``."""
    return not (path.stat().st_mode & 0o007)


def ensure_private(path: Path) -> bool:
    """Take away 'other' permissions from the course root; True if it had to change."""
    if is_private(path):
        return False
    os.chmod(path, path.stat().st_mode & ~0o007)
    return True
