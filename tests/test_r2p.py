"""Module 4 logic: the toolbox and rule data, each rule kind, the simulator, ordering, timeline."""

from __future__ import annotations

import pandas as pd
import pytest

from course import data, r2p
from tests.helpers.tables import SG_REPORTS as REPORTS


def _load(name: str) -> pd.DataFrame:
    return data.load(name)


@pytest.fixture(scope="module")
def measures() -> pd.DataFrame:
    return _load("r2p_measures")


@pytest.fixture(scope="module")
def rules() -> pd.DataFrame:
    return _load("r2p_rules")


def only(rules: pd.DataFrame, rule_id: str) -> pd.DataFrame:
    picked = rules[rules["rule_id"] == rule_id]
    assert len(picked) == 1, f"rule {rule_id} missing from r2p_rules"
    return picked


def fired(plan, measures, rules, rule_id, **kw) -> bool:
    found = r2p.evaluate(plan, measures, only(rules, rule_id), **kw)
    assert all(f.rule_id == rule_id for f in found)
    return bool(found)


# --- the data -----------------------------------------------------------------------------------

def test_toolbox_is_valid_and_every_row_cites_a_source(measures):
    table = r2p.check_measures(measures)
    assert table["source"].str.strip().str.len().gt(0).all()
    assert set(table["pillar"]) == set(r2p.PILLARS)
    assert set(table["stage"]) == set(r2p.STAGES)
    # every phase offers both kinds of choice the feedback talks about
    for phase in r2p.PHASES:
        offered = table[table["phases"].map(lambda ps, p=phase: p in ps)]
        assert len(offered) >= 8, phase
    # every coercive measure's actor also has a peaceful measure to try first
    for actor in table.loc[table["coercive"], "actor"]:
        assert (~table.loc[table["actor"] == actor, "coercive"]).any(), actor


def test_rules_are_valid_and_cite_sources(measures, rules):
    parsed = r2p.check_rules(rules, measures)
    assert len(parsed) == len(rules) >= 10
    assert len({r.rule_id for r in parsed}) == len(parsed)
    assert {r.kind for r in parsed} == set(r2p.EVALUATORS)
    for rule in parsed:
        assert rule.source.strip() and rule.message.strip() and rule.advice.strip()


# --- each rule, one by one: fires and does not fire ----------------------------------------------

PEACEFUL_START = [("rising-risk", "counter-incitement"), ("rising-risk", "ngo-capacity")]

CASES = {
    "coercive-before-peaceful": (
        [("escalation", "arms-embargo")],
        [("escalation", "council-statement"), ("escalation", "arms-embargo")],
    ),
    "force-last-resort": (
        [("escalation", "peace-talks"), ("atrocities", "authorise-force")],
        [("escalation", "legal-reform"), ("escalation", "peace-talks"),
         ("escalation", "humanitarian-access"), ("atrocities", "authorise-force")],
    ),
    "economic-sanctions-harm": (
        [("escalation", "targeted-sanctions"), ("escalation", "trade-embargo"),
         ("atrocities", "tourism-boycott")],
        [("escalation", "targeted-sanctions"), ("escalation", "trade-embargo")],
    ),
    "rights-bargained-away": (
        [("escalation", "peace-talks")],
        [("escalation", "peace-talks"), ("escalation", "rights-in-agreement")],
    ),
    "amnesty-debate": (
        [("atrocities", "amnesty-for-ceasefire")],
        [("atrocities", "peace-talks")],
    ),
    "defenders-unprotected": (
        [("escalation", "peace-talks"), ("atrocities", "protect-defenders")],
        [("escalation", "defenders-in-talks")],
    ),
    "prevention-starts-late": (
        [("rising-risk", "counter-incitement"), ("rising-risk", "train-officials")],
        PEACEFUL_START,
    ),
    "evidence-lost": (
        [("atrocities", "humanitarian-access")],
        [("atrocities", "investigative-mechanism")],
    ),
    "refugees-unprotected": (
        [("atrocities", "peace-talks")],
        [("escalation", "refugee-protection")],
    ),
    "reconciliation-as-impunity": (
        [("aftermath", "national-reconciliation")],
        [("aftermath", "national-reconciliation"), ("aftermath", "vetting")],
    ),
    "victims-excluded": (
        [("aftermath", "tj-design")],
        [("aftermath", "victims-shape-tj"), ("aftermath", "tj-design")],
    ),
    "criminal-justice-alone": (
        [("atrocities", "national-prosecutions")],
        [("atrocities", "national-prosecutions"), ("aftermath", "reparations")],
    ),
}


