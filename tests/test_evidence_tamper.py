"""The tamper and fault review of the evidence locker (issue #17), one test per finding.

Each test does what an intruder with disk access (or a fault) did in the review: triggers
dropped and the database edited directly, links planted, files truncated or lost. Each names
the exact outcome expected now: which problem verify() reports, or which refusal, and that
nothing outside the locker changed.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import threading
import time

import pytest

from course.evidence import Locker, LockerError
from tests.helpers.evidence_attacks import every_byte, raw

ITEM_FIELDS = {"handler": "Someone else", "source": "Another source", "method": "forged",
               "filename": "other-name.txt", "size": 999, "added_utc": "2020-01-01T00:00:00+00:00",
               "note": "a note added later"}


@pytest.fixture
def filled(tmp_path):
    with Locker(tmp_path / "locker") as lk:
        for i in range(3):
            f = tmp_path / f"item{i}.txt"
            f.write_bytes(f"FICTIONAL evidence {i}\n".encode() * (i + 1))
            lk.add_file(f, handler="Documenter 1", source=f"Source {i}", method="copied from USB")
        yield lk


def problems(locker, anchor=None):
    return [(p.kind, p.where) for p in locker.verify(anchor).problems]


# -- 1. every stored field covered ------------------------------------------------------------------
@pytest.mark.parametrize("field", sorted(ITEM_FIELDS))
def test_any_edited_item_field_is_named_and_the_export_is_refused(filled, tmp_path, field):
    raw(filled).execute(f"UPDATE items SET {field} = ? WHERE item_id = 'E0002'",
                        (ITEM_FIELDS[field],))
    report = filled.verify()
    assert [(p.kind, p.where) for p in report.problems] == [("item-altered", "E0002")]
    assert report.stray == []
    with pytest.raises(LockerError, match="do not check out.*E0002.*Nothing was exported"):
        filled.export_redacted(tmp_path / "share.json", handler="Documenter 1")
    assert not (tmp_path / "share.json").exists()


@pytest.mark.parametrize("field, value", [("utc", "2020-01-01T00:00:00+00:00"),
                                          ("row_hash", "0" * 64), ("location", "elsewhere"),
                                          ("prev_hash", "f" * 64)])
def test_any_edited_custody_field_is_named(filled, field, value):
    raw(filled).execute(f"UPDATE custody SET {field} = ? WHERE seq = 2", (value,))
    assert problems(filled)[0] == ("entry-altered", "entry 2")


def test_a_consistently_rewritten_log_is_caught_by_the_journal_without_an_anchor(filled):
    """Edit the last entry, re-hash it and move the head to match: the chain alone is fooled;
    the signed journal is not."""
    from course import evidence

    entry = filled.custody_log().iloc[-1].to_dict()
    entry["handler"] = "Someone else"
    new = evidence.entry_hash(entry, entry["prev_hash"])
    conn = raw(filled)
    conn.execute("UPDATE custody SET handler = ?, entry_hash = ? WHERE seq = 3",
                 (entry["handler"], new))
    conn.execute("UPDATE meta SET value = ? WHERE key = 'head_hash'", (new,))
    assert problems(filled) == [("entry-altered", "entry 3")]
    assert "differs from the signed journal" in str(filled.verify().problems[0])


# -- 2. paths derived and confined -------------------------------------------------------------------
@pytest.mark.parametrize("where", ["absolute", "dotdot"])
def test_a_working_path_pointed_outside_is_not_trusted(filled, tmp_path, where):
    outside = tmp_path / "outside.txt"
    outside.write_text("a file outside the locker")
    value = str(outside) if where == "absolute" else "../outside.txt"
    raw(filled).execute("UPDATE items SET working_path = ? WHERE item_id = 'E0001'", (value,))
    assert problems(filled) == [("item-altered", "E0001")]
    with pytest.raises(LockerError, match="E0001 no longer matches its collection entry"):
        filled.restore_working_copy("E0001", handler="Documenter 1")
    assert outside.read_text() == "a file outside the locker"
    assert problems(filled) == [("item-altered", "E0001")]


def test_an_evidentiary_path_pointed_elsewhere_is_not_trusted(filled, tmp_path):
    raw(filled).execute("UPDATE items SET evidentiary_path = '/etc/hostname' WHERE item_id = 'E0003'")
    assert problems(filled) == [("item-altered", "E0003")]
    assert filled.evidentiary_path("E0003").parent == filled.root / "evidentiary"


# -- 3. links refused -------------------------------------------------------------------------------
def test_restore_replaces_a_symlinked_working_copy_and_never_writes_through_it(filled, tmp_path):
    outside = tmp_path / "outside.txt"
    outside.write_text("must not be overwritten")
    working = filled.root / "working" / "E0002-item1.txt"
    working.unlink()
    working.symlink_to(outside)
    assert problems(filled) == [("not-a-regular-file", "E0002")]
    with pytest.raises(LockerError, match="is a link"):
        filled.working_copy("E0002")
    filled.restore_working_copy("E0002", handler="Documenter 1")
    assert outside.read_text() == "must not be overwritten"
    assert not working.is_symlink() and working.read_bytes() == filled.read_bytes("E0002")
    assert filled.verify().intact


def test_a_link_planted_at_the_next_working_name_is_refused(filled, tmp_path):
    target = tmp_path / "target.txt"
    target.write_text("must not be overwritten")
    (filled.root / "working" / "E0004-report.pdf").symlink_to(target)
    before = every_byte(filled.root)
    report = tmp_path / "report.pdf"
    report.write_bytes(b"%PDF FICTIONAL report")
    with pytest.raises(LockerError, match="working/E0004-report.pdf is already taken by a link"):
        filled.add_file(report, handler="h", source="s", method="m")
    assert target.read_text() == "must not be overwritten"
    assert every_byte(filled.root) == before
    assert filled.counts()["items"] == 3


def test_an_evidentiary_copy_replaced_by_a_link_is_reported(filled, tmp_path):
    evidentiary = filled.evidentiary_path("E0001")
    elsewhere = tmp_path / "same-content.txt"
    elsewhere.write_bytes(evidentiary.read_bytes())  # even the right content does not pass
    evidentiary.unlink()
    evidentiary.symlink_to(elsewhere)
    assert problems(filled) == [("not-a-regular-file", "E0001")]
    with pytest.raises(LockerError, match="is a link"):
        filled.restore_working_copy("E0001", handler="h")


def test_a_locker_folder_replaced_by_a_link_is_refused(filled, tmp_path):
    root = filled.root
    filled.close()
    shutil.move(root / "working", tmp_path / "moved-working")
    (root / "working").symlink_to(tmp_path / "moved-working")
    with pytest.raises(LockerError, match="is a link"):
        Locker(root)


@pytest.mark.parametrize("name", ["custody.journal", "locker.sqlite3"])
def test_the_database_or_journal_replaced_by_a_link_is_refused(filled, tmp_path, name):
    root = filled.root
    filled.close()
    shutil.move(root / name, tmp_path / name)
    (root / name).symlink_to(tmp_path / name)
    with pytest.raises(LockerError, match=f"{name} is a link"):
        Locker(root)


# -- 4. no silent loss ------------------------------------------------------------------------------
@pytest.mark.parametrize("damage, message", [
    ("truncated", "empty \\(0 bytes\\), but the folder holds 3 evidentiary copies, 3 working "
                  "copies, a custody journal.*Nothing was changed"),
    ("deleted", "missing, but the folder holds 3 evidentiary copies.*was lost"),
])
def test_a_database_truncated_to_zero_bytes_or_deleted_is_refused_and_nothing_changes(
        filled, damage, message):
    root = filled.root
    filled.close()
    db = root / "locker.sqlite3"
    db.write_bytes(b"") if damage == "truncated" else db.unlink()
    before = every_byte(root)
    with pytest.raises(LockerError, match=message):
        Locker(root)
    assert every_byte(root) == before


def test_a_database_replaced_by_an_empty_one_is_refused(filled):
    root = filled.root
    filled.close()
    (root / "locker.sqlite3").unlink()
    sqlite3.connect(root / "locker.sqlite3").execute("CREATE TABLE x (y)").connection.close()
    with pytest.raises(LockerError, match="holds no locker"):
        Locker(root)


def test_committed_items_lost_with_the_wal_file_are_reported_missing(tmp_path):
    """Copy the database without its -wal file while five committed adds are still only in the
    WAL: what a lost -wal file (or a copy taken mid-session) leaves."""
    root, copy = tmp_path / "locker", tmp_path / "copy"
    with Locker(root) as lk:
        for i in range(3):
            lk.add_bytes(f"FICTIONAL early {i}".encode(), f"early{i}.txt", handler="h",
                         source="s", method="m")
        lk._conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        for i in range(5):
            lk.add_bytes(f"FICTIONAL late {i}".encode(), f"late{i}.txt", handler="h",
                         source="s", method="m")
        shutil.copytree(root, copy, ignore=shutil.ignore_patterns("*-wal", "*-shm"))
    with Locker(copy) as lk:
        assert lk.counts()["items"] == 3  # the loss really happened
        report = lk.verify()
        assert [(p.kind, p.where) for p in report.problems] == [
            ("entry-removed", "entries 4–8"),
            *[("item-removed", f"E000{n}") for n in range(4, 9)]]
        assert report.stray == []  # their files are named as lost items, not as leftovers
        with pytest.raises(LockerError, match="lost committed custody entries 4–8"):
            lk.add_bytes(b"new", "new.txt", handler="h", source="s", method="m")
        assert lk.counts()["items"] == 3


def test_ids_are_never_reused_even_with_the_counter_and_rows_tampered(filled):
    conn = raw(filled)
    conn.execute("DELETE FROM items WHERE item_id = 'E0003'")
    conn.execute("UPDATE meta SET value = '0' WHERE key = 'items_next'")
    row = filled.add_bytes(b"FICTIONAL new", "new.txt", handler="h", source="s", method="m")
    assert row["item_id"] == "E0004"
    assert ("item-removed", "E0003") in problems(filled)


def test_a_deleted_journal_is_reported(filled):
    (filled.root / "custody.journal").unlink()
    assert problems(filled) == [("journal-missing", "custody.journal")]


def test_a_forged_journal_line_is_reported(filled):
    journal = filled.root / "custody.journal"
    first = journal.read_text().splitlines()[0]
    journal.write_text(journal.read_text() + first.replace('"kind":"P"', '"kind":"C"') + "\n")
    assert problems(filled) == [("journal-altered", "journal line 7")]


@pytest.mark.parametrize("key_present", [True, False])
def test_a_missing_key_check_is_an_error_never_a_fresh_key(filled, key_present):
    root = filled.root
    raw(filled).execute("DELETE FROM meta WHERE key = 'key_check'")
    filled.close()
    if not key_present:
        (root / "pseudonym.key").unlink()
    with pytest.raises(LockerError, match="key check is missing"):
        Locker(root)
    assert (root / "pseudonym.key").exists() == key_present


# -- 5. bad input -----------------------------------------------------------------------------------
def test_a_zeroed_last_page_is_refused_clearly_and_nothing_changes(filled):
    root = filled.root
    filled.close()
    db = root / "locker.sqlite3"
    page = sqlite3.connect(db).execute("PRAGMA page_size").fetchone()[0]
    data = bytearray(db.read_bytes())
    data[-page:] = bytes(page)
    db.write_bytes(bytes(data))
    before = every_byte(root)
    with pytest.raises(LockerError, match="not a readable locker database.*Nothing was changed"):
        Locker(root)
    assert every_byte(root) == before


def _returns_at_once(call):
    """Run ``call`` in a thread; it must finish within 10 s (a FIFO would block for ever)."""
    outcome = {}

    def run():
        try:
            call()
        except Exception as exc:  # reported below
            outcome["error"] = exc

    thread = threading.Thread(target=run, daemon=True)
    started = time.monotonic()
    thread.start()
    thread.join(10)
    assert not thread.is_alive(), "the call blocked"
    return outcome.get("error"), time.monotonic() - started


def test_a_fifo_is_refused_at_once(filled, tmp_path):
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    error, _ = _returns_at_once(lambda: filled.add_file(fifo, handler="h", source="s", method="m"))
    assert isinstance(error, LockerError) and "FIFO" in str(error) and "not a regular file" in str(error)
    assert filled.counts()["items"] == 3


def test_a_device_is_refused_at_once(filled):
    error, seconds = _returns_at_once(
        lambda: filled.add_file("/dev/zero", handler="h", source="s", method="m"))
    assert isinstance(error, LockerError) and "a device, not a regular file" in str(error)
    assert seconds < 5 and not any((filled.root / "staging").iterdir())


def test_log_handling_on_a_full_disk_is_the_lockers_own_error(filled):
    before = filled.counts()
    conn = filled._conn
    pages = conn.execute("PRAGMA page_count").fetchone()[0]
    conn.execute(f"PRAGMA max_page_count = {pages}")  # the database cannot grow: a full disk
    note = "a long note " * 2000
    with pytest.raises(LockerError, match="the disk is full; free some space.*nothing was recorded"):
        filled.log_handling("E0001", action="viewed", handler="Analyst", note=note)
    conn.execute("PRAGMA max_page_count = 1073741823")
    assert filled.counts() == before
    assert filled.verify().intact


def test_an_add_on_a_full_disk_is_the_lockers_own_error_and_leaves_nothing(filled):
    conn = filled._conn
    pages = conn.execute("PRAGMA page_count").fetchone()[0]
    conn.execute(f"PRAGMA max_page_count = {pages}")
    with pytest.raises(LockerError, match="disk is full.*nothing was stored"):
        filled.add_bytes(b"FICTIONAL" * 10, "x" * 70 + ".txt", handler="h" * 3000, source="s",
                         method="m", note="n" * 5000)
    conn.execute("PRAGMA max_page_count = 1073741823")
    assert filled.counts()["items"] == 3
    assert not any((filled.root / "staging").iterdir())
    report = filled.verify()
    assert report.intact and report.stray == []


# -- what already held in the review, kept under test ------------------------------------------------
def test_a_same_size_forgery_and_swapped_evidentiary_copies_are_named(filled):
    first, second = filled.evidentiary_path("E0001"), filled.evidentiary_path("E0002")
    for path in (first, second):
        os.chmod(path, 0o644)
    original = first.read_bytes()
    first.write_bytes(bytes([original[0] ^ 1]) + original[1:])  # same size, one bit different
    assert problems(filled) == [("file-changed", "E0001")]
    first.write_bytes(second.read_bytes())
    second.write_bytes(original)
    assert problems(filled) == [("file-changed", "E0001"), ("file-changed", "E0002")]


def test_reordered_custody_entries_are_named(filled):
    conn = raw(filled)
    conn.execute("UPDATE custody SET seq = -1 WHERE seq = 1")
    conn.execute("UPDATE custody SET seq = 1 WHERE seq = 2")
    conn.execute("UPDATE custody SET seq = 2 WHERE seq = -1")
    assert problems(filled)[:2] == [("entry-altered", "entry 1"), ("entry-altered", "entry 2")]


def test_a_fifo_planted_as_a_working_copy_does_not_hang_verify(filled):
    working = filled.root / "working" / "E0003-item2.txt"
    working.unlink()
    os.mkfifo(working)
    error, seconds = _returns_at_once(lambda: problems(filled))
    assert error is None and seconds < 10
    assert problems(filled) == [("not-a-regular-file", "E0003")]
