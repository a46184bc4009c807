"""The Module 1 views, driven as a trainee would: change the dropdowns, click, read the output.

The workbench runs on the hand-made tables of tests/helpers/tables.py; the time-slider map needs the
scenario's province outlines, so it runs on the real datasets.
"""

import datetime

import pytest

from course import warning_signs as ws
from course.widgets import warning_signs as views
from tests.helpers.paths import ROOT
from tests.helpers.tables import CATALOGUE, make_indicators


def _find(widget, kind, description=None):
    """Every descendant of ``widget`` of type ``kind`` (and description, if given)."""
    found = []
    if isinstance(widget, kind) and (description is None or
                                     getattr(widget, "description", None) == description):
        found.append(widget)
    for child in getattr(widget, "children", ()):
        found += _find(child, kind, description)
    return found


@pytest.fixture
def bench():
    return ws.Workbench(make_indicators(), CATALOGUE, factor_names={7: "Enabling circumstances"})


def test_workbench_shows_selection_and_records_calls(bench):
    import ipywidgets as W

    view = views.workbench(bench, last=3)
    province = _find(view, W.Dropdown, "Province")[0]
    month = _find(view, W.Dropdown, "Month")[0]
    assert (province.value, month.value) == ("P01", "2024-04")
    assert "Press freedom score" in view.children[2].value  # the indicator series
    month.value = "2024-02"
    assert bench.month == "2024-02"
    assert "Hate speech items" in view.children[3].value  # evidence: crossed in 2024-02

    calls = _find(view, W.ToggleButtons)
    notes = _find(view, W.Text)
    assert len(calls) == len(notes) == 14
    calls[6].value, notes[6].value = "present", "hate speech items rising"  # factor 7
    calls[0].value = "present"  # factor 1 with no note: must be refused, others kept
    _find(view, W.Button, "Record and compare")[0].click()
    status = view.children[1].value
    assert "Not recorded" in status and "factor 1" in status
    assert bench.judgements()["risk_factor"].tolist() == [7]
    assert "agree" in view.children[-1].value

    # Switching away and back restores the recorded call into the controls.
    province.value = "P02"
    assert calls[6].value == "not judged"
    province.value = "P01"
    assert calls[6].value == "present" and notes[6].value == "hate speech items rising"


def test_workbench_records_what_it_shows_when_other_code_moved_the_bench(bench):
    """Module 1 once drove the trainee's bench from a worked example: after Run All the widget
    showed P01 but recorded and reported the example's province (issue #16, item 1)."""
    import ipywidgets as W

    view = views.workbench(bench, last=3)
    bench.select("P02", "2024-02")  # a later cell moves the same object
    calls = _find(view, W.ToggleButtons)
    calls[6].value = "absent"
    _find(view, W.Button, "Record and compare")[0].click()
    assert "(P01), 2024-04" in view.children[1].value and "P02" not in view.children[1].value
    bench.select("P01", "2024-04")
    assert bench.judgements()["risk_factor"].tolist() == [7]


def test_time_slider_map_follows_the_slider():
    import ipywidgets as W

    from course import data

    indicators = data.load("scenario_indicators")
    catalogue = data.load("scenario_indicator_catalogue")
    measures = ws.MonthlyMeasures(indicators, catalogue)
    view = views.time_slider_map(measures)
    slider = _find(view, W.Dropdown, "Month")[0]
    frame = view.children[-1]
    assert "leaflet" in frame.value.lower() and measures.months[-1] in frame.value
    slider.value = measures.months[0]
    assert measures.months[0] in frame.value
    choice = _find(view, W.Dropdown, "Show")[0]
    choice.value = "armed_clashes"
    assert "Armed clashes" in frame.value
    assert "Unknown measure" in views.time_slider_map(measures, "rumours").value
    assert "not in the data" in views.time_slider_map(measures, month="2031-01").value
    start = views.time_slider_map(measures, month="2023-06")
    assert _find(start, W.Dropdown, "Month")[0].value == "2023-06"


FIXTURES = ROOT / "tests" / "fixtures" / "user_csv"


def _upload(view, path, name=None):
    import ipywidgets as W

    upload = _find(view, W.FileUpload)[0]
    content = path.read_bytes()
    upload.value = ({"name": name or path.name, "type": "text/csv", "size": len(content),
                     "content": memoryview(content),
                     "last_modified": datetime.datetime.now(datetime.timezone.utc)},)
    return view.children[1].value, view.children[2].value


def test_country_table_map_shows_an_uploaded_table(tmp_path):
    from course import data

    view = views.country_table_map(data.load("world_outlines"))
    assert "Choose a CSV file" in view.children[1].value
    # Real ISO codes are needed to land on the map; the values are made up and never shipped.
    table = tmp_path / "my_table.csv"
    table.write_text("iso3,country,risk,note\nFRA,France,0.2,MADE-UP TEST VALUE\n"
                     ",Chile,0.4,MADE-UP TEST VALUE\nXAA,Testland Alpha,0.1,MADE-UP TEST VALUE\n")
    status, frame = _upload(view, table)
    assert "2 countries shown" in status and "Testland Alpha" in status
    assert "leaflet" in frame.lower() and "my_table.csv" in frame


@pytest.mark.parametrize("fixture, message", [
    ("country_risk_bad_rows.csv", "row 3"),
    ("workbook_renamed.csv", "not a CSV"),
    ("country_risk_valid.csv", "matches a country on the map"),  # made-up codes: none on the map
])
def test_country_table_map_explains_bad_files(fixture, message):
    from course import data

    view = views.country_table_map(data.load("world_outlines"))
    status, frame = _upload(view, FIXTURES / fixture)
    assert message in status and frame == ""
