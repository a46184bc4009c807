"""Module 4 views, built headless and driven through their controls as a trainee would."""

from __future__ import annotations

import pandas as pd
import pytest

from course import data, r2p
from course.widgets import r2p as views
from tests.helpers.tables import SG_REPORTS as REPORTS


@pytest.fixture()
def sim():
    return r2p.ResponseSimulator(data.load("r2p_measures"), data.load("r2p_rules"))


def test_simulator_view_adds_ends_phases_and_summarises(sim):
    box = views.response_simulator(sim)
    c = box.controls
    assert "Phase 1 of 4" in c["header"].value
    ids = [value for _, value in c["toolbox"].options]
    assert "counter-incitement" in ids and "authorise-force" not in ids
    c["toolbox"].value = "counter-incitement"
    assert "Pillar I" in c["detail"].value and "A/RES/60/1" in c["detail"].value
    c["add"].click()
    assert [v for _, v in c["chosen"].options] == ["counter-incitement"]
    c["end_phase"].click()
    assert "Prevention starts too late" in c["feedback"].value
    assert "SG 2024" in c["feedback"].value and "What to do" in c["feedback"].value
    assert "Phase 2 of 4" in c["header"].value
    c["toolbox"].value = "arms-embargo"
    c["add"].click()
    c["chosen"].value = "arms-embargo"
    c["withdraw"].click()
    assert c["chosen"].options == ()
    c["toolbox"].value = "arms-embargo"
    c["add"].click()
    for _ in range(3):
        c["end_phase"].click()
    assert sim.finished and c["end_phase"].disabled
    assert "Coercion before peaceful means" in c["feedback"].value
    assert "Timely and decisive response" in c["summary"].value
    assert "Escalation: Arms embargo <i>(coercive)</i>" in c["summary"].value
    assert c["detail"].value == ""  # nothing left to describe once the crisis is over
    c["restart"].click()
    assert sim.phase == "rising-risk" and not c["end_phase"].disabled


def test_simulator_view_shows_errors_instead_of_raising(sim):
    box = views.response_simulator(sim)
    c = box.controls
    c["add"].click()  # nothing picked
    assert "Pick a measure" in c["status"].value
    c["toolbox"].value = "good-offices"
    c["add"].click()
    c["add"].click()  # the same measure twice in one phase
    assert "already in your plan" in c["status"].value
    c["withdraw"].click()
    assert "to withdraw" in c["status"].value


def test_findings_html_escapes_and_handles_none():
    assert "No rule is broken" in views.findings_html([])
    finding = r2p.Finding("x", "<b>t</b>", "m", "a", "s", ("peace-talks",))
    assert "&lt;b&gt;" in views.findings_html([finding])


def test_report_timeline_filters_by_theme():
    box = views.report_timeline(REPORTS)
    c = box.controls
    assert "3 reports" in c["listing"].value
    c["theme"].value = "early warning"
    assert "2 reports" in c["listing"].value and "A/63/677" not in c["listing"].value
    assert [v for _, v in c["theme"].options][0] == "all"


def test_report_timeline_rejects_a_table_without_themes():
    with pytest.raises(ValueError, match="lacks column"):
        views.report_timeline(pd.DataFrame({"year": [2009]}))


def test_findings_html_marks_the_amnesty_debate_as_one():
    measures = data.load("r2p_measures")
    found = r2p.evaluate([("atrocities", "amnesty-for-ceasefire")], measures,
                         data.load("r2p_rules"))
    shown = views.findings_html(found, measures)
    debate = shown.split("<li>")[[f.rule_id for f in found].index("amnesty-debate") + 1]
    assert "To weigh (the sources disagree)" in debate and "Your turn" in debate
    assert "What to do" not in debate
