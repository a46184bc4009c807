"""Collection of submissions (grading/collect.py, grading/exchange.py) and the exchange's set-up
(deploy/upstream_hub.py).

Each hostile case is a download, exchange or zip built here, run through the real command
(`grading.__main__.main`, the function `python -m grading collect` runs), with its exact
per-student outcome and proof that nothing outside the submission was read. Cases that need
files owned by other accounts chown them to unused uids and run only as root (CI is root).
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import stat
import struct
import subprocess
import sys
import zipfile
from datetime import datetime
from pathlib import Path

import pytest

from grading import collect, course_root
from grading.__main__ import main

HERE = Path(__file__).parent
_spec = importlib.util.spec_from_file_location("grading_fixture",
                                               HERE / "fixtures" / "grading" / "exercise.py")
fx = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(fx)
sys.path.insert(0, str(HERE.parent / "deploy"))
import upstream_hub as hub  # noqa: E402 (deploy/ is not a package)

A, NB = fx.ASSIGNMENT, fx.NOTEBOOK
AMINA, MALLORY, BO = 20001, 20002, 20003  # uids no account on the machine uses
root_only = pytest.mark.skipif(os.geteuid() != 0, reason="needs root to chown files to other "
                                                         "uids (CI runs as root)")


@pytest.fixture
def course(tmp_path):
    return course_root.init(tmp_path / "course", source=fx.write_source(tmp_path / "src"))


def _nb(tag: str = "") -> str:
    """A submission notebook; ``tag`` makes each student's content recognisable."""
    from nbgrader.preprocessors import ClearHiddenTests, ClearSolutions, LockCells

    nb = fx.source_notebook()
    for pp in (LockCells(), ClearSolutions(), ClearHiddenTests()):
        nb, _ = pp.preprocess(nb, {})
    return fx.dumps(fx.answered(nb, fx.GOOD, written=f"Answer of {tag}."))


def _run(course, source, capsys, *extra) -> tuple[int, list[str], str]:
    code = main(["collect", A, "--course-dir", str(course), "--from", str(source), *extra])
    out = capsys.readouterr()
    # the CLI ends with the next step ("next: python -m grading autograde …"): not an outcome
    lines = [line for line in out.out.splitlines() if not line.startswith("next: ")]
    return code, lines, out.err


def _line(lines: list[str], student: str) -> str:
    found = [x.strip() for x in lines if x.strip().startswith(f"{student}: ")]
    assert len(found) == 1, lines
    return found[0]


def _submitted(course, student: str) -> Path:
    return course / "submitted" / student / A


def _all_files(folder: Path) -> list[Path]:
    return [p for p in folder.rglob("*") if p.is_file() or p.is_symlink()]


# ---- the plain cases ----------------------------------------------------------------------------

def test_collect_from_a_folder_of_student_folders(course, tmp_path, capsys):
    src = tmp_path / "dl"
    (src / "amina" / A).mkdir(parents=True)
    (src / "amina" / A / NB).write_text(_nb("amina"))
    (src / "amina" / A / "timestamp.txt").write_text("2024-01-02 10:00:00.000000 UTC")
    (src / "amina" / A / ".env-notes").write_text("a hidden file of hers, kept")
    (src / "bo").mkdir()
    (src / "bo" / NB).write_text(_nb("bo"))
    (src / "empty-one").mkdir()
    code, lines, _ = _run(course, src, capsys)
    assert code == 0
    assert lines[0] == f"collected 2 of 3 student(s) from a folder into {course / 'submitted'}"
    assert _line(lines, "amina") == (f"amina: collected ({NB} and 1 other file(s)), submitted "
                                     "2024-01-02 10:00:00.000000 UTC")
    assert _line(lines, "bo") == f"bo: collected ({NB})"
    assert _line(lines, "empty-one") == ("empty-one: nothing collected: no notebook in the "
                                         "submission")
    assert (_submitted(course, "amina") / ".env-notes").is_file()
    assert (_submitted(course, "amina") / "timestamp.txt").read_text().startswith("2024-01-02")
    # a folder without nbgrader's timestamp.txt has no submission time: none is invented
    assert not (_submitted(course, "bo") / "timestamp.txt").exists()
    assert not (course / "submitted" / "empty-one").exists()


def test_collect_from_an_nbgrader_exchange_takes_the_latest(course, tmp_path):
    inbound = tmp_path / "exchange" / "upstream" / "inbound"
    for stamp, body in (("2024-01-01 10:00:00.000000 UTC", "old"),
                        ("2024-01-02 10:00:00.000000 UTC", "new")):
        d = inbound / f"amina+{A}+{stamp}+abc"
        d.mkdir(parents=True)
        (d / NB).write_text(body)
        (d / "timestamp.txt").write_text(stamp)
    (inbound / "bo+other_assignment+2024-01-01 10:00:00 UTC").mkdir()
    rep = collect.collect(course, A, tmp_path / "exchange", accounts={"amina": os.geteuid()})
    assert rep.source_kind == "exchange" and list(rep.collected) == ["amina"]
    dest = _submitted(course, "amina")
    assert (dest / NB).read_text() == "new"
    assert (dest / "timestamp.txt").read_text().startswith("2024-01-02")


