"""Bring submissions into ``submitted/<student>/<assignment>/``, one clear outcome per student.

Three sources, recognised by their shape:

* an nbgrader exchange (its ``<course>/inbound`` folder, the course folder, or the exchange
  root): entries ``<student>+<assignment>+<timestamp>[+<random>]``, as ``nbgrader submit``
  writes them. Per student the newest entry *the student's own account made* is taken (owner of
  the entry and of every file in it); entries made by another account are refused as
  impersonation. The submission time is nbgrader's own record (its ``timestamp.txt``).
* a folder: ``<student>/<assignment>/*.ipynb`` or ``<student>/*.ipynb`` (a ``timestamp.txt``
  in it is nbgrader's record of the submission time and is kept);
* an LMS zip download (or its unpacked folder): flat files ``<student>_<userid>_<subid>_<name>``
  (Canvas, ``_late_`` after the name when late) or one folder per student
  ``<Full Name>_<id>_assignsubmission_file_/`` (Moodle). The LMS's user id stays in the student
  id (``John-Smith_111``), so two people with one name stay two people; the submission time is
  the time the LMS gave the files.

Nothing follows a link: every folder and file is opened relative to its parent with
``O_NOFOLLOW`` and checked with ``fstat``; links, hard links, devices and pipes are dropped and
reported per student, so nothing outside a submission is ever read. Everything goes through a
staging folder inside the course root; a student's previous submission is replaced only by a
new one that was collected whole.
"""

from __future__ import annotations

import contextlib
import errno
import fnmatch
import json
import os
import pwd
import re
import shutil
import stat
import tempfile
import unicodedata
import zipfile
import zlib
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path

from . import course_root

# Letters and digits of any script (Unicode ``\w``), '.', '_', '@', '-'; never '+' or '*'
# (nbgrader's separators) nor '/'. Names are NFC-normalised first.
STUDENT_ID = re.compile(r"^[^\W_][\w.@-]{0,99}$")
CANVAS = re.compile(r"^(?P<student>[^_]+)_(?P<late>(?i:late)_)?(?P<uid>\d+)_(?:\d+_)?(?P<name>.+)$")
MOODLE_FILE = re.compile(r"^(?P<student>.+?)_(?P<uid>\d+)_assignsubmission_[a-z]+_(?P<name>.+)$")
MOODLE_DIR = re.compile(r"^(?P<student>.+?)_(?P<uid>\d+)_assignsubmission_\w*$")
PLAIN_FILE = re.compile(r"^(?P<student>[^_]+)_(?P<name>.+)$")
STAMP_FORMAT = "%Y-%m-%d %H:%M:%S.%f UTC"  # nbgrader's timestamp_format, in UTC
RECORD = "collect.json"  # in CourseRoot.state_dir(assignment): the outcomes of the last run

MAX_UNZIP = 2 * 1024**3       # bytes a zip may unpack to in all
MAX_MEMBERS = 50_000          # entries in one zip
MAX_RATIO = 200               # unpacked / packed size of one entry ...
RATIO_FLOOR = 8 * 1024**2     # ... checked for entries larger than this (notebooks pack ~10:1)
MAX_DEPTH = 32                # folders inside a submission
MAX_FILES = 5_000             # files in one submission

_DIR = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
_FILE = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC
_NEW_FILE = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC
_KINDS = {stat.S_IFIFO: "a named pipe", stat.S_IFSOCK: "a socket", stat.S_IFCHR: "a device",
          stat.S_IFBLK: "a device"}

OwnerOf = Callable[[os.stat_result], int]


@dataclass
class StudentOutcome:
    student: str
    source: str                                         # where it came from in the download
    status: str = "collected"                           # collected | refused | empty
    reason: str = ""                                    # why refused or empty
    files: list[str] = field(default_factory=list)      # copied, relative to the submission
    links: list[str] = field(default_factory=list)      # "path -> target", never followed
    dropped: list[str] = field(default_factory=list)    # "path (why)"
    refused: list[str] = field(default_factory=list)    # exchange entries not taken, with why
    notes: list[str] = field(default_factory=list)
    timestamp: str | None = None                        # as written to timestamp.txt
    impersonated_by: list[int] = field(default_factory=list)  # uids of refused entries

    def line(self) -> str:
        notebooks = [f for f in self.files if f.endswith(".ipynb")]
        if self.status == "collected":
            head = f"collected ({', '.join(notebooks)}"
            others = len(self.files) - len(notebooks) - ("timestamp.txt" in self.files)
            head += f" and {others} other file(s))" if others > 0 else ")"
            head += f", submitted {self.timestamp}" if self.timestamp else ""
        elif self.status == "refused":
            head = f"refused: {self.reason}"
        else:
            head = f"nothing collected: {self.reason}"
        parts = [head]
        if self.links:
            parts.append("links dropped: " + ", ".join(self.links))
        if self.dropped:
            parts.append("dropped: " + ", ".join(self.dropped))
        if self.refused and self.status == "collected":
            parts.append("refused: " + "; ".join(self.refused))
        parts += self.notes
        return f"{self.student}: " + "; ".join(parts)


