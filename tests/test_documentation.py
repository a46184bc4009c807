"""Module 3 logic: scenario reports as records, duplicates, corroboration, the form and the desk."""

from __future__ import annotations

import hashlib
import itertools

import pandas as pd
import pytest

from course import data, documenting
from course.evidence import Locker
from tools import scenario


@pytest.fixture(scope="module")
def reports():
    return data.load("scenario_incident_reports")


@pytest.fixture(scope="module")
def sources():
    return data.load("scenario_sources")


@pytest.fixture
def locker(tmp_path):
    with Locker(tmp_path / "locker") as lk:
        yield lk


def small_reports():
    return pd.DataFrame([
        # one event seen by three sources (two of them share an affiliation)
        ("R1", "S1", "2024-01-10", "2024-01-10", "P1", "L1", "arbitrary-detention", "A", 5, "police"),
        ("R2", "S2", "2024-01-12", "2024-01-12", "P1", "L1", "arbitrary-detention", "A", 9, "police"),
        ("R3", "S3", "2024-01-09", "2024-01-10", "P1", "L1", "enforced-disappearance", "A", 5, "police"),
        # same place and perpetrator but too far apart in time: a different event
        ("R4", "S1", "2024-02-20", "2024-02-20", "P1", "L1", "arbitrary-detention", "A", 2, "police"),
        # same day, same place, different perpetrator: not a duplicate
        ("R5", "S2", "2024-02-20", "2024-02-20", "P1", "L1", "arbitrary-detention", "A", 2, "army"),
        # the same source twice is never a duplicate *between sources*
        ("R6", "S1", "2024-02-21", "2024-02-21", "P1", "L1", "arbitrary-detention", "A", 2, "police"),
    ], columns=["report_id", "source_id", "event_start", "event_end", "province_id", "place_id",
                "act_type", "victim_group", "victims_count", "perpetrator_type"])


def small_sources():
    return pd.DataFrame([("S1", "witness", "medium", "none (S1)"),
                         ("S2", "local-ngo", "high", "Network X"),
                         ("S3", "local-ngo", "low", "Network X")],
                        columns=["source_id", "source_type", "reliability", "affiliation"])


def test_duplicate_pairs_on_a_small_table():
    pairs = documenting.duplicate_pairs(small_reports())
    assert list(zip(pairs.report_a, pairs.report_b, strict=True)) == [("R1", "R2"), ("R1", "R3"), ("R2", "R3")]
    row = pairs.iloc[1]
    assert "act_type: arbitrary-detention vs enforced-disappearance" in row["differences"]
    assert documenting.duplicate_pairs(small_reports(), window_days=1).shape[0] == 1  # only R3–R1


def test_candidate_events_and_corroboration_count_affiliations_not_sources():
    reports = small_reports()
    events = documenting.candidate_events(reports)
    assert events["R1"] == events["R2"] == events["R3"]
    assert len({events["R4"], events["R5"], events["R6"], events["R1"]}) == 4
    table = documenting.corroboration(reports.assign(event_id=reports.report_id.map(events)),
                                        small_sources()).set_index("event_id")
    first = table.loc[events["R1"]]
    assert (first["reports"], first["sources"], first["independent_sources"]) == (3, 3, 2)
    assert first["corroborated"] and first["best_reliability"] == "high"
    assert not table.loc[events["R4"], "corroborated"]


def test_bad_tables_get_clear_errors():
    with pytest.raises(ValueError, match="lacks column"):
        documenting.duplicate_pairs(small_reports().drop(columns="place_id"))
    with pytest.raises(ValueError, match="window_days"):
        documenting.duplicate_pairs(small_reports(), window_days=-1)
    reports = small_reports().assign(event_id="E1")
    with pytest.raises(ValueError, match="not in the sources table: S3"):
        documenting.corroboration(reports, small_sources().iloc[:2])
    with pytest.raises(ValueError, match="not in the sources table"):
        documenting.report_to_record({"report_id": "R9", "source_id": "S99"}, small_sources())


