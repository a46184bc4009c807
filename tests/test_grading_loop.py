"""The instructor's whole loop on the course's own exercises (every exercise in the syllabus):
init → release → collect (a Canvas zip and a Moodle zip) → autograde → integrity → mark →
feedback → export, with a full, a partial and a broken submission per exercise; then every page
the pipeline wrote is opened in Chromium, which must make no request to another host."""

from __future__ import annotations

import csv
import json
import re
from pathlib import Path
from urllib.parse import urlsplit

import nbformat
import pytest
import yaml

from course import syllabus
from grading import course_root, feedback, release
from grading.__main__ import main
from tests.helpers import grading_submissions as gs

# One group: the whole loop (the module's fixture) then runs once, on one xdist worker.
pytestmark = [pytest.mark.slow, pytest.mark.xdist_group(name="grading-loop")]
AUTOGRADE = ["--workers", "2", "--cell-timeout", "60", "--timeout", "240", "--quiet"]
KINDS = {"full": "full", "partial": "partial", "broken": "broken"}
LOOPBACK = {"localhost", "127.0.0.1", "::1"}


def _students(assignment: str) -> dict[str, str]:
    """student name in the download -> kind; names differ per exercise."""
    short = assignment.split("_")[0]
    return {f"{kind}{short}": kind for kind in KINDS}


def kind_of(student: str) -> str:
    """The kind of a collected student id (an LMS may add its user id: ``brokenex01_7002``)."""
    return next(k for k in KINDS if student.startswith(k))


def collected(course, assignment: str) -> dict[str, str]:
    """Collected student id -> kind."""
    return {s: kind_of(s) for s in course.students("submitted", assignment)}


@pytest.fixture(scope="module")
def loop(tmp_path_factory):
    """Run the whole loop once, as an instructor would; return what the tests inspect."""
    base = tmp_path_factory.mktemp("loop")
    root = base / "course"
    names = [e.id for e in syllabus.exercises()]
    out = {"root": root, "names": names, "rc": {}, "stdout": {}}

    def run(step, *argv):
        out["rc"][step] = main(list(argv))
        return out["rc"][step]

    assert run("init", "init", str(root)) == 0
    course = course_root.CourseRoot(root)
    assert course.assignments() == sorted(names)
    assert run("release", "release", "--course-dir", str(root), "--no-validate") == 0
    for name in names:
        canvas, moodle = gs.write_zips(course, name, _students(name), base / "downloads")
        for z in (canvas, moodle):
            assert run(f"collect {z.name}", "collect", name, "--course-dir", str(root),
                       "--from", str(z)) == 0
    assert run("autograde", "autograde", *names, "--course-dir", str(root), *AUTOGRADE) == 0
    for name in names:
        assert run(f"mark {name}", "mark", name, "--course-dir", str(root)) == 0
        marking = course.marking_file(name)
        data = yaml.safe_load(marking.read_text(encoding="utf-8"))
        for entry in data["answers"]:
            kind = kind_of(entry["student"])
            entry["score"] = {"full": entry["max_points"], "partial": 1, "broken": 0}[kind]
            entry["comment"] = f"Marked for {entry['student']}. <script>document.title=" \
                               "'pwned-comment'</script>"
        marking.write_text(yaml.safe_dump(data), encoding="utf-8")
        assert run(f"mark again {name}", "mark", name, "--course-dir", str(root)) == 0
        assert run(f"feedback {name}", "feedback", name, "--course-dir", str(root)) == 0
    assert run("export", "export", "--course-dir", str(root)) == 0
    return out


def _scores(course) -> dict[tuple[str, str], tuple[float, float]]:
    with course.gradebook() as gb:
        return {(a.name, s.student_id): (float(s.score), float(s.max_score))
                for a in gb.assignments for s in gb.assignment_submissions(a.name)}


EXERCISES = [e.id for e in syllabus.exercises()]


@pytest.mark.parametrize("name", EXERCISES)
def test_full_submissions_score_the_maximum(loop, name):
    course = course_root.CourseRoot(loop["root"])
    scores = _scores(course)
    students = collected(course, name)
    assert sorted(students.values()) == sorted(KINDS), students
    assert {s for (a, s) in scores if a == name} == set(students)
    for student, kind in students.items():
        score, most = scores[(name, student)]
        if kind == "full":
            assert score == most > 0, f"{name}/{student}: {score} of {most}"
        else:
            assert score < most, f"{name}/{student}: {kind} scored {score} of {most}"
    by_kind = {kind: scores[(name, s)][0] for s, kind in students.items()}
    assert by_kind["partial"] > by_kind["broken"], by_kind
    for student, kind in students.items():  # the page of a full one: every test passed
        if kind == "full":
            page = feedback.visible_text(next(course.feedback(student, name).glob("*.html"))
                                         .read_text(encoding="utf-8"))
            results = re.findall(r"(Passed|Not passed): [\d.]+ of [\d.]+ points", page)
            assert set(results) == {"Passed"}, f"{name}/{student}: {results}"


