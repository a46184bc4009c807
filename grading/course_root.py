"""The instructors' nbgrader course root: creating it, and finding its parts.

A course root holds student data (submissions, grades), so it must live outside the git checkout.
"""

from __future__ import annotations

import copy
import glob
import os
import re
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


def refuse_inside_checkout(path: str | Path, what: str,
                           hint: str = "Give a path outside it (by default it goes in the "
                                       "course root).") -> Path:
    """``path``, resolved; a CourseError if it lies inside a git checkout (student data)."""
    path = Path(path).expanduser().resolve()
    top = git_toplevel(path)
    if top is not None:
        raise CourseError(f"{what} {path} is inside the git checkout {top}: student data must "
                          f"never land in the repository. {hint}")
    return path


def init(course_dir: str | Path, *, course_id: str = "upstream", db_url: str | None = None,
         source: str | Path | None = None) -> Path:
    """Create an nbgrader course root with a config and ``source/`` copied from the course."""
    root = refuse_inside_checkout(course_dir, "the course root",
                                  "Choose a folder elsewhere, e.g. ~/upstream-grading.")
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
    course = CourseRoot(root)
    for name in assignments:
        copy_source(src / name, course.source(name))
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
    """The course's nbgrader_config.py as a traitlets Config (root made absolute)."""
    return CourseRoot(course_dir).config


class CourseRoot:
    """One nbgrader course root: its folder (resolved once), its config, and every path in it.

    Step folders (``source``, ``release``, ``submitted``, ``autograded``, ``feedback``) come from
    nbgrader's own ``CourseDirectory.format_path``, so a course that changes
    ``directory_structure`` or a ``*_directory`` name in its nbgrader_config.py is followed
    everywhere. Our own records (outcomes per run, marks, the gradebook lock) live in
    ``STATE_DIR`` inside the root; their names are defined here and nowhere else.
    """

    LOCK_NAME = "gradebook.lock"       # every gradebook session holds an flock on it
    WORKERS_LOG = "workers.log"        # stderr of the grading workers
    OUTCOMES = "autograde.json"        # per assignment: outcome of each student's last run

    def __init__(self, course_dir: str | Path):
        self.root = Path(course_dir).expanduser().resolve()
        if not (self.root / "nbgrader_config.py").is_file():
            raise CourseError(f"{self.root} is not a course root (no nbgrader_config.py); "
                              f"create one with: python -m grading init {self.root}")
        self._config: Config | None = None
        self._coursedir = None

    def __repr__(self) -> str:
        return f"CourseRoot({str(self.root)!r})"

    # ---- configuration ------------------------------------------------------------------
    @property
    def config(self) -> Config:
        """nbgrader_config.py as a traitlets Config, with the root pinned to this folder.
        A fresh copy each time: callers may change it (e.g. preprocessor lists)."""
        if self._config is None:
            from traitlets.config.loader import PyFileConfigLoader

            cfg = PyFileConfigLoader("nbgrader_config.py", path=str(self.root)).load_config()
            cfg.CourseDirectory.root = str(self.root)
            self._config = cfg
        return copy.deepcopy(self._config)

    @property
    def course_id(self) -> str:
        return self.coursedir.course_id

    @property
    def db_url(self) -> str:
        return self.coursedir.db_url

    @property
    def coursedir(self):
        """nbgrader's CourseDirectory for this root (nbgrader is imported on first use: it takes
        seconds)."""
        if self._coursedir is None:
            from nbgrader.coursedir import CourseDirectory

            self._coursedir = CourseDirectory(config=self.config)
        return self._coursedir

    def gradebook(self):
        """nbgrader's Gradebook for this course, as a context manager."""
        from nbgrader.api import Gradebook

        return Gradebook(self.db_url, self.course_id)

    def api(self, config: Config | None = None):
        """nbgrader's NbGraderAPI on this root (``config``: a changed copy of ``self.config``)."""
        from nbgrader.apps import NbGraderAPI
        from nbgrader.coursedir import CourseDirectory

        config = config if config is not None else self.config
        return NbGraderAPI(coursedir=CourseDirectory(config=config), config=config)

    # ---- step folders, through nbgrader's format_path -----------------------------------
    STEPS = ("source", "release", "submitted", "autograded", "feedback", "solution")

    def step_path(self, step: str, assignment: str, student: str = ".") -> Path:
        """The folder of ``assignment`` (for ``student``) at nbgrader step ``step``."""
        if step not in self.STEPS:
            raise ValueError(f"unknown nbgrader step {step!r} (one of {', '.join(self.STEPS)})")
        name = getattr(self.coursedir, f"{step}_directory")
        return Path(os.path.normpath(self.coursedir.format_path(name, student, assignment)))

    def source(self, assignment: str) -> Path:
        return self.step_path("source", assignment)

    def release(self, assignment: str) -> Path:
        return self.step_path("release", assignment)

    def submitted(self, student: str, assignment: str) -> Path:
        return self.step_path("submitted", assignment, student)

    def autograded(self, student: str, assignment: str) -> Path:
        return self.step_path("autograded", assignment, student)

    def feedback(self, student: str, assignment: str) -> Path:
        return self.step_path("feedback", assignment, student)

    def step_root(self, step: str) -> Path:
        """The folder holding every student's ``step`` folders (e.g. ``submitted/``)."""
        return self.root / getattr(self.coursedir, f"{step}_directory")

    def notebooks(self, step: str, assignment: str, student: str = ".") -> list[Path]:
        return sorted(self.step_path(step, assignment, student).glob("*.ipynb"))

    def assignments(self) -> list[str]:
        """Assignments with a folder in ``source/``, sorted."""
        return self._ids("source", student=".")

    def students(self, step: str, assignment: str) -> list[str]:
        """Students with a folder of ``assignment`` at ``step`` (e.g. ``submitted``), sorted."""
        return self._ids(step, assignment=assignment)

    def _ids(self, step: str, *, student: str | None = None,
             assignment: str | None = None) -> list[str]:
        """The ids (of the one of ``student``/``assignment`` left as None) of the folders that
        exist, read back the way nbgrader's converters do: a glob of ``format_path`` with
        ``*``, matched against ``format_path(escape=True)``."""
        cd, wanted = self.coursedir, "(?P<id>[^/]+)"
        name = getattr(cd, f"{step}_directory")
        pattern = cd.format_path(name, student or "*", assignment or "*")
        regex = cd.format_path(name, re.escape(student) if student else wanted,
                               re.escape(assignment) if assignment else wanted, escape=True)
        found = set()
        for path in glob.glob(pattern):
            m = re.fullmatch(regex, path)
            if m and os.path.isdir(path) and not m.group("id").startswith("."):
                found.add(m.group("id"))
        return sorted(found)

    def check_assignment(self, assignment: str) -> None:
        known = self.assignments()
        if assignment not in known:
            raise CourseError(f"no assignment {assignment!r} in {self.step_root('source')} "
                              f"(known: {', '.join(known) or 'none'})")

    # ---- our own records ----------------------------------------------------------------
    def state_dir(self, assignment: str = "") -> Path:
        """``STATE_DIR/<assignment>`` (created), or ``STATE_DIR`` itself."""
        path = self.root / STATE_DIR / assignment
        path.mkdir(parents=True, exist_ok=True)
        return path

    @property
    def lock_path(self) -> Path:
        """The file every gradebook session locks (see grading/README.md)."""
        return self.state_dir() / self.LOCK_NAME

    @property
    def workers_log(self) -> Path:
        return self.state_dir() / self.WORKERS_LOG

    def outcomes_path(self, assignment: str) -> Path:
        return self.state_dir(assignment) / self.OUTCOMES

    def marking_file(self, assignment: str) -> Path:
        """The file the instructor edits to mark written answers (``grading mark``)."""
        return self.root / "marking" / f"{assignment}.yml"

    @property
    def exports_dir(self) -> Path:
        """Where ``export`` writes grades and the report unless told otherwise."""
        return self.root / "exports"

    # ---- permissions --------------------------------------------------------------------
    def is_private(self) -> bool:
        return is_private(self.root)

    def ensure_private(self) -> bool:
        return ensure_private(self.root)


