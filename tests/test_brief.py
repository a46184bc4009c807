"""The capstone's brief: pictures from the modules' logic, consistency checks, and ONE offline
HTML document that opens in Chromium with no request to any outside host."""

from __future__ import annotations

import datetime as dt
from urllib.parse import urlparse

import pandas as pd
import pytest

from course import brief, data, rebuilding
from course.maps import external_urls

PROVINCE, MONTH = "P06", "2024-06"
PLAN = [("escalation", "counter-incitement"), ("escalation", "early-warning"),
        ("escalation", "private-diplomacy"), ("escalation", "protect-defenders"),
        ("escalation", "document-evidence"), ("aftermath", "reparations"),
        ("aftermath", "victims-shape-tj")]
DESIGN = ["national-prosecutions", "institutional-reform", "commission-of-inquiry",
          "reparations-programme", "victims-participation", "protect-defenders",
          "return-reintegration"]


@pytest.fixture(scope="module")
def claims():
    return rebuilding.claims(data.load("scenario_incident_reports"), data.load("scenario_timeline"),
                             data.load("reparation_harms"))


def _awards(claims):
    return [(h, f, "state", 1) for h, owed in claims["central_forms"].items() for f in owed]


def _pictures(claims, province=PROVINCE, month=MONTH):
    return dict(
        risk=brief.risk_picture(data.load("scenario_indicators"),
                                data.load("scenario_indicator_catalogue"),
                                data.load("risk_factors"), province, month),
        escalation=brief.escalation_picture(data.load("scenario_media_log"), province, month),
        documentation=brief.documentation_picture(data.load("scenario_incident_reports"),
                                                  data.load("scenario_sources"), province, month),
        plan=brief.plan_picture(PLAN, data.load("r2p_measures"), data.load("r2p_rules")),
        rebuilding=brief.rebuilding_picture(_awards(claims), claims, DESIGN,
                                            data.load("tj_mechanisms"),
                                            data.load("rebuilding_rules"), consulted=True,
                                            gender_specific=True))


def _brief(claims, **overrides) -> brief.Brief:
    pictures = _pictures(claims)
    stated = {"factors": list(pictures["risk"].factors), "trend": pictures["risk"].trend,
              "highest_level": pictures["escalation"].highest_level,
              "escalating": pictures["escalation"].escalating,
              "uncorroborated": len(pictures["documentation"].uncorroborated)}
    texts = {key: f"Text of {key}.\n\nA second paragraph." for key in brief.SECTIONS}
    fields = dict(province="P06 (Dunmaral)", texts=texts, stated=stated, **pictures)
    fields.update(overrides)
    return brief.Brief(**fields)


# --- the pictures agree with the modules' own logic ---------------------------------------------

def test_risk_picture_reads_the_factor_counts():
    from course import warning_signs

    indicators = data.load("scenario_indicators")
    catalogue = data.load("scenario_indicator_catalogue")
    risk = brief.risk_picture(indicators, catalogue, data.load("risk_factors"), PROVINCE, MONTH)
    counts = warning_signs.factor_counts(indicators, catalogue)
    assert risk.count == counts.at[MONTH, PROVINCE] == len(risk.factors) == len(risk.table)
    assert risk.count_before == counts.at["2024-03", PROVINCE]
    assert risk.trend == "rising" and 8 not in risk.factors
    assert list(risk.table["name"])[0].startswith("Situations of armed conflict")
    calm = brief.risk_picture(indicators, catalogue, data.load("risk_factors"), "P01", "2023-06")
    assert calm.factors == () and calm.trend == "steady" and calm.table.empty


@pytest.mark.parametrize("province, month, message", [
    ("P09", MONTH, "Unknown province"),
    (PROVINCE, "2023-02", "from 2023-04 on"),
    (PROVINCE, "June 2024", "Use the form YYYY-MM"),
])
def test_risk_picture_refuses_bad_choices(province, month, message):
    with pytest.raises(ValueError, match=message):
        brief.risk_picture(data.load("scenario_indicators"),
                           data.load("scenario_indicator_catalogue"),
                           data.load("risk_factors"), province, month)


def test_escalation_picture_uses_the_pyramid_flags():
    from course import pyramid

    log = data.load("scenario_media_log")
    picture = brief.escalation_picture(log, PROVINCE, MONTH)
    flags = pyramid.escalation_flags(pyramid.monthly_counts(log, PROVINCE,
                                                            pyramid.month_range(log["month"])))
    assert picture.escalating is bool(flags[MONTH]) is False
    assert picture.highest_level == 4
    assert list(picture.table["month"]) == ["2024-01", "2024-02", "2024-03", "2024-04",
                                            "2024-05", "2024-06"]
    with pytest.raises(ValueError, match="outside the log"):
        brief.escalation_picture(log, PROVINCE, "2031-01")


