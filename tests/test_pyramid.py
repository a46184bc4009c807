"""course.pyramid: sorting logic and escalation arithmetic, on small made-up logs."""

import math

import pandas as pd
import pytest
from matplotlib.figure import Figure

from course import charts
from course import pyramid as P


def make_log(rows):
    """rows: (item_id, month, province_id, level)."""
    return pd.DataFrame(
        [{"item_id": i, "date": f"{m}-15", "month": m, "province_id": p, "kind": "statement",
          "summary": f"summary of {i}", "pyramid_level": lvl, "level_reason": f"reason {i}.",
          "actor": "someone"} for i, m, p, lvl in rows])


@pytest.fixture
def log():
    # P01 escalates in 2024-04; P02 stays low; nothing at all in 2024-03 (a gap month).
    return make_log([
        ("a1", "2024-01", "P01", 1), ("a2", "2024-01", "P01", 3),
        ("a3", "2024-02", "P01", 2), ("a4", "2024-02", "P01", 3),
        ("a5", "2024-04", "P01", 3), ("a6", "2024-04", "P01", 4), ("a7", "2024-04", "P01", 5),
        ("b1", "2024-01", "P02", 1), ("b2", "2024-02", "P02", 2), ("b3", "2024-04", "P02", 1),
        ("b4", "2024-05", "P02", 4),
    ])


# --- sorter -------------------------------------------------------------------------------------

def test_sorter_feedback_gives_reference_and_reason(log):
    s = P.PyramidSorter(log)
    fb = s.answer("a2", 3)
    assert fb.agrees and fb.offset == 0 and "reason a2." in fb.message
    fb = s.answer("a6", 2)
    assert not fb.agrees and fb.offset == -2
    assert "level 4" in fb.message and "2 levels lower" in fb.message and "reason a6." in fb.message


def test_sorter_never_shows_the_answer_before_answering(log):
    item = P.PyramidSorter(log).item("a6")
    assert item["summary"] == "summary of a6"
    assert "pyramid_level" not in item and "level_reason" not in item


def test_sorter_tracks_counts_disagreements_and_summary(log):
    s = P.PyramidSorter(log)
    assert s.counts().tolist() == [0, 0, 0, 0, 0]
    assert s.summary_text() == "Nothing sorted yet."
    s.answer("a1", 1)
    s.answer("a6", 5)    # reference 4: higher
    s.answer("a7", 5)
    s.answer("b2", 1)    # reference 2: lower
    s.answer("b2", 3)    # changed mind: the latest answer counts, attempts kept
    assert s.counts().to_dict() == {1: 1, 2: 0, 3: 1, 4: 0, 5: 2}
    d = s.disagreements()
    assert list(d["item_id"]) == ["a6", "b2"] and list(d["offset"]) == [1, 1]
    b2 = s.answers().set_index("item_id").loc["b2"]
    assert b2["attempts"] == 2 and b2["first_choice"] == 1 and b2["chosen"] == 3
    summary = s.summary()
    assert summary.loc[4, "placed_higher"] == 1 and summary.loc[5, "agreed"] == 1
    assert summary.loc[2, "placed_higher"] == 1 and summary.loc[3, "answered"] == 0
    assert "2 of 4" in s.summary_text() and "more severe" in s.summary_text()


def test_sorting_sample_covers_every_level_present(log):
    sample = P.sorting_sample(log, per_level=2, seed=1)
    assert sample.groupby("pyramid_level").size().to_dict() == {1: 2, 2: 2, 3: 2, 4: 2, 5: 1}
    assert sample["item_id"].is_unique
    assert sample.equals(P.sorting_sample(log, per_level=2, seed=1))    # repeatable
    with pytest.raises(ValueError, match="whole number"):
        P.sorting_sample(log, per_level=0)
    with pytest.raises(ValueError, match="empty"):
        P.sorting_sample(log.iloc[0:0])


def test_sorter_next_item_walks_the_items(log):
    s = P.PyramidSorter(log.head(2))
    assert s.next_item() == "a1"
    s.answer("a1", 1)
    assert s.next_item() == "a2"
    s.answer("a2", "3")   # a digit typed as text is accepted
    assert s.next_item() is None


@pytest.mark.parametrize("level", [0, 6, -1, 2.5, "high", None, True, "", [3]])
def test_sorter_rejects_levels_outside_the_pyramid(log, level):
    s = P.PyramidSorter(log)
    with pytest.raises(ValueError, match="1 .*to 5|whole number"):
        s.answer("a1", level)
    assert s.answers().empty   # a bad answer loses nothing and records nothing


def test_sorter_rejects_unknown_item(log):
    s = P.PyramidSorter(log)
    s.answer("a1", 1)
    with pytest.raises(ValueError, match="unknown item id 'zz'.*e.g. a1"):
        s.answer("zz", 1)
    with pytest.raises(ValueError, match="unknown item id"):
        s.item("zz")
    assert len(s.answers()) == 1


