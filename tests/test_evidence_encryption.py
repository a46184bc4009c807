"""The evidence locker's encryption at rest: sealed files and fields, plaintext never on disk,
custody still verifying on the plaintext's hashes, tampering with ciphertext detected, and a
destroyed key making everything unreadable."""

from __future__ import annotations

import hashlib
import json
import os
import re
import secrets
import sqlite3
import tempfile
from pathlib import Path

import pytest

from course import evidence
from course.documentation import LockerDesk
from course.evidence import Locker, LockerError, crypto

PASSPHRASE = "correct horse battery staple"
FAST = 2 ** 10  # a low scrypt cost, for tests only; the default is tested below


def record(**changes):
    base = {"event_start": "2024-03-01", "province_id": "P01", "place_id": "L01",
            "act_type": "arbitrary-detention", "victim_group": "Group A", "victims_count": 2,
            "perpetrator_type": "militia", "source_id": "S01", "source_type": "witness",
            "information_type": "testimony", "consent_recorded": True,
            "summary": "FICTIONAL: two people held overnight.", "witness_name": "Amina Korr"}
    return {**base, **changes}


@pytest.fixture
def sealed(tmp_path):
    with Locker(tmp_path / "locker", passphrase=PASSPHRASE, scrypt_n=FAST) as lk:
        yield lk


def files_containing(folder: Path, needle: bytes) -> list[str]:
    """Regular files under ``folder`` (skipping anything unreadable or huge) holding ``needle``."""
    found = []
    for top, _dirs, names in os.walk(folder, onerror=lambda exc: None):
        for name in names:
            path = Path(top) / name
            try:
                if not path.is_file() or path.is_symlink() or path.stat().st_size > 256 << 20:
                    continue
                if needle in path.read_bytes():
                    found.append(str(path))
            except OSError:
                continue
    return found


@pytest.mark.slow  # over about 5 s: out of `make check`
def test_plaintext_never_touches_the_disk(tmp_path, monkeypatch):
    marker = f"MARKER-{secrets.token_hex(8)}"
    needle = marker.encode()

    def no_tempfiles(*args, **kwargs):
        raise AssertionError("the locker must not use temporary files in encrypted mode")

    for name in ("mkstemp", "mkdtemp", "NamedTemporaryFile", "TemporaryFile",
                 "SpooledTemporaryFile"):
        monkeypatch.setattr(tempfile, name, no_tempfiles)
    root = tmp_path / "locker"
    # A file of several segments with the marker in the first, a middle and the last one.
    content = (needle + os.urandom(1 << 20) + needle + os.urandom((1 << 20) + 12345) + needle)
    with Locker(root, passphrase=PASSPHRASE, scrypt_n=FAST) as lk:
        source = tmp_path / f"{marker}.bin"
        source.write_bytes(content)
        row = lk.add_file(source, handler=f"Handler {marker}", source=f"Source {marker}",
                          method="copied by cable", note=f"Note {marker}")
        # (the method is not marked: the redacted export shares it on purpose)
        source.unlink()  # the original is the user's file, outside the locker
        lk.add_bytes(needle * 100, f"upload-{marker}.txt", handler="h", source="s", method="m")
        lk.add_incident(record(summary=f"FICTIONAL {marker}", witness_name=f"Witness {marker}",
                               report_ref=marker, intervention=marker), handler=marker)
        lk.log_handling(row["item_id"], action="viewed", handler=marker, note=marker)
        assert lk.verify().intact
        lk.restore_working_copy(row["item_id"], handler=marker, note=marker)
        export_dir = tmp_path / "exports"
        export_dir.mkdir()
        lk.export_redacted(export_dir / "share.json", handler=marker)
        assert lk.read_bytes(row["item_id"]) == content
        assert lk.items().iloc[0]["handler"] == f"Handler {marker}"
        assert files_containing(root, needle) == []
        assert files_containing(Path(tempfile.gettempdir()), needle) == []
    assert files_containing(root, needle) == []