def test_collect_from_a_canvas_zip(course, tmp_path):
    z = tmp_path / "submissions.zip"
    with zipfile.ZipFile(z, "w") as zf:
        zf.writestr(f"aminak_12345_67890_{A}.ipynb", _nb())
        zf.writestr(f"bobo_late_222_333_{A}-1.ipynb", _nb())
        zf.writestr("README", "not a submission")
    rep = collect.collect(course, A, z)
    assert rep.source_kind == "zip"
    assert sorted(rep.collected) == ["aminak_12345", "bobo_222"]
    assert (_submitted(course, "bobo_222") / NB).is_file()
    assert any("README" in s for s in rep.skipped)


def test_collect_rejects_a_plain_file_and_a_missing_path(course, tmp_path):
    (tmp_path / "x.txt").write_text("hi")
    with pytest.raises(course_root.CourseError, match="not a zip"):
        collect.collect(course, A, tmp_path / "x.txt")
    with pytest.raises(course_root.CourseError, match="does not exist"):
        collect.collect(course, A, tmp_path / "nope")
    with pytest.raises(course_root.CourseError, match="no assignment 'ex99'"):
        collect.collect(course, "ex99", tmp_path)


@pytest.mark.parametrize("raw, expected", [
    ("amina", "amina"), ("Jane Doe", "Jane-Doe"), ("a.b@uni.edu", "a.b@uni.edu"),
    ("../etc", "etc"), ("..", None), ("", None), ("José", "José"), ("Josè", "Josè"),
    ("Jose\u0301", "José"), ("a+b*c", "a-b-c"), ("Łucja Żak", "Łucja-Żak")])
def test_student_ids_are_made_safe(raw, expected):
    assert collect.student_id(raw) == expected


# ---- issue 14: never merge two students ---------------------------------------------------------

def test_moodle_folders_of_two_people_with_one_name_stay_two(course, tmp_path, capsys):
    z = tmp_path / "moodle.zip"
    with zipfile.ZipFile(z, "w") as zf:
        for uid in ("111", "222"):
            folder = f"John Smith_{uid}_assignsubmission"
            zf.writestr(zipfile.ZipInfo(f"{folder}_file_/{A}.ipynb", WHEN), _nb(uid))
            zf.writestr(zipfile.ZipInfo(f"{folder}_onlinetext_/onlinetext.html", WHEN), uid)
    code, lines, _ = _run(course, z, capsys)
    assert code == 0
    for uid in ("111", "222"):
        assert _line(lines, f"John-Smith_{uid}") == (
            f"John-Smith_{uid}: collected ({NB} and 1 other file(s)), submitted 2026-03-01 "
            "09:00:00.000000 UTC")
    for uid in ("111", "222"):
        dest = _submitted(course, f"John-Smith_{uid}")
        assert f"Answer of {uid}." in (dest / NB).read_text()
        assert (dest / "onlinetext.html").read_text() == uid  # both folders of one person


def test_canvas_files_of_two_people_with_one_name_stay_two(course, tmp_path, capsys):
    z = tmp_path / "canvas.zip"
    with zipfile.ZipFile(z, "w") as zf:
        zf.writestr(f"smithjohn_111_9001_{A}.ipynb", _nb("111"))
        zf.writestr(f"smithjohn_222_9002_{A}.ipynb", _nb("222"))
    code, lines, _ = _run(course, z, capsys)
    assert code == 0 and lines[0].startswith("collected 2 of 2 student(s) from a zip")
    for uid in ("111", "222"):
        assert f"Answer of {uid}." in (_submitted(course, f"smithjohn_{uid}") / NB).read_text()


def test_accented_names_stay_apart(course, tmp_path, capsys):
    z = tmp_path / "moodle.zip"
    with zipfile.ZipFile(z, "w") as zf:
        zf.writestr(f"José_31_assignsubmission_file_/{A}.ipynb", _nb("acute"))
        zf.writestr(f"Josè_32_assignsubmission_file_/{A}.ipynb", _nb("grave"))
    _run(course, z, capsys)
    assert "Answer of acute." in (_submitted(course, "José_31") / NB).read_text()
    assert "Answer of grave." in (_submitted(course, "Josè_32") / NB).read_text()

    # plain folders without LMS ids: the names themselves stay apart
    src = tmp_path / "plain"
    for name, tag in (("José", "acute"), ("Josè", "grave")):
        fx.save_raw(_nb(tag), src / name)
    code, lines, _ = _run(course, src, capsys)
    assert code == 0
    assert "Answer of grave." in (_submitted(course, "Josè") / NB).read_text()
    assert "Answer of acute." in (_submitted(course, "José") / NB).read_text()


def test_two_names_that_give_one_id_are_refused_not_merged(course, tmp_path, capsys):
    src = tmp_path / "plain"
    for name in ("John Smith", "John-Smith", "Jose\u0301", "Jos\u00e9", "amina"):
        fx.save_raw(_nb(name), src / name)
    code, lines, _ = _run(course, src, capsys)
    assert code == 0  # amina's submission is usable
    assert _line(lines, "John-Smith") == (
        "John-Smith: refused: 'John Smith' and 'John-Smith' are different people in the "
        "download but both give the student id 'John-Smith'; rename one and collect again")
    assert _line(lines, "José").startswith(
        "José: refused: 'Jose\\u0301' and 'Jos\\xe9' are different people in the download")
    assert not (course / "submitted" / "John-Smith").exists()
    assert not (course / "submitted" / "José").exists()
    assert "Answer of amina." in (_submitted(course, "amina") / NB).read_text()


