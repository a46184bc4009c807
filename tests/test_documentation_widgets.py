"""Module 3 views, driven as a trainee would: fill the form, upload, verify, tamper, restore."""

from __future__ import annotations

import datetime as dt
import hashlib

import pytest

from course.evidence import Locker
from course.widgets import documenting as views


@pytest.fixture
def locker(tmp_path):
    with Locker(tmp_path / "locker") as lk:
        yield lk


def fill(c, **values):
    for name, value in values.items():
        c[name].value = value


def test_incident_form_blocks_testimony_without_consent_then_saves(locker):
    box = views.incident_form(locker)
    c = box.controls
    fill(c, event_start="2024-03-01", event_end="2024-03-02", province_id="P03",
         act_type="arbitrary-detention", victim_group="Veleni", victims_count=4,
         perpetrator_type="police", source_id="S01", source_type="witness",
         information_type="testimony", summary="Four people held at a checkpoint.")
    assert c["save"].disabled and "consent" in c["status"].value
    c["consent_recorded"].value = True
    assert not c["save"].disabled
    c["save"].click()
    assert "Saved as IR0001" in c["status"].value
    assert locker.counts()["incidents"] == 1


def test_incident_form_shows_validation_messages_and_stores_nothing(locker):
    c = views.incident_form(locker).controls
    fill(c, event_start="2024-03-05", event_end="2024-03-01", province_id="P03",
         act_type="arbitrary-detention", victim_group="", perpetrator_type="police",
         source_id="S06", source_type="media", information_type="media-report",
         summary="Detentions reported.")
    assert not c["save"].disabled
    c["save"].click()
    status = c["status"].value
    assert "before event_start" in status and "victim_group is required" in status
    assert locker.counts()["incidents"] == 0
    c["witness_name"].value = "Jo Bell"  # a name means testimony: consent needed again
    assert c["save"].disabled


def test_locker_view_upload_verify_tamper_restore(locker):
    box = views.locker_view(locker)
    c = box.controls
    c["add"].click()
    assert "Choose a file first" in c["status"].value
    content = b"fictional scanned letter"
    c["upload"].value = ({"name": "letter.pdf", "type": "application/pdf", "size": len(content),
                          "content": memoryview(content),
                          "last_modified": dt.datetime(2024, 1, 1, tzinfo=dt.timezone.utc)},)
    fill(c, source="Witness A", method="upload in training")
    c["add"].click()
    assert hashlib.sha256(content).hexdigest() in c["status"].value
    assert c["item"].value == "E0001" and "letter.pdf" in c["tables"].value
    c["check"].click()
    assert "All intact" in c["report"].value
    c["alter"].click()
    c["check"].click()
    assert "working copy differs" in c["report"].value and "E0001" in c["report"].value
    c["restore"].click()
    c["check"].click()
    assert "All intact" in c["report"].value
    assert "working-copy-restored" in c["tables"].value
    c["add"].click()  # the same file again
    assert "already in the locker as E0001" in c["status"].value
    assert locker.counts()["items"] == 1


def test_an_unexpected_error_is_shown_not_swallowed(locker):
    c = views.locker_view(locker).controls
    content = b"x"
    c["upload"].value = ({"name": "x.txt", "type": "text/plain", "size": 1,
                          "content": memoryview(content),
                          "last_modified": dt.datetime(2024, 1, 1, tzinfo=dt.timezone.utc)},)
    fill(c, source="s", method="m")
    locker.close()  # the locker went away under the view (a closed locker is a LockerError)
    c["add"].click()
    assert "was closed" in c["status"].value
    c["check"].click()
    assert "was closed" in c["report"].value
    broken = views._run(c["status"], lambda: 1 / 0)
    assert broken is None and "Something went wrong (ZeroDivisionError" in c["status"].value


def test_locker_view_opened_on_a_full_locker_has_an_item_chosen(locker, tmp_path):
    """Module 3 opens the desk after collecting two files: the Item drop-down showed nothing,
    and "Alter working copy" then said to add a file first (issue #16, item 5)."""
    for name in ("photo.jpg", "letter.pdf"):
        (tmp_path / name).write_bytes(f"fictional {name}".encode())
        locker.add_file(tmp_path / name, handler="Trainee", source="Witness A", method="cable")
    c = views.locker_view(locker).controls
    assert c["item"].options == ("E0001", "E0002") and c["item"].value == "E0001"
    assert "Items (2)" in c["tables"].value
    c["alter"].click()
    assert "add a file" not in c["status"].value and "E0001" in c["status"].value
    c["item"].value = "E0002"
    c["check"].click()  # a refresh keeps the trainee's choice
    assert c["item"].value == "E0002"
