"""The fictional scenario: reproducible, fictional everywhere, and shaped as the modules expect."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from course import data
from tools import scenario
from tools.scenario import names, series, world

ROOT = Path(__file__).resolve().parents[1]


def test_regeneration_is_byte_identical(tmp_path):
    scenario.write(tmp_path)
    for name in scenario.FILES:
        committed = (scenario.DATASETS / name).read_bytes()
        assert (tmp_path / name).read_bytes() == committed, (
            f"{name} differs from a fresh `python -m tools.scenario`: regenerate (make scenario)")


def test_a_different_seed_gives_a_different_world():
    assert scenario.build(1)[0] != scenario.build(2)[0]


def _area(ring):
    return sum(x0 * y1 - x1 * y0 for (x0, y0), (x1, y1) in zip(ring, ring[1:], strict=False)) / 2


def _segments_cross(p, q, r, s):
    def orient(a, b, c):
        v = (b[0] - a[0]) * (c[1] - a[1]) - (b[1] - a[1]) * (c[0] - a[0])
        return (v > 1e-9) - (v < -1e-9)
    return (orient(p, q, r) * orient(p, q, s) < 0) and (orient(r, s, p) * orient(r, s, q) < 0)


def _inside(point, ring):
    x, y = point
    inside = False
    for (x0, y0), (x1, y1) in zip(ring, ring[1:], strict=False):
        if (y0 > y) != (y1 > y) and x < x0 + (y - y0) * (x1 - x0) / (y1 - y0):
            inside = not inside
    return inside


def _rings():
    geo = data.load("scenario_provinces")
    return {f["properties"]["province_id"]: f["geometry"]["coordinates"][0] for f in geo["features"]}


def test_provinces_tile_the_plane_without_overlap():
    rings = _rings()
    assert sorted(rings) == [f"P0{i}" for i in range(1, 9)]
    for pid, ring in rings.items():
        assert ring[0] == ring[-1], f"{pid} ring is not closed"
        assert _area(ring) > 0, f"{pid} ring is not counter-clockwise"
        edges = list(zip(ring, ring[1:], strict=False))
        for i, (p, q) in enumerate(edges):
            for r, s in edges[i + 2:]:
                assert not _segments_cross(p, q, r, s), f"{pid} crosses itself"
    assert sum(_area(r) for r in rings.values()) == pytest.approx(1000 * 1000)
    # a grid of sample points: each lies in exactly one province
    for x in range(7, 1000, 41):
        for y in range(11, 1000, 43):
            assert sum(_inside((x, y), r) for r in rings.values()) == 1, (x, y)


def test_places_lie_in_their_province():
    rings = _rings()
    for row in data.load("scenario_places").itertuples():
        assert _inside((row.x, row.y), rings[row.province_id]), row.name


def test_every_file_says_it_is_fictional():
    geo = data.load("scenario_provinces")
    assert geo["fictional"] is True and "FICTIONAL" in geo["note"]
    assert all(f["properties"]["fictional"] is True for f in geo["features"])
    for name in data.names():
        if name.startswith("scenario_"):
            entry = data.describe(name)
            assert entry["fictional"] is True and entry["synthetic"] is True
            assert "(FICTIONAL)" in entry["title"]
            if entry["format"] == "csv":
                assert data.load(name)["fictional"].all(), name


def test_group_shares_sum_to_one_per_province():
    groups = data.load("scenario_groups")
    sums = groups.groupby("province_id")["share"].sum()
    assert sums.round(6).eq(1).all()


def test_timeline_runs_through_the_four_phases_in_order():
    timeline = data.load("scenario_timeline")
    assert 24 <= len(timeline) <= 36
    assert timeline["month"].is_monotonic_increasing
    phases = list(dict.fromkeys(timeline["phase"]))
    assert phases == ["rising-risk", "escalation", "atrocities", "aftermath"]


def _factors_present():
    values = data.load("scenario_indicators")
    catalogue = data.load("scenario_indicator_catalogue").set_index("indicator")
    joined = values.join(catalogue[["threshold", "direction", "risk_factor"]], on="indicator")
    above = (joined["direction"] == "above") & (joined["value"] > joined["threshold"])
    below = (joined["direction"] == "below") & (joined["value"] < joined["threshold"])
    joined["present"] = above | below
    return joined[joined["present"]].groupby(["province_id", "month"])["risk_factor"].nunique()


def test_catalogue_covers_all_fourteen_factors_and_every_series_is_complete():
    catalogue = data.load("scenario_indicator_catalogue")
    assert set(catalogue["risk_factor"]) == set(range(1, 15))
    values = data.load("scenario_indicators")
    assert len(values) == 8 * 30 * len(catalogue)
    assert not values.duplicated(["province_id", "month", "indicator"]).any()


def test_risk_builds_in_three_provinces_and_not_elsewhere():
    present = _factors_present().unstack(fill_value=0).reindex(columns=series.months(), fill_value=0)
    present = present.reindex(world.province_ids(), fill_value=0)
    at_risk = sorted(series.AT_RISK)
    peak = present.max(axis=1)
    assert (peak[at_risk] >= 12).all()
    calm = [p for p in world.province_ids() if p not in at_risk]
    assert (peak[calm] <= 3).all()
    for pid in at_risk:  # early months quiet, atrocity months crowded
        assert present.loc[pid, "2023-01"] <= 2 and present.loc[pid, "2024-12"] >= 10


def test_media_log_climbs_the_pyramid_where_risk_builds():
    log = data.load("scenario_media_log")
    assert 300 <= len(log) <= 900
    assert set(log["pyramid_level"]) == {1, 2, 3, 4, 5}
    assert (log["date"].str[:7] == log["month"]).all()
    assert log["level_reason"].str.len().gt(10).all()
    risky = log[log["province_id"].isin(list(series.AT_RISK))]
    early, late = risky[risky["month"] < "2024-01"], risky[risky["month"].between("2024-06", "2025-01")]
    assert late["pyramid_level"].mean() > early["pyramid_level"].mean() + 0.5
    calm = log[~log["province_id"].isin(list(series.AT_RISK))]
    assert calm["pyramid_level"].max() <= 2


def test_incident_reports_hold_duplicates_contradictions_and_missing_consent():
    reports = data.load("scenario_incident_reports")
    truth = pd.Series(scenario.incident_truth())
    assert set(truth.index) == set(reports["report_id"])
    per_event = truth.value_counts()
    assert (per_event >= 2).sum() >= 20, "too few events reported more than once"
    reports["event"] = reports["report_id"].map(truth)
    spread = reports.groupby("event").agg(dates=("event_start", "nunique"), counts=("victims_count", "nunique"),
                                          acts=("act_type", "nunique"))
    assert (spread["dates"] > 1).sum() >= 5 and (spread["counts"] > 1).sum() >= 5 and (spread["acts"] > 1).sum() >= 1
    assert (~reports["consent_recorded"]).sum() >= 5
    assert reports.loc[~reports["testimony"], "consent_recorded"].all()
    assert (reports["event_start"] <= reports["event_end"]).all()
    assert (reports["event_end"] < reports["received"]).all()
    sources = data.load("scenario_sources")
    assert set(reports["source_id"]) <= set(sources["source_id"])
    assert sources["affiliation"].duplicated().any(), "no shared affiliations to spot"
    assert set(sources["reliability"]) == {"high", "medium", "low"}
    places = data.load("scenario_places").set_index("place_id")
    assert (places.loc[reports["place_id"], "province_id"].values == reports["province_id"].values).all()


def test_no_graphic_words():
    text = " ".join(
        " ".join(data.load(n).select_dtypes("str").astype(str).agg(" ".join, axis=1))
        for n in data.names() if n.startswith("scenario_") and data.describe(n)["format"] == "csv"
    ).lower()
    for word in ("blood", "corpse", "body", "bodies", "rape", "tortur", "behead", "mutilat", "massacre", "wound"):
        assert word not in text, word


def test_displacement_follows_the_at_risk_provinces():
    moves = data.load("scenario_displacement")
    out = moves.groupby("province_id")["displaced_out"].sum()
    assert out[list(series.AT_RISK)].min() > 5 * out.drop(list(series.AT_RISK)).max()
    assert moves["displaced_in"].sum() < moves["displaced_out"].sum()


# Real names that must not appear. The world outlines' country names are checked too when present.
REAL_PEOPLES_AND_FAITHS = [
    "muslim", "christian", "jewish", "hindu", "buddhist", "sikh", "catholic", "protestant", "orthodox",
    "sunni", "shia", "yazidi", "rohingya", "tutsi", "hutu", "uyghur", "kurd", "roma", "serb", "croat",
    "bosniak", "armenian", "arab", "berber", "amhara", "tigray", "oromo", "fulani", "hausa", "igbo",
    "yoruba", "masai", "maasai", "pashtun", "tamil", "sinhal", "karen", "kachin", "darfur", "zaghawa",
    "masalit", "han", "tibet", "slav", "celt", "gael", "basque", "flemish", "walloon",
]


def _invented_names():
    out = [names.COUNTRY.removeprefix("Republic of "), *names.GROUPS]
    for province, capital in names.PROVINCES.values():
        out += [province, capital]
    out += [n for places in names.OTHER_PLACES.values() for n, _ in places]
    out += list(names.ACTORS.values())
    return out


def test_invented_names_are_not_real_places_peoples_or_faiths():
    words = {w.lower() for n in _invented_names() for w in re.findall(r"[A-Za-z]+", n)}
    real = set(REAL_PEOPLES_AND_FAITHS)
    if "world_outlines" in data.names():
        for f in data.load("world_outlines")["features"]:
            real |= {w.lower() for w in re.findall(r"[A-Za-z]+", f["properties"]["name"]) if len(w) > 3}
    generic = {"republic", "north", "south", "east", "west", "guinea", "island", "islands", "new"}
    clashes = {w for w in words if w in real - generic}
    assert not clashes, f"invented names use real ones: {clashes}"


def test_geojson_is_plain_json_with_simple_plane_bounds():
    raw = json.loads((scenario.DATASETS / scenario.GEOJSON).read_text())
    xs = [p[0] for f in raw["features"] for p in f["geometry"]["coordinates"][0]]
    ys = [p[1] for f in raw["features"] for p in f["geometry"]["coordinates"][0]]
    assert min(xs) == 0 and max(xs) == 1000 and min(ys) == 0 and max(ys) == 1000


def test_command_line_writes_into_a_folder(tmp_path):
    done = subprocess.run([sys.executable, "-m", "tools.scenario", str(tmp_path)], capture_output=True,
                          text=True, timeout=120, cwd=ROOT)
    assert done.returncode == 0, done.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(scenario.FILES)
    assert "manifest" not in done.stdout  # a scratch folder never touches the course manifest
