"""The evidence locker: hashing, the custody chain, tamper detection, records and bad input."""

from __future__ import annotations

import hashlib
import json
import os
import sqlite3
import stat

import pytest

from course import evidence
from course.evidence import InvalidRecord, Locker, LockerError
from tests.helpers.evidence_attacks import raw


def good_record(**changes):
    record = {
        "event_start": "2024-03-01", "event_end": "2024-03-02", "received": "2024-03-05",
        "province_id": "P01", "place_id": "L01", "act_type": "arbitrary-detention",
        "victim_group": "Group A", "victims_count": 3, "perpetrator_type": "militia",
        "source_id": "S01", "source_type": "witness", "information_type": "testimony",
        "consent_recorded": True, "summary": "Three people held at a roadblock overnight.",
        "witness_name": "Amina Korr",
    }
    record.update(changes)
    return record


@pytest.fixture
def locker(tmp_path):
    with Locker(tmp_path / "locker") as lk:
        yield lk


@pytest.fixture
def filled(locker, tmp_path):
    for i in range(4):
        f = tmp_path / f"item{i}.txt"
        f.write_bytes(f"evidence {i}\n".encode() * (i + 1))
        locker.add_file(f, handler="Documenter 1", source=f"Source {i}", method="copied from USB")
    locker.add_incident(good_record(), handler="Documenter 1")
    locker.add_incident(good_record(information_type="document", witness_name=None,
                                    consent_recorded=False, source_type="official"),
                        handler="Documenter 2")
    return locker


def snapshot(locker):
    """Everything a failed call must leave as it was: every row and every file."""
    conn = sqlite3.connect(locker.root / "locker.sqlite3")
    dump = list(conn.iterdump())
    conn.close()
    files = sorted((p.relative_to(locker.root).as_posix(), p.read_bytes())
                   for p in locker.root.rglob("*") if p.is_file() and "sqlite3" not in p.name)
    return dump, files


# -- hashing -------------------------------------------------------------------------------------
def test_sha256_file_streams_in_chunks_and_matches_hashlib(tmp_path):
    data = os.urandom(3 * 1024 * 1024 + 17)
    f = tmp_path / "big.bin"
    f.write_bytes(data)
    expected = hashlib.sha256(data).hexdigest()
    assert evidence.sha256_file(f) == expected
    assert evidence.sha256_file(f, chunk_size=4096) == expected
    with pytest.raises(ValueError, match="chunk_size"):
        evidence.sha256_file(f, chunk_size=0)


# -- the chain as plain functions -------------------------------------------------------------------
def test_first_broken_finds_the_edited_entry_the_rehashed_one_and_a_gap(filled):
    log = filled.custody_log().to_dict("records")
    assert evidence.first_broken(log) is None
    edited = [dict(e) for e in log]
    edited[2]["handler"] = "someone else"
    assert evidence.first_broken(edited) == 3
    rehashed = [dict(e) for e in log]
    rehashed[1]["note"] = "changed"
    rehashed[1]["entry_hash"] = evidence.entry_hash(rehashed[1], rehashed[1]["prev_hash"])
    assert evidence.first_broken(rehashed) == 2
    assert evidence.first_broken(log[:3] + log[4:]) == 4
    with pytest.raises(ValueError, match="lacks field"):
        evidence.entry_hash({"seq": 1}, evidence.GENESIS)