@dataclass
class CollectReport:
    source_kind: str = ""
    dest: Path | None = None   # the course's submitted/ folder
    students: dict[str, StudentOutcome] = field(default_factory=dict)
    skipped: list[str] = field(default_factory=list)   # entries that belong to no student
    warnings: list[str] = field(default_factory=list)

    @property
    def collected(self) -> dict[str, list[str]]:
        """Student id -> files, for the students whose submission is now in submitted/."""
        return {s: o.files for s, o in sorted(self.students.items()) if o.status == "collected"}

    def outcome(self, student: str, source: str) -> StudentOutcome:
        return self.students.setdefault(student, StudentOutcome(student, source))


def student_id(raw: str) -> str | None:
    """A safe student id from a name in a download; None if nothing usable is left.

    Letters of every script are kept (``José`` and ``Josè`` stay two ids); anything else
    becomes ``-``."""
    cand = unicodedata.normalize("NFC", raw).strip()
    if not STUDENT_ID.match(cand):
        cand = re.sub(r"[^\w.@-]+", "-", cand).strip("-._")
    return cand if STUDENT_ID.match(cand) and ".." not in cand else None


def report_lines(rep: CollectReport) -> list[str]:
    """What `python -m grading collect` prints: a summary, then one line per student."""
    n = len(rep.collected)
    where = f" into {rep.dest}" if rep.dest else ""
    kind = {"exchange": "an nbgrader exchange", "zip": "a zip"}.get(rep.source_kind,
                                                                  f"a {rep.source_kind}")
    lines = [f"collected {n} of {len(rep.students)} student(s) from {kind}{where}"]
    lines += [f"  {o.line()}" for _, o in sorted(rep.students.items())]
    lines += [f"  skipped {s}" for s in rep.skipped]
    lines += [f"  warning: {w}" for w in rep.warnings]
    # names on disk need not be valid UTF-8: show such bytes escaped rather than fail to print
    return [line.encode("utf-8", "backslashreplace").decode("utf-8") for line in lines]


# ---- reading a submission without following links ---------------------------------------------

@dataclass
class _Rules:
    ignore: list[str]
    include: list[str]
    max_file: int               # bytes
    max_total: int              # bytes
    owner_of: OwnerOf
    skip_top: dict[str, str] = field(default_factory=dict)  # top-level name -> why it is dropped


@dataclass
class _Taken:
    files: list[str] = field(default_factory=list)
    links: list[str] = field(default_factory=list)
    dropped: list[str] = field(default_factory=list)
    owners: dict[int, str] = field(default_factory=dict)    # uid -> first path it owns
    newest: float | None = None                              # newest file mtime
    total: int = 0


def _readlink(name: str, dir_fd: int) -> str:
    try:
        return os.readlink(name, dir_fd=dir_fd)
    except OSError:
        return "?"


def _copy_file(name: str, path: str, src_st, dir_fd: int, dest: Path, rules: _Rules,
               got: _Taken) -> None:
    if src_st.st_nlink > 1:
        got.dropped.append(f"{path} (a hard link: the same file is also elsewhere on disk)")
        return
    if src_st.st_size > rules.max_file:
        got.dropped.append(f"{path} ({src_st.st_size} bytes, over CourseDirectory.max_file_size)")
        return
    if got.total + src_st.st_size > rules.max_total or len(got.files) >= MAX_FILES:
        got.dropped.append(f"{path} (the submission is over CourseDirectory.max_dir_size or "
                           f"{MAX_FILES} files)")
        return
    try:
        fd = os.open(name, _FILE, dir_fd=dir_fd)
    except OSError as exc:
        got.dropped.append(f"{path} ({_why(exc)})")
        return
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode) or (st.st_dev, st.st_ino) != (src_st.st_dev,
                                                                      src_st.st_ino):
            got.dropped.append(f"{path} (changed while it was collected)")
            return
        got.owners.setdefault(rules.owner_of(st), path)
        try:
            out = os.open(dest / name, _NEW_FILE, 0o644)
        except FileExistsError:
            got.dropped.append(f"{path} (a file of that name came from another of this "
                               "student's folders; the first was kept)")
            return
        size, limit = 0, min(rules.max_file, rules.max_total - got.total)
        try:
            while chunk := os.read(fd, 1 << 20):
                size += len(chunk)
                if size > limit:
                    break
                os.write(out, chunk)
        finally:
            os.close(out)
        if size > limit:
            os.unlink(dest / name)
            got.dropped.append(f"{path} (grew past the size limit while it was collected)")
            return
        os.utime(dest / name, ns=(st.st_atime_ns, st.st_mtime_ns))
    finally:
        os.close(fd)
    got.total += size
    got.files.append(path)
    got.newest = max(got.newest or 0.0, st.st_mtime)


