"""Module 5 logic: claims from the scenario, the reparations planner, the transitional-justice
design (with the amnesty question as a debate), and the aftermath by province."""

from __future__ import annotations

import pandas as pd
import pytest

from course import data, rebuilding
from course.rebuilding import justice, reparations


@pytest.fixture(scope="module")
def claims():
    return rebuilding.claims(data.load("scenario_incident_reports"), data.load("scenario_timeline"),
                             data.load("reparation_harms"))


@pytest.fixture(scope="module")
def rules():
    return data.load("rebuilding_rules")


@pytest.fixture(scope="module")
def mechanisms():
    return data.load("tj_mechanisms")


def _ids(findings):
    return [f.rule_id for f in findings]


# --- reference tables ---------------------------------------------------------------------------

def test_the_five_forms_and_four_elements_are_the_instruments_own():
    forms = data.load("reparation_forms").sort_values("order")
    assert tuple(forms["form"]) == rebuilding.FORMS
    assert list(forms["label"]) == ["Restitution", "Compensation", "Rehabilitation",
                                    "Satisfaction", "Guarantees of non-repetition"]
    assert all(s.startswith("A/RES/60/147") for s in forms["source"])
    paragraphs = [s.rsplit("para. ", 1)[1] for s in forms["source"]]
    assert paragraphs == ["19", "20", "21", "22", "23"]
    elements = data.load("transitional_justice_elements").sort_values("order")
    assert tuple(elements["element"]) == rebuilding.ELEMENTS
    assert all("E/CN.4/2005/102/Add.1" in s and "18/7" in s for s in elements["source"])


def test_every_rule_and_mechanism_cites_a_source_and_the_logic_knows_every_rule(rules, mechanisms):
    assert rules["source"].str.strip().astype(bool).all()
    assert mechanisms["source"].str.strip().astype(bool).all()
    assert set(rules.loc[rules["tool"] == "reparations", "rule_id"]) == set(reparations.RULE_IDS)
    assert set(rules.loc[rules["tool"] == "justice", "rule_id"]) == set(justice.RULE_IDS)


def test_every_harm_names_only_real_forms():
    harms = data.load("reparation_harms")
    for forms in harms["central_forms"]:
        assert set(forms.split(";")) <= set(rebuilding.FORMS), forms


# --- claims -------------------------------------------------------------------------------------

def test_claims_come_from_the_record(claims):
    reports = data.load("scenario_incident_reports")
    acts = reports["act_type"].value_counts()
    for act, count in acts.items():
        assert claims.at[act, "reports"] == count
        assert f"{count} incident report(s)" in claims.at[act, "evidence"]
    assert claims.at["discriminatory-law", "reports"] == 0
    assert "2023-07" in claims.at["discriminatory-law", "evidence"]
    assert "2024-04" in claims.at["targeting-of-defenders", "evidence"]
    assert claims.at["enforced-disappearance", "central_forms"][0] == "satisfaction"
    assert claims.at["unlawful-killing", "provinces"] == "P06, P07"


def test_claims_refuse_an_act_type_with_no_harm_row():
    reports = pd.DataFrame({"act_type": ["something-new"], "province_id": ["P01"]})
    with pytest.raises(ValueError, match="no row in reparation_harms"):
        rebuilding.claims(reports, data.load("scenario_timeline"), data.load("reparation_harms"))
    with pytest.raises(ValueError, match="lacks column"):
        rebuilding.claims(reports.drop(columns="province_id"), data.load("scenario_timeline"),
                          data.load("reparation_harms"))
    with pytest.raises(ValueError, match="DataFrame"):
        rebuilding.claims("reports.csv", data.load("scenario_timeline"),
                          data.load("reparation_harms"))


# --- the reparations planner --------------------------------------------------------------------

def _full_plan(claims):
    """Every group gets its central forms from the State, continuing harms first, and one
    guarantee of non-repetition."""
    plan = []
    for harm, forms in claims["central_forms"].items():
        first = 1 if harm in rebuilding.CONTINUING_HARMS else 2
        plan += [(harm, form, "state", first) for form in forms]
    return plan + [("threats-intimidation", "non-repetition", "state", 2)] * (
        "non-repetition" not in claims.at["threats-intimidation", "central_forms"])


