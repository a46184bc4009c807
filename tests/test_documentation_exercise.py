"""ex03_documentation: the hidden tests catch plausible mistakes that the visible tests let through.

The generic nbgrader checks (source validates, release fails, nothing hidden leaks) are in
tests/test_exercises.py. Here each mistake replaces one task's solution in the source notebook,
the notebook runs, and that task's test cell must pass its visible part and fail in its hidden
part. (Task 1's usual slip, dropping the last partial chunk, already fails the visible checks.)
"""

from __future__ import annotations

import pytest

from tests.helpers.exercise_mistakes import (
    assert_caught_by_hidden_tests,
    failing_line,
    run_with_mistakes,
    source_of,
)

# Every test runs the exercise notebook (once per module, in a fixture): seconds each.
pytestmark = pytest.mark.slow

SOURCE = source_of("ex03_documentation")

MISTAKES = {
    # shared affiliation missed: every source counted as independent
    "core_independent": """independent_count = 5""",
    # checks gaps and each entry's own hash, but never that it links to the entry before
    "analyst_custody_chain": """    expected = 1
    for entry in log.to_dict("records"):
        if int(entry["seq"]) != expected:
            return expected
        if evidence.entry_hash(entry, entry["prev_hash"]) != entry["entry_hash"]:
            return int(entry["seq"])
        expected += 1
    return None""",
    # forgets the required fields: a record with no province passes
    "analyst_validation": """    problems = []
    if report.get("event_end") and str(report["event_end"]) < str(report["event_start"]):
        problems.append("event_end is before event_start")
    if report.get("act_type") not in evidence.VOCABULARIES["act_type"]:
        problems.append("act_type is not in the vocabulary")
    if report.get("testimony") and report.get("consent_recorded") is not True:
        problems.append("consent_recorded: testimony needs consent")
    return problems""",
    # key and message swapped in hmac.new: still keyed and stable, but not the locker's pseudonym
    "analyst_pseudonyms": """    normalised = " ".join(name.lower().split())
    return "W-" + hmac.new(normalised.encode("utf-8"), key, hashlib.sha256).hexdigest()[:12]""",
    # counts distinct sources as independent, ignoring shared affiliations
    "analyst_corroboration": """    table = matched.groupby("event_id").agg(sources=("source_id", "nunique"))
    table["independent"] = table["sources"]
    table["corroborated"] = table["independent"] >= 2
    return table.sort_index()""",
    # forgets that a duplicate must come from a different source
    "analyst_duplicates": """    frame = reports.assign(start=pd.to_datetime(reports["event_start"]))
    pairs = set()
    for _, group in frame.groupby(["place_id", "victim_group", "perpetrator_type"]):
        rows = group.to_dict("records")
        for i, a in enumerate(rows):
            for b in rows[i + 1:]:
                if abs((a["start"] - b["start"]).days) <= window_days:
                    pairs.add(tuple(sorted((a["report_id"], b["report_id"]))))
    return pairs""",
}


@pytest.fixture(scope="module")
def executed_with_mistakes(tmp_path_factory):
    return run_with_mistakes(SOURCE, MISTAKES, tmp_path_factory.mktemp("ex03"))


@pytest.mark.parametrize("task", sorted(MISTAKES))
def test_hidden_tests_catch_what_visible_tests_miss(executed_with_mistakes, task):
    assert_caught_by_hidden_tests(executed_with_mistakes, f"{task}_tests")


def test_the_correct_solutions_pass_every_test(executed_with_mistakes):
    untouched = [g for g in executed_with_mistakes if g.endswith("_tests")
                 and g.removesuffix("_tests") not in MISTAKES]
    assert untouched == ["core_hash_tests", "core_custody_tests", "core_records_tests",
                         "analyst_hashing_tests"]
    assert all(failing_line(executed_with_mistakes[g]) is None for g in untouched)