def _why(exc: OSError) -> str:
    """Why a file or folder listed a moment ago could not be opened."""
    if exc.errno in (errno.ELOOP, errno.ENOENT, errno.ENOTDIR):  # now a link, or gone
        return "changed while it was collected"
    return f"cannot be read: {exc.strerror}"


def _copy_dir(dir_fd: int, names: list[str], rel: str, dest: Path, rules: _Rules, got: _Taken,
              depth: int) -> None:
    for name in names:
        path = rel + name
        try:
            st = os.stat(name, dir_fd=dir_fd, follow_symlinks=False)
        except OSError:
            got.dropped.append(f"{path} (removed while it was collected)")
            continue
        got.owners.setdefault(rules.owner_of(st), path)
        if stat.S_ISLNK(st.st_mode):
            got.links.append(f"{path} -> {_readlink(name, dir_fd)}")
            continue
        is_dir = stat.S_ISDIR(st.st_mode)
        shown = path + ("/" if is_dir else "")
        if depth == 0 and name in rules.skip_top:
            got.dropped.append(f"{shown} ({rules.skip_top[name]})")
        elif any(fnmatch.fnmatch(name, g) for g in rules.ignore):
            got.dropped.append(f"{shown} (ignored by nbgrader: CourseDirectory.ignore)")
        elif is_dir and depth >= MAX_DEPTH:
            got.dropped.append(f"{shown} (folders nested more than {MAX_DEPTH} deep)")
        elif is_dir:
            take_folder(dir_fd, name, dest / name, rules, got, shown=path, depth=depth + 1)
        elif not stat.S_ISREG(st.st_mode):
            what = _KINDS.get(stat.S_IFMT(st.st_mode), "not a regular file")
            got.dropped.append(f"{path} ({what})")
        elif not any(fnmatch.fnmatch(name, g) for g in rules.include):
            got.dropped.append(f"{path} (not in CourseDirectory.include)")
        else:
            _copy_file(name, path, st, dir_fd, dest, rules, got)


def take_folder(parent_fd: int, name: str, dest: Path, rules: _Rules, got: _Taken,
                shown: str = "", depth: int = 0) -> bool:
    """Copy the real folder ``name`` (in the folder open as ``parent_fd``) into ``dest``; paths
    in ``got`` are relative to it. False, with the reason recorded under ``shown``, when
    ``name`` is a link or not a folder."""
    shown = shown or name
    try:
        st = os.stat(name, dir_fd=parent_fd, follow_symlinks=False)
    except OSError:
        got.dropped.append(f"{shown} (removed while it was collected)")
        return False
    if stat.S_ISLNK(st.st_mode):
        got.links.append(f"{shown} -> {_readlink(name, parent_fd)}")
        return False
    if not stat.S_ISDIR(st.st_mode):
        got.dropped.append(f"{shown} (not a folder)")
        return False
    try:
        fd = os.open(name, _DIR, dir_fd=parent_fd)
    except OSError as exc:
        got.dropped.append(f"{shown} ({_why(exc)})")
        return False
    try:
        fst = os.fstat(fd)
        if (fst.st_dev, fst.st_ino) != (st.st_dev, st.st_ino):
            got.dropped.append(f"{shown} (changed while it was collected)")
            return False
        try:
            names = sorted(os.listdir(fd))
        except OSError as exc:
            got.dropped.append(f"{shown} ({_why(exc)})")
            return False
        got.owners.setdefault(rules.owner_of(fst), shown)
        dest.mkdir(parents=True, exist_ok=True)
        _copy_dir(fd, names, shown + "/" if depth else "", dest, rules, got, depth)
    finally:
        os.close(fd)
    return True


# ---- zips ---------------------------------------------------------------------------------------

def _refuse_zip(zpath: Path, why: str) -> course_root.CourseError:
    return course_root.CourseError(f"{zpath.name}: {why}; nothing was collected from it")


def _member_parts(zpath: Path, info: zipfile.ZipInfo) -> list[str]:
    name = info.filename
    if not info.flag_bits & 0x800:  # not flagged UTF-8: zipfile read it as cp437
        with contextlib.suppress(UnicodeEncodeError, UnicodeDecodeError):
            name = name.encode("cp437").decode("utf-8")
    name = name.replace("\\", "/")
    if name.startswith("/") or re.match(r"^[A-Za-z]:", name):
        raise _refuse_zip(zpath, f"entry {name!r} has an absolute path")
    parts = [p for p in name.split("/") if p not in ("", ".")]
    if ".." in parts:
        raise _refuse_zip(zpath, f"entry {name!r} climbs out of its folder with '..'")
    if stat.S_ISLNK(info.external_attr >> 16):
        raise _refuse_zip(zpath, f"entry {name!r} is a symbolic link (LMS downloads hold none)")
    if info.flag_bits & 0x1:
        raise _refuse_zip(zpath, f"entry {name!r} is encrypted")
    if info.file_size > RATIO_FLOOR and info.file_size > MAX_RATIO * max(info.compress_size, 1):
        raise _refuse_zip(zpath, f"entry {name!r} would unpack to {info.file_size / 1e6:.0f} MB "
                                 f"from {info.compress_size / 1e3:.0f} kB (a zip bomb)")
    return parts