# -- adding files ---------------------------------------------------------------------------------
def test_add_file_records_hash_size_time_handler_and_keeps_two_copies(locker, tmp_path):
    f = tmp_path / "photo.jpg"
    f.write_bytes(b"\xff\xd8 not really a jpeg")
    row = locker.add_file(f, handler="D. Okello", source="community member", method="USB copy")
    assert row["item_id"] == "E0001"
    assert row["sha256"] == hashlib.sha256(f.read_bytes()).hexdigest()
    assert row["size"] == f.stat().st_size
    assert row["added_utc"].endswith("+00:00")
    ev, work = locker.evidentiary_path("E0001"), locker.working_copy("E0001")
    assert ev != work and ev.parent.name == "evidentiary" and work.parent.name == "working"
    assert stat.S_IMODE(ev.stat().st_mode) == 0o444
    assert ev.read_bytes() == work.read_bytes() == f.read_bytes()
    entry = locker.custody_log().iloc[0]
    assert (entry["action"], entry["handler"], entry["sha256"]) == ("collected", "D. Okello", row["sha256"])
    assert locker.verify().intact


def test_upload_names_cannot_escape_the_locker(locker):
    row = locker.add_bytes(b"data", "../../etc/passwd", handler="h", source="s", method="upload")
    assert locker.working_copy(row["item_id"]).resolve().is_relative_to(locker.root.resolve())
    assert evidence.safe_filename("..\\..\\x y.txt") == "x_y.txt"


def test_verify_reports_all_intact(filled):
    report = filled.verify()
    assert report.intact and report.problems == []
    assert report.checked == {"items": 4, "records": 2, "log entries": 6}
    assert report.summary().startswith("All intact")
    assert filled.verify(anchor=filled.head()).intact


# -- tamper detection -----------------------------------------------------------------------------
def test_changed_evidentiary_file_is_named(filled):
    path = filled.evidentiary_path("E0002")
    os.chmod(path, 0o644)
    path.write_bytes(b"doctored")
    report = filled.verify()
    assert [(p.kind, p.where) for p in report.problems] == [("file-changed", "E0002")]
    assert "E0002" in report.summary()


def test_altered_working_copy_fails_verify_and_restore_fixes_it(filled):
    filled.working_copy("E0003").write_text("annotated")
    assert [(p.kind, p.where) for p in filled.verify().problems] == [("working-copy-changed", "E0003")]
    filled.restore_working_copy("E0003", handler="Documenter 1")
    assert filled.verify().intact
    assert filled.custody_log().iloc[-1]["action"] == "working-copy-restored"


def test_missing_evidentiary_file_is_named(filled):
    path = filled.evidentiary_path("E0001")
    os.chmod(path, 0o644)
    path.unlink()
    assert [(p.kind, p.where) for p in filled.verify().problems] == [("file-missing", "E0001")]


def test_edited_log_entry_is_named(filled):
    raw(filled).execute("UPDATE custody SET handler = 'nobody' WHERE seq = 3")
    assert [(p.kind, p.where) for p in filled.verify().problems] == [("entry-altered", "entry 3")]


def test_edited_and_rehashed_entry_is_still_caught(filled):
    entry = filled.custody_log().iloc[1].to_dict()
    entry["note"] = "quietly changed"
    new = evidence.entry_hash(entry, entry["prev_hash"])
    raw(filled).execute("UPDATE custody SET note = ?, entry_hash = ? WHERE seq = 2",
                        (entry["note"], new))
    assert [(p.kind, p.where) for p in filled.verify().problems] == [("entry-altered", "entry 2")]


def test_deleted_log_entry_is_named(filled):
    raw(filled).execute("DELETE FROM custody WHERE seq = 4")
    kinds = [(p.kind, p.where) for p in filled.verify().problems]
    assert ("entry-removed", "entry 4") in kinds
    assert kinds[0] == ("entry-removed", "entry 4")


def test_deleted_last_entries_are_named(filled):
    raw(filled).execute("DELETE FROM custody WHERE seq >= 5")
    kinds = [(p.kind, p.where) for p in filled.verify().problems]
    assert kinds[0] == ("entry-removed", "entries 5–6")


