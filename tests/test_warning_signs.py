"""Unit tests for course.warning_signs on small hand-made tables in the scenario's schema.

The tables are built here, not loaded, so the expected numbers can be worked out by hand and the
tests do not move when the generated scenario changes.
"""

import math

import pandas as pd
import pytest

from course import warning_signs as ws
from tests.helpers.tables import CATALOGUE, MONTHS, make_indicators


@pytest.fixture
def indicators():
    return make_indicators()


@pytest.fixture
def counts(indicators):
    return ws.factor_counts(indicators, CATALOGUE)


# ---------------------------------------------------------------- factors and groups


def test_groups_follow_the_framework():
    assert [ws.category_of(n) for n in ws.FACTORS] == ["common"] * 8 + ["specific"] * 6
    assert ws.group_of(9) == "genocide"
    assert ws.group_of(12) == "crimes against humanity"
    assert ws.group_of(14) == "war crimes"
    assert ws.split_common_specific([12, 3, 3, "9", 1]) == {"common": [1, 3], "specific": [9, 12]}


@pytest.mark.parametrize("bad", [0, 15, -1, 2.5, "x", None, True])
def test_bad_factor_numbers_are_refused(bad):
    with pytest.raises(ValueError, match="1 to 14"):
        ws.check_factor(bad)


def test_by_group_counts():
    assert ws.by_group([1, 2, 9, 11, 12]).to_dict() == {
        "common": 2, "genocide": 1, "crimes against humanity": 2, "war crimes": 0}


# ---------------------------------------------------------------- thresholds


def test_flags_are_strict_and_follow_direction(indicators):
    flags = ws.flag_indicators(indicators, CATALOGUE).set_index(["province_id", "month", "indicator"])
    assert not flags.loc[("P03", "2024-01", "hate_speech"), "crossed"]  # 5 is not above 5
    assert flags.loc[("P03", "2024-03", "hate_speech"), "crossed"]
    assert not flags.loc[("P03", "2024-01", "press_freedom"), "crossed"]  # 40 is not below 40
    assert flags.loc[("P03", "2024-02", "press_freedom"), "crossed"]
    assert not flags.loc[("P02", "2024-04", "press_freedom"), "crossed"]


def test_missing_value_never_crosses(indicators):
    indicators.loc[0, "value"] = float("nan")
    flags = ws.flag_indicators(indicators, CATALOGUE)
    assert not flags.loc[flags["value"].isna(), "crossed"].any()


def test_factor_counts_by_hand(counts):
    assert list(counts.index) == MONTHS
    assert list(counts.columns) == ["P01", "P02", "P03"]
    assert counts["P01"].tolist() == [0, 2, 4, 4]
    assert counts["P02"].tolist() == [0, 0, 0, 0]
    assert counts["P03"].tolist() == [1, 2, 2, 0]


def test_factor_counts_limited_to_specific(indicators):
    specific = ws.factor_counts(indicators, CATALOGUE, factors=ws.SPECIFIC)
    assert specific["P01"].tolist() == [0, 1, 1, 1]
    assert specific["P02"].tolist() == [0, 0, 0, 0]  # kept, though no factor is left


def test_several_indicators_of_one_factor_count_once(indicators):
    catalogue = CATALOGUE.assign(risk_factor=[1, 1, 1, 9])
    present = ws.factors_present(indicators, catalogue)
    row = present[(present.province_id == "P01") & (present.month == "2024-04")
                  & (present.risk_factor == 1)].iloc[0]
    assert row["present"] and row["indicators_crossed"] == 3
    assert ws.factor_counts(indicators, catalogue).loc["2024-04", "P01"] == 2


def test_unknown_indicator_and_bad_direction_are_explained(indicators):
    extra = pd.concat([indicators, pd.DataFrame(
        [["P01", "2024-01", "rumours", 1.0]], columns=indicators.columns)])
    with pytest.raises(ValueError, match="rumours.*not in the catalogue"):
        ws.factor_counts(extra, CATALOGUE)
    with pytest.raises(ValueError, match="'above' or 'below'"):
        ws.factor_counts(indicators, CATALOGUE.assign(direction="over"))
    with pytest.raises(ValueError, match="lacks column.*value"):
        ws.factor_counts(indicators.drop(columns="value"), CATALOGUE)
    with pytest.raises(ValueError, match="DataFrame"):
        ws.factor_counts({"a": 1}, CATALOGUE)


# ---------------------------------------------------------------- maps, runs and change