def test_every_rule_has_a_case(rules):
    assert set(rules["rule_id"]) == set(CASES)


@pytest.mark.parametrize("rule_id", sorted(CASES))
def test_rule_fires(measures, rules, rule_id):
    firing, _ = CASES[rule_id]
    assert fired(firing, measures, rules, rule_id)


@pytest.mark.parametrize("rule_id", sorted(CASES))
def test_rule_does_not_fire(measures, rules, rule_id):
    _, quiet = CASES[rule_id]
    assert not fired(quiet, measures, rules, rule_id)


def test_the_amnesty_rule_presents_the_debate_not_a_verdict(measures, rules):
    [finding] = r2p.evaluate([("atrocities", "amnesty-for-ceasefire")], measures,
                             only(rules, "amnesty-debate"))
    assert finding.kind == "debate" and finding.measures == ("amnesty-for-ceasefire",)
    # both positions, attributed, and the Updated Set's limits on amnesty
    assert "2007 forum" in finding.message and "Rights for Peace" in finding.message
    assert "Updated Set" in finding.message
    assert "Forum 2007" in finding.source and "RfP 2019" in finding.source
    assert "E/CN.4/2005/102/Add.1" in finding.source
    # no verdict: the advice asks for an argued choice, it does not tell the trainee to drop it
    assert "drop" not in finding.advice.lower() and "argue your choice" in finding.advice.lower()
    assert finding.text().startswith("To weigh:") and "Your turn:" in finding.text()
    table = r2p.findings_table([finding])
    assert table.at[0, "kind"] == "debate"
    # every other rule is a problem, not a debate
    plan = [("escalation", "trade-embargo"), ("atrocities", "amnesty-for-ceasefire")]
    kinds = {f.rule_id: f.kind for f in r2p.evaluate(plan, measures, rules)}
    assert kinds.pop("amnesty-debate") == "debate" and set(kinds.values()) == {"problem"}


def test_coercive_rule_is_per_actor(measures, rules):
    # a peaceful step by another actor does not count as this actor trying peaceful means
    plan = [("escalation", "private-diplomacy"), ("escalation", "arms-embargo")]
    [finding] = r2p.evaluate(plan, measures, only(rules, "coercive-before-peaceful"))
    assert finding.measures == ("arms-embargo",)
    assert "UN Security Council" in finding.detail
    # the peaceful step must come before, not after
    late = [("escalation", "arms-embargo"), ("escalation", "council-statement")]
    assert fired(late, measures, rules, "coercive-before-peaceful")


def test_force_rule_names_what_is_missing(measures, rules):
    plan = [("escalation", "peace-talks"), ("atrocities", "authorise-force")]
    [finding] = r2p.evaluate(plan, measures, only(rules, "force-last-resort"))
    assert "legal" in finding.detail and "humanitarian" in finding.detail
    assert "diplomacy" not in finding.detail


def test_economic_rule_ties_do_not_fire(measures, rules):
    tie = [("escalation", "diplomatic-isolation"), ("escalation", "tourism-boycott")]
    assert not fired(tie, measures, rules, "economic-sanctions-harm")
    assert fired([("escalation", "tourism-boycott")], measures, rules, "economic-sanctions-harm")


def test_safeguard_in_a_later_phase_is_too_late(measures, rules):
    plan = [("escalation", "peace-talks"), ("atrocities", "rights-in-agreement")]
    assert fired(plan, measures, rules, "rights-bargained-away")


def test_phase_rules_wait_until_the_phase_is_over(measures, rules):
    plan = [("escalation", "peace-talks")]
    assert not fired(plan, measures, rules, "defenders-unprotected", through="rising-risk")
    assert fired(plan, measures, rules, "defenders-unprotected", through="escalation")
    # a safeguard with a deadline later than its trigger's phase waits for that deadline
    trial = [("atrocities", "national-prosecutions")]
    assert not fired(trial, measures, rules, "criminal-justice-alone", through="atrocities")
    assert fired(trial, measures, rules, "criminal-justice-alone", through="aftermath")


def test_a_good_plan_breaks_no_rule(measures, rules):
    plan = [
        ("rising-risk", "counter-incitement"), ("rising-risk", "ngo-capacity"),
        ("rising-risk", "good-offices"),
        ("escalation", "private-diplomacy"), ("escalation", "peace-talks"),
        ("escalation", "rights-in-agreement"), ("escalation", "defenders-in-talks"),
        ("escalation", "legal-reform"), ("escalation", "humanitarian-access"),
        ("escalation", "targeted-sanctions"),
        ("atrocities", "council-statement"), ("atrocities", "document-evidence"),
        ("atrocities", "refugee-protection"), ("atrocities", "authorise-force"),
        ("aftermath", "victims-shape-tj"), ("aftermath", "tj-design"),
        ("aftermath", "national-prosecutions"), ("aftermath", "reparations"),
    ]
    assert r2p.violated_rules(plan, measures, rules) == []