def test_the_grades_csv_holds_every_score(loop):
    course = course_root.CourseRoot(loop["root"])
    scores = _scores(course)
    assert {a for a, _ in scores} == set(loop["names"])
    rows = list(csv.DictReader((course.exports_dir / "grades.csv").open()))
    exported = {(r["assignment"], r["student_id"]): float(r["score"]) for r in rows}
    # nbgrader's CSV has a row for every student of the course in every assignment
    assert {k: exported[k] for k in scores} == {k: v[0] for k, v in scores.items()}


@pytest.mark.parametrize("name", EXERCISES)
def test_integrity_sees_the_broken_ones_only(loop, name, capsys):
    capsys.readouterr()
    assert main(["integrity", name, "--course-dir", str(loop["root"]), "--json"]) == 0
    reports = {kind_of(r["student_id"]): r for r in json.loads(capsys.readouterr().out)}
    assert sorted(reports) == sorted(KINDS)
    assert reports["full"]["status"] == "clean", reports["full"]
    assert reports["broken"]["status"] == "runtime-errors"
    assert "I did not finish this one" in json.dumps(reports["broken"])
    # A partial one is clean, or its unanswered stubs (and cells that use their results)
    # raised errors: nothing tampered with, nothing failed.
    partial = reports["partial"]
    assert partial["status"] in ("clean", "runtime-errors"), partial
    assert {p["kind"] for p in partial["problems"]} <= {"runtime"}, partial
    assert partial["status"] == "clean" or "NotImplementedError" in json.dumps(partial)


def _pages(root: Path) -> list[Path]:
    return sorted(root.glob("feedback/*/*/*.html")) + sorted(root.glob("exports/*.html"))


def _hidden_lines_absent_from_release(course, name) -> list[str]:
    """Written here from the notebooks, independently of grading.feedback."""
    released = "\n".join(c.source for p in course.notebooks("release", name)
                         for c in nbformat.read(p, as_version=4).cells)
    lines = set()
    for path in course.notebooks("source", name):
        for cell in nbformat.read(path, as_version=4).cells:
            lines |= {ln.strip() for ln in release.marked_blocks(cell.source, *release.HIDDEN)}
    return sorted(ln for ln in lines if ln and ln not in released)


def test_every_student_gets_a_page_that_shows_no_hidden_line(loop):
    course = course_root.CourseRoot(loop["root"])
    for name in loop["names"]:
        hidden = _hidden_lines_absent_from_release(course, name)
        assert hidden, f"{name}: no hidden test lines found (the check would test nothing)"
        for student in collected(course, name):
            pages = sorted(course.feedback(student, name).glob("*.html"))
            assert [p.name for p in pages] == [f"{name}.ipynb".replace(".ipynb", ".html")]
            text = feedback.visible_text(pages[0].read_text(encoding="utf-8"))
            shown = [h for h in hidden if h in text]
            assert shown == [], f"{name}/{student}: hidden lines visible: {shown[:3]}"
            assert f"Marked for {student}." in text  # the instructor's comment is there
            results = re.findall(r"(Passed|Not passed): [\d.]+ of [\d.]+ points", text)
            assert results, f"{name}/{student}: no test results shown"
    report = (course.exports_dir / "report.html").read_text(encoding="utf-8")
    for name in loop["names"]:
        for h in _hidden_lines_absent_from_release(course, name):
            assert h not in feedback.visible_text(report), h


def test_the_report_keeps_marked_answers_out_of_the_failing_tests(loop):
    from bs4 import BeautifulSoup

    from grading import mark

    course = course_root.CourseRoot(loop["root"])
    soup = BeautifulSoup((course.exports_dir / "report.html").read_text(encoding="utf-8"),
                         "html.parser")
    with course.gradebook() as gb:
        manual = {name: {c for _, c in mark.manual_cells(gb, name)} for name in loop["names"]}
    assert all(manual.values()), manual  # every exercise has a written answer
    for heading in soup.find_all("h2"):
        name = heading.get_text()
        section = []
        for sib in heading.find_next_siblings():
            if sib.name == "h2":
                break
            section.append(sib)
        titles = [s.get_text() for s in section if s.name == "h3"]
        assert "Graded cells: marked by the instructor" in titles, name
        failing = next(s for s in section if s.name == "h3"
                       and s.get_text() == "Most common failing tests").find_next_sibling()
        cells = {tr.find("td").get_text() for tr in failing.find_all("tr") if tr.find("td")}
        assert not cells & manual[name], (name, cells & manual[name])