# ---- issue 14: late submissions get nbgrader's timestamp -----------------------------------------

def _gradebook(course, duedate=None):
    from nbgrader.api import Gradebook

    gb = Gradebook(f"sqlite:///{course / 'gradebook.db'}", course_id="upstream")
    if duedate is not None:
        gb.add_assignment(A, duedate=duedate)
    return gb


def _seconds_late(course, student: str) -> float:
    """What nbgrader's autograde records, from the collected timestamp.txt."""
    from nbgrader.utils import parse_utc

    stamp = parse_utc((_submitted(course, student) / "timestamp.txt").read_text())
    with _gradebook(course) as gb:
        gb.update_or_create_student(student)
        return gb.update_or_create_submission(A, student, timestamp=stamp).total_seconds_late


def _canvas_zip(path: Path, when: tuple) -> Path:
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr(zipfile.ZipInfo(f"ontime_101_1_{A}.ipynb", (2026, 3, 1, 9, 0, 0)), _nb())
        zf.writestr(zipfile.ZipInfo(f"tardy_late_102_2_{A}.ipynb", when), _nb())
        zf.writestr(zipfile.ZipInfo("tardy_late_102_2_timestamp.txt", (2026, 3, 1, 9, 0, 0)),
                    "2020-01-01 00:00:00.000000 UTC")  # the student's claim: not believed
    return path


@pytest.mark.slow  # runs nbgrader's own commands: 7-13 s measured
def test_canvas_late_marker_becomes_a_timestamp_after_the_due_date(course, tmp_path, capsys):
    _gradebook(course, datetime(2026, 3, 2, 12, 0, 0)).close()
    z = _canvas_zip(tmp_path / "canvas.zip", (2026, 3, 3, 8, 30, 0))
    code, lines, _ = _run(course, z, capsys)
    assert code == 0
    assert _line(lines, "ontime_101") == (f"ontime_101: collected ({NB}), submitted "
                                          "2026-03-01 09:00:00.000000 UTC")
    assert _line(lines, "tardy_102") == (
        f"tardy_102: collected ({NB}), submitted 2026-03-03 08:30:00.000000 UTC; dropped: "
        f"tardy_late_102_2_timestamp.txt (the submission time comes from the LMS, not from the "
        "student's files); late (Canvas marks it late)")
    assert _seconds_late(course, "tardy_102") == 20.5 * 3600
    assert _seconds_late(course, "ontime_101") == 0


@pytest.mark.slow  # runs nbgrader's own commands: 7-13 s measured
def test_canvas_late_marker_without_a_usable_file_time(course, tmp_path, capsys):
    _gradebook(course, datetime(2026, 3, 2, 12, 0, 0)).close()
    z = _canvas_zip(tmp_path / "canvas.zip", (1980, 1, 1, 0, 0, 0))  # the zip format's "none"
    _, lines, _ = _run(course, z, capsys)
    assert _line(lines, "tardy_102").endswith(
        "late (Canvas marks it late; its file time, unknown, is not after the due date, so it "
        "is recorded as 1 s after the due date)")
    assert (_submitted(course, "tardy_102") / "timestamp.txt").read_text() == \
        "2026-03-02 12:00:01.000000 UTC"
    assert _seconds_late(course, "tardy_102") == 1


def test_canvas_late_marker_without_a_due_date_says_so(course, tmp_path, capsys):
    z = _canvas_zip(tmp_path / "canvas.zip", (2026, 3, 3, 8, 30, 0))
    _, lines, _ = _run(course, z, capsys)
    assert _line(lines, "tardy_102").endswith(
        "late (Canvas marks it late), but the gradebook has no due date for this assignment, "
        "so no late penalty applies: set one (nbgrader db assignment add ASSIGNMENT "
        "--duedate='YYYY-MM-DD HH:MM:SS UTC') and collect again")


# ---- issue 14: broken zips ----------------------------------------------------------------------

def _lying_zip(path: Path) -> Path:
    """A member of 5 MB whose headers claim 1 kB (to pass size checks), as crafted bombs do."""
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr(f"amina_1_2_{A}.ipynb", b"0" * 5_000_000)
    data = bytearray(path.read_bytes())
    local = data.index(b"PK\x03\x04")
    central = data.index(b"PK\x01\x02")
    struct.pack_into("<I", data, local + 22, 1000)
    struct.pack_into("<I", data, central + 24, 1000)
    path.write_bytes(bytes(data))
    return path


WHEN = (2026, 3, 1, 9, 0, 0)


def _zip_with(path: Path, *members) -> Path:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        for info, data in members:
            zf.writestr(info, data)
    return path


def _symlink_member(name: str, target: str) -> zipfile.ZipInfo:
    info = zipfile.ZipInfo(name)
    info.external_attr = (stat.S_IFLNK | 0o777) << 16
    info.create_system = 3
    return info