# --- bad input ----------------------------------------------------------------------------------

def test_unknown_measure(measures, rules):
    with pytest.raises(ValueError, match="unknown measure 'drones'.*toolbox"):
        r2p.evaluate([("escalation", "drones")], measures, rules)


def test_measure_not_available_in_that_phase(measures, rules):
    with pytest.raises(ValueError, match="'authorise-force' is not available in the "
                                         "'rising-risk' phase.*atrocities"):
        r2p.evaluate([("rising-risk", "authorise-force")], measures, rules)


def test_unknown_phase(measures, rules):
    with pytest.raises(ValueError, match="unknown phase 'ceasefire'.*rising-risk"):
        r2p.evaluate([("ceasefire", "peace-talks")], measures, rules)
    with pytest.raises(ValueError, match="unknown phase"):
        r2p.evaluate([], measures, rules, through="later")


def test_phases_out_of_order(measures, rules):
    plan = [("atrocities", "peace-talks"), ("escalation", "peace-talks")]
    with pytest.raises(ValueError, match="order the phases happen"):
        r2p.evaluate(plan, measures, rules)


def test_plan_shapes(measures, rules):
    frame = pd.DataFrame({"phase": ["escalation"], "measure_id": ["arms-embargo"]})
    assert r2p.violated_rules(frame, measures, only(rules, "coercive-before-peaceful")) == [
        "coercive-before-peaceful"]
    with pytest.raises(ValueError, match="lacks column"):
        r2p.evaluate(frame.rename(columns={"phase": "when"}), measures, rules)
    with pytest.raises(ValueError, match="list of"):
        r2p.evaluate("peace-talks", measures, rules)
    with pytest.raises(ValueError, match=r"expected \(phase, measure_id\)"):
        r2p.evaluate([("escalation",)], measures, rules)


def test_rules_must_be_the_table_or_checked_rules(measures, rules):
    with pytest.raises(ValueError, match="rules must be the r2p_rules table"):
        r2p.evaluate([], measures, [{"rule_id": "x"}])
    checked = r2p.check_rules(rules, measures)
    assert r2p.evaluate([("escalation", "arms-embargo")], measures, checked)


def test_bad_toolbox_rows_are_named(measures):
    bad = measures.copy()
    bad.loc[0, "pillar"] = "IV"
    with pytest.raises(ValueError, match="pillar 'IV'"):
        r2p.check_measures(bad)
    bad = measures.copy()
    bad.loc[0, "phases"] = "rising-risk;later"
    with pytest.raises(ValueError, match="phases"):
        r2p.check_measures(bad)
    with pytest.raises(ValueError, match="unique"):
        r2p.check_measures(pd.concat([measures, measures.head(1)]))
    with pytest.raises(ValueError, match="lacks column"):
        r2p.check_measures(measures.drop(columns="actor"))


def test_bad_rules_are_named(measures, rules):
    bad = rules.copy()
    bad.loc[0, "kind"] = "vibes"
    with pytest.raises(ValueError, match="unknown kind 'vibes'"):
        r2p.check_rules(bad, measures)
    bad = rules.copy()
    bad.loc[bad["rule_id"] == "amnesty-debate", "trigger"] = "no-such-measure"
    with pytest.raises(ValueError, match="no-such-measure"):
        r2p.check_rules(bad, measures)
    bad = rules.copy()
    bad.loc[bad["rule_id"] == "evidence-lost", "phase"] = None
    with pytest.raises(ValueError, match="needs phase"):
        r2p.check_rules(bad, measures)
    bad = rules.copy()
    bad.loc[0, "source"] = " "
    with pytest.raises(ValueError, match="cite its source"):
        r2p.check_rules(bad, measures)


# --- summary and ordering -----------------------------------------------------------------------

def test_summary_counts_every_pillar_and_stage(measures):
    plan = [("rising-risk", "counter-incitement"), ("rising-risk", "ngo-capacity"),
            ("escalation", "arms-embargo"), ("aftermath", "reparations")]
    table = r2p.plan_summary(plan, measures)
    assert list(table.index) == ["I", "II", "III", "total"]
    assert list(table.columns) == ["prevent", "react", "rebuild", "total"]
    assert table.at["I", "prevent"] == 1 and table.at["I", "rebuild"] == 1
    assert table.at["III", "prevent"] == 1 and table.at["II", "react"] == 0
    assert table.at["total", "total"] == 4
    empty = r2p.plan_summary([], measures)
    assert empty.to_numpy().sum() == 0 and empty.shape == (4, 4)