def _extract_member(zf: zipfile.ZipFile, info: zipfile.ZipInfo, target: Path) -> None:
    written = 0
    with zf.open(info) as src:
        fd = os.open(target, _NEW_FILE, 0o600)
        try:
            while chunk := src.read(1 << 20):
                written += len(chunk)
                if written > info.file_size:
                    break
                os.write(fd, chunk)
        finally:
            os.close(fd)
    if written != info.file_size:
        raise zipfile.BadZipFile(f"entry {info.filename!r} holds {written} bytes where its "
                                 f"header says {info.file_size}")
    # the LMS's time for the file (the zip format's "no date", 1980-01-01, means unknown)
    when = datetime(*info.date_time, tzinfo=timezone.utc).timestamp()
    os.utime(target, (when, when))


def unzip(zpath: Path, into: Path) -> None:
    """Unpack an LMS download into ``into``, or stop with one line saying what is wrong."""
    try:
        with zipfile.ZipFile(zpath) as zf:
            infos = zf.infolist()
            if len(infos) > MAX_MEMBERS:
                raise _refuse_zip(zpath, f"it has {len(infos)} entries (limit {MAX_MEMBERS})")
            total = sum(i.file_size for i in infos)
            if total > MAX_UNZIP:
                raise _refuse_zip(zpath, f"it would unpack to {total / 1e9:.1f} GB (limit "
                                         f"{MAX_UNZIP / 1e9:.1f} GB)")
            plan, seen = [], set()
            for info in infos:
                parts = _member_parts(zpath, info)
                key = "/".join(parts)
                if parts and key in seen:
                    raise _refuse_zip(zpath, f"entry {key!r} appears twice")
                seen.add(key)
                plan.append((info, parts))
            for info, parts in plan:
                if not parts:
                    continue
                target = into.joinpath(*parts)
                if info.is_dir():
                    target.mkdir(parents=True, exist_ok=True)
                else:
                    target.parent.mkdir(parents=True, exist_ok=True)
                    _extract_member(zf, info, target)
    except course_root.CourseError:
        raise
    except (zipfile.BadZipFile, zipfile.LargeZipFile, zlib.error, EOFError, OSError,
            NotImplementedError, RuntimeError, ValueError) as exc:
        raise _refuse_zip(zpath, f"the archive is damaged or not a zip ({exc})") from None


# ---- where a submission belongs -----------------------------------------------------------------

@dataclass
class _Source:
    """One student's part of a download: folders to copy and flat files."""
    identity: tuple                  # who this is in the download (LMS user id, or the name)
    student: str
    label: str
    lms: str = ""                    # "canvas" | "moodle" | "" (plain folder)
    late: bool = False
    folders: list[tuple[str, str]] = field(default_factory=list)  # (entry name, inner folder)
    files: list[tuple[str, str]] = field(default_factory=list)    # (entry name, name to save)


def _lms_student(lms: str, name: str, uid: str) -> str:
    base = student_id(name.replace("_", " "))
    return f"{base}_{uid}" if base else uid


def _parse_flat(name: str):
    """(identity, student id, file name to save, lms, late) of a flat file in a download."""
    if m := MOODLE_FILE.match(name):
        return ("moodle", m["uid"]), _lms_student("moodle", m["student"], m["uid"]), \
            m["name"], "moodle", False
    if m := CANVAS.match(name):
        return ("canvas", m["uid"]), _lms_student("canvas", m["student"], m["uid"]), \
            m["name"], "canvas", bool(m["late"])
    if (m := PLAIN_FILE.match(name)) and (sid := student_id(m["student"])):
        return ("", m["student"]), sid, m["name"], "", False
    return None


