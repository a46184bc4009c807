"""The typed data format of split grading (grading.crossing), and which names a test takes from
the student (grading.split_execution), on the real exercises. Fast: no kernels."""

from __future__ import annotations

import datetime as dt
import json

import numpy as np
import pandas as pd
import pytest

from course import data, notebook_files, syllabus
from grading import crossing
from grading.split_execution import trusted_cells


def roundtrip(value):
    return crossing.loads(crossing.encode(value))


@pytest.mark.parametrize("value", [
    None, True, 0, -3, 2**100, 1.5, float("inf"), "Skarnholt", "", b"\x00\xff", 1 + 2j,
    [1, "a", None], (1, (2, 3)), {1, 2}, frozenset({"x"}), {"a": [1, 2], (1, "b"): {"c": None}},
    range(2, 9, 3), dt.date(2024, 6, 1), dt.datetime(2024, 6, 1, 12, 30), dt.timedelta(days=2),
    np.int64(7), np.float32(0.25), np.bool_(True), np.datetime64("2024-06-01"),
])
def test_plain_values_cross_unchanged(value):
    back = roundtrip(value)
    assert type(back) is type(value) and back == value


def test_nan_crosses_as_nan():
    assert np.isnan(roundtrip(float("nan")))


@pytest.mark.parametrize("name", ["scenario_indicators", "scenario_incident_reports",
                                  "r2p_measures", "scenario_media_log", "scenario_sources"])
def test_the_course_tables_cross_exactly(name):
    frame = data.load(name)
    back = roundtrip(frame)
    pd.testing.assert_frame_equal(back, frame, check_exact=True)
    assert list(back.dtypes) == list(frame.dtypes)
    assert back.to_dict("records") == frame.to_dict("records")


def test_pandas_shapes_and_dtypes_cross_exactly():
    frames = [
        pd.DataFrame({"a": [1, 2], "b": ["x", None], "c": [0.5, np.nan]}).set_index(["a", "b"]),
        pd.DataFrame({"n": pd.array([1, None], dtype="Int64"),
                      "s": pd.array(["p", None], dtype="string"),
                      "k": pd.Categorical(["lo", "hi"], categories=["lo", "hi"], ordered=True),
                      "t": pd.date_range("2024-01-01", periods=2, tz="UTC"),
                      "p": pd.period_range("2024-01", periods=2, freq="M"),
                      "f": pd.array([True, None], dtype="boolean"),
                      "o": [[1, 2], {"x": 1}]}),
        pd.DataFrame({"phase": [], "measure_id": []}),
        pd.DataFrame([[1, 2]], columns=pd.Index(["P01", "P02"], name="province_id"),
                     index=pd.Index(["2024-01"], name="month")),
    ]
    for frame in frames:
        pd.testing.assert_frame_equal(roundtrip(frame), frame, check_exact=True)
    series = pd.Series([3, 1], index=pd.date_range("2024", periods=2, freq="D"), name="n")
    pd.testing.assert_series_equal(roundtrip(series), series)
    index = pd.MultiIndex.from_tuples([("a", 1), ("b", 2)], names=["x", "y"])
    pd.testing.assert_index_equal(roundtrip(index), index)
    assert roundtrip(pd.NaT) is pd.NaT and roundtrip(pd.NA) is pd.NA
    for value in (pd.Timestamp("2024-06-01 10:00", tz="Europe/Paris"), pd.Timedelta("3h"),
                  pd.Period("2024-06", "M")):
        assert roundtrip(value) == value
    array = np.arange(12, dtype="int16").reshape(3, 4)
    assert np.array_equal(roundtrip(array), array) and roundtrip(array).dtype == array.dtype


def _always(self, other):
    return True


def test_subclasses_with_lying_comparisons_cross_as_their_plain_value():
    lying_str = type("S", (str,), {"__eq__": _always, "__hash__": str.__hash__})("P07")
    lying_int = type("I", (int,), {"__eq__": _always, "__hash__": int.__hash__})(4)
    lying_frame = type("F", (pd.DataFrame,), {"__eq__": _always, "equals": _always})(
        {"a": [1]})
    lying_dict = type("D", (dict,), {"__eq__": _always})({"k": "v"})
    for value, plain in ((lying_str, "P07"), (lying_int, 4), (lying_dict, {"k": "v"})):
        back = roundtrip(value)
        assert type(back) is type(plain) and back == plain and back != "something else"
    back = roundtrip(lying_frame)
    assert type(back) is pd.DataFrame and not back.equals(pd.DataFrame({"a": [2]}))