def test_ordering_problems_and_order_plan(measures):
    ids = ["trade-embargo", "counter-incitement", "arms-embargo", "private-diplomacy",
           "council-statement"]
    problems = r2p.ordering_problems(ids, measures)
    assert ("trade-embargo", "private-diplomacy", "international partners") in problems
    assert ("arms-embargo", "council-statement", "UN Security Council") in problems
    ordered = r2p.order_plan(ids, measures)
    assert sorted(ordered) == sorted(ids)
    assert r2p.ordering_problems(ordered, measures) == []
    # other actors keep their places; each actor keeps its positions
    assert ordered == ["private-diplomacy", "counter-incitement", "council-statement",
                       "trade-embargo", "arms-embargo"]
    # only coercive measures for an actor: nothing to move
    assert r2p.order_plan(["arms-embargo", "icc-referral"], measures) == [
        "arms-embargo", "icc-referral"]
    assert r2p.order_plan([], measures) == []
    with pytest.raises(ValueError, match="unknown measure"):
        r2p.order_plan(["arms-embargo", "nukes"], measures)
    with pytest.raises(ValueError, match="list of measure ids"):
        r2p.ordering_problems("arms-embargo", measures)


# --- the simulator ------------------------------------------------------------------------------

def test_simulator_runs_through_the_phases(measures, rules):
    sim = r2p.ResponseSimulator(measures, rules)
    assert sim.phase == "rising-risk"
    assert "authorise-force" not in sim.available().index
    sim.choose("counter-incitement")
    assert sim.advance()[0].rule_id == "prevention-starts-late"
    assert sim.phase == "escalation"
    sim.choose("arms-embargo")
    assert [f.rule_id for f in sim.feedback()] == ["coercive-before-peaceful",
                                                    "prevention-starts-late"]
    sim.withdraw("arms-embargo")
    sim.choose("council-statement")
    sim.choose("arms-embargo")
    ended = [f.rule_id for f in sim.advance()]
    assert "coercive-before-peaceful" not in ended and "defenders-unprotected" in ended
    sim.advance()
    assert sim.phase == "aftermath"
    sim.choose("reparations")
    sim.advance()
    assert sim.finished
    assert sim.summary().at["total", "total"] == 4
    assert sim.measure_ids() == ["counter-incitement", "council-statement", "arms-embargo",
                                 "reparations"]
    assert list(sim.plan()["measure_id"]) == ["counter-incitement", "council-statement",
                                              "arms-embargo", "reparations"]
    assert set(sim.feedback_by_phase) == set(r2p.PHASES)


def test_simulator_first_phase_feedback_is_not_premature(measures, rules):
    sim = r2p.ResponseSimulator(measures, rules)
    assert sim.feedback() == []  # nothing chosen, but the rising-risk phase is not over yet


def test_simulator_bad_input(measures, rules):
    sim = r2p.ResponseSimulator(measures, rules)
    with pytest.raises(ValueError, match="unknown measure"):
        sim.choose("drones")
    with pytest.raises(ValueError, match="not available in the 'rising-risk'"):
        sim.choose("authorise-force")
    sim.choose("good-offices")
    with pytest.raises(ValueError, match="already in your plan"):
        sim.choose("good-offices")
    with pytest.raises(ValueError, match="nothing to withdraw"):
        sim.withdraw("ngo-capacity")
    sim.advance()
    with pytest.raises(ValueError, match="earlier phases cannot be changed"):
        sim.withdraw("good-offices")
    # the same measure may be chosen again in a later phase
    sim.choose("good-offices")
    for _ in range(3):
        sim.advance()
    with pytest.raises(ValueError, match="simulation is over"):
        sim.choose("reparations")
    with pytest.raises(ValueError, match="simulation is over"):
        sim.advance()
    sim.reset()
    assert sim.phase == "rising-risk" and sim.steps == ()


def test_simulator_headlines_come_from_the_timeline(measures, rules):
    timeline = pd.DataFrame({"month": ["2023-01", "2023-06"],
                             "phase": ["rising-risk", "escalation"],
                             "headline": ["A", "B"]})
    sim = r2p.ResponseSimulator(measures, rules, timeline)
    assert sim.headlines() == ["2023-01: A"]
    sim.advance()
    assert sim.headlines() == ["2023-06: B"]