def test_a_complete_consulted_gender_aware_plan_has_nothing_to_flag(claims, rules):
    plan = _full_plan(claims)
    assert rebuilding.evaluate_reparations(plan, claims, rules, consulted=True,
                                           gender_specific=True) == []


def test_an_empty_plan_leaves_everyone_out_and_was_made_without_victims(claims, rules):
    found = rebuilding.evaluate_reparations([], claims, rules)
    assert _ids(found) == ["group-left-out", "not-gender-specific", "victims-not-consulted"]
    assert set(found[0].subjects) == set(claims.index)


def test_each_reparations_rule_fires_on_its_own_mistake(claims, rules):
    good = _full_plan(claims)

    def broken(plan):
        return _ids(rebuilding.evaluate_reparations(plan, claims, rules, consulted=True,
                                                    gender_specific=True))

    without_detention = [a for a in good if a[0] != "arbitrary-detention"]
    assert broken(without_detention) == ["group-left-out"]
    donors = [(h, f, "international" if h == "forced-displacement" else p, t)
              for h, f, p, t in good]
    assert broken(donors) == ["state-duty"]
    # liable parties and donors together are still not the State
    mixed = [a for a in good if a[0] != "forced-displacement"] + [
        ("forced-displacement", "restitution", "liable-parties", 1),
        ("forced-displacement", "compensation", "international", 1)]
    assert broken(mixed) == ["state-duty"]
    # one State award among others is enough
    shared = [a for a in good if a[0] != "forced-displacement"] + [
        ("forced-displacement", "restitution", "state", 1),
        ("forced-displacement", "compensation", "liable-parties", 1)]
    assert broken(shared) == []
    money = [a for a in good if a[0] != "unlawful-killing"] + [
        ("unlawful-killing", "compensation", "state", 1)]
    assert broken(money) == ["central-form-missing", "money-only"]
    no_guarantee = [a for a in good if a[1] != "non-repetition"]
    assert broken(no_guarantee) == ["central-form-missing", "no-non-repetition"]
    late = [(h, f, p, 3 if h == "enforced-disappearance" else t) for h, f, p, t in good]
    found = rebuilding.evaluate_reparations(late, claims, rules, consulted=True,
                                            gender_specific=True)
    assert _ids(found) == ["continuing-harm-late"]
    assert found[0].subjects == ("enforced-disappearance",)
    assert "Families of people who disappeared" in found[0].detail
    assert _ids(rebuilding.evaluate_reparations(good, claims, rules, consulted=False,
                                                gender_specific=True)) == ["victims-not-consulted"]


def test_the_state_duty_finding_cites_the_forum_and_the_basic_principles(claims, rules):
    found = rebuilding.evaluate_reparations([("forced-displacement", "restitution",
                                              "liable-parties", 1)], claims, rules)
    duty = next(f for f in found if f.rule_id == "state-duty")
    assert "rebuilding recommendation 9" in duty.source and "A/RES/60/147" in duty.source
    assert "reimburse" in duty.message
    assert "What to do" in duty.text()


@pytest.mark.parametrize("award, message", [
    (("nobody", "restitution"), "unknown group"),
    (("forced-displacement", "apology"), "unknown form"),
    (("forced-displacement", "restitution", "perpetrators"), "unknown provider"),
    (("forced-displacement", "restitution", "state", 4), "tranche must be"),
    (("forced-displacement", "restitution", "state", True), "tranche must be"),
    (("forced-displacement",), "an award is"),
    ("forced-displacement", "an award is"),
])
def test_bad_awards_say_what_is_wrong(claims, rules, award, message):
    with pytest.raises(ValueError, match=message):
        rebuilding.evaluate_reparations([award], claims, rules)


def test_bad_plans_and_flags_are_refused(claims, rules):
    with pytest.raises(ValueError, match="list of Award"):
        rebuilding.evaluate_reparations("restitution", claims, rules)
    with pytest.raises(ValueError, match="consulted must be True or False"):
        rebuilding.evaluate_reparations([], claims, rules, consulted="yes")
    with pytest.raises(ValueError, match="lack"):
        rebuilding.evaluate_reparations([], claims, rules[rules["rule_id"] != "money-only"])
    with pytest.raises(ValueError, match="cite its source"):
        rebuilding.evaluate_reparations([], claims, rules.assign(source=""))


