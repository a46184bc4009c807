"""syllabus.problems(): the syllabus's maps agree with the notebooks and quizzes they describe.

(tests/test_syllabus_objectives.py checks the parsing of syllabus.yml itself.)"""

from __future__ import annotations

import pytest
import yaml

from course import syllabus
from course.syllabus import SYLLABUS, SyllabusError


def _variant(tmp_path, change) -> tuple[syllabus.Module, ...]:
    """The real syllabus with ``change(raw)`` applied, read from a copy."""
    raw = yaml.safe_load(SYLLABUS.read_text(encoding="utf-8"))
    change(raw)
    path = tmp_path / f"syllabus-{change.__name__}.yml"  # modules() caches by path
    path.write_text(yaml.safe_dump(raw, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return syllabus.modules(path)


def _module(raw, module_id):
    return next(m for m in raw["modules"] if m["id"] == module_id)


def _exercise(raw, exercise_id):
    return next(e for m in raw["modules"] for e in m.get("exercises") or [] if e["id"] == exercise_id)


def test_the_syllabus_agrees_with_the_notebooks_and_quizzes():
    assert syllabus.problems() == []


def test_every_module_maps_every_header_objective():
    for module in syllabus.modules():
        assert [o.text for o in module.objectives] == syllabus.header_objectives(module.notebook)
        assert all(o.assessed_by for o in module.objectives), module.id


def test_every_exercise_can_be_passed_on_its_core_part_alone():
    for exercise in syllabus.exercises():
        assert exercise.pass_mark is not None, exercise.id
        assert exercise.points["core"] >= exercise.pass_mark, exercise.id
        assert syllabus.points_by_part(exercise) == exercise.points, exercise.id


def test_an_objective_with_no_assessment_fails(tmp_path):
    def drop(raw):
        _module(raw, "m1")["objectives"][4]["assessed_by"] = []

    with pytest.raises(SyllabusError, match="objective 5 needs assessed_by"):
        _variant(tmp_path, drop)

    def unmapped(raw):
        del _module(raw, "m3")["objectives"]

    assert "m3: no objectives mapped to assessments" in syllabus.problems(_variant(tmp_path, unmapped))


def test_an_assessment_that_does_not_exist_fails(tmp_path):
    def wrong(raw):
        _module(raw, "m0")["objectives"][1]["assessed_by"] = ["quiz:no-such-section"]
        _module(raw, "m4")["objectives"][2]["assessed_by"] = ["ex04_r2p:core_no_such_cell",
                                                              "ex99_missing:core_x"]

    found = "\n".join(syllabus.problems(_variant(tmp_path, wrong)))
    assert "m0: objective 2: 'quiz:no-such-section'" in found and "no quiz section" in found
    assert "ex04_r2p has no graded cell 'core_no_such_cell'" in found
    assert "no exercise 'ex99_missing'" in found
    # an analyst solution cell is not a graded cell: only its test cell is
    assert syllabus._assessment_problem(syllabus.module("m1"), "ex01_warning_signs:analyst_count_factors")


def test_objectives_must_equal_the_header_list(tmp_path):
    def reword(raw):
        _module(raw, "m2")["objectives"][0]["text"] = "Something else."

    assert any(p.startswith("m2: the objectives differ from the header")
               for p in syllabus.problems(_variant(tmp_path, reword)))


def test_points_must_match_the_graded_cells_and_the_header(tmp_path):
    def inflate(raw):
        _exercise(raw, "ex02_pyramid_of_hate")["points"] = {"core": 12, "analyst": 14}

    found = syllabus.problems(_variant(tmp_path, inflate))
    assert any(p.startswith("ex02_pyramid_of_hate: syllabus points") for p in found)
    assert any(p.startswith("ex02_pyramid_of_hate: the header states") for p in found)


def test_the_api_and_the_tables():
    assert syllabus.module("m1").exercises[0].id == "ex01_warning_signs"
    table = syllabus.as_table()
    row = table.set_index("id").loc["ex01_warning_signs"]
    assert row["pass_mark"] == 10 and row["core_points"] == 12 and row["analyst_points"] == 11
    objectives = syllabus.objectives_table()
    assert len(objectives) == sum(len(m.objectives) for m in syllabus.modules())
    assert (objectives["assessed_by"] != "").all()