def test_sorter_rejects_bad_logs(log):
    with pytest.raises(ValueError, match="lacks column.*level_reason"):
        P.PyramidSorter(log.drop(columns="level_reason"))
    with pytest.raises(ValueError, match="no items"):
        P.PyramidSorter(log.iloc[0:0])
    with pytest.raises(ValueError, match="unique"):
        P.PyramidSorter(pd.concat([log, log.head(1)]))
    with pytest.raises(ValueError, match="outside 1-5.*item a1"):
        P.PyramidSorter(log.assign(pyramid_level=[7] + [1] * (len(log) - 1)))
    with pytest.raises(ValueError, match="DataFrame"):
        P.PyramidSorter([1, 2])


# --- escalation ---------------------------------------------------------------------------------

def test_monthly_counts_fills_gap_months_and_levels(log):
    c = P.monthly_counts(log)
    assert list(c.index) == ["2024-01", "2024-02", "2024-03", "2024-04", "2024-05"]
    assert list(c.columns) == [1, 2, 3, 4, 5]
    assert c.loc["2024-03"].sum() == 0
    assert c.loc["2024-04"].tolist() == [1, 0, 1, 1, 1]
    assert c.to_numpy().sum() == len(log)
    p1 = P.monthly_counts(log, "P01")
    assert p1.loc["2024-05"].sum() == 0 and p1.to_numpy().sum() == 7


def test_monthly_counts_with_fixed_months(log):
    c = P.monthly_counts(log, "P02", months=["2023-12", "2024-06"])
    assert c.index[0] == "2023-12" and c.index[-1] == "2024-06" and len(c) == 7


def test_share_at_or_above(log):
    share = P.share_at_or_above(P.monthly_counts(log))
    assert share["2024-01"] == pytest.approx(1 / 3)
    assert math.isnan(share["2024-03"])      # no items: no share, not zero
    assert share["2024-04"] == pytest.approx(3 / 4)
    assert P.share_at_or_above(P.monthly_counts(log), 4)["2024-05"] == 1.0


def test_escalation_flag_definition():
    counts = pd.DataFrame({1: [0] * 7, 2: [0] * 7, 3: [1, 1, 1, 2, 1, 5, 3], 4: [0] * 7,
                           5: [0] * 7}, index=[f"2024-0{i}" for i in range(1, 8)])
    flags = P.escalation_flags(counts, window=3, min_upper=2)
    # months 1-3 lack three earlier months; 2 > mean(1,1,1); 1 < min_upper; 5 > mean(1,2,1);
    # 3 > mean(2,1,5)=2.67
    assert flags.tolist() == [False, False, False, True, False, True, True]
    assert P.escalation_flags(counts, window=3, min_upper=4).tolist() == [False] * 5 + [True, False]
    assert P.escalation_flags(counts, window=1, min_upper=1).tolist() == [
        False, False, False, True, False, True, False]


@pytest.mark.parametrize("counts", [pd.DataFrame({"1": [1], "2": [0]}), [1, 2, 3], None])
def test_measures_reject_tables_that_are_not_monthly_counts(counts):
    with pytest.raises(ValueError, match="one column per level"):
        P.share_at_or_above(counts)
    with pytest.raises(ValueError, match="one column per level"):
        P.escalation_flags(counts)


@pytest.mark.parametrize("kwargs", [{"window": 0}, {"window": 1.5}, {"min_upper": 0}])
def test_escalation_flag_rejects_bad_parameters(log, kwargs):
    with pytest.raises(ValueError, match="whole number"):
        P.escalation_flags(P.monthly_counts(log), **kwargs)


def test_first_month_at_level_4(log):
    first = P.first_month_at(log, 4)
    assert first.to_dict() == {"P01": "2024-04", "P02": "2024-05"}
    never = P.first_month_at(log, 5, provinces=["P01", "P02", "P03"])
    assert never["P01"] == "2024-04" and pd.isna(never["P02"]) and pd.isna(never["P03"])


def test_share_by_province(log):
    s = P.share_by_province(log, "2024-04", provinces=["P01", "P02", "P03"])
    assert s["P01"] == 1.0 and s["P02"] == 0.0 and math.isnan(s["P03"])
    with pytest.raises(ValueError, match="outside the log.*2024-01 to 2024-05"):
        P.share_by_province(log, "2030-01")
    with pytest.raises(ValueError, match="YYYY-MM"):
        P.share_by_province(log, "April 2024")