def test_the_planner_adds_replaces_removes_and_resets(claims, rules):
    planner = rebuilding.ReparationsPlanner(claims, data.load("reparation_forms"), rules)
    planner.add("forced-displacement", "restitution", "international", 2)
    planner.add("forced-displacement", "restitution", "state", 1)  # replaces
    assert planner.awards == (rebuilding.Award("forced-displacement", "restitution", "state", 1),)
    assert planner.grid().at["forced-displacement", "restitution"] == "state, 1"
    assert planner.grid().at["forced-displacement", "compensation"] == ""
    with pytest.raises(ValueError, match="nothing to remove"):
        planner.remove("forced-displacement", "compensation")
    planner.set_process(consulted=True, gender_specific=True)
    assert "victims-not-consulted" not in _ids(planner.findings())
    with pytest.raises(ValueError, match="True or False"):
        planner.set_process(consulted=1, gender_specific=True)
    assert "para. 19" in planner.form_text("restitution")
    with pytest.raises(ValueError, match="unknown form"):
        planner.form_text("apology")
    planner.remove("forced-displacement", "restitution")
    planner.reset()
    assert planner.awards == () and planner.consulted is False


# --- the transitional-justice design ------------------------------------------------------------

BALANCED = ["national-prosecutions", "institutional-reform", "commission-of-inquiry",
            "reparations-programme", "victims-participation", "protect-defenders",
            "return-reintegration"]


def test_a_balanced_design_covers_all_four_elements_with_nothing_to_flag(mechanisms, rules):
    assert rebuilding.evaluate_design(BALANCED, mechanisms, rules) == []
    cover = rebuilding.coverage(BALANCED, mechanisms)
    assert list(cover.index) == list(rebuilding.ELEMENTS)
    assert (cover["mechanisms"] >= 1).all()
    assert "National prosecutions" in cover.at["justice", "served_by"]


def test_an_empty_design_misses_every_element_and_nothing_else(mechanisms, rules):
    found = rebuilding.evaluate_design([], mechanisms, rules)
    assert _ids(found) == ["element-uncovered"]
    assert found[0].subjects == rebuilding.ELEMENTS


@pytest.mark.parametrize("design, expected", [
    (["national-prosecutions", "institutional-reform", "commission-of-inquiry",
      "victims-participation", "protect-defenders"],
     ["element-uncovered", "trials-alone", "no-return"]),
    (["international-justice", "reparations-programme", "commission-of-inquiry",
      "institutional-reform", "victims-participation", "protect-defenders",
      "return-reintegration"], ["international-alone"]),
    (["international-justice", "vetting", "reparations-programme", "commission-of-inquiry",
      "victims-participation", "protect-defenders", "return-reintegration"], []),
    (["national-prosecutions", "reparations-programme", "commission-of-inquiry", "vetting",
      "victims-participation", "protect-defenders", "return-reintegration"],
     ["institutions-to-build"]),
    ([*BALANCED, "reconciliation-campaign"], []),
    (["reconciliation-campaign", "commission-of-inquiry", "institutional-reform",
      "reparations-programme", "victims-participation", "protect-defenders",
      "return-reintegration"], ["element-uncovered", "reconciliation-as-impunity"]),
    ([m for m in BALANCED if m != "victims-participation"], ["victims-excluded"]),
    ([m for m in BALANCED if m != "protect-defenders"], ["defenders-exposed"]),
])
def test_each_design_rule_fires_on_its_own_gap(mechanisms, rules, design, expected):
    assert _ids(rebuilding.evaluate_design(design, mechanisms, rules)) == expected


def test_amnesty_is_presented_as_a_debate_with_both_sides_attributed(mechanisms, rules):
    found = rebuilding.evaluate_design([*BALANCED, "amnesty"], mechanisms, rules)
    assert _ids(found) == ["amnesty-debate"]
    debate = found[0]
    assert debate.kind == "debate"
    assert "2007 forum" in debate.message and "Rights for Peace" in debate.message
    assert "Updated Set" in debate.message
    assert "Forum 2007" in debate.source and "RfP 2019" in debate.source
    assert debate.text().startswith("To weigh:")
    # no verdict: the advice asks for an argued position, it does not say "drop the amnesty"
    assert "drop" not in debate.advice.lower() and "which position" in debate.advice.lower()