def test_month_values_for_the_map(indicators):
    count = ws.month_values(indicators, CATALOGUE, "2024-03")
    assert count.to_dict() == {"P01": 4, "P02": 0, "P03": 2}
    value = ws.month_values(indicators, CATALOGUE, "2024-03", "press_freedom")
    assert value.to_dict() == {"P01": 35.0, "P02": 71.0, "P03": 50.0}
    with pytest.raises(ValueError, match="from 2024-01 to 2024-04"):
        ws.month_values(indicators, CATALOGUE, "2030-01")
    with pytest.raises(ValueError, match="Unknown measure"):
        ws.month_values(indicators, CATALOGUE, "2024-03", "rumours")


def test_sustained_runs(counts):
    flags = ws.sustained(counts, min_factors=2, run=3)
    assert flags["P01"].tolist() == [False, False, False, True]
    assert not flags["P03"].any()  # 1, 2, 2, 0: only two months at 2 or more
    assert ws.sustained(counts, 2, run=2)["P03"].tolist() == [False, False, True, False]
    first = ws.first_sustained(counts, 2, run=2)
    assert first.index.tolist() == ["P01", "P03", "P02"]
    assert first["P01"] == "2024-03" and first["P03"] == "2024-03" and pd.isna(first["P02"])
    with pytest.raises(ValueError, match="run"):
        ws.sustained(counts, 2, run=0)


def test_recent_change_ranks_rises_first(counts):
    change = ws.recent_change(counts, "2024-04", window=3)
    assert change.to_dict() == {"P01": 4, "P02": 0, "P03": -1}
    assert change.index.tolist() == ["P01", "P02", "P03"]
    with pytest.raises(ValueError, match="data start at 2024-01"):
        ws.recent_change(counts, "2024-02", window=3)
    with pytest.raises(ValueError, match="not in the data"):
        ws.recent_change(counts, "2024-13", window=1)


# ---------------------------------------------------------------- the workbench


@pytest.fixture
def bench(indicators):
    names = {1: "Armed conflict or other instability", 9: "Intergroup tensions"}
    return ws.Workbench(indicators, CATALOGUE, factor_names=names)


def test_workbench_defaults_and_selection(bench):
    assert bench.provinces == ["P01", "P02", "P03"]
    assert (bench.province, bench.month) == ("P01", "2024-04")
    bench.select("P03", "2024-02")
    assert bench.window(6) == ["2024-01", "2024-02"]
    assert bench.window(1) == ["2024-02"]


@pytest.mark.parametrize(
    "province, month, message",
    [("P99", "2024-01", "Unknown province 'P99'.*P01, P02, P03"),
     ("P01", "2023-12", "not in the data.*2024-01 to 2024-04"),
     ("P01", "2024-5", "not in the data"),
     ("P01", "May 2024", "YYYY-MM")],
)
def test_workbench_bad_selection_changes_nothing(bench, province, month, message):
    bench.select("P02", "2024-03")
    with pytest.raises(ValueError, match=message):
        bench.select(province, month)
    assert (bench.province, bench.month) == ("P02", "2024-03")


def test_indicator_series_uses_labels_and_window(bench):
    bench.select("P01", "2024-04")
    table = bench.indicator_series(last=2)
    assert table.columns.tolist() == ["risk_factor", "present when", "2024-03", "2024-04"]
    assert table.index.tolist() == [  # by risk factor
        "Armed groups", "Press freedom score", "Hate speech items", "Exclusion index"]
    assert table.loc["Press freedom score", "2024-04"] == 30.0
    assert table.loc["Press freedom score", "present when"] == "< 40"
    assert table.loc["Armed groups", "present when"] == "> 2"
    with pytest.raises(ValueError, match="1 month or more"):
        bench.indicator_series(last=0)


def test_data_factors_and_evidence(bench):
    bench.select("P01", "2024-02")
    assert bench.data_factors().to_dict() == {1: False, 3: False, 7: True, 9: True}
    evidence = bench.evidence()
    assert evidence["indicator"].tolist() == ["Hate speech items", "Exclusion index"]
    assert evidence["value"].tolist() == [6.0, 0.6]


def test_judging_needs_evidence_for_present(bench):
    with pytest.raises(ValueError, match="note of the evidence"):
        bench.judge(7, True, "   ")
    with pytest.raises(ValueError, match="True or False"):
        bench.judge(7, "yes", "note")
    with pytest.raises(ValueError, match="no risk factor 15"):
        bench.judge(15, True, "note")
    assert bench.judgements().empty
    bench.judge(7, False)  # absent needs no note
    assert bench.judgements()["present"].tolist() == [False]