BROKEN_ZIPS = {
    "lying-sizes": (lambda p: _lying_zip(p),
                    "lying-sizes.zip: the archive is damaged or not a zip (Bad CRC-32 for file "
                    f"'amina_1_2_{A}.ipynb'); nothing was collected from it"),
    "bomb-ratio": (lambda p: _zip_with(p, (f"amina_1_2_{A}.ipynb", b"\0" * 50_000_000)),
                   f"bomb-ratio.zip: entry 'amina_1_2_{A}.ipynb' would unpack to 50 MB from 49 kB "
                   "(a zip bomb); nothing was collected from it"),
    "absolute": (lambda p: _zip_with(p, (zipfile.ZipInfo("/etc/cron.d/x"), "x")),
                 "absolute.zip: entry '/etc/cron.d/x' has an absolute path; nothing was "
                 "collected from it"),
    "dotdot": (lambda p: _zip_with(p, ("amina/../../escaped.ipynb", "{}")),
               "dotdot.zip: entry 'amina/../../escaped.ipynb' climbs out of its folder with "
               "'..'; nothing was collected from it"),
    "symlink": (lambda p: _zip_with(p, (_symlink_member("bob/etc", "/etc"), "/etc"),
                                    (f"bob/{A}.ipynb", "{}")),
                "symlink.zip: entry 'bob/etc' is a symbolic link (LMS downloads hold none); "
                "nothing was collected from it"),
    "truncated": (lambda p: p.write_bytes(_zip_with(p, (f"a_1_2_{A}.ipynb", _nb())).read_bytes()
                                          [:-30]) and p,
                  "{path} is a file but not a zip archive (or a damaged one: download it "
                  "again); give a folder, an nbgrader exchange, or an LMS zip"),
}


@pytest.mark.parametrize("case", sorted(BROKEN_ZIPS))
def test_broken_zips_stop_with_one_line(course, tmp_path, capsys, case):
    make, message = BROKEN_ZIPS[case]
    z = tmp_path / f"{case}.zip"
    make(z)
    code, lines, err = _run(course, z, capsys)
    assert (code, lines) == (2, [])
    assert err == f"error: {message.format(path=z)}\n"
    assert not (course / "submitted").exists()
    assert not (tmp_path / "escaped.ipynb").exists()