# ---- the old module-level names (thin wrappers; prefer CourseRoot) -------------------------

def coursedir(course_dir: str | Path, config: Config | None = None):
    """nbgrader's CourseDirectory for the course root (or for ``config``, a changed copy)."""
    if config is None:
        return CourseRoot(course_dir).coursedir
    from nbgrader.coursedir import CourseDirectory

    return CourseDirectory(config=config)


def assignments(course_dir: str | Path) -> list[str]:
    return CourseRoot(course_dir).assignments()


def check_assignment(course_dir: str | Path, assignment: str) -> None:
    CourseRoot(course_dir).check_assignment(assignment)


def state_dir(course_dir: str | Path, assignment: str) -> Path:
    return CourseRoot(course_dir).state_dir(assignment)


def submitted_students(course_dir: str | Path, assignment: str) -> list[str]:
    return CourseRoot(course_dir).students("submitted", assignment)


def release_notebooks(course_dir: str | Path, assignment: str) -> list[Path]:
    return CourseRoot(course_dir).notebooks("release", assignment)


def is_private(path: Path) -> bool:
    """True when no one but the owner (and group) can enter ``path``."""
    return not (Path(path).stat().st_mode & 0o007)


def ensure_private(path: Path) -> bool:
    """Take away 'other' permissions from the course root; True if it had to change."""
    path = Path(path)
    if is_private(path):
        return False
    os.chmod(path, path.stat().st_mode & ~0o007)
    return True