def test_duplicates_in_the_scenario_match_the_generators_truth_closely(reports):
    truth = scenario.incident_truth()
    true_pairs = {tuple(sorted(p)) for _, g in reports.groupby(reports.report_id.map(truth))
                  for p in itertools.combinations(g.report_id, 2)}
    found = set(zip(*documenting.duplicate_pairs(reports)[["report_a", "report_b"]].T.values, strict=True))
    recall = len(found & true_pairs) / len(true_pairs)
    precision = len(found & true_pairs) / len(found)
    assert recall >= 0.95 and precision >= 0.9, (recall, precision)


def test_screening_refuses_exactly_the_testimony_without_consent(reports, sources):
    screened = documenting.screen_reports(reports, sources)
    refused = set(screened.loc[~screened.accepted, "report_id"])
    expected = set(reports.loc[reports.testimony & ~reports.consent_recorded, "report_id"])
    assert refused == expected and expected
    assert screened.loc[~screened.accepted, "problems"].str.contains("consent").all()


def test_import_reports_stores_accepted_and_lists_refused(locker, reports, sources):
    sample = reports.head(20)
    result = documenting.import_reports(locker, sample, sources, handler="Trainee")
    refused = result[result.record_id == ""]
    assert len(refused) == (sample.testimony & ~sample.consent_recorded).sum()
    assert locker.counts()["incidents"] == len(sample) - len(refused)
    assert locker.verify().intact


def test_incidents_by_province_counts_events_not_reports(reports):
    counts = documenting.incidents_by_province(reports)
    assert counts.sum() == documenting.candidate_events(reports).nunique()
    assert counts.sum() < len(reports)
    assert counts["P01"] == 0  # a province with no reports shows 0, not "no data"
    small = documenting.incidents_by_province(small_reports(), provinces=["P1", "P2"])
    assert small.to_dict() == {"P1": 4, "P2": 0}


def test_bare_hash_is_guessable():
    digest = hashlib.sha256(b"amina korr").hexdigest()
    assert documenting.guess_from_bare_hash(digest, ["Jo Bell", "Amina  Korr"]) == "Amina  Korr"
    assert documenting.guess_from_bare_hash(digest, ["Jo Bell"]) is None
    assert documenting.bare_hash(" AMINA korr") == digest


def test_incident_form_saves_and_refuses_without_consent(locker):
    form = documenting.IncidentForm(locker, provinces=["P01", "P02"], places=["L01"])
    assert "arbitrary-detention" in form.options("act_type")
    assert form.options("province_id") == ("P01", "P02")
    import datetime as dt
    values = {"event_start": dt.date(2024, 1, 2), "event_end": None, "province_id": "P01",
              "place_id": "", "act_type": "arbitrary-detention", "victim_group": "Veleni",
              "victims_count": 2, "perpetrator_type": "police", "source_id": "S01",
              "source_type": "witness", "information_type": "testimony",
              "summary": "Two people held overnight.", "witness_name": "Jo Bell"}
    with pytest.raises(ValueError, match="informed consent"):
        form.save(values, handler="Trainee")
    assert locker.counts()["incidents"] == 0
    with pytest.raises(ValueError, match="not a province"):
        form.save({**values, "province_id": "P77", "consent_recorded": True}, handler="Trainee")
    message = form.save({**values, "consent_recorded": True}, handler="Trainee")
    assert message.startswith("Saved as IR0001") and "pseudonym" in message
    assert locker.incidents().iloc[0]["event_start"] == "2024-01-02"


def test_locker_desk_tamper_demonstration(locker):
    with pytest.raises(ValueError, match="handler"):
        documenting.LockerDesk(locker, " ")
    desk = documenting.LockerDesk(locker, "Trainee")
    message = desk.add_upload("photo.png", b"\x89PNG fictional", "Witness A", "upload")
    assert "E0001" in message and hashlib.sha256(b"\x89PNG fictional").hexdigest() in message
    assert desk.check()[0]
    desk.alter_working_copy("E0001")
    ok, text = desk.check()
    assert not ok and "E0001" in text and "working copy" in text
    desk.restore("E0001")
    assert desk.check()[0]
    with pytest.raises(ValueError, match="add a file"):
        desk.alter_working_copy(None)
    with pytest.raises(ValueError, match="no item"):
        desk.restore("E0404")


def test_the_old_module_names_are_the_same_modules():
    from course import documentation
    from course.widgets import documentation as old_views
    from course.widgets import documenting as views

    assert documentation is documenting and old_views is views
    assert documentation.corroboration is documenting.corroboration