def test_escalation_ranking(log):
    rank = P.escalation_ranking(log, window=1, min_upper=1)
    # P01: 2024-04 (3 > 0 in the empty March) flagged; P02: 2024-05 (1 > 0) flagged too.
    # Tie on flagged months, so the share at level 3+ decides: P01 5/7 beats P02 1/4.
    assert list(rank["province_id"]) == ["P01", "P02"]
    assert list(rank["rank"]) == [1, 2]
    assert rank.loc[0, "flagged_months"] == 1 and rank.loc[1, "flagged_months"] == 1
    assert rank.loc[0, "share_level_3_plus"] == pytest.approx(5 / 7)
    assert rank.loc[1, "first_month_level_4"] == "2024-05"


def test_escalation_ranking_puts_never_reaching_level_4_last_on_ties():
    log = make_log([("x", "2024-01", "P01", 3), ("y", "2024-01", "P02", 4),
                    ("z", "2024-01", "P03", 1)])
    rank = P.escalation_ranking(log)
    assert list(rank["province_id"]) == ["P02", "P01", "P03"]
    assert pd.isna(rank.loc[1, "first_month_level_4"])


@pytest.mark.parametrize("province", ["P99", "", 3])
def test_unknown_province_is_a_clear_error(log, province):
    with pytest.raises(ValueError, match="Unknown province.*P01, P02"):
        P.monthly_counts(log, province)


def test_bad_months_in_log_are_reported(log):
    with pytest.raises(ValueError, match="YYYY-MM"):
        P.monthly_counts(log.assign(month="2024/01"))


def test_province_names_from_geojson():
    gj = {"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": {"province_id": "P01", "name": "Northmarch"},
         "geometry": None}]}
    assert P.province_names(gj) == {"P01": "Northmarch"}
    with pytest.raises(ValueError, match="scenario_provinces"):
        P.province_names({"features": [{"properties": {}}]})
    with pytest.raises(ValueError, match="GeoJSON"):
        P.province_names([])


# --- explorer -----------------------------------------------------------------------------------

def test_explorer_state_up_to_a_month(log):
    ex = P.EscalationExplorer(log, {"P01": "Northmarch"}, window=1, min_upper=1)
    assert ex.months[0] == "2024-01" and ex.months[-1] == "2024-05"
    assert ex.options()[0] == ("Whole country", P.COUNTRY)
    assert ex.state(P.COUNTRY, "2024-02").counts.equals(ex.state(None, "2024-02").counts)
    assert ("Northmarch (P01)", "P01") in ex.options()
    st = ex.state("P01", "2024-04")
    assert list(st.counts.index) == ["2024-01", "2024-02", "2024-03", "2024-04"]
    assert st.flagged_months == ["2024-04"]
    text = st.describe()
    assert "Northmarch" in text and "3 items at level 3 or above" in text
    assert "Escalating" in text
    quiet = ex.state(None, "2024-03").describe()
    assert "no items" in quiet and "Not flagged" in quiet and "the country" in quiet


@pytest.mark.parametrize("month", ["2023-12", "2024-06", "2024-13", "2024-4", None, 202404])
def test_explorer_rejects_months_out_of_range(log, month):
    ex = P.EscalationExplorer(log)
    with pytest.raises(ValueError, match="outside the log|YYYY-MM"):
        ex.state(None, month)


def test_explorer_rejects_unknown_province_and_empty_log(log):
    with pytest.raises(ValueError, match="Unknown province"):
        P.EscalationExplorer(log).state("P42", "2024-01")
    with pytest.raises(ValueError, match="empty"):
        P.EscalationExplorer(log.iloc[0:0])


# --- charts -------------------------------------------------------------------------------------

def test_pyramid_figure_draws_one_bar_per_level():
    fig = charts.pyramid_figure({1: 4, 3: 2})
    assert isinstance(fig, Figure)
    bars = fig.axes[0].patches
    assert [round(b.get_width()) for b in bars] == [4, 0, 2, 0, 0]
    # centred: each bar's middle is at x = 0
    assert all(abs(b.get_x() + b.get_width() / 2) < 1e-9 for b in bars)
    texts = [t.get_text() for t in fig.axes[0].texts]
    assert "1. Biased attitudes: 4" in texts
    assert charts.figure_png(fig).startswith(b"\x89PNG")


def test_pyramid_figure_empty_and_negative():
    fig = charts.pyramid_figure(pd.Series([0] * 5, index=[1, 2, 3, 4, 5]))
    assert "nothing sorted yet" in fig.axes[0].get_title()
    with pytest.raises(ValueError, match="negative"):
        charts.pyramid_figure({1: -1})


def test_escalation_figure_marks_flagged_months(log):
    st = P.EscalationExplorer(log, window=1, min_upper=1).state("P01", "2024-05")
    fig = charts.escalation_figure(st)
    ax = fig.axes[0]
    assert len(ax.patches) == 5 * len(st.counts)
    assert [t.get_text() for t in ax.texts].count("▲") == len(st.flagged_months) == 1
    assert "Fictional" in ax.get_title()