def test_documentation_picture_sets_aside_testimony_without_consent():
    reports = data.load("scenario_incident_reports")
    picture = brief.documentation_picture(reports, data.load("scenario_sources"), PROVINCE, MONTH)
    here = reports[(reports["province_id"] == PROVINCE)
                   & (pd.to_datetime(reports["event_start"]) <= pd.Timestamp("2024-06-30 23:59"))]
    no_consent = (here["testimony"] & ~here["consent_recorded"]).sum()
    assert picture.set_aside == no_consent and picture.reports == len(here) - no_consent
    assert picture.events == picture.corroborated + len(picture.uncorroborated)
    assert set(picture.uncorroborated) == set(
        picture.table.loc[~picture.table["corroborated"], "event_id"])
    empty = brief.documentation_picture(reports, data.load("scenario_sources"), "P01", "2023-06")
    assert empty.events == 0 and empty.uncorroborated == ()


def test_plan_picture_counts_by_stage_and_pillar_and_keeps_the_feedback():
    plan = brief.plan_picture(PLAN, data.load("r2p_measures"), data.load("r2p_rules"))
    assert plan.stages() == {"prevent", "react", "rebuild"}
    assert plan.pillars() == {"I", "II", "III"}
    assert int(plan.by_stage_and_pillar.to_numpy().sum()) == len(PLAN)
    assert "prevention-starts-late" in {f.rule_id for f in plan.findings}
    with pytest.raises(ValueError, match="unknown measure"):
        brief.plan_picture([("escalation", "bombard")], data.load("r2p_measures"),
                           data.load("r2p_rules"))


# --- consistency checks (the capstone's autograded checks) --------------------------------------

def test_a_faithful_brief_has_no_consistency_problem(claims):
    assert brief.consistency_problems(_brief(claims)) == []


def test_each_misstatement_is_named(claims):
    good = _brief(claims)
    stated = dict(good.stated)
    cases = {
        "factors": (stated["factors"][:-1], "risk factors named"),
        "trend": ("falling", "trend named"),
        "highest_level": (5, "highest pyramid level"),
        "escalating": (True, "'escalating'"),
        "uncorroborated": (0, "uncorroborated events"),
    }
    for key, (wrong, message) in cases.items():
        problems = brief.consistency_problems(_brief(claims, stated={**stated, key: wrong}))
        assert len(problems) == 1 and message in problems[0], (key, problems)
    thin_plan = brief.plan_picture(PLAN[:1], data.load("r2p_measures"), data.load("r2p_rules"))
    problems = brief.consistency_problems(_brief(claims, plan=thin_plan))
    assert any("stage(s) react, rebuild" in p for p in problems)
    assert any("pillar(s) II, III" in p for p in problems)
    thin = brief.rebuilding_picture(_awards(claims)[:2], claims, ["vetting"],
                                    data.load("tj_mechanisms"), data.load("rebuilding_rules"))
    problems = brief.consistency_problems(_brief(claims, rebuilding=thin))
    assert any("leaves out" in p for p in problems)
    assert any("truth" in p and "reparation" in p for p in problems)
    blank = brief.consistency_problems(_brief(claims, texts={"risk": "  "}))
    assert len(blank) == len(brief.SECTIONS)


# --- the export ---------------------------------------------------------------------------------

def test_the_html_is_one_document_offline_escaped_and_script_free(claims):
    hostile = "<script>alert('x')</script> <img src=https://example.org/t.png>"
    page = brief.render_html(_brief(claims, author=hostile, texts={
        key: hostile for key in brief.SECTIONS}), generated=dt.date(2026, 1, 2))
    assert page.startswith("<!DOCTYPE html>") and page.count("<html") == 1
    assert "<script" not in page.lower() and "<img" not in page
    assert "&lt;script&gt;" in page and "&lt;img src=https://example.org" in page
    assert brief._ACTIVE.search(page) is None
    assert external_urls(brief.render_html(_brief(claims))) == []
    assert "<style>" in page and "<link" not in page
    assert "Fictional scenario" in page and "2026-01-02" in page
    for heading in brief.SECTIONS.values():
        assert heading in page


def test_export_writes_an_html_file_only(claims, tmp_path):
    out = brief.export(_brief(claims), tmp_path / "brief.html")
    assert out.read_text(encoding="utf-8").startswith("<!DOCTYPE html>")
    with pytest.raises(ValueError, match=r"\.html"):
        brief.export(_brief(claims), tmp_path / "brief.pdf")


@pytest.mark.browser
def test_the_exported_brief_opens_in_chromium_with_no_outside_request(browser, claims, tmp_path,
                                                                       artifacts):
    path = brief.export(_brief(claims), tmp_path / "caldreth_brief.html")
    page = browser.new_page()
    requests, outside, errors = [], [], []

    def route(request_route):
        url = request_route.request.url
        requests.append(url)
        if urlparse(url).scheme in ("file", "data", "about"):
            request_route.continue_()
        else:
            outside.append(url)
            request_route.abort()

    page.route("**/*", route)
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(path.as_uri(), wait_until="load")
    headings = page.locator("h2").all_inner_texts()
    tables = page.locator("table.data").count()
    note = page.locator(".note").inner_text()
    page.screenshot(path=str(artifacts / "capstone-brief.png"), full_page=True)
    page.close()
    assert outside == [], f"the brief asked outside hosts for: {outside}"
    assert requests == [path.as_uri()], requests
    assert errors == []
    assert headings == list(brief.SECTIONS.values())
    assert tables >= 7 and "Fictional scenario" in note