def test_rewritten_log_is_caught_by_the_anchor(filled):
    anchor = filled.head()
    conn = raw(filled)
    conn.execute("DELETE FROM custody WHERE seq = 6")
    conn.execute("UPDATE meta SET value = '5' WHERE key = 'head_seq'")
    last = conn.execute("SELECT entry_hash FROM custody WHERE seq = 5").fetchone()[0]
    conn.execute("UPDATE meta SET value = ? WHERE key = 'head_hash'", (last,))
    report = filled.verify(anchor=anchor)
    assert "anchor-mismatch" in report.kinds()


def test_edited_item_row_and_incident_record_are_named(filled):
    conn = raw(filled)
    conn.execute("UPDATE incidents SET victims_count = 30 WHERE record_id = 'IR0001'")
    conn.execute("UPDATE items SET source = 'other' , sha256 = 'x' WHERE item_id = 'E0004'")
    got = {(p.kind, p.where) for p in filled.verify().problems}
    assert ("record-altered", "IR0001") in got and ("item-altered", "E0004") in got


def test_deleted_record_is_named(filled):
    raw(filled).execute("DELETE FROM incidents WHERE record_id = 'IR0002'")
    assert [(p.kind, p.where) for p in filled.verify().problems] == [("record-removed", "IR0002")]


def test_database_itself_refuses_edits(filled):
    conn = sqlite3.connect(filled.root / "locker.sqlite3")
    with pytest.raises(sqlite3.IntegrityError, match="append-only"):
        conn.execute("UPDATE custody SET note = 'x' WHERE seq = 1")
    with pytest.raises(sqlite3.IntegrityError, match="append-only"):
        conn.execute("DELETE FROM items")


# -- incident records and pseudonyms ------------------------------------------------------------------
def test_witness_names_are_never_stored_only_keyed_pseudonyms(filled):
    db = (filled.root / "locker.sqlite3").read_bytes()
    wal = filled.root / "locker.sqlite3-wal"
    blob = db + (wal.read_bytes() if wal.exists() else b"")
    assert b"Amina" not in blob
    pseudonym = filled.incidents().iloc[0]["witness_pseudonym"]
    assert pseudonym == filled.pseudonym("  amina   KORR ")
    assert pseudonym != "W-" + hashlib.sha256(b"amina korr").hexdigest()[:12]


def test_pseudonyms_depend_on_the_key():
    a, b = os.urandom(32), os.urandom(32)
    assert evidence.pseudonymise("Amina Korr", a) == evidence.pseudonymise("amina korr", a)
    assert evidence.pseudonymise("Amina Korr", a) != evidence.pseudonymise("Amina Korr", b)
    with pytest.raises(ValueError, match="at least 16"):
        evidence.pseudonymise("x", b"short")
    with pytest.raises(ValueError, match="non-empty"):
        evidence.pseudonymise("  ", a)


def test_key_file_is_separate_private_and_checked(tmp_path):
    key_path = tmp_path / "keys" / "witness.key"
    with Locker(tmp_path / "lk", key_path=key_path) as lk:
        first = lk.pseudonym("A")
    assert stat.S_IMODE(key_path.stat().st_mode) == 0o600
    assert not (tmp_path / "lk" / "pseudonym.key").exists()
    with Locker(tmp_path / "lk", key_path=key_path) as lk:
        assert lk.pseudonym("A") == first
    os.chmod(key_path, 0o644)
    with pytest.raises(PermissionError, match="chmod 600"):
        Locker(tmp_path / "lk", key_path=key_path)


def test_redacted_export_holds_no_identities(filled, tmp_path):
    out = filled.export_redacted(tmp_path / "share.json", handler="Documenter 1")
    text = out.read_text()
    data = json.loads(text)
    assert len(data["items"]) == 4 and len(data["incidents"]) == 2
    for secret in ("Amina", "W-", "Documenter", "Source 1", "S01", "item0.txt", "roadblock"):
        assert secret not in text, secret
    assert data["incidents"][0]["summary"].startswith("[withheld")
    assert filled.custody_log().iloc[-1]["action"] == "exported-redacted"
    assert filled.verify().intact
    with pytest.raises(LockerError, match="outside the locker"):
        filled.export_redacted(filled.root / "x.json", handler="h")
    with pytest.raises(LockerError, match="does not exist"):
        filled.export_redacted(tmp_path / "no" / "such" / "x.json", handler="h")