def _sources(root_fd: int, names: list[str], assignment: str,
             rep: CollectReport) -> dict[tuple, _Source]:
    found: dict[tuple, _Source] = {}

    def source(identity, sid, label, lms) -> _Source:
        return found.setdefault(identity, _Source(identity, sid, label, lms))

    for name in names:
        try:
            st = os.stat(name, dir_fd=root_fd, follow_symlinks=False)
        except OSError:
            rep.skipped.append(f"{name}: removed while it was collected")
            continue
        if name == "__MACOSX" or name.startswith("._") or name == ".DS_Store":
            rep.skipped.append(f"{name}: macOS metadata, not a submission")
            continue
        if name.startswith("."):
            rep.skipped.append(f"{name}: a hidden file (its name starts with '.'), not taken; "
                               "rename it if it is someone's submission")
            continue
        if stat.S_ISDIR(st.st_mode) or (stat.S_ISLNK(st.st_mode) and not _parse_flat(name)):
            m = MOODLE_DIR.match(name)
            if m:
                src = source(("moodle", m["uid"]), _lms_student("moodle", m["student"], m["uid"]),
                             name, "moodle")
            elif sid := student_id(name):
                src = source(("", name), sid, name, "")
            else:
                rep.skipped.append(f"{name}/: no usable student id in the name")
                continue
            inner = os.path.join(name, assignment)
            try:
                use_inner = stat.S_ISDIR(st.st_mode) and stat.S_ISDIR(
                    os.stat(inner, dir_fd=root_fd, follow_symlinks=False).st_mode)
            except OSError:
                use_inner = False
            src.folders.append((name, assignment if use_inner else ""))
        elif stat.S_ISREG(st.st_mode) or stat.S_ISLNK(st.st_mode):
            parsed = _parse_flat(name)
            if parsed is None:
                rep.skipped.append(f"{name}: cannot tell whose submission this is (expected "
                                   "<student>_<...>_<notebook>.ipynb or a folder per student)")
                continue
            identity, sid, saved, lms, late = parsed
            src = source(identity, sid, name, lms)
            src.late = src.late or late
            src.files.append((name, saved))
        else:
            rep.skipped.append(f"{name}: {_KINDS.get(stat.S_IFMT(st.st_mode), 'not a file')}")
    return found


def _expected_name(name: str, expected: list[str]) -> str:
    """An LMS may append '-1', '(1)' etc. to a re-uploaded file; map it back when unambiguous."""
    if name in expected:
        return name
    stem = re.sub(r"(-\d+|\s*\(\d+\))$", "", Path(name).stem) + Path(name).suffix
    return stem if stem in expected else name


# ---- the course's settings ----------------------------------------------------------------------

@dataclass
class _Course:
    paths: course_root.CourseRoot   # the course root, its config and every path in it
    assignment: str
    check_owner: bool
    accounts: dict
    renames: dict          # UpstreamCollect.students: id from the download -> id to use
    owner_of: OwnerOf
    expected: list[str]

    @property
    def coursedir(self):
        return self.paths.coursedir

    def submitted(self, student: str) -> Path:
        return self.paths.submitted(student, self.assignment)

    def rules(self, **kw) -> _Rules:
        cd = self.coursedir
        return _Rules(ignore=list(cd.ignore), include=list(cd.include),
                      max_file=cd.max_file_size * 1000, max_total=cd.max_dir_size * 1000,
                      owner_of=self.owner_of, **kw)

    def uid_of(self, student: str) -> int | None:
        """The unix account that submits as ``student``: UpstreamCollect.accounts, or else the
        account of that name (on the hub each trainee's user name is their student id)."""
        account = self.accounts.get(student, student)
        if isinstance(account, int):
            return account
        try:
            return pwd.getpwnam(str(account)).pw_uid
        except KeyError:
            return int(account) if str(account).isdigit() else None

    def who(self, uid: int) -> str:
        names = [s for s in self.accounts if self.uid_of(s) == uid]
        with contextlib.suppress(KeyError):
            names.append(pwd.getpwuid(uid).pw_name)
        return f"uid {uid}" + (f" ({', '.join(dict.fromkeys(names))})" if names else "")

    def due_date(self) -> datetime | None:
        from nbgrader.api import MissingEntry

        url = self.paths.db_url
        if url.startswith("sqlite:///") and not Path(url[len("sqlite:///"):]).exists():
            return None
        try:
            with self.paths.gradebook() as gb:
                return gb.find_assignment(self.assignment).duedate
        except MissingEntry:
            return None
        except Exception:  # noqa: BLE001 (an unreadable gradebook: no due date known)
            return None


def _course(course_dir, assignment: str, accounts, owner_of) -> _Course:
    course = course_root.CourseRoot(course_dir)
    course.check_assignment(assignment)
    config = course.config
    ours = config.get("UpstreamCollect", {})
    mapping = dict(ours.get("accounts", {}) or {})
    mapping.update(accounts or {})
    renames = dict(ours.get("students", {}) or {})
    bad = sorted(str(v) for v in renames.values() if student_id(str(v)) != v)
    if bad:
        raise course_root.CourseError(
            f"c.UpstreamCollect.students in {course.root / 'nbgrader_config.py'} maps to "
            f"unusable student ids {bad}: use letters, digits, '.', '_', '@' or '-'")
    return _Course(
        paths=course, assignment=assignment,
        check_owner=bool(config.get("ExchangeCollect", {}).get("check_owner", True)),
        accounts=mapping, renames=renames, owner_of=owner_of or (lambda st: st.st_uid),
        expected=[p.name for p in course.notebooks("source", assignment)])


# ---- putting a submission in place --------------------------------------------------------------

def _stamp(when: datetime) -> str:
    return when.astimezone(timezone.utc).strftime(STAMP_FORMAT)