def test_hashes_are_those_of_the_plaintext_so_custody_still_verifies(sealed):
    content = os.urandom(3 * (1 << 20))  # exactly three segments (and an empty last one)
    row = sealed.add_bytes(content, "video.mp4", handler="h", source="s", method="m")
    empty = sealed.add_bytes(b"", "empty.txt", handler="h", source="s", method="m")
    assert row["sha256"] == hashlib.sha256(content).hexdigest()
    assert empty["sha256"] == hashlib.sha256(b"").hexdigest()
    assert sealed.items()["sha256"].tolist() == [row["sha256"], empty["sha256"]]
    assert evidence.first_broken(sealed.custody_log().to_dict("records")) is None
    stored = sealed.evidentiary_path(row["item_id"]).read_bytes()
    assert stored.startswith(crypto.FILE_MAGIC) and content[:4096] not in stored
    assert sealed.evidentiary_path(row["item_id"]).name == row["item_id"]  # no hash in the name
    assert sealed.read_bytes(empty["item_id"], copy="evidentiary") == b""
    report = sealed.verify()
    assert report.intact, report.summary()
    with pytest.raises(LockerError, match="already in the locker as E0001"):
        sealed.add_bytes(content, "again.mp4", handler="h", source="s", method="m")


def test_sensitive_fields_are_sealed_in_the_database(sealed):
    sealed.add_bytes(b"FICTIONAL", "letter-from-the-mayor.txt", handler="Documenter Nine",
                     source="Community Council", method="scanned", note="kept in the red folder")
    sealed.add_incident(record(), handler="Documenter Nine")
    conn = sqlite3.connect(sealed.root / "locker.sqlite3")
    dump = "\n".join(conn.iterdump())
    for secret in ("letter-from-the-mayor", "Documenter Nine", "Community Council", "red folder",
                   "two people held", "Group A", "S01", sealed.pseudonym("Amina Korr"),
                   hashlib.sha256(b"FICTIONAL").hexdigest()):
        assert secret not in dump, secret
    assert "arbitrary-detention" in dump  # categories stay readable: the table says so
    assert sealed.incidents().iloc[0]["witness_pseudonym"] == sealed.pseudonym("amina korr")


def test_tampered_ciphertext_is_detected(sealed):
    content = os.urandom(2 * (1 << 20) + 100)
    item = sealed.add_bytes(content, "v.bin", handler="h", source="s", method="m")["item_id"]
    path = sealed.evidentiary_path(item)
    original = path.read_bytes()
    os.chmod(path, 0o644)
    header, seg = len(crypto.FILE_MAGIC) + 24, (1 << 20) + crypto.TAG
    segments = [original[header + i:header + i + seg] for i in range(0, len(original) - header, seg)]
    assert len(segments) == 3
    cases = {
        "flipped byte": original[:5000] + bytes([original[5000] ^ 1]) + original[5001:],
        "segments swapped": original[:header] + segments[1] + segments[0] + segments[2],
        "cut at a segment boundary": original[:header + 2 * seg],
        "segment repeated at the end": original + segments[2],
        "header changed": original[:12] + bytes(4) + original[16:],
    }
    for name, forged in cases.items():
        path.write_bytes(forged)
        report = sealed.verify()
        assert [(p.kind, p.where) for p in report.problems] == [("file-changed", item)], name
        assert "does not open" in report.summary(), name
    path.write_bytes(original)
    assert sealed.verify().intact


def test_a_sealed_field_moved_to_another_row_does_not_open(sealed):
    for i in range(2):
        sealed.add_bytes(f"FICTIONAL {i}".encode(), f"f{i}.txt", handler=f"H{i}", source="s",
                         method="m")
    conn = sqlite3.connect(sealed.root / "locker.sqlite3", isolation_level=None)
    conn.execute("DROP TRIGGER items_no_update")
    one, two = (conn.execute("SELECT handler FROM items WHERE item_id = ?", (i,)).fetchone()[0]
                for i in ("E0001", "E0002"))
    conn.execute("UPDATE items SET handler = ? WHERE item_id = 'E0001'", (two,))
    conn.execute("UPDATE items SET handler = ? WHERE item_id = 'E0002'", (one,))
    assert [(p.kind, p.where) for p in sealed.verify().problems] == [("item-altered", "E0001"),
                                                                       ("item-altered", "E0002")]
    assert sealed.items()["handler"].tolist() == ["[does not open]"] * 2


def test_the_working_copy_tamper_demonstration_works_when_encrypted(sealed):
    desk = LockerDesk(sealed, "Trainee")
    desk.add_upload("photo.png", b"\x89PNG FICTIONAL", "Witness A", "upload")
    assert desk.check()[0]
    desk.alter_working_copy("E0001")
    ok, text = desk.check()
    assert not ok and "working copy" in text and "does not open" in text
    desk.restore("E0001")
    assert desk.check()[0]


