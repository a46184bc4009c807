"""course.data: the manifest, loading with checks, every documented error, reference tables, user CSVs."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from course import data
from course.data import Catalogue
from tools import world_outlines as wo
from tools.rehash import rehash

REPO = Path(__file__).resolve().parent.parent
FIXTURES = Path(__file__).parent / "fixtures" / "user_csv"
FACTS = REPO.parent / "shared" / "reference" / "facts.md"
REQUIRED = {"name", "path", "title", "description", "sources", "licenses", "hash", "bytes", "format",
            "mediatype", "schema", "synthetic", "fictional"}


# --- the manifest ------------------------------------------------------------------------------


def test_manifest_covers_every_file_and_nothing_else():
    listed = {data.describe(n)["path"] for n in data.names()}
    on_disk = {p.name for p in data.ROOT.iterdir() if p.is_file()} - {"datapackage.json", "README.md"}
    assert listed == on_disk, f"not in the manifest: {on_disk - listed}; no file: {listed - on_disk}"
    assert data.DEFAULT.unlisted_files() == []


@pytest.mark.parametrize("name", data.names())
def test_every_resource_is_fully_described_and_matches_its_file(name):
    entry = data.describe(name)
    assert set(entry) >= REQUIRED, f"{name} lacks {REQUIRED - set(entry)}"
    assert entry["name"] == Path(entry["path"]).stem
    assert isinstance(entry["synthetic"], bool) and isinstance(entry["fictional"], bool)
    assert entry["sources"] and entry["licenses"]
    path = data.ROOT / entry["path"]
    assert entry["hash"] == f"sha256:{data.sha256(path)}"
    assert entry["bytes"] == path.stat().st_size
    for field in entry["schema"]["fields"]:
        assert {"name", "type", "description"} <= set(field), (name, field)
        assert field["type"] in {"string", "integer", "number", "boolean", "date"}
    loaded = data.load(name)
    names = [f["name"] for f in entry["schema"]["fields"]]
    if entry["format"] == "geojson":
        assert loaded["type"] == "FeatureCollection" and loaded["features"]
        assert loaded["fictional"] is entry["fictional"]
        assert all(set(names) <= set(f["properties"]) for f in loaded["features"])
    else:
        assert list(loaded.columns) == names and len(loaded) > 0


def test_schema_types_become_pandas_types():
    reports = data.load("scenario_incident_reports")
    assert reports["victims_count"].dtype == "int64"
    assert reports["consent_recorded"].dtype == bool
    assert data.load("scenario_indicators")["value"].dtype == "float64"
    assert reports["received"].str.fullmatch(r"\d{4}-\d{2}-\d{2}").all()  # dates stay ISO strings


def test_describe_returns_a_copy():
    data.describe("risk_factors")["title"] = "changed"
    assert data.describe("risk_factors")["title"] != "changed"


def test_loads_are_copies_so_callers_cannot_corrupt_the_cache():
    first = data.load("risk_factors")
    first.loc[0, "name"] = "tampered"
    first.drop(columns="source", inplace=True)
    again = data.load("risk_factors")
    assert again.loc[0, "name"] != "tampered" and "source" in again
    geo = data.load("scenario_provinces")
    geo["features"].clear()
    assert data.load("scenario_provinces")["features"]


def test_command_line_check_passes():
    done = subprocess.run([sys.executable, "-m", "course.data", "check"], capture_output=True, text=True,
                          cwd=REPO, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "0 file(s) not in the manifest" in done.stdout


# --- every documented error, on a copy ---------------------------------------------------------


@pytest.fixture
def copy(tmp_path) -> Catalogue:
    root = tmp_path / "datasets"
    shutil.copytree(data.ROOT, root)
    return Catalogue(root)


def _touch_later(path: Path) -> None:
    stat = path.stat()
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 10_000_000))


def test_unknown_name_suggests_close_ones(copy):
    with pytest.raises(data.UnknownDatasetError, match="scenario_indicators") as err:
        copy.load("scenario_indicator")
    assert "data.names()" in str(err.value) and isinstance(err.value, data.DatasetError)
    with pytest.raises(data.UnknownDatasetError, match="no dataset called 'zzz'"):
        copy.describe("zzz")


def test_missing_file(copy):
    (copy.root / "scenario_sources.csv").unlink()
    with pytest.raises(data.DatasetFileMissingError, match="scenario_sources") as err:
        copy.load("scenario_sources")
    assert "git checkout course/datasets/scenario_sources.csv" in str(err.value)


def test_changed_file_fails_its_hash_even_after_a_cached_load(copy):
    copy.load("scenario_sources")
    path = copy.root / "scenario_sources.csv"
    path.write_text(path.read_text().replace("high", "low"))
    _touch_later(path)
    with pytest.raises(data.DatasetHashMismatchError, match="scenario_sources") as err:
        copy.load("scenario_sources")
    message = str(err.value)
    assert "git checkout" in message and "python -m tools.rehash" in message


def test_rehash_accepts_a_deliberate_edit(copy):
    path = copy.root / "record_types.csv"
    path.write_text(path.read_text().replace("One thing done", "A single thing done"))
    _touch_later(path)
    assert rehash(copy) == ["record_types"]
    assert copy.load("record_types")["paraphrase"].str.contains("A single thing").any()
    assert rehash(copy) == []


def test_wrong_columns(copy):
    path = copy.root / "risk_factors.csv"
    path.write_text(path.read_text().replace("scope,crime", "kind,crime", 1))
    rehash(copy)
    with pytest.raises(data.DatasetSchemaError, match=r"(?s)risk_factors.*missing \['scope'\].*unexpected \['kind'\]"):
        copy.load("risk_factors")


def test_wrong_type_names_the_row(copy):
    path = copy.root / "scenario_displacement.csv"
    lines = path.read_text().splitlines()
    cells = lines[3].split(",")
    cells[2] = "many"
    lines[3] = ",".join(cells)
    path.write_text("\n".join(lines) + "\n")
    rehash(copy)
    with pytest.raises(data.DatasetSchemaError, match=r"row 4, column 'displaced_in': 'many' is not a valid integer"):
        copy.load("scenario_displacement")


def test_constraint_breach_names_the_row(copy):
    path = copy.root / "scenario_timeline.csv"
    path.write_text(path.read_text().replace(",rising-risk,", ",calm,", 1))
    rehash(copy)
    with pytest.raises(data.DatasetSchemaError, match=r"row 2, column 'phase': 'calm' is not one of"):
        copy.load("scenario_timeline")


def test_bad_date_and_boolean(copy):
    path = copy.root / "scenario_incident_reports.csv"
    text = path.read_text().splitlines()
    text[1] = re.sub(r",\d{4}-\d{2}-\d{2},", ",2024-13-45,", text[1], count=1)
    text[2] = text[2].replace(",true,", ",yes,", 1).replace(",false,", ",yes,", 1)
    path.write_text("\n".join(text) + "\n")
    rehash(copy)
    with pytest.raises(data.DatasetSchemaError) as err:
        copy.load("scenario_incident_reports")
    assert "'2024-13-45' is not a valid date" in str(err.value) and "'yes' is not a valid boolean" in str(err.value)


def test_geojson_missing_property(copy):
    path = copy.root / "scenario_provinces.geojson"
    geo = json.loads(path.read_text())
    del geo["features"][2]["properties"]["population"]
    path.write_text(json.dumps(geo))
    rehash(copy)
    with pytest.raises(data.DatasetSchemaError, match="feature 2: property 'population' is missing"):
        copy.load("scenario_provinces")


def test_missing_or_broken_manifest(copy):
    manifest = copy.root / "datapackage.json"
    manifest.write_text("{not json")
    with pytest.raises(data.ManifestError, match="not valid JSON"):
        copy.names()
    manifest.unlink()
    with pytest.raises(data.ManifestError, match="no dataset manifest"):
        copy.load("risk_factors")


def test_many_schema_problems_are_capped(copy):
    path = copy.root / "scenario_indicators.csv"
    lines = path.read_text().splitlines()
    lines[1:60] = [re.sub(r",[^,]+,true$", ",x,true", line) for line in lines[1:60]]
    path.write_text("\n".join(lines) + "\n")
    rehash(copy)
    with pytest.raises(data.DatasetSchemaError, match=r"and 39 more"):
        copy.load("scenario_indicators")


# --- reference tables against the facts ---------------------------------------------------------

REFERENCE = ["risk_factors", "pyramid_levels", "stanton_stages", "r2p_pillars", "sg_reports",
             "forum_recommendations", "berkeley_principles", "berkeley_phases", "record_types",
             "source_countries"]


@pytest.mark.parametrize("name", REFERENCE)
def test_every_reference_row_cites_a_source(name):
    table = data.load(name)
    assert table["source"].str.len().gt(10).all()
    assert not data.describe(name)["synthetic"]


def test_reference_table_shapes():
    factors = data.load("risk_factors")
    assert list(factors["number"]) == list(range(1, 15))
    assert (factors["scope"] == "common").sum() == 8 and (factors.loc[:7, "crime"] == "all").all()
    assert factors.set_index("number").loc[[9, 10], "crime"].eq("genocide").all()
    forum = data.load("forum_recommendations")
    assert forum["stage"].value_counts().to_dict() == {"prevent": 5, "react": 11, "rebuild": 10}
    for stage, group in forum.groupby("stage"):
        assert list(group["number"]) == list(range(1, len(group) + 1)), stage
    assert list(data.load("pyramid_levels")["level"]) == [1, 2, 3, 4, 5]
    stages = data.load("stanton_stages")
    assert len(stages) == 10 and set(stages.loc[stages["added_later"], "stage"]) == {"discrimination", "persecution"}
    principles = data.load("berkeley_principles")
    assert principles["group"].value_counts().to_dict() == {"ethical": 5, "methodological": 4, "professional": 3}
    assert len(data.load("berkeley_phases")) == 6
    assert set(data.load("record_types")["record_type"]) == {"event", "act", "victim", "perpetrator", "source", "intervention"}
    reports = data.load("sg_reports")
    assert list(reports["year"]) == list(range(2009, 2025)) and reports["symbol"].is_unique


def test_sg_report_themes_come_from_the_title_only():
    for row in data.load("sg_reports").itertuples():
        for theme in row.themes.split("; "):
            # each word of a theme, cut to its stem, is in the title ("prevention" ~ "prevent")
            for word in theme.lower().split():
                assert word[:6] in row.title.lower(), (row.year, theme)


def test_source_countries_are_attributed_mapped_and_exclude_source_004():
    countries = data.load("source_countries")
    assert countries["source"].str.match(r"^00[0-3]: ").all(), "only sources 000-003 are mapped"
    iso = {f["properties"]["iso3"] for f in data.load("world_outlines")["features"]}
    assert set(countries["iso3"]) <= iso
    attributions = ("The 2007 forum's", "The blog post", "The Carter Center's", "The summary of the 2005 forum",
                    "The 2019 event", "A speaker at the 2019 event")
    assert countries["note"].str.startswith(attributions).all()


@pytest.mark.skipif(not FACTS.exists(), reason="the shared facts.md is not beside this checkout")
def test_reference_tables_agree_with_facts_md():
    facts = FACTS.read_text(encoding="utf-8")
    for row in data.load("risk_factors").itertuples():
        assert f"| {row.number} | {row.name} | {'all' if row.scope == 'common' else row.crime} |" in facts
    for row in data.load("sg_reports").itertuples():
        assert f"{row.year} {row.title} — {row.symbol}" in re.sub(r"\s+", " ", facts)
    for row in data.load("pyramid_levels").itertuples():
        assert f"{row.level}. **{row.name}**" in facts
    for phase in data.load("berkeley_phases")["phase"]:
        assert phase in facts
    for principle in data.load("berkeley_principles")["principle"]:
        assert principle in facts
    stanton = facts.split("## 4.")[1].split("## 5.")[0].lower()
    assert ", ".join(data.load("stanton_stages")["stage"]) in re.sub(r"\s+", " ", stanton)
    rebuilding = re.sub(r"\s+", " ", facts.split("## 9.")[1]).lower()
    assert "restitution, compensation, rehabilitation, satisfaction, and guarantees of " \
           "non-repetition" in rebuilding
    assert all(f.lower() in rebuilding for f in data.load("reparation_forms")["label"])
    assert all(e.lower() in rebuilding
               for e in data.load("transitional_justice_elements")["label"])
    for symbol in ("A/RES/60/147", "E/CN.4/2005/102/Add.1", "resolution 18/7"):
        assert symbol.lower() in rebuilding


# --- world outlines ---------------------------------------------------------------------------


def test_world_outlines_are_small_coded_and_rounded():
    assert data.describe("world_outlines")["bytes"] < 300_000
    world = data.load("world_outlines")
    codes = [f["properties"]["iso3"] for f in world["features"]]
    assert len(world["features"]) > 170
    assert len([c for c in codes if c]) == len({c for c in codes if c})
    assert {"KEN", "FRA", "BRA", "IND", "AUS"} <= set(codes)
    names = {f["properties"]["iso3"]: f["properties"]["name"] for f in world["features"]}
    assert names["KEN"] == "Kenya" and names["FRA"] == "France"
    text = (data.ROOT / "world_outlines.geojson").read_text()
    assert not re.search(r"\d\.\d{3,}", text.split('"features"')[1])
    licences = {lic["name"] for lic in data.describe("world_outlines")["licenses"]}
    assert {"PDDL-1.0", "ISC"} <= licences


def test_topojson_decoding_on_a_tiny_topology():
    topology = {"transform": {"scale": [1, 1], "translate": [10, 20]},
                "arcs": [[[0, 0], [2, 0], [0, 2]], [[2, 2], [-2, 0], [0, -2]]]}
    arcs = wo.decode_arcs(topology)
    assert arcs[0] == [(10, 20), (12, 20), (12, 22)]
    square = wo.polygon([[0, 1]], arcs)[0]
    assert square[0] == square[-1] and wo.signed_area(square) > 0 and len(square) == 5
    clockwise = wo.polygon([[~1, ~0]], arcs)[0]
    assert wo.signed_area(clockwise) > 0, "exterior rings are turned counter-clockwise"


@pytest.mark.skipif(shutil.which("npm") is None and not os.environ.get("UPSTREAM_NPM_TARBALLS"),
                    reason="npm is not installed, so the pinned world-atlas and i18n-iso-countries "
                           "tarballs cannot be fetched (or set UPSTREAM_NPM_TARBALLS to a folder "
                           "holding them)")
def test_world_outlines_rebuild_byte_for_byte(tmp_path):
    # Fetches the two pinned tarballs from the npm registry (integrity-checked) unless given.
    out = tmp_path / "world.geojson"
    source = os.environ.get("UPSTREAM_NPM_TARBALLS")
    wo.main([*(["--from", source] if source else []), "--out", str(out)])
    assert out.read_bytes() == (data.ROOT / "world_outlines.geojson").read_bytes()


# --- user tables ------------------------------------------------------------------------------


def test_user_csv_valid():
    risk = data.load_user_csv(FIXTURES / "country_risk_valid.csv", "country_risk")
    assert list(risk.columns) == ["iso3", "country", "year", "risk", "rank"]
    assert risk["iso3"].tolist() == ["XAA", "XAB", "XAC", "XAD"]
    assert risk["country"].iloc[2] == "Testland Gamma"
    assert risk["risk"].dtype == "float64" and risk["year"].dtype == "int64"


def test_user_csv_early_warning_project_layout():
    risk = data.load_user_csv(FIXTURES / "country_risk_ewp_layout.csv", "country_risk")
    assert list(risk.columns) == ["iso3", "country", "year", "risk"]
    assert risk["year"].eq(2022).all() and risk["risk"].iloc[0] == pytest.approx(0.0612)
    assert risk.attrs["unmatched_countries"] == ["Testland Alpha", "Testland Beta", "Testland Gamma"]


def test_user_csv_names_get_iso3_by_exact_match_only(tmp_path):
    # Every risk is 0: this checks name matching, it says nothing about any country.
    path = tmp_path / "names.csv"
    path.write_text("country,risk\nKenya,0\nfrance,0\nFrance (mainland),0\n")
    risk = data.load_user_csv(path, "country_risk")
    assert risk["iso3"].tolist() == ["KEN", "FRA", ""]
    assert risk.attrs["unmatched_countries"] == ["France (mainland)"]


def test_user_csv_row_errors_are_all_collected():
    with pytest.raises(data.UserDataError) as err:
        data.load_user_csv(FIXTURES / "country_risk_bad_rows.csv", "country_risk")
    errors = err.value.errors
    assert "row 3: risk 'high' is not a number between 0 and 1" in errors
    assert any(e.startswith("row 4: risk '1.5'") for e in errors)
    assert any(e.startswith("row 5:") and "percentage" in e for e in errors)
    assert any(e.startswith("row 6: iso3 'TESTLAND'") for e in errors)
    assert any(e.startswith("row 7: year 'twenty'") for e in errors)
    assert any(e.startswith("row 8:") and "repeats row 2" in e for e in errors)
    assert len(errors) == 6 and "nothing was changed" in str(err.value)


def test_user_csv_error_list_is_capped_in_the_message():
    with pytest.raises(data.UserDataError) as err:
        data.load_user_csv(FIXTURES / "many_errors.csv", "country_risk")
    assert len(err.value.errors) == 30 and "and 10 more" in str(err.value)


@pytest.mark.parametrize(("fixture", "expected"), [
    ("does_not_exist.csv", "there is no file at"),
    ("empty.csv", "is empty"),
    ("header_only.csv", "no rows of data"),
    ("latin1.csv", "is not UTF-8 text"),
    ("utf16.csv", "binary data (or UTF-16 text)"),
    ("workbook.xlsx", "looks like an Excel workbook"),
    ("workbook_renamed.csv", "looks like a zip archive or Excel workbook"),
    ("ragged.csv", "could not be read as CSV"),
    ("country_risk_missing_columns.csv", "missing the column(s) risk (a probability 0-1) and iso3 or country"),
])
def test_user_csv_bad_files_get_clear_messages(fixture, expected):
    with pytest.raises(data.UserDataError) as err:
        data.load_user_csv(FIXTURES / fixture, "country_risk")
    assert expected in str(err.value)


def test_user_csv_folder_and_unknown_kind():
    with pytest.raises(data.UserDataError, match="is a folder"):
        data.load_user_csv(FIXTURES, "country_risk")
    with pytest.raises(data.UserDataError, match="unknown kind 'risk'.*country_risk"):
        data.load_user_csv(FIXTURES / "country_risk_valid.csv", "risk")


# --- every dataset is used --------------------------------------------------------------------


def test_every_dataset_appears_in_a_notebook():
    modules = sorted((REPO / "course" / "modules").glob("*.md"))
    assert len(modules) >= 5, "the syllabus's module sources are missing from course/modules"
    notebooks = modules + sorted((REPO / "course" / "exercises" / "source").glob("*/*.md"))
    text = "\n".join(p.read_text(encoding="utf-8") for p in notebooks)
    unused = [n for n in data.names() if n not in text]
    assert not unused, f"datasets no notebook mentions: {unused}"


def test_user_kinds_are_documented():
    assert set(data.USER_KINDS) == {"country_risk"}
    assert "risk" in data.USER_KINDS["country_risk"] and "iso3" in data.USER_KINDS["country_risk"]


def test_every_dataset_has_a_datasheet():
    readme = (data.ROOT / "README.md").read_text(encoding="utf-8")
    headings = "\n".join(line for line in readme.splitlines() if line.startswith("### "))
    missing = [n for n in data.names() if f"`{n}`" not in headings]
    assert not missing, f"add a datasheet section to course/datasets/README.md for: {missing}"


def test_no_outline_ring_jumps_across_the_antimeridian():
    """A jump from 180° to -180° inside a ring would paint a band across the world map."""
    world = data.load("world_outlines")
    for feature in world["features"]:
        geometry = feature["geometry"]
        polygons = geometry["coordinates"] if geometry["type"] == "MultiPolygon" else [geometry["coordinates"]]
        for polygon in polygons:
            for ring in polygon:
                jumps = sum(abs(a[0] - b[0]) > 180 for a, b in zip(ring, ring[1:], strict=False))
                assert jumps <= 1, f"{feature['properties']['name']}: a ring jumps across 180°"
    assert wo.unwrapped([[179, 0], [-179, 0], [-179, 1], [179, 1], [179, 0]])[1][0] == 181


def test_user_csv_country_codes_semicolons_and_plain_advice(tmp_path):
    """Module 1 promises "a country column (iso3 codes or names)": a country column of codes
    was not matched, a semicolon file was one column, and the advice named data.USER_KINDS
    (issue #16, item 4). The values are made up."""
    path = tmp_path / "codes.csv"
    path.write_text("country,risk\nKEN,0.3\nbra,0.1\nFrance,0.2\n")
    risk = data.load_user_csv(path, "country_risk")
    assert risk["iso3"].tolist() == ["KEN", "BRA", "FRA"]
    assert risk.attrs["unmatched_countries"] == []
    path.write_text("Country;Risk\nKEN;0,3\nBrazil;0.1\n")
    risk = data.load_user_csv(path, "country_risk")
    assert risk["iso3"].tolist() == ["KEN", "BRA"] and risk["risk"].tolist() == [0.3, 0.1]
    path.write_text("country\trisk\nKEN\t0.3\n")
    assert data.load_user_csv(path, "country_risk")["iso3"].tolist() == ["KEN"]
    path.write_text("nation;value\nKEN;0,3\n")
    with pytest.raises(data.UserDataError) as err:
        data.load_user_csv(path, "country_risk")
    message = str(err.value)
    assert "USER_KINDS" not in message and "its columns are: nation, value" in message
    assert "iso3 codes such as KEN or names such as Kenya" in message