def _read_stamp(path: Path) -> datetime | None:
    from nbgrader.utils import parse_utc

    try:
        text = path.read_text(encoding="utf-8").strip()
        return parse_utc(text).replace(tzinfo=timezone.utc) if text else None
    except (OSError, ValueError, OverflowError, UnicodeDecodeError):
        return None


def _place(staged: Path, course: _Course, student: str) -> None:
    """Swap ``staged`` in as the student's submitted folder (the old one goes only now)."""
    dest = course.submitted(student)
    for p in reversed(dest.relative_to(course.paths.root).parents[:-1]):
        folder = course.paths.root / p
        if folder.is_symlink():
            raise course_root.CourseError(f"{folder} is a link; remove it (collect writes only "
                                          "into real folders of the course root)")
        folder.mkdir(exist_ok=True)
    old = staged.with_name(staged.name + "+old")  # '+' is in no student id: no clash
    if dest.is_symlink() or dest.exists():
        os.rename(dest, old)
    os.rename(staged, dest)
    if old.is_symlink() or old.is_file():
        old.unlink()
    elif old.exists():
        shutil.rmtree(old)


def _kept(out: StudentOutcome, course: _Course) -> None:
    """Say so when a student not collected now keeps what an earlier run collected."""
    if out.status != "collected" and course.submitted(out.student).is_dir():
        out.notes.append("the submission collected earlier stays in submitted/")


def _finish(out: StudentOutcome, got: _Taken) -> None:
    out.files = sorted(got.files)
    out.links += got.links
    out.dropped += got.dropped
    if not any(f.endswith(".ipynb") for f in got.files):
        out.status, out.reason = "empty", "no notebook in the submission"


# ---- exchange -----------------------------------------------------------------------------------

def _exchange_inbound(src: Path, course_id: str) -> Path | None:
    for cand in (src, src / "inbound", src / course_id / "inbound"):
        if cand.name == "inbound" and cand.is_dir():
            for part in (cand.parent, cand):
                if part.is_symlink():
                    raise course_root.CourseError(
                        f"{part} is a link, not the exchange's own folder: someone may have "
                        "replaced it; check the exchange (deploy/README.md) before collecting")
            return cand
    return None


def from_exchange(inbound: Path, course: _Course, work: Path, rep: CollectReport) -> None:
    from nbgrader.utils import parse_utc

    st = inbound.lstat()
    if st.st_uid not in (os.geteuid(), 0):
        rep.warnings.append(f"{inbound} belongs to {course.who(st.st_uid)}, not to you: whoever "
                            "owns it can remove or rename submissions; give it to the grader "
                            f"account (chown) or re-create it (deploy/README.md)")
    fd, names = _open_listed(inbound, "run collect as the account that owns the course's "
                                      "exchange folders (the grader)")
    try:
        entries: dict[str, list[tuple[datetime, str]]] = {}
        for name in names:
            parts = name.split("+")
            if len(parts) not in (3, 4):
                rep.skipped.append(f"{name}: not an nbgrader submission (student+assignment+time)")
                continue
            if parts[1] != course.assignment:
                continue
            if student_id(parts[0]) != parts[0]:
                rep.skipped.append(f"{name}: unusable student id {parts[0]!r}")
                continue
            try:
                when = parse_utc(parts[2])
            except (ValueError, OverflowError):
                rep.skipped.append(f"{name}: unreadable submission time {parts[2]!r}")
                continue
            entries.setdefault(parts[0], []).append((when, name))
        for student, found in sorted(entries.items()):
            out = rep.outcome(student, f"{inbound.name}/")
            _take_from_exchange(fd, student, sorted(found, reverse=True), course, work, out)
    finally:
        os.close(fd)
    _name_impersonators(rep, course)


def _name_impersonators(rep: CollectReport, course: _Course) -> None:
    """On the line of a student whose account made entries in others' names, say whose."""
    victims: dict[int, list[str]] = {}
    for out in rep.students.values():
        for uid in dict.fromkeys(out.impersonated_by):
            victims.setdefault(uid, []).append(out.student)
    for out in rep.students.values():
        uid = course.uid_of(out.student)
        if uid in victims:
            out.notes.append("its account made submissions in the name of "
                             f"{', '.join(sorted(victims[uid]))} (refused)")