def test_tradeoffs_list_the_chosen_mechanisms_in_order(mechanisms):
    table = rebuilding.tradeoffs(["amnesty", "international-justice"], mechanisms)
    assert list(table["label"]) == ["Amnesty for leaders in exchange for peace",
                                    "International justice (the ICC or universal jurisdiction)"]
    assert table.at[0, "serves"] == "(the process)"
    assert "Darfur" in table.at[1, "tradeoffs"]


def test_bad_designs_are_refused(mechanisms, rules):
    with pytest.raises(ValueError, match="list of mechanism ids"):
        rebuilding.evaluate_design("amnesty", mechanisms, rules)
    with pytest.raises(ValueError, match="unknown mechanism"):
        rebuilding.evaluate_design(["truth-and-tea"], mechanisms, rules)
    with pytest.raises(ValueError, match="unknown element"):
        rebuilding.check_mechanisms(mechanisms.assign(elements="peace"))
    with pytest.raises(ValueError, match="lacks column"):
        rebuilding.check_mechanisms(mechanisms.drop(columns="tradeoffs"))


def test_the_design_object_chooses_drops_and_resets(mechanisms, rules):
    design = rebuilding.TransitionalJusticeDesign(mechanisms, rules)
    design.choose("amnesty")
    with pytest.raises(ValueError, match="already in the design"):
        design.choose("amnesty")
    assert design.findings()[-1].kind == "debate"
    design.drop("amnesty")
    with pytest.raises(ValueError, match="nothing to drop"):
        design.drop("amnesty")
    design.choose("vetting")
    design.reset()
    assert design.chosen == []


# --- the aftermath ------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def aftermath():
    return rebuilding.displacement_by_province(
        data.load("scenario_displacement"), data.load("scenario_timeline"),
        data.load("scenario_returns"), data.load("scenario_provinces"))


def test_aftermath_sums_match_the_scenario(aftermath):
    moves = data.load("scenario_displacement")
    phase = data.load("scenario_timeline").set_index("month")["phase"]
    crisis = moves[moves["month"].map(phase).isin(["escalation", "atrocities"])]
    assert aftermath["left_during_crisis"].sum() == crisis["displaced_out"].sum()
    assert aftermath["arrived_during_crisis"].sum() == crisis["displaced_in"].sum()
    assert aftermath["returned"].sum() == data.load("scenario_returns")["returned"].sum()
    assert aftermath.at["P06", "name"] == "Dunmaral"
    assert (aftermath["not_yet_returned"] >= 0).all()
    # returns go to the provinces people fled, and most have not come back
    assert set(aftermath.index[aftermath["returned"] > 0]) == {"P03", "P06", "P07"}
    assert (aftermath.loc[["P03", "P06", "P07"], "share_returned"] < 0.5).all()


def test_returns_start_when_the_timeline_reports_them():
    returns = data.load("scenario_returns")
    first = returns[returns["returned"] > 0].groupby("province_id")["month"].min()
    assert first["P06"] == "2025-03"  # "First families return to Dunmaral"
    assert set(returns["month"]) == {"2025-02", "2025-03", "2025-04", "2025-05", "2025-06"}


def test_the_aftermath_map_is_offline_and_has_a_table_alternative(aftermath):
    from course import maps

    view = rebuilding.aftermath_map(aftermath, "returned", places=data.load("scenario_places"))
    page = view.html()
    assert maps.external_urls(page) == []
    assert "Fictional scenario" in view.caption
    assert set(view.table["province_id"]) == set(aftermath.index)
    assert set(view.points["kind"]) == {"camp", "crossing"}
    with pytest.raises(ValueError, match="unknown measure"):
        rebuilding.aftermath_map(aftermath, "deaths")


def test_aftermath_refuses_bad_input():
    moves = data.load("scenario_displacement")
    timeline = data.load("scenario_timeline")
    returns = data.load("scenario_returns")
    with pytest.raises(ValueError, match="GeoJSON"):
        rebuilding.displacement_by_province(moves, timeline, returns, {"features": [{}]})
    with pytest.raises(ValueError, match="not in the timeline"):
        rebuilding.displacement_by_province(moves.assign(month="1999-01"), timeline, returns,
                                            data.load("scenario_provinces"))
    with pytest.raises(ValueError, match="lacks column"):
        rebuilding.displacement_by_province(moves, timeline, returns.drop(columns="returned"),
                                            data.load("scenario_provinces"))