def test_a_zip_over_the_total_size_limit(course, tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(collect, "MAX_UNZIP", 1000)
    z = _zip_with(tmp_path / "big.zip", (f"a_1_2_{A}.ipynb", "x" * 600),
                  (f"b_3_4_{A}.ipynb", "y" * 600))
    code, _, err = _run(course, z, capsys)
    assert code == 2
    assert err == ("error: big.zip: it would unpack to 0.0 GB (limit 0.0 GB); nothing was "
                   "collected from it\n")


def test_hidden_and_macos_files_are_reported_not_dropped_silently(course, tmp_path, capsys):
    z = _zip_with(tmp_path / "dl.zip", (zipfile.ZipInfo(f"amina_1_2_{A}.ipynb", WHEN), _nb()),
                  (".smithj_3_4_ex.ipynb", "{}"), ("__MACOSX/._amina_1_2_x.ipynb", "x"),
                  (".DS_Store", "x"))
    code, lines, _ = _run(course, z, capsys)
    assert code == 0
    assert lines[1:] == [
        f"  amina_1: collected ({NB}), submitted 2026-03-01 09:00:00.000000 UTC",
        "  skipped .DS_Store: macOS metadata, not a submission",
        "  skipped .smithj_3_4_ex.ipynb: a hidden file (its name starts with '.'), not taken; "
        "rename it if it is someone's submission",
        "  skipped __MACOSX: macOS metadata, not a submission"]


# ---- issue 15: nothing follows a link ----------------------------------------------------------

def _hostile_download(course: Path, tmp_path: Path) -> Path:
    """An LMS download unpacked with `unzip`, as trainees could shape it, beside honest work."""
    dl = tmp_path / "unzipped"
    moodle = dl / "Bob Jones_333_assignsubmission_file_"
    fx.save_raw(_nb("bob"), moodle)
    os.utime(moodle / NB, (1772355600, 1772355600))              # 2026-03-01 09:00 UTC
    (moodle / "etc").symlink_to("/etc")                       # unzip made the zip's symlink
    (dl / "carol").symlink_to("/etc")                          # a whole student folder
    (dl / "dave").mkdir()
    (dl / "dave" / NB).symlink_to(course / "source" / A / NB)  # the model solution
    fx.save_raw(_nb("erin"), dl / "erin")
    (dl / "erin" / "gradebook.db").symlink_to(course / "gradebook.db")
    os.mkfifo(dl / "erin" / "pipe")                            # would hang a plain open()
    (tmp_path / "outside.txt").write_text("instructor's notes")
    os.link(tmp_path / "outside.txt", dl / "erin" / "notes.txt")
    (dl / f"frank_7_8_{A}.ipynb").symlink_to("/etc/shadow")     # a flat Canvas-style file
    fx.save_raw(_nb("gina"), dl / "gina")                       # honest
    (dl / "gina" / "data" / "raw").mkdir(parents=True)
    (dl / "gina" / "data" / "raw" / "counts.csv").write_text("1,2\n")
    (dl / "gina" / "data" / "raw" / "keys").symlink_to(Path.home())
    return dl


def test_links_are_dropped_and_reported_never_followed(course, tmp_path, capsys):
    (course / "gradebook.db").write_text("the gradebook")
    fx.save_raw(_nb("zed"), _submitted(course, "zed"))  # collected earlier, not in this download
    before = (_submitted(course, "zed") / NB).read_bytes()
    dl = _hostile_download(course, tmp_path)
    code, lines, _ = _run(course, dl, capsys)
    assert code == 0
    src_nb = course / "source" / A / NB
    assert lines[1:] == [
        f"  Bob-Jones_333: collected ({NB}), submitted 2026-03-01 09:00:00.000000 UTC; "
        "links dropped: etc -> /etc",
        "  carol: nothing collected: no notebook in the submission; links dropped: carol -> /etc",
        f"  dave: nothing collected: no notebook in the submission; links dropped: {NB} -> "
        f"{src_nb}",
        f"  erin: collected ({NB}); links dropped: gradebook.db -> {course / 'gradebook.db'}; "
        "dropped: notes.txt (a hard link: the same file is also elsewhere on disk), pipe (a "
        "named pipe)",
        f"  frank_7: nothing collected: no notebook in the submission; links dropped: "
        f"frank_7_8_{A}.ipynb -> /etc/shadow",
        f"  gina: collected ({NB} and 1 other file(s)); links dropped: data/raw/keys -> "
        f"{Path.home()}"]
    assert (_submitted(course, "zed") / NB).read_bytes() == before
    taken = [p for p in _all_files(course / "submitted") if "zed" not in p.parts]
    assert sorted(p.relative_to(course / "submitted").as_posix() for p in taken) == [
        f"Bob-Jones_333/{A}/{NB}", f"Bob-Jones_333/{A}/timestamp.txt", f"erin/{A}/{NB}",
        f"gina/{A}/data/raw/counts.csv", f"gina/{A}/{NB}"]
    assert all(not p.is_symlink() for p in taken)
    assert "Answer of gina." in (_submitted(course, "gina") / NB).read_text()


@pytest.mark.slow  # runs nbgrader's own commands: 7-13 s measured
def test_the_real_command_on_the_hostile_download(course, tmp_path):
    """`python -m grading collect` itself, in a fresh process: exit 0, no traceback."""
    dl = _hostile_download(course, tmp_path)
    done = subprocess.run([sys.executable, "-m", "grading", "collect", A, "--course-dir",
                           str(course), "--from", str(dl)], capture_output=True, text=True,
                          timeout=120, cwd=HERE.parent)
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr
    assert "  carol: nothing collected: no notebook in the submission; links dropped: " \
           "carol -> /etc" in done.stdout.splitlines()
    assert not any(p.name in ("shadow", "passwd") for p in _all_files(course / "submitted"))


def test_nothing_usable_exits_1(course, tmp_path, capsys):
    dl = tmp_path / "dl"
    dl.mkdir()
    (dl / "carol").symlink_to("/etc")
    code, lines, _ = _run(course, dl, capsys)
    assert code == 1
    assert lines[0] == f"collected 0 of 1 student(s) from a folder into {course / 'submitted'}"


def test_a_refused_student_keeps_the_earlier_submission(course, tmp_path, capsys):
    dl = tmp_path / "first"
    fx.save_raw(_nb("genuine"), dl / "dave")
    _run(course, dl, capsys)
    dl2 = tmp_path / "second"
    (dl2 / "dave").mkdir(parents=True)
    (dl2 / "dave" / NB).symlink_to(course / "source" / A / NB)
    code, lines, _ = _run(course, dl2, capsys)
    assert code == 1
    assert _line(lines, "dave") == (
        f"dave: nothing collected: no notebook in the submission; links dropped: {NB} -> "
        f"{course / 'source' / A / NB}; the submission collected earlier stays in submitted/")
    assert "Answer of genuine." in (_submitted(course, "dave") / NB).read_text()


def test_moodle_ids_can_be_mapped_to_stable_ones(course, tmp_path, capsys):
    """Moodle's number is a participant id per assignment; the course may map it to one id."""
    with (course / "nbgrader_config.py").open("a") as f:
        f.write("c.UpstreamCollect.students = {'John-Smith_111': 'jsmith'}\n")
    z = _zip_with(tmp_path / "moodle.zip",
                  (zipfile.ZipInfo(f"John Smith_111_assignsubmission_file_/{NB}", WHEN), _nb("j")),
                  (zipfile.ZipInfo(f"John Smith_222_assignsubmission_file_/{NB}", WHEN), _nb("k")))
    _, lines, _ = _run(course, z, capsys)
    assert _line(lines, "jsmith").startswith(f"jsmith: collected ({NB})")
    assert "Answer of j." in (_submitted(course, "jsmith") / NB).read_text()
    assert "Answer of k." in (_submitted(course, "John-Smith_222") / NB).read_text()
    with (course / "nbgrader_config.py").open("a") as f:
        f.write("c.UpstreamCollect.students = {'John-Smith_111': 'j smith+'}\n")
    code, _, err = _run(course, z, capsys)
    assert code == 2 and "maps to unusable student ids ['j smith+']" in err


# ---- issue 15: the exchange knows who submitted ------------------------------------------------

def _entry(inbound: Path, student: str, stamp: str, tag: str, owner: int | None = None) -> Path:
    d = inbound / f"{student}+{A}+{stamp}+r{tag}"
    fx.save_raw(_nb(tag), d)
    (d / "timestamp.txt").write_text(stamp)
    if owner is not None:
        for p in (d, *d.iterdir()):
            os.chown(p, owner, -1, follow_symlinks=False)
    return d


def _accounts(course: Path, mapping: dict) -> None:
    with (course / "nbgrader_config.py").open("a") as f:
        f.write(f"c.UpstreamCollect.accounts = {mapping!r}\n")


@root_only
def test_impersonation_through_the_exchange_is_refused(course, tmp_path, capsys):
    exchange = tmp_path / "exchange"
    inbound = exchange / "upstream" / "inbound"
    inbound.mkdir(parents=True)
    _accounts(course, {"amina": AMINA, "mallory": MALLORY, "bo": BO})
    _entry(inbound, "amina", "2026-03-01 10:00:00.000000 UTC", "amina", AMINA)
    forged = _entry(inbound, "amina", "2026-03-01 11:00:00.000000 UTC", "mallory", MALLORY)
    _entry(inbound, "bo", "2026-03-01 09:00:00.000000 UTC", "mallory-as-bo", MALLORY)
    _entry(inbound, "mallory", "2026-03-01 09:30:00.000000 UTC", "mallory", MALLORY)
    code, lines, _ = _run(course, exchange, capsys)
    assert code == 0
    assert lines[0] == (f"collected 2 of 3 student(s) from an nbgrader exchange into "
                        f"{course / 'submitted'}")
    assert _line(lines, "amina") == (
        f"amina: collected ({NB}), submitted 2026-03-01 10:00:00.000000 UTC; "
        f"refused: {forged.name}: impersonation by uid {MALLORY} (mallory)")
    assert _line(lines, "bo") == (
        f"bo: refused: bo+{A}+2026-03-01 09:00:00.000000 UTC+rmallory-as-bo: impersonation by "
        f"uid {MALLORY} (mallory); no genuine submission of this student is left")
    assert _line(lines, "mallory") == (
        f"mallory: collected ({NB}), submitted 2026-03-01 09:30:00.000000 UTC; its account made "
        "submissions in the name of amina, bo (refused)")
    # amina's own work is what will be graded
    assert "Answer of amina." in (_submitted(course, "amina") / NB).read_text()
    assert not (course / "submitted" / "bo").exists()


@root_only
def test_a_foreign_file_inside_a_submission_refuses_it(course, tmp_path, capsys):
    inbound = tmp_path / "exchange" / "upstream" / "inbound"
    inbound.mkdir(parents=True)
    _accounts(course, {"amina": AMINA, "mallory": MALLORY})
    _entry(inbound, "amina", "2026-03-01 10:00:00.000000 UTC", "amina", AMINA)
    later = _entry(inbound, "amina", "2026-03-01 12:00:00.000000 UTC", "amina-later", AMINA)
    os.chown(later / NB, MALLORY, -1)   # someone else replaced her notebook in it
    _, lines, _ = _run(course, inbound, capsys)
    assert _line(lines, "amina").endswith(
        f"refused: {later.name}: impersonation by uid {MALLORY} (mallory) (owns {NB})")
    assert "Answer of amina." in (_submitted(course, "amina") / NB).read_text()


def test_impersonation_with_the_owner_hook(course, tmp_path):
    """The same check where tests cannot chown (one user): owners set through the hook."""
    inbound = tmp_path / "exchange" / "upstream" / "inbound"
    inbound.mkdir(parents=True)
    _entry(inbound, "amina", "2026-03-01 10:00:00.000000 UTC", "amina")
    forged = _entry(inbound, "amina", "2026-03-01 11:00:00.000000 UTC", "mallory")
    forged_inodes = {p.stat().st_ino for p in (forged, *forged.iterdir())}
    rep = collect.collect(course, A, inbound, accounts={"amina": AMINA, "mallory": MALLORY},
                          owner_of=lambda st: MALLORY if st.st_ino in forged_inodes else AMINA)
    out = rep.students["amina"]
    assert out.status == "collected" and out.source.endswith("+ramina")
    assert out.refused == [
        f"{forged.name}: impersonation by uid {MALLORY} (mallory)"]


def test_exchange_links_and_unknown_accounts(course, tmp_path, capsys):
    inbound = tmp_path / "exchange" / "upstream" / "inbound"
    inbound.mkdir(parents=True)
    me = os.geteuid()
    (inbound / f"amina+{A}+2026-03-01 10:00:00.000000 UTC+x").symlink_to(tmp_path)
    _entry(inbound, "nobody-here", "2026-03-01 10:00:00.000000 UTC", "x")
    code, lines, _ = _run(course, inbound, capsys)
    assert code == 1
    assert _line(lines, "nobody-here") == (
        "nobody-here: refused: no unix account 'nobody-here' on this machine, so who made the "
        "submission cannot be checked; map ids to accounts with c.UpstreamCollect.accounts in "
        "nbgrader_config.py (or set c.ExchangeCollect.check_owner = False)")
    _accounts(course, {"amina": me})
    _, lines, _ = _run(course, inbound, capsys)
    assert _line(lines, "amina") == (
        f"amina: refused: amina+{A}+2026-03-01 10:00:00.000000 UTC+x: not taken: "
        f"amina+{A}+2026-03-01 10:00:00.000000 UTC+x -> {tmp_path}; no genuine submission of "
        "this student is left")
    assert not (course / "submitted" / "amina").exists()


def test_an_exchange_folder_that_is_a_link_is_refused(course, tmp_path, capsys):
    elsewhere = tmp_path / "trainee-home" / "inbound"
    _entry(elsewhere, "amina", "2026-03-01 10:00:00.000000 UTC", "x")
    (tmp_path / "exchange" / "upstream").mkdir(parents=True)
    (tmp_path / "exchange" / "upstream" / "inbound").symlink_to(elsewhere)
    code, lines, err = _run(course, tmp_path / "exchange", capsys)
    assert (code, lines) == (2, [])
    assert err == (f"error: {tmp_path / 'exchange' / 'upstream' / 'inbound'} is a link, not the "
                   "exchange's own folder: someone may have replaced it; check the exchange "
                   "(deploy/README.md) before collecting\n")


@root_only
def test_an_inbound_folder_owned_by_a_trainee_is_warned_about(course, tmp_path, capsys):
    inbound = tmp_path / "exchange" / "upstream" / "inbound"
    inbound.mkdir(parents=True)
    os.chown(inbound, MALLORY, -1)
    _accounts(course, {"amina": AMINA, "mallory": MALLORY})
    _entry(inbound, "amina", "2026-03-01 10:00:00.000000 UTC", "amina", AMINA)
    _, lines, _ = _run(course, inbound, capsys)
    assert lines[-1] == (
        f"  warning: {inbound} belongs to uid {MALLORY} (mallory), not to you: whoever owns it "
        "can remove or rename submissions; give it to the grader account (chown) or re-create "
        "it (deploy/README.md)")
    assert _line(lines, "amina").startswith(f"amina: collected ({NB})")


def test_check_owner_off_takes_the_latest_as_nbgrader_does(course, tmp_path):
    inbound = tmp_path / "exchange" / "upstream" / "inbound"
    inbound.mkdir(parents=True)
    _entry(inbound, "amina", "2026-03-01 10:00:00.000000 UTC", "old")
    _entry(inbound, "amina", "2026-03-01 11:00:00.000000 UTC", "new")
    with (course / "nbgrader_config.py").open("a") as f:
        f.write("c.ExchangeCollect.check_owner = False\n")
    rep = collect.collect(course, A, inbound)
    assert rep.students["amina"].timestamp == "2026-03-01 11:00:00.000000 UTC"
    assert "Answer of new." in (_submitted(course, "amina") / NB).read_text()


# ---- issue 15: the exchange's course folders are made at set-up --------------------------------

def test_exchange_course_folders_are_made_with_nbgrader_modes(tmp_path):
    ex = hub.ensure_exchange(tmp_path / "exchange", "upstream")
    modes = {p: stat.S_IMODE((ex / p).stat().st_mode)
             for p in ("", "upstream", "upstream/outbound", "upstream/inbound")}
    assert modes == {"": 0o1777, "upstream": 0o755, "upstream/outbound": 0o755,
                     "upstream/inbound": 0o2733}
    assert all((ex / p).stat().st_uid == os.geteuid() for p in modes)
    hub.ensure_exchange(tmp_path / "exchange", "upstream")  # again: nothing to change


@root_only
def test_a_trainee_who_made_the_course_folder_first_is_reported(tmp_path):
    ex = tmp_path / "exchange"
    (ex / "upstream").mkdir(parents=True)
    os.chown(ex / "upstream", MALLORY, MALLORY)
    with pytest.raises(hub.ExchangeError) as err:
        hub.ensure_exchange(ex, "upstream")
    assert str(err.value) == (
        f"{ex / 'upstream'} belongs to uid {MALLORY}, not to the hub's own account, who "
        "releases and collects the course: whoever owns it can block releases (nbgrader: "
        "\"You don't own the directory\") and remove submissions. A trainee who created it "
        f"before the first release does exactly that. Look at what is in it, then either remove "
        f"it (sudo rm -r {ex / 'upstream'}) or give it to the grader (sudo chown -R 0:0 "
        f"{ex / 'upstream'}), and start the hub again")
    (ex / "upstream").rmdir()
    (ex / "upstream").symlink_to(tmp_path)
    with pytest.raises(hub.ExchangeError, match="is a link, made by"):
        hub.ensure_exchange(ex, "upstream")


@pytest.mark.slow  # runs nbgrader's own commands: 7-13 s measured
@root_only
@pytest.mark.skipif(shutil.which("setpriv") is None, reason="needs setpriv (util-linux) to act "
                                                            "as a trainee's uid")
def test_release_works_after_set_up_even_if_a_trainee_tried_first(course, tmp_path):
    """Set-up makes the folders before any trainee can; nbgrader's release then succeeds."""
    from nbgrader.apps import NbGraderAPI

    from grading import release

    assert release.release(course, A, validate=False).ok
    ex = hub.ensure_exchange(tmp_path / "exchange", "upstream")
    # a trainee now tries to take the course folder: the sticky, root-owned exchange says no
    trainee = subprocess.run(["setpriv", f"--reuid={MALLORY}", f"--regid={MALLORY}",
                              "--clear-groups", "mkdir", str(ex / "upstream" / "outbound" / A)],
                             capture_output=True, text=True)
    assert trainee.returncode != 0
    config = course_root.load_config(course)
    config.Exchange.root = str(ex)
    api = NbGraderAPI(coursedir=course_root.coursedir(course, config), config=config)
    result = api.release_assignment(A)
    assert result["success"], result
    assert (ex / "upstream" / "outbound" / A / NB).is_file()


# ---- issue 15: nbgrader's own submit and collect on the hub (grading/exchange.py) -------------

def _exchange_app(cls, course: Path, ex: Path, home: Path, **traits):
    from nbgrader.auth import Authenticator
    from nbgrader.coursedir import CourseDirectory

    config = course_root.load_config(course)
    config.Exchange.root = str(ex)
    config.Exchange.assignment_dir = str(home)
    config.Exchange.cache = str(home / ".cache")
    config.CourseDirectory.assignment_id = A
    app = cls(coursedir=CourseDirectory(config=config), authenticator=Authenticator(config=config),
              config=config, **traits)
    return app


def _released_exchange(course: Path, tmp_path: Path) -> Path:
    from nbgrader.exchange.default import ExchangeReleaseAssignment

    from grading import release

    assert release.release(course, A, validate=False).ok
    ex = hub.ensure_exchange(tmp_path / "exchange", "upstream")
    _exchange_app(ExchangeReleaseAssignment, course, ex, tmp_path).start()
    return ex


def test_hub_config_selects_the_link_safe_exchange(monkeypatch):
    from nbgrader.exchange import ExchangeFactory
    from traitlets.config.loader import PyFileConfigLoader

    from grading import exchange

    monkeypatch.delenv("UPSTREAM_NGSHARE_URL", raising=False)
    common = HERE.parent / "deploy" / "jupyter" / "common"
    config = PyFileConfigLoader("nbgrader_config.py", path=str(common)).load_config()
    factory = ExchangeFactory(config=config)
    assert (factory.submit, factory.collect) == (exchange.ExchangeSubmit, exchange.ExchangeCollect)


@pytest.mark.slow  # runs nbgrader's own commands: 7-13 s measured
def test_submit_never_follows_a_link(course, tmp_path, caplog):
    from grading.exchange import ExchangeSubmit

    ex = _released_exchange(course, tmp_path)
    home = tmp_path / "home"
    fx.save_raw(_nb("trainee"), home / A)
    (home / A / "gradebook.db").symlink_to(course / "gradebook.db")  # the real, created one
    (home / A / "usr").symlink_to("/usr")
    caplog.set_level("WARNING")
    _exchange_app(ExchangeSubmit, course, ex, home).start()
    [entry] = (ex / "upstream" / "inbound").iterdir()
    assert sorted(p.name for p in entry.iterdir()) == [NB, "submission_secret.txt",
                                                       "timestamp.txt"]
    assert f"Not copied (a link, never followed): gradebook.db -> {course / 'gradebook.db'}" \
        in caplog.messages
    assert "Not copied (a link, never followed): usr -> /usr" in caplog.messages


@pytest.mark.slow  # runs nbgrader's own commands: 7-13 s measured
@root_only
def test_formgrader_collect_refuses_impersonation_and_links(course, tmp_path, caplog):
    from grading.exchange import ExchangeCollect, ExchangeSubmit

    ex = _released_exchange(course, tmp_path)
    home = tmp_path / "home"
    fx.save_raw(_nb("genuine"), home / A)
    _exchange_app(ExchangeSubmit, course, ex, home).start()   # as this (root) account
    inbound = ex / "upstream" / "inbound"
    forged = _entry(inbound, "root", "2099-01-01 10:00:00.000000 UTC", "forged", MALLORY)
    planted = inbound / f"root+{A}+2098-01-01 10:00:00.000000 UTC+link"
    planted.symlink_to(course / "source" / A)
    caplog.set_level("WARNING")
    _exchange_app(ExchangeCollect, course, ex, home, update=True).start()
    assert "Answer of genuine." in (_submitted(course, "root") / NB).read_text()
    assert (f"Refused {forged}: impersonation by uid {MALLORY} (owns {forged}); it claims to be "
            "by root") in caplog.messages
    assert f"Refused {planted}: not a folder (a link?)" in caplog.messages


def test_collect_follows_the_course_folder_names(course, tmp_path, capsys):
    """A course that renames nbgrader's submitted folder gets its submissions there."""
    with (course / "nbgrader_config.py").open("a") as f:
        f.write("c.CourseDirectory.submitted_directory = 'handed-in'\n")
    fx.save_raw(_nb("amina"), tmp_path / "dl" / "amina")
    code, lines, _ = _run(course, tmp_path / "dl", capsys)
    assert code == 0 and lines[0].endswith(f"into {course / 'handed-in'}")
    assert (course / "handed-in" / "amina" / A / NB).is_file()
    assert course_root.CourseRoot(course).students("submitted", A) == ["amina"]