def _take_from_exchange(fd: int, student: str, found, course: _Course, work: Path,
                        out: StudentOutcome) -> None:
    uid = course.uid_of(student) if course.check_owner else None
    if course.check_owner and uid is None:
        out.status = "refused"
        out.reason = (f"no unix account {student!r} on this machine, so who made the submission "
                      "cannot be checked; map ids to accounts with c.UpstreamCollect.accounts "
                      "in nbgrader_config.py (or set c.ExchangeCollect.check_owner = False)")
        return
    for when, name in found:
        staged = work / f"{student}+{len(out.refused)}"
        got = _Taken()
        rules = course.rules()
        if not take_folder(fd, name, staged, rules, got):
            out.refused.append(f"{name}: not taken: " + "".join(got.links or got.dropped))
            continue
        foreign = sorted(u for u in got.owners if course.check_owner and u != uid)
        if foreign:
            who = ", ".join(course.who(u) for u in foreign)
            owned = got.owners[foreign[0]]
            out.impersonated_by += foreign
            out.refused.append(f"{name}: impersonation by {who}"
                               + (f" (owns {owned})" if owned != name else ""))
            shutil.rmtree(staged)
            continue
        out.source = name
        _finish(out, got)
        recorded = _read_stamp(staged / "timestamp.txt")
        stamp = recorded or when.replace(tzinfo=timezone.utc)
        if recorded is None:
            out.notes.append("no readable timestamp.txt: the time in the entry's name was used")
        out.timestamp = _stamp(stamp)
        (staged / "timestamp.txt").write_text(out.timestamp)
        if "timestamp.txt" not in out.files:
            out.files.append("timestamp.txt")
        if out.status == "collected":
            _place(staged, course, student)
        return
    out.status = "refused"
    out.reason = "; ".join(out.refused) + "; no genuine submission of this student is left"


# ---- folders and zips ---------------------------------------------------------------------------

def _open_listed(folder: Path, what_to_do: str) -> tuple[int, list[str]]:
    """An fd of ``folder`` and its sorted entries, or a CourseError saying what to do."""
    try:
        fd = os.open(folder, _DIR)
    except OSError as exc:
        raise course_root.CourseError(f"cannot open {folder} ({exc.strerror}); {what_to_do}") \
            from None
    try:
        return fd, sorted(os.listdir(fd))
    except OSError as exc:
        os.close(fd)
        raise course_root.CourseError(f"cannot list {folder} ({exc.strerror}); {what_to_do}") \
            from None


def from_download(root: Path, course: _Course, work: Path, rep: CollectReport) -> None:
    root_fd, names = _open_listed(root, "give a folder you can read")
    try:
        found = _sources(root_fd, names, course.assignment, rep)
        by_student: dict[str, list[_Source]] = {}
        for src in found.values():
            src.student = course.renames.get(src.student, src.student)
            by_student.setdefault(src.student, []).append(src)
        due = None
        for student, srcs in sorted(by_student.items()):
            if len(srcs) > 1:
                shown = [repr(s.label) for s in srcs]
                if len({unicodedata.normalize("NFC", x) for x in shown}) < len(shown):
                    # they look alike: show which characters differ
                    shown = [ascii(s.label) for s in srcs]
                names = " and ".join(shown)
                out = rep.outcome(student, ", ".join(s.label for s in srcs))
                out.status = "refused"
                out.reason = (f"{names} are different people in the download but both give the "
                              f"student id {student!r}; rename one and collect again")
                continue
            src = srcs[0]
            if src.late and due is None:
                due = course.due_date() or False
            _take_download(root_fd, src, course, work, rep, due)
    finally:
        os.close(root_fd)


def _take_download(root_fd: int, src: _Source, course: _Course, work: Path, rep: CollectReport,
                   due) -> None:
    out = rep.outcome(src.student, src.label)
    staged = work / src.student
    staged.mkdir()
    skip = {"timestamp.txt": "the submission time comes from the LMS, not from the student's "
                             "files"} if src.lms else {}
    rules, got = course.rules(skip_top=skip), _Taken()
    for name, inner in src.folders:
        if not inner:
            take_folder(root_fd, name, staged, rules, got, shown=name)
            continue
        try:
            sub = os.open(name, _DIR, dir_fd=root_fd)
        except OSError:
            got.dropped.append(f"{name} (changed while it was collected)")
            continue
        try:
            take_folder(sub, inner, staged, rules, got, shown=f"{name}/{inner}")
        finally:
            os.close(sub)
    for name, saved in src.files:
        st = os.stat(name, dir_fd=root_fd, follow_symlinks=False)
        if stat.S_ISLNK(st.st_mode):
            got.links.append(f"{name} -> {_readlink(name, root_fd)}")
            continue
        if saved in rules.skip_top:
            got.dropped.append(f"{name} ({rules.skip_top[saved]})")
            continue
        if any(fnmatch.fnmatch(saved, g) for g in rules.ignore) or not any(
                fnmatch.fnmatch(saved, g) for g in rules.include):
            got.dropped.append(f"{name} (ignored by nbgrader: CourseDirectory.ignore/include)")
            continue
        taken = len(got.files)
        _copy_file(name, name, st, root_fd, staged, rules, got)
        if len(got.files) > taken and saved != name:
            target = _expected_name(saved, course.expected) if src.lms else saved
            if (staged / target).exists():
                target = saved if not (staged / saved).exists() else name
            os.rename(staged / name, staged / target)
            got.files[-1] = target
    if src.lms:  # LMS names: map re-uploaded names back
        for nb in staged.glob("*.ipynb"):
            fixed = _expected_name(nb.name, course.expected)
            if fixed != nb.name and not (staged / fixed).exists():
                nb.rename(staged / fixed)
                got.files = [fixed if f == nb.name else f for f in got.files]
    _finish(out, got)
    if out.status != "collected":
        return
    _download_time(src, staged, got, out, due)
    if out.timestamp:
        (staged / "timestamp.txt").write_text(out.timestamp)
        if "timestamp.txt" not in out.files:
            out.files.append("timestamp.txt")
    _place(staged, course, src.student)