def test_wrong_missing_or_weak_passphrases_are_refused(sealed, tmp_path):
    root = sealed.root
    sealed.add_bytes(b"FICTIONAL", "a.txt", handler="h", source="s", method="m")
    sealed.close()
    with pytest.raises(LockerError, match="passphrase does not open"):
        Locker(root, passphrase="not the passphrase")
    with pytest.raises(LockerError, match="encrypted: open it with"):
        Locker(root)
    with pytest.raises(LockerError, match="at least 8 characters"):
        Locker(tmp_path / "new", passphrase="short")
    Locker(tmp_path / "plain").close()
    with pytest.raises(LockerError, match="made without encryption"):
        Locker(tmp_path / "plain", passphrase=PASSPHRASE)
    with Locker(root, passphrase=PASSPHRASE) as lk:
        assert lk.verify().intact and lk.read_bytes("E0001") == b"FICTIONAL"


def test_a_missing_or_damaged_key_file_is_refused(sealed):
    root = sealed.root
    sealed.close()
    key = root / "locker.key"
    saved = key.read_bytes()
    key.write_text("{not json")
    with pytest.raises(LockerError, match="damaged"):
        Locker(root, passphrase=PASSPHRASE)
    data = json.loads(saved)
    key.write_text(json.dumps({**data, "n": 2 ** 30}))  # a planted cost must not exhaust memory
    with pytest.raises(LockerError, match="damaged"):
        Locker(root, passphrase=PASSPHRASE)
    key.unlink()
    with pytest.raises(LockerError, match="key file .* is missing"):
        Locker(root, passphrase=PASSPHRASE)
    assert not key.exists()  # never a fresh key for an existing locker
    key.write_bytes(saved)
    Locker(root, passphrase=PASSPHRASE).close()


def test_destroying_the_key_makes_everything_unreadable(sealed, tmp_path):
    content = b"FICTIONAL statement " * 1000
    item = sealed.add_bytes(content, "statement.txt", handler="h", source="s", method="m")
    sealed.add_incident(record(), handler="h")
    root, key = sealed.root, sealed.root / "locker.key"
    backup = key.read_bytes()
    with pytest.raises(LockerError, match="confirm=True"):
        sealed.destroy_key(handler="h")
    when = sealed.destroy_key(handler="Coordinator", confirm=True)
    with pytest.raises(LockerError, match="key was destroyed"):
        sealed.read_bytes(item["item_id"])
    with pytest.raises(LockerError, match="key was destroyed"):
        sealed.items()
    with pytest.raises(LockerError, match=f"destroyed on {re.escape(when)}.*cannot be undone"):
        Locker(root, passphrase=PASSPHRASE)
    assert backup[-40:] not in key.read_bytes()
    journal = (root / "custody.journal").read_text()
    assert '"action":"key-destroyed"' in journal  # the fact of destruction stays on record
    # The honest limit: a surviving copy of the key file undoes the destruction.
    key.write_bytes(backup)
    with Locker(root, passphrase=PASSPHRASE) as lk:
        assert lk.read_bytes(item["item_id"]) == content


def test_try_open_says_in_a_sentence_whether_a_locker_opens(sealed):
    root = sealed.root
    sealed.close()
    assert evidence.try_open(root, passphrase=PASSPHRASE).startswith("Opened and checked. All intact")
    assert evidence.try_open(root) == ("Refused: this locker is encrypted: open it with "
                                       "Locker(folder, passphrase=...)")


def test_a_plain_locker_has_no_key_to_destroy(tmp_path):
    with Locker(tmp_path / "plain") as lk, pytest.raises(LockerError, match="not encrypted"):
        lk.destroy_key(handler="h", confirm=True)


def test_the_default_key_derivation_cost_is_strong(tmp_path):
    assert crypto.SCRYPT_N >= 2 ** 17
    Locker(tmp_path / "lk", passphrase=PASSPHRASE).close()
    data = json.loads((tmp_path / "lk" / "locker.key").read_text())
    assert (data["kdf"], data["n"], data["r"], data["p"]) == ("scrypt", 2 ** 17, 8, 1)
    assert oct(os.stat(tmp_path / "lk" / "locker.key").st_mode & 0o777) == "0o600"
    with pytest.raises(LockerError, match="power of two"):
        Locker(tmp_path / "weak", passphrase=PASSPHRASE, scrypt_n=1000)


def test_an_encrypted_locker_reports_lost_work_and_refuses_a_truncated_database(tmp_path):
    root = tmp_path / "locker"
    with Locker(root, passphrase=PASSPHRASE, scrypt_n=FAST) as lk:
        lk.add_bytes(b"FICTIONAL", "a.txt", handler="h", source="s", method="m")
    (root / "locker.sqlite3").write_bytes(b"")
    with pytest.raises(LockerError, match="empty"):
        Locker(root, passphrase=PASSPHRASE)
