"""ex01_warning_signs: the hidden tests catch plausible mistakes that the visible tests let through.

The generic nbgrader checks (source validates, release fails, nothing hidden leaks) are in the
grading tests; here each mistake replaces one solution in the source notebook, the notebook runs,
and that task's test cell must pass its visible part and fail in its hidden part.
"""

from __future__ import annotations

import re

import nbclient
import nbformat
import pytest

from course import syllabus

SOURCE = next(e.notebook for e in syllabus.exercises() if e.id == "ex01_warning_signs")
SOLUTION = re.compile(r"(### BEGIN SOLUTION\n).*?(\n\s*### END SOLUTION)", re.S)

MISTAKES = {
    # "below the threshold" read as "at or below" (only for the "below" indicators)
    "count_factors": """    rows = indicators.merge(catalogue, on="indicator")
    above = rows["direction"] == "above"
    rows["crossed"] = (above & (rows["value"] > rows["threshold"])) | (
        ~above & (rows["value"] <= rows["threshold"]))
    present = rows.groupby(["month", "province_id", "risk_factor"])["crossed"].any()
    table = present.groupby(["month", "province_id"]).sum().unstack("province_id")
    return table.sort_index().sort_index(axis=1).astype(int)""",
    # uses 5 factors whatever min_factors says (the visible tests only ask for 5)
    "sustained_provinces": """    high = (counts.sort_index() >= 5).astype(int)
    held = high.rolling(run, min_periods=run).sum() >= run
    return sorted(str(p) for p in held.columns[held.any()])""",
    # puts factor 8 with the specific factors
    "common_specific": """    rows = indicators[indicators["month"] == month].merge(catalogue, on="indicator")
    above = rows["direction"] == "above"
    rows["crossed"] = (above & (rows["value"] > rows["threshold"])) | (
        ~above & (rows["value"] < rows["threshold"]))
    present = rows.groupby(["province_id", "risk_factor"])["crossed"].any().reset_index()
    present["kind"] = ["common" if f < 8 else "specific" for f in present["risk_factor"]]
    table = present.pivot_table(index="province_id", columns="kind", values="crossed",
                                aggfunc="sum", fill_value=0)
    table = table.reindex(columns=["common", "specific"], fill_value=0)
    table.columns.name = None
    return table.sort_index().astype(int)""",
    # the base-rate fallacy: takes the hit rate for the share of alarms that are real
    "share_of_alarms_real": """    return hit_rate""",
}


def grade_id(cell) -> str | None:
    return cell.metadata.get("nbgrader", {}).get("grade_id")


def failing_line(cell) -> int | None:
    """The line of the cell where it raised, from the traceback (None if it did not raise)."""
    for out in cell.get("outputs", []):
        if out.output_type == "error":
            text = re.sub(r"\x1b\[[0-9;]*m", "", "\n".join(out.traceback))
            lines = re.findall(r"line (\d+)", text)
            return int(lines[0]) if lines else -1
    return None


@pytest.fixture(scope="module")
def executed_with_mistakes(tmp_path_factory):
    nb = nbformat.read(SOURCE, as_version=4)
    for cell in nb.cells:
        if grade_id(cell) in MISTAKES:
            body = MISTAKES[grade_id(cell)]
            cell.source, n = SOLUTION.subn(
                lambda m, body=body: m.group(1) + body + m.group(2), cell.source)
            assert n == 1, f"{grade_id(cell)}: no solution block to replace"
    client = nbclient.NotebookClient(
        nb, timeout=180, kernel_name="python3", allow_errors=True,
        resources={"metadata": {"path": str(tmp_path_factory.mktemp("ex01"))}})
    client.execute()
    return {grade_id(c): c for c in nb.cells if grade_id(c)}


@pytest.mark.parametrize("task", sorted(MISTAKES))
def test_hidden_tests_catch_what_visible_tests_miss(executed_with_mistakes, task):
    cell = executed_with_mistakes[f"{task}_tests"]
    hidden_from = cell.source.splitlines().index("### BEGIN HIDDEN TESTS") + 1
    line = failing_line(cell)
    assert line is not None, f"{task}: the hidden tests let the mistake through"
    assert line > hidden_from, f"{task}: failed at line {line}, before the hidden tests"