def test_redacted_export_keeps_place_and_summary_of_open_records(locker, tmp_path):
    locker.add_incident(good_record(confidential=False, witness_name=None), handler="h")
    data = json.loads(locker.export_redacted(tmp_path / "open.json", handler="h").read_text())
    record = data["incidents"][0]
    assert record["place_id"] == "L01" and record["summary"].startswith("Three people")
    assert "witness_pseudonym" not in record and "source_id" not in record


@pytest.mark.parametrize("changes, message", [
    ({"consent_recorded": False}, "informed consent"),
    ({"consent_recorded": None}, "consent_recorded is required"),
    ({"information_type": "document", "consent_recorded": False}, "informed consent"),
    ({"act_type": "bad-things"}, "act_type: 'bad-things' is not a known term"),
    ({"perpetrator_type": "aliens"}, "perpetrator_type"),
    ({"event_end": "2024-02-01"}, "before event_start"),
    ({"received": "2024-01-01"}, "cannot arrive before"),
    ({"event_start": "01/03/2024"}, "YYYY-MM-DD"),
    ({"province_id": ""}, "province_id is required"),
    ({"victims_count": -1}, "whole number"),
    ({"victims_count": 2.5}, "whole number"),
    ({"confidential": "yes"}, "True or False"),
    ({"phone_number": "123"}, "unknown field"),
    ({"summary": "Amina Korr said she was held."}, "witness's name"),
    ({"summary": "x" * 700}, "under 600"),
])
def test_bad_records_are_refused_with_a_clear_reason_and_nothing_changes(filled, changes, message):
    before = snapshot(filled)
    with pytest.raises(InvalidRecord, match=message) as err:
        filled.add_incident(good_record(**changes), handler="Documenter 1")
    assert isinstance(err.value, ValueError) and err.value.problems
    assert snapshot(filled) == before


def test_all_problems_are_listed_at_once():
    with pytest.raises(InvalidRecord) as err:
        evidence.validate_incident(good_record(consent_recorded=False, act_type="x",
                                               event_end="2020-01-01"))
    assert len(err.value.problems) == 3


def test_record_needs_a_mapping():
    with pytest.raises(InvalidRecord, match="mapping"):
        evidence.validate_incident(["not", "a", "record"])


def test_unknown_vocabulary_can_be_extended_explicitly():
    vocab = dict(evidence.VOCABULARIES, act_type=("curfew-violation",))
    clean = evidence.validate_incident(good_record(act_type="curfew-violation"), vocab)
    assert clean["act_type"] == "curfew-violation"


# -- bad file input leaves the store unchanged ------------------------------------------------------
@pytest.mark.parametrize("kind", ["missing", "folder"])
def test_unreadable_paths_are_refused_and_nothing_changes(filled, tmp_path, kind):
    target = tmp_path / "nope.bin"
    if kind == "folder":
        target.mkdir()
    before = snapshot(filled)
    with pytest.raises(LockerError, match="folder" if kind == "folder" else "cannot read"):
        filled.add_file(target, handler="h", source="s", method="m")
    assert snapshot(filled) == before


def test_a_read_error_part_way_leaves_nothing_behind(filled, tmp_path):
    class FailingStream:
        """A device that fails after the first chunk, like a USB stick pulled out mid-copy."""
        def __init__(self):
            self.calls = 0

        def read(self, n):
            self.calls += 1
            if self.calls > 1:
                raise OSError(5, "Input/output error")
            return b"x" * n

    before = snapshot(filled)
    with pytest.raises(LockerError, match="failed part-way"):
        filled._add_stream(FailingStream(), "video.mp4", handler="h", source="s", method="m",
                           note="", chunk_size=1024)
    assert snapshot(filled) == before
    assert not any((filled.root / "staging").iterdir())


