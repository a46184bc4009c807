"""Module 5 views, built headless and driven through their controls as a trainee would."""

from __future__ import annotations

import pytest

from course import data, rebuilding
from course.widgets import rebuilding as views


@pytest.fixture()
def planner():
    claims = rebuilding.claims(data.load("scenario_incident_reports"),
                               data.load("scenario_timeline"), data.load("reparation_harms"))
    return rebuilding.ReparationsPlanner(claims, data.load("reparation_forms"),
                                         data.load("rebuilding_rules"))


def test_planner_view_adds_removes_checks_and_restarts(planner):
    c = views.reparations_planner(planner).controls
    c["group"].value = "enforced-disappearance"
    assert "incident report(s)" in c["claim"].value and "satisfaction" in c["claim"].value
    c["form"].value = "satisfaction"
    c["provider"].value = "international"
    c["tranche"].value = 3
    c["add"].click()
    assert "Added: Satisfaction" in c["status"].value
    assert "international, 3" in c["grid"].value
    c["check"].click()
    feedback = c["feedback"].value
    assert "The State is not the one repairing" in feedback
    assert "Continuing harm left for later" in feedback
    assert "rebuilding recommendation 9" in feedback and "What to do" in feedback
    c["consulted"].value = c["gender"].value = True
    c["check"].click()
    assert "Designed without the victims" not in c["feedback"].value
    c["form"].value = "compensation"
    c["remove"].click()  # nothing of that form to remove: a message, not a traceback
    assert "nothing to remove" in c["status"].value
    c["form"].value = "satisfaction"
    c["remove"].click()
    assert "Removed" in c["status"].value and "international, 3" not in c["grid"].value
    c["restart"].click()
    assert planner.awards == () and c["consulted"].value is False and c["feedback"].value == ""


def test_planner_view_escapes_what_it_shows(planner):
    planner.claims.loc["forced-displacement", "evidence"] = "<script>alert(1)</script>"
    c = views.reparations_planner(planner).controls
    c["group"].value = "forced-displacement"
    assert "<script>" not in c["claim"].value and "&lt;script&gt;" in c["claim"].value


def test_justice_view_shows_coverage_tradeoffs_and_the_amnesty_debate():
    design = rebuilding.TransitionalJusticeDesign(data.load("tj_mechanisms"),
                                                  data.load("rebuilding_rules"))
    c = views.justice_designer(design).controls
    assert "An element of transitional justice is missing" in c["feedback"].value
    c["pick"].value = "amnesty"
    assert "Forum 2007" in c["detail"].value
    c["add"].click()
    assert "To weigh (the sources disagree)" in c["feedback"].value
    assert "Your turn" in c["feedback"].value
    assert "Updated Set" in c["tradeoffs"].value
    c["add"].click()
    assert "already in the design" in c["status"].value
    c["drop"].click()
    assert "To weigh" not in c["feedback"].value
    c["pick"].value = "national-prosecutions"
    c["add"].click()
    assert "National prosecutions" in c["coverage"].value
    c["restart"].click()
    assert design.chosen == [] and "Nothing chosen yet" in c["tradeoffs"].value


def test_findings_html_with_nothing_to_flag():
    assert "Nothing to flag" in views.findings_html([])


def test_aftermath_explorer_redraws_for_each_measure():
    table = rebuilding.displacement_by_province(
        data.load("scenario_displacement"), data.load("scenario_timeline"),
        data.load("scenario_returns"), data.load("scenario_provinces"))
    box = views.aftermath_explorer(table, data.load("scenario_places"))
    c = box.controls
    assert "not yet back" in c["map"].value and "<iframe" in c["map"].value
    for key, (_, legend, title) in rebuilding.AFTERMATH_MEASURES.items():
        c["measure"].value = key
        assert c["status"].value == ""
        assert title in c["map"].value and legend in c["map"].value