def outside_urls(page: str) -> list[str]:
    """URLs in src/href/srcset/action attributes, url(...) and @import that name a host other
    than the loopback one."""
    from bs4 import BeautifulSoup

    soup = BeautifulSoup(page, "html.parser")
    found = []
    for tag in soup.find_all(True):
        for attr, value in tag.attrs.items():
            values = value if isinstance(value, list) else [value]
            if attr in ("src", "href", "action", "formaction", "poster", "data", "srcset",
                        "xlink:href", "background"):
                found += [v for v in values if _outside(v)]
            if attr == "style":
                found += [u for v in values for u in _css_urls(v) if _outside(u)]
    for style in soup.find_all("style"):
        found += [u for u in _css_urls(style.get_text()) if _outside(u)]
    return found


def _css_urls(css: str) -> list[str]:
    return [m.strip("'\" ") for m in re.findall(r"url\(([^)]*)\)", css)] + \
        re.findall(r"@import\s+['\"]([^'\"]+)", css)


def _outside(url: str) -> bool:
    url = url.strip()
    parts = urlsplit(url if "://" in url or url.startswith("//") else "")
    return bool(parts.netloc) and (parts.hostname or "") not in LOOPBACK


def test_no_page_names_an_outside_host_or_runs_student_code(loop):
    from bs4 import BeautifulSoup

    pages = _pages(loop["root"])
    assert len(pages) == 3 * len(loop["names"]) + 1
    for page in pages:
        text = page.read_text(encoding="utf-8")
        assert outside_urls(text) == [], page
        soup = BeautifulSoup(text, "html.parser")
        assert soup.find_all("script") == [], page
        handlers = [(t.name, a) for t in soup.find_all(True) for a in t.attrs
                    if a.lower().startswith("on")]
        assert handlers == [], page
        links = [v for t in soup.find_all(True) for a, v in t.attrs.items()
                 if isinstance(v, str) and v.strip().lower().startswith("javascript:")]
        assert links == [], page


def test_the_check_for_outside_urls_finds_them():
    assert outside_urls("<img src='https://cdn.example.org/x.png'>") == \
        ["https://cdn.example.org/x.png"]
    assert outside_urls("<style>@import 'https://fonts.example/x.css';</style>") != []
    assert outside_urls("<div style='background: url(//evil.example/p.png)'></div>") != []
    assert outside_urls("<a href='#top'></a><img src='data:image/png;base64,AA'>"
                        "<a href='http://127.0.0.1:8888/x'></a>") == []


@pytest.mark.browser
def test_chromium_loads_every_page_without_calling_another_host(loop, browser):
    outside, titles = [], {}

    def route(r):
        parts = urlsplit(r.request.url)
        if parts.scheme in ("file", "data", "about", "blob") or parts.hostname in LOOPBACK:
            r.continue_()
        else:
            outside.append(r.request.url)
            r.abort()

    context = browser.new_context()
    context.route("**/*", route)
    try:
        for path in _pages(loop["root"]):
            page = context.new_page()
            page.goto(path.as_uri(), wait_until="load")
            page.wait_for_timeout(200)  # let anything a script or image would start begin
            titles[path] = page.title()
            page.close()
    finally:
        context.close()
    assert outside == []
    assert not [t for t in titles.values() if "pwned" in t], titles


def test_a_wrong_marking_entry_writes_nothing(loop, tmp_path, capsys):
    course = course_root.CourseRoot(loop["root"])
    name = loop["names"][0]
    data = yaml.safe_load(course.marking_file(name).read_text(encoding="utf-8"))
    before = _scores(course)
    data["answers"][0]["score"] = data["answers"][0]["max_points"] + 1
    data["answers"][1]["score"] = "most of it"
    data["answers"][2]["score"] = 0
    edited = tmp_path / "marks.yml"
    edited.write_text(yaml.safe_dump(data), encoding="utf-8")
    text = edited.read_text(encoding="utf-8")
    capsys.readouterr()
    assert main(["mark", name, "--course-dir", str(loop["root"]), "--file", str(edited)]) == 1
    err = capsys.readouterr().err
    assert "entry 1" in err and "is outside 0 to" in err
    assert "entry 2" in err and "is not a number" in err
    assert edited.read_text(encoding="utf-8") == text   # left as the instructor wrote it
    assert _scores(course) == before                    # and nothing went into the gradebook