def test_finding_text_carries_source_and_advice(measures, rules):
    [finding] = r2p.evaluate([("escalation", "trade-embargo")], measures,
                             only(rules, "economic-sanctions-harm"))
    text = finding.text()
    assert "[Forum 2007, prevention recommendation 4]" in text and "What to do:" in text


# --- the map and the timeline -------------------------------------------------------------------

PLACES = pd.DataFrame({
    "place_id": ["T1", "C1", "X1", "X2"], "name": ["Town", "Camp", "Crossing", "Crossing 2"],
    "province_id": ["P01", "P02", "P02", "P03"], "kind": ["town", "camp", "crossing", "crossing"],
    "x": [1.0, 2.0, 3.0, 4.0], "y": [1.0, 2.0, 3.0, 4.0],
})


def test_measure_places_and_counts(measures):
    chosen = ["refugee-protection", "counter-incitement", "humanitarian-access"]
    located = r2p.measure_places(chosen, measures, PLACES)
    assert set(located["place_id"]) == {"X1", "X2", "C1"}
    counts = r2p.measures_per_province(chosen, measures, PLACES, ["P01", "P02", "P03", "P04"])
    assert counts.to_dict() == {"P01": 1, "P02": 3, "P03": 2, "P04": 1}
    with pytest.raises(ValueError, match="lacks column"):
        r2p.measure_places(chosen, measures, PLACES.drop(columns="kind"))


def test_report_themes_and_filter():
    assert r2p.report_themes(REPORTS) == ["early warning", "implementation", "pillars",
                                          "prevention", "protection"]
    assert list(r2p.reports_for_theme(REPORTS, "early warning")["year"]) == [2010, 2024]
    assert list(r2p.reports_for_theme(REPORTS)["year"]) == [2009, 2010, 2024]
    assert list(r2p.reports_for_theme(REPORTS, "all")["symbol"])[0] == "A/63/677"
    with pytest.raises(ValueError, match="no report has the theme 'weather'"):
        r2p.reports_for_theme(REPORTS, "weather")
    with pytest.raises(ValueError, match="lacks column"):
        r2p.report_themes(REPORTS.drop(columns="themes"))


def test_findings_table(measures, rules):
    found = r2p.evaluate([("escalation", "trade-embargo")], measures, rules)
    table = r2p.findings_table(found)
    assert list(table["rule_id"]) == [f.rule_id for f in found]
    assert table.loc[table["rule_id"] == "economic-sanctions-harm", "measures"].item() == \
        "trade-embargo"
    assert r2p.findings_table([]).empty


# --- the parsed toolbox -------------------------------------------------------------------------

def test_a_toolbox_is_parsed_once_however_often_it_is_used(measures, rules, monkeypatch):
    from course.r2p import toolbox

    parses = []
    parse = toolbox._parse
    monkeypatch.setattr(toolbox, "_parse", lambda table: parses.append(1) or parse(table))
    sim = r2p.ResponseSimulator(measures, rules)
    for _ in r2p.PHASES:
        sim.choose(sorted(sim.available().index)[0])
        sim.feedback()
        sim.advance()
    sim.summary(), sim.plan(), sim.feedback()
    box = sim.toolbox
    r2p.evaluate(sim.steps, box, rules), r2p.plan_summary(sim.steps, box)
    r2p.order_plan(sim.measure_ids(), box), r2p.measure_places(sim.measure_ids(), box,
                                                                data.load("scenario_places"))
    assert len(parses) == 1, "a Toolbox passed on is used as it is, never parsed again"
    r2p.evaluate(sim.steps, measures, rules)  # a raw table is parsed, once per call
    assert len(parses) == 2


def test_toolbox_accepts_the_raw_or_the_parsed_table_alike(measures):
    raw, box = r2p.Toolbox(measures), r2p.Toolbox.of(r2p.Toolbox(measures).table)
    assert raw.table.equals(box.table) and r2p.Toolbox.of(raw) is raw
    assert "peace-talks" in raw and len(raw) == len(measures)
    assert bool(raw.at("arms-embargo", "coercive")) and not raw.at("peace-talks", "coercive")
    assert set(raw.available_in("aftermath").index) == {
        m for m in raw.table.index if "aftermath" in raw.at(m, "phases")}
    with pytest.raises(ValueError, match="unknown measure 'drones'"):
        raw.ids(["peace-talks", "drones"])
    with pytest.raises(ValueError, match="list of measure ids"):
        raw.ids("peace-talks")
