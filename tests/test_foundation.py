"""The package's small foundations: syllabus loading, notebook cleaning, nbgrader cell builders,
the README's promises and the vendored assets."""

from __future__ import annotations

import hashlib
import json
import re

import nbformat
import pytest

from course import notebook_files, syllabus
from grading import authoring as a
from tests.helpers.paths import ROOT


def test_syllabus_table_lists_modules_in_order():
    table = syllabus.as_table()
    assert table.iloc[0]["id"] == "m0" and set(table["kind"]) <= {"module", "exercise", "capstone"}
    assert syllabus.module("m0").minutes == 30
    with pytest.raises(syllabus.SyllabusError, match="no module 'm9'"):
        syllabus.module("m9")


def test_syllabus_errors_name_the_entry(tmp_path):
    bad = tmp_path / "s.yml"
    bad.write_text("modules:\n  - id: m0\n    title: t\n    notebook: x.ipynb\n    minutes: 5\n"
                   "    stage: sideways\n")
    with pytest.raises(syllabus.SyllabusError, match="stage must be one of"):
        syllabus.modules(bad)


def test_clean_removes_outputs_and_noise():
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("1+1")])
    nb.cells[0].outputs = [nbformat.v4.new_output("execute_result", {"text/plain": "2"})]
    nb.cells[0].execution_count = 3
    nb.cells[0].metadata["collapsed"] = True
    nb.metadata["widgets"] = {"state": {}}
    clean = notebook_files.normalise(nb)
    assert clean.cells[0].outputs == [] and clean.cells[0].execution_count is None
    assert clean.cells[0].metadata == {} and "widgets" not in clean.metadata
    assert clean.cells[0].id == "code-00"


def test_authoring_builds_valid_nbgrader_cells(tmp_path):
    nb = a.notebook([
        a.markdown("# Task", grade_id="intro"),
        a.solution("def f():\n    ### BEGIN SOLUTION\n    return 1\n    ### END SOLUTION",
                   grade_id="f"),
        a.tests("assert f() == 1\n### BEGIN HIDDEN TESTS\nassert f() + 1 == 2\n"
                "### END HIDDEN TESTS", grade_id="f_tests", points=2),
        a.written_answer("Model answer.", grade_id="essay", points=3),
    ])
    meta = [c.metadata.get("nbgrader") for c in nb.cells]
    assert meta[0]["locked"] and not meta[0]["grade"]
    assert meta[1]["solution"] and not meta[1]["grade"]
    assert meta[2]["grade"] and meta[2]["points"] == 2 and meta[2]["locked"]
    assert meta[3]["grade"] and meta[3]["solution"] and meta[3]["points"] == 3
    path = a.write(nb, tmp_path / "ex" / "ex.ipynb")
    # nbgrader's metadata survive the round trip through the MyST text the course is authored in
    text = notebook_files.source_text(nbformat.read(path, as_version=4))
    back = notebook_files.reads(text)
    assert [c.metadata for c in back.cells] == [c.metadata for c in nb.cells]
    assert [c.source for c in back.cells] == [c.source for c in nb.cells]
    assert [c.id for c in back.cells] == ["intro", "f", "f_tests", "essay"]
    assert notebook_files.source_text(back) == text


def test_myst_round_trip_catches_lost_metadata():
    """The round-trip check fails when metadata do not survive (a broken writer)."""
    nb = a.notebook([a.tests("assert 1\n### BEGIN HIDDEN TESTS\nassert 2\n### END HIDDEN TESTS",
                             grade_id="t", points=1)])
    text = notebook_files.source_text(nb).replace("points: 1", "points: 2")
    assert notebook_files.reads(text).cells[0].metadata["nbgrader"]["points"] == 2


@pytest.mark.parametrize("build, message", [
    (lambda: a.solution("return 1", grade_id="x"), "BEGIN SOLUTION"),
    (lambda: a.tests("assert True", grade_id="x", points=1), "hidden block"),
    (lambda: a.tests("### BEGIN HIDDEN TESTS\n### END HIDDEN TESTS", grade_id="x", points=0),
     "points > 0"),
    (lambda: a.markdown("m", grade_id="bad id"), "letters, digits"),
    (lambda: a.notebook([a.code("1", grade_id="x"), a.code("2", grade_id="x")]), "more than once"),
])
def test_authoring_refuses_mistakes(build, message):
    with pytest.raises(ValueError, match=message):
        build()


def test_readme_states_the_two_commands_and_ci_runs_the_test_one():
    readme = (ROOT / "README.md").read_text()
    first_screen = readme[: readme.index("## Syllabus")]
    assert "make lab" in first_screen and "make test" in first_screen
    assert "Content note" in first_screen
    assert re.search(r"^make test$", (ROOT / ".ci" / "run").read_text(), re.M)


def test_readme_syllabus_matches_syllabus_yml():
    readme = (ROOT / "README.md").read_text()
    for module in syllabus.modules():
        assert module.title in readme, f"README's syllabus lacks {module.title!r}"
        for exercise in module.exercises:
            assert exercise.id in readme, f"README's syllabus lacks exercise {exercise.id}"


def test_vendored_assets_match_their_manifest_and_keep_licences():
    assets = ROOT / "course" / "maps" / "assets"
    manifest = json.loads((assets / "MANIFEST.json").read_text())
    for package in manifest.values():
        for rel, digest in package["files"].items():
            assert hashlib.sha256((assets / rel).read_bytes()).hexdigest() == digest, rel
        assert any(rel.endswith("LICENSE") for rel in package["files"])