def test_objects_that_are_not_data_do_not_cross():
    class Yes:
        def __eq__(self, other):
            return True

    def gen():
        yield 1

    with open(__file__) as handle:
        for value, words in ((Yes(), "object of type"), (gen(), "a generator"),
                             (handle, "open file"), (lambda: 1, "object of type")):
            with pytest.raises(crossing.CannotCross, match=words):
                crossing.encode(value)


@pytest.mark.parametrize("doc, words", [
    ("not json", "not JSON"),
    ('{"v": 1, "value": {"t": "float", "v": NaN}}', "not well formed"),
    ('{"v": 2, "value": {"t": "none"}}', "not a value document"),
    ('{"v": 1, "value": {"t": "pickle", "v": "gASV"}}', "unknown type tag"),
    ('{"v": 1, "value": {"t": "int", "v": "1e9"}}', "whole number"),
    ('{"v": 1, "value": {"t": "ndarray", "a": {"k": "raw", "dtype": "i8", "shape": [3], '
     '"v": "AAAA"}}}', "do not match"),
    ('{"v": 1, "value": {"t": "ndarray", "a": {"k": "raw", "dtype": "V8", "shape": [1], '
     '"v": "AAAAAAAAAAA="}}}', "numbers of type"),
    ('{"v": 1, "value": {"t": "ndarray", "a": {"k": "raw", "dtype": "i1", "shape": '
     '[100000, 100000], "v": ""}}}', "too large"),
    ('{"v": 1, "value": {"t": "set", "v": [{"t": "list", "v": []}]}}', "unhashable"),
    ('{"v": 1, "value": {"t": "callable", "ref": 1, "name": "f"}}', "function"),
    ('{"v": 1, "value": {"t": "module", "v": "os"}}', "module"),
    ('{"v": 1, "value": {"t": "frame", "columns": {"k": "range", "v": [0, 2, 1], "name": '
     '{"t": "none"}}, "index": {"k": "range", "v": [0, 1, 1], "name": {"t": "none"}}, '
     '"v": []}}', "columns"),
])
def test_malformed_or_hostile_documents_are_refused_with_a_reason(doc, words):
    with pytest.raises(crossing.CannotCross, match=words):
        crossing.loads(doc)


def test_depth_and_size_limits():
    deep: list = []
    for _ in range(crossing.MAX_DEPTH + 5):
        deep = [deep]
    with pytest.raises(crossing.CannotCross, match="nested"):
        crossing.encode(deep)
    node = {"t": "none"}
    for _ in range(crossing.MAX_DEPTH + 5):
        node = {"t": "list", "v": [node]}
    with pytest.raises(crossing.CannotCross, match="nested"):
        crossing.loads(json.dumps({"v": 1, "value": node}))
    with pytest.raises(crossing.CannotCross, match="nested too deeply"):
        crossing.loads("[" * 200_000)
    with pytest.raises(crossing.CannotCross, match="too large"):
        crossing.loads(" " * (crossing.MAX_BYTES + 1))


# ---- where a test's names come from ----------------------------------------------------------

def _trusted(exercise):
    nb = notebook_files.read(exercise.notebook)
    meta = [c.metadata.get("nbgrader", {}) for c in nb.cells]
    graded = {m["grade_id"] for m in meta if m.get("grade")}
    solutions = {m["grade_id"] for m in meta if m.get("solution")}
    tests = {m["grade_id"]: c.source for m, c in zip(meta, nb.cells, strict=True)
             if m.get("grade") and not m.get("solution")}
    return trusted_cells(nb, nb, tests, graded, solutions)


def test_tests_take_answers_from_the_student_and_setup_names_from_trusted_code():
    plans = {e.id: _trusted(e) for e in syllabus.exercises()}
    fetched = {ex: {c.grade_id: set(c.fetch) for c in cells} for ex, (cells, _) in plans.items()}
    ex01 = fetched["ex01_warning_signs"]
    assert ex01["analyst_count_factors_tests"] == {"count_factors"}  # not indicators, pd, ...
    assert ex01["setup"] == set()
    ex03 = fetched["ex03_documentation"]
    assert ex03["analyst_validation_tests"] == {"record_problems", "accepted"}
    ex04 = fetched["ex04_r2p"]
    assert {"my_pillars"} <= ex04["core_pillars_tests"]
    capstone = fetched["capstone_brief"]
    # The capstone's pictures are built by the test interpreter from the student's answers.
    assert "after" not in capstone["core_rebuilding"] and "exported" not in capstone["core_export"]
    assert {"awards", "design"} <= capstone["core_rebuilding_answer (scaffold)"]
    for ex, (cells, answers) in plans.items():
        for cell in cells:
            # Everything a trusted cell takes from the student is an answer the exercise asks
            # for.
            assert set(cell.fetch) <= answers, (ex, cell.grade_id, set(cell.fetch) - answers)