def test_judgements_are_kept_per_province_and_month(bench):
    bench.select("P01", "2024-03")
    bench.judge(7, True, "Hate speech items up three months running")
    bench.select("P02", "2024-03")
    assert bench.judgements().empty
    bench.judge(1, False)
    bench.select("P01", "2024-03")
    assert bench.judgements()["note"].tolist() == ["Hate speech items up three months running"]
    bench.judge(7, False, "re-read: the items were counter-speech")  # a new call replaces the old
    assert bench.judgements()["present"].tolist() == [False]
    everything = bench.all_judgements()
    assert everything[["province_id", "risk_factor"]].values.tolist() == [["P01", 7], ["P02", 1]]
    bench.forget(7)
    assert bench.judgements().empty


def test_summary_by_group(bench):
    bench.select("P01", "2024-04")
    bench.judge(1, True, "new armed group seen")
    bench.judge(2, True, "past violations reported by NGOs")
    bench.judge(10, True, "speeches calling for removal")
    summary = bench.summary().set_index("group")
    assert summary.index.tolist() == list(ws.GROUPS)
    assert summary.loc["common", "you: present"] == 2
    assert summary.loc["common", "you: which"] == "1, 2"
    assert summary.loc["common", "data: which"] == "1, 3, 7"
    assert summary.loc["genocide", "you: which"] == "10"
    assert summary.loc["genocide", "data: which"] == "9"
    assert summary.loc["war crimes", "data: present"] == 0


def test_trend_over_last_months(bench):
    bench.select("P01", "2024-04")
    trend = bench.trend(last=3)
    assert trend.index.tolist() == ["2024-02", "2024-03", "2024-04"]
    assert trend["total"].tolist() == [2, 4, 4]
    assert trend["specific"].tolist() == [1, 1, 1]
    assert (trend["common"] + trend["specific"] == trend["total"]).all()


def test_compare_names_every_outcome(bench):
    bench.select("P01", "2024-02")  # data: 7 and 9 present; 1 and 3 absent; others unmeasured
    bench.judge(7, True, "hate speech")  # agree
    bench.judge(1, True, "armed group seen")  # you see it, the data do not
    bench.judge(9, False)  # the data show it, you do not
    bench.judge(2, True, "NGO reports")  # no indicator measures factor 2
    table = bench.compare().set_index("risk_factor")
    assert len(table) == 14
    assert table.loc[7, "outcome"] == "agree"
    assert table.loc[1, "outcome"] == "you see it, the data do not"
    assert table.loc[9, "outcome"] == "the data show it, you do not"
    assert table.loc[2, "outcome"] == "your call only (no indicator)"
    assert table.loc[3, "outcome"] == "not judged"
    assert table.loc[3, "data"] == "absent" and table.loc[14, "data"] == "not measured"
    assert table.loc[1, "name"] == "Armed conflict or other instability"
    assert table.loc[5, "name"] == "Risk factor 5"
    assert table.loc[7, "your note"] == "hate speech"


# ---------------------------------------------------------------- base rates


def test_alarm_outcomes_by_hand():
    # 1000 cases, 1% base rate: 10 events; 80% warned = 8; 10% of 990 = 99 false alarms.
    out = ws.alarm_outcomes(1000, 0.01, 0.8, 0.1)
    assert out["events"] == pytest.approx(10)
    assert out["warned events"] == pytest.approx(8)
    assert out["missed events"] == pytest.approx(2)
    assert out["false alarms"] == pytest.approx(99)
    assert out["quiet non-events"] == pytest.approx(891)
    assert out["share of alarms that were real"] == pytest.approx(8 / 107)


def test_precision_rises_with_base_rate():
    table = ws.precision_by_base_rate([0.01, 0.1, 0.5], hit_rate=0.8, false_alarm_rate=0.1)
    shares = table["share of alarms that were real"].tolist()
    assert shares == sorted(shares)
    assert shares[2] == pytest.approx(0.8 / 0.9)
    assert table["false alarms per real warning"].iloc[0] == pytest.approx(99 / 8)
    assert math.isnan(ws.precision(0.1, 0.0, 0.0))  # a rule that never warns has no precision


@pytest.mark.parametrize(
    "args, message",
    [((0, 0.1, 0.5, 0.1), "cases"), ((10.5, 0.1, 0.5, 0.1), "cases"),
     ((10, 1.5, 0.5, 0.1), "base_rate"), ((10, 0.1, -0.1, 0.1), "hit_rate"),
     ((10, 0.1, 0.5, "often"), "false_alarm_rate")],
)
def test_bad_rates_are_explained(args, message):
    with pytest.raises(ValueError, match=message):
        ws.alarm_outcomes(*args)