def test_duplicate_file_and_missing_handler_are_refused(filled, tmp_path):
    before = snapshot(filled)
    f = tmp_path / "item0.txt"
    with pytest.raises(LockerError, match="already in the locker as E0001"):
        filled.add_file(f, handler="h", source="s", method="m")
    with pytest.raises(LockerError, match="handler is required"):
        filled.add_file(f, handler=" ", source="s", method="m")
    with pytest.raises(LockerError, match="content must be bytes"):
        filled.add_bytes("text", "a.txt", handler="h", source="s", method="m")
    with pytest.raises(LockerError, match="no item 'E9999'"):
        filled.working_copy("E9999")
    assert snapshot(filled) == before


def test_vocabularies_cover_every_term_in_the_scenario():
    from course import data

    reports, sources = data.load("scenario_incident_reports"), data.load("scenario_sources")
    for field, frame in (("act_type", reports), ("perpetrator_type", reports),
                         ("source_type", sources)):
        unknown = set(frame[field]) - set(evidence.VOCABULARIES[field])
        assert not unknown, f"{field}: the scenario uses {unknown}; add them to course/evidence/vocab.py"


def test_a_lost_or_wrong_key_is_refused_not_silently_replaced(tmp_path):
    root = tmp_path / "lk"
    with Locker(root) as lk:
        lk.add_incident(good_record(), handler="h")
        kept = (root / "pseudonym.key").read_bytes()
    (root / "pseudonym.key").unlink()
    with pytest.raises(LockerError, match="missing; restore it"):
        Locker(root)
    assert not (root / "pseudonym.key").exists()
    other = tmp_path / "other.key"
    Locker(tmp_path / "elsewhere", key_path=other).close()
    with pytest.raises(LockerError, match="not the one"):
        Locker(root, key_path=other)
    (root / "pseudonym.key").write_bytes(kept)
    os.chmod(root / "pseudonym.key", 0o600)
    with Locker(root) as lk:
        assert lk.verify().intact


def test_a_file_or_a_broken_database_is_refused_clearly(tmp_path):
    (tmp_path / "afile").write_text("x")
    with pytest.raises(LockerError, match="is a file"):
        Locker(tmp_path / "afile")
    root = tmp_path / "broken"
    root.mkdir()
    (root / "locker.sqlite3").write_bytes(b"this is not a database" * 100)
    with pytest.raises(LockerError, match="not a readable locker database"):
        Locker(root)


def test_a_closed_locker_says_so(tmp_path):
    lk = Locker(tmp_path / "lk")
    lk.close()
    lk.close()  # closing twice is harmless
    with pytest.raises(LockerError, match="was closed; open it again"):
        lk.add_bytes(b"x", "x.txt", handler="h", source="s", method="m")
    with pytest.raises(LockerError, match="was closed"):
        lk.verify()


@pytest.mark.parametrize("passphrase", [None, "correct horse battery staple"],
                         ids=["plain", "encrypted"])
def test_widget_callbacks_on_another_thread_can_use_the_locker(tmp_path, passphrase):
    """The kernel may run a widget's callback on a different thread from the cell that made
    the locker (seen in JupyterLab): that must work, one transaction at a time."""
    import threading

    locker = Locker(tmp_path / "lk", passphrase=passphrase, scrypt_n=2 ** 10)

    results, errors = [], []

    def add(i):
        try:
            results.append(locker.add_bytes(f"item {i}".encode(), f"f{i}.txt", handler="h",
                                            source="s", method="m")["item_id"])
            results.append(locker.add_incident(good_record(witness_name=None), handler="h"))
        except Exception as exc:  # collected and reported below
            errors.append(exc)

    threads = [threading.Thread(target=add, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == [] and len(results) == 16
    report = locker.verify()
    assert report.intact and report.checked["log entries"] == 16
    locker.close()
