"""Module 1's logic on the course's real datasets: the tables agree with each other and with the
Framework, and the scenario tells the story the module and exercise rely on."""

import pytest

from course import data
from course import warning_signs as ws


@pytest.fixture(scope="module")
def scenario():
    return data.load("scenario_indicators"), data.load("scenario_indicator_catalogue")


def test_risk_factor_table_matches_the_framework_groups():
    table = data.load("risk_factors")
    assert sorted(table["number"]) == list(ws.FACTORS)
    for row in table.itertuples():
        assert row.scope == ws.category_of(row.number)
        assert (row.crime == "all") == (row.scope == "common")
        if row.scope == "specific":
            assert row.crime == ws.group_of(row.number)
    assert set(ws.factor_names(table)) == set(ws.FACTORS)


def test_every_factor_has_an_indicator(scenario):
    _, catalogue = scenario
    assert set(catalogue["risk_factor"]) == set(ws.FACTORS)


def test_scenario_story_the_module_tells(scenario):
    counts = ws.factor_counts(*scenario)
    assert counts.shape == (30, 8)
    first = ws.first_sustained(counts, min_factors=5, run=3)
    # The at-risk provinces in the order the module and exercise describe them.
    assert first.dropna().index.tolist() == ["P07", "P06", "P03"]
    # P02's two-month flare-up crosses two thresholds but is never sustained.
    assert counts["P02"].max() == 2 and not ws.sustained(counts, 2, run=3)["P02"].any()
    assert ws.recent_change(counts, "2024-06", window=6).index[0] == "P07"
    # The written assessment's model answer: Vandrisk (P03), September 2024.
    bench = ws.Workbench(*scenario)
    bench.select("P03", "2024-09")
    present = bench.data_factors()
    assert sorted(present.index[present]) == [2, 3, 4, 5, 7, 9]


def test_every_source_country_is_on_the_world_map():
    notes = ws.source_country_notes(data.load("source_countries"))
    outlines = {f["properties"]["iso3"] for f in data.load("world_outlines")["features"]}
    assert set(notes.index) <= outlines
    assert all(notes["note"].str.len() > 0) and all(notes["cited"].str.len() > 0)