# ---------------------------------------------------------------- the time-slider map's data


def test_monthly_measures(indicators):
    measures = ws.MonthlyMeasures(indicators, CATALOGUE)
    assert measures.months == MONTHS
    assert measures.measures()[0] == ("Risk factors present (count)", "factors")
    assert ("Press freedom score", "press_freedom") in measures.measures()
    assert measures.values("2024-02").to_dict() == {"P01": 2, "P02": 0, "P03": 2}
    assert measures.values("2024-02", "armed_groups").to_dict() == {"P01": 1, "P02": 0, "P03": 3}
    assert measures.title("2024-02") == "Risk factors present, 2024-02"
    assert measures.legend_title("press_freedom") == "Press freedom score (score)"
    assert measures.bins()[0] == 0 and measures.bins()[-1] > 14
    # Fixed over all months: armed groups run from 0 to 4 in the whole table.
    assert measures.bins("armed_groups") == pytest.approx([0, 0.8, 1.6, 2.4, 3.2, 4.0])
    with pytest.raises(ValueError, match="not in the data"):
        measures.values("2025-01")
    with pytest.raises(ValueError, match="Unknown measure"):
        measures.bins("rumours")


# ---------------------------------------------------------------- a trainee's country table

OUTLINES = {"type": "FeatureCollection", "features": [
    {"type": "Feature", "properties": {"iso3": iso3, "name": name},
     "geometry": {"type": "Point", "coordinates": [0, 0]}}
    for iso3, name in [("AAA", "Alpha Land"), ("BBB", "Beta-Republic"), ("CCC", "Gamma"),
                       ("", "Disputed area")]]}


def test_risk_by_country_matches_codes_and_names():
    table = pd.DataFrame({"iso3": ["AAA", "", ""], "country": ["Alpha Land", "beta  republic", "Zed"],
                          "risk": [0.1, 0.2, 0.3]})
    values, unmatched = ws.risk_by_country(table, OUTLINES)
    assert values.to_dict() == {"AAA": 0.1, "BBB": 0.2}
    assert unmatched == ["Zed"]


def test_risk_by_country_uses_latest_year_unless_told():
    table = pd.DataFrame({"iso3": ["AAA", "AAA", "CCC"], "year": [2022, 2023, 2022],
                          "risk": [0.1, 0.4, 0.2]})
    assert ws.risk_by_country(table, OUTLINES)[0].to_dict() == {"AAA": 0.4}
    assert ws.risk_by_country(table, OUTLINES, year=2022)[0].to_dict() == {"AAA": 0.1, "CCC": 0.2}
    with pytest.raises(ValueError, match="no rows for 2019"):
        ws.risk_by_country(table, OUTLINES, year=2019)
    with pytest.raises(ValueError, match="iso3 or a country"):
        ws.risk_by_country(pd.DataFrame({"risk": [0.1]}), OUTLINES)


# ---------------------------------------------------------------- reference tables


def test_source_country_notes_merge_sources_per_country():
    table = pd.DataFrame({
        "iso3": ["AAA", "AAA", "BBB"], "name": ["Alpha", "Alpha", "Beta"],
        "source": ["000: Final Statement", "001: blog", "Some other source"],
        "note": ["The statement says x.", "The blog quotes it.", "It says y."]})
    notes = ws.source_country_notes(table)
    assert notes.index.tolist() == ["AAA", "BBB"]
    assert notes.loc["AAA", "cited"] == "Forum 2007; Forum blog 2007"
    assert notes.loc["AAA", "note"] == ("[Forum 2007] The statement says x. / "
                                        "[Forum blog 2007] The blog quotes it.")
    assert notes.loc["BBB", "cited"] == "Some other source"
    with pytest.raises(ValueError, match="note"):
        ws.source_country_notes(table.drop(columns="note"))


def test_factor_names_need_all_fourteen():
    table = pd.DataFrame({"number": list(range(1, 15)), "name": [f"f{n}" for n in range(1, 15)]})
    assert ws.factor_names(table)[14] == "f14"
    with pytest.raises(ValueError, match=r"lacks factor\(s\) \[14\]"):
        ws.factor_names(table.iloc[:13])


def test_workbench_needs_rows(indicators):
    with pytest.raises(ValueError, match="no rows"):
        ws.Workbench(indicators.iloc[:0], CATALOGUE)