def _download_time(src: _Source, staged: Path, got: _Taken, out: StudentOutcome, due) -> None:
    if not src.lms:  # a plain folder: nbgrader's own record if it came with one
        if (staged / "timestamp.txt").exists():
            recorded = _read_stamp(staged / "timestamp.txt")
            if recorded is None:
                (staged / "timestamp.txt").unlink()
                out.files.remove("timestamp.txt")
                out.notes.append("its timestamp.txt is unreadable and was left out (no "
                                 "submission time, so no late penalty)")
            else:
                out.timestamp = _stamp(recorded)
        return
    when = (datetime.fromtimestamp(got.newest, tz=timezone.utc)
            if got.newest and datetime.fromtimestamp(got.newest, tz=timezone.utc).year > 1980
            else None)
    if src.late:
        lms = src.lms.capitalize()
        if not due:
            out.notes.append(f"late ({lms} marks it late), but the gradebook has no due date for "
                             "this assignment, so no late penalty applies: set one (nbgrader db "
                             "assignment add ASSIGNMENT --duedate='YYYY-MM-DD HH:MM:SS UTC') and "
                             "collect again")
        else:
            due_utc = due.replace(tzinfo=timezone.utc)
            if when is None or when <= due_utc:
                shown = _stamp(when) if when else "unknown"
                when = due_utc + timedelta(seconds=1)
                out.notes.append(f"late ({lms} marks it late; its file time, {shown}, is not "
                                 "after the due date, so it is recorded as 1 s after the due "
                                 "date)")
            else:
                out.notes.append(f"late ({lms} marks it late)")
    if when is not None:
        out.timestamp = _stamp(when)
    else:
        out.notes.append("no submission time in the download (no late penalty)")


# ---- the command --------------------------------------------------------------------------------

def collect(course_dir, assignment: str, src, *, accounts: dict | None = None,
            owner_of: OwnerOf | None = None) -> CollectReport:
    """Collect ``assignment`` from ``src`` (exchange, folder or zip) into the course root.

    ``accounts`` maps student ids to unix accounts (names or uids), on top of the course's
    ``c.UpstreamCollect.accounts``; ``owner_of(stat)`` gives the owner uid to use in place of
    ``stat.st_uid`` (a hook for tests that run as one user)."""
    course = _course(course_dir, assignment, accounts, owner_of)
    src = Path(src).expanduser()
    if not src.exists() and not src.is_symlink():
        raise course_root.CourseError(f"{src} does not exist")
    src = src.resolve()
    rep = CollectReport(dest=course.paths.step_root("submitted"))
    work = Path(tempfile.mkdtemp(prefix="collect-",
                                 dir=course.paths.state_dir(assignment)))
    try:
        if src.is_file():
            if not zipfile.is_zipfile(src):
                raise course_root.CourseError(f"{src} is a file but not a zip archive (or a "
                                              "damaged one: download it again); give a folder, "
                                              "an nbgrader exchange, or an LMS zip")
            unzipped = work / "unzipped"
            unzipped.mkdir()
            unzip(src, unzipped)
            root = unzipped
            items = [p for p in root.iterdir() if p.name != "__MACOSX"]
            if len(items) == 1 and items[0].is_dir() and not MOODLE_DIR.match(items[0].name):
                root = items[0]
            rep.source_kind = "zip"
            staging = work / "staging"
            staging.mkdir()
            from_download(root, course, staging, rep)
        elif (inbound := _exchange_inbound(src, course.coursedir.course_id)) is not None:
            rep.source_kind = "exchange"
            from_exchange(inbound, course, work, rep)
        else:
            rep.source_kind = "folder"
            from_download(src, course, work, rep)
        for out in rep.students.values():
            _kept(out, course)
        _record(course, src, rep)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return rep


def _record(course: _Course, src: Path, rep: CollectReport) -> None:
    """The outcomes, for the other commands (integrity) and for the instructor's records."""
    path = course.paths.state_dir(course.assignment) / RECORD
    path.write_text(json.dumps({
        "source": str(src), "source_kind": rep.source_kind,
        "collected_at": _stamp(datetime.now(timezone.utc)),
        "students": {s: asdict(o) for s, o in sorted(rep.students.items())},
        "skipped": rep.skipped, "warnings": rep.warnings}, indent=1))
