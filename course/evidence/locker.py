"""The evidence locker: files, custody log and incident records in one folder.

Layout of a locker folder::

    locker.sqlite3        items, custody log, incident records (SQLite, WAL)
    custody.journal       every custody entry again, signed, one line each (journal.py)
    evidentiary/<name>    the untouched copy of each item, read-only (named by its SHA-256; in
                          an encrypted locker by its id)
    working/<name>        a copy to open, annotate, crop…; restorable from the evidentiary copy
    staging/              files being copied in (an interrupted add leaves them here, harmlessly)
    pseudonym.key         the HMAC key for witness pseudonyms (0600; see pseudonyms.py), or, in
                          an encrypted locker, locker.key: the data key sealed by the passphrase

Adding a file copies it once, hashing as it goes, then records item and custody entry in one
transaction. Files are written (and fsynced) before the transaction commits, so a crash at any
point leaves either a complete, registered item or an unregistered stray file, never a row that
points at nothing.

What it guarantees, and what it does not (say so when you teach it):

* **Detected** by ``verify()``: any change to any stored field of an item, custody entry or
  incident record (each is bound into the hash chain); a changed, missing or swapped copy; a
  link or other non-file where a copy should be; entries removed from the log; committed work
  the database has lost (the signed journal); with an anchor kept elsewhere, a log rewritten
  from some entry onwards.
* **Refused**, with a message saying what to do and nothing changed: a database that is missing,
  empty, truncated or damaged while evidence is present; a missing key check or key; anything
  but a regular file to add; a planted link where the locker writes; writes after committed work
  was lost; acting on an item whose row was edited; exporting while records do not check out.
* **Encrypted** (only with ``passphrase=``): both copies of every file and the sensitive fields
  (who, from whom, how, file names, notes, hashes, summaries, places, pseudonyms); see
  SEALED below for the exact list and crypto.py for how.
* **Not** done: nothing here *prevents* someone with access to the folder from deleting or
  damaging it (keep backups elsewhere); read-only modes and database triggers do not stop the
  folder's owner; someone holding the key file can rewrite the journal and, with the log's
  structure, forge a consistent history (an anchor kept elsewhere still catches that); a plain
  locker stores files as they are; in an encrypted one, ids, dates, sizes, categories and the
  fact of each handling step stay readable, and a working copy opened in another program is
  decrypted by you, outside the locker's care.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import io
import json
import os
import re
import secrets
import shutil
import sqlite3
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

import pandas as pd

from . import chain, crypto, files, store
from .export import redacted
from .hashing import CHUNK_SIZE
from .journal import NAME as JOURNAL_NAME
from .journal import Journal
from .pseudonyms import load_or_create_key, pseudonymise
from .records import REQUIRED, validate_incident
from .verify import Contents, Report, check

DB_NAME, KEY_NAME, SEALED_KEY_NAME = "locker.sqlite3", "pseudonym.key", "locker.key"
UNREADABLE = "[does not open]"  # what a reader sees in place of a sealed field that fails

# The fields an encrypted locker stores sealed (everything else in a row is stored as it is).
SEALED = {
    "items": ("filename", "sha256", "handler", "source", "method", "note"),
    "custody": ("handler", "source", "method", "sha256", "location", "note", "row_hash"),
    "incidents": ("report_ref", "place_id", "victim_group", "source_id", "witness_pseudonym",
                  "summary", "intervention", "handler"),
}
ROW_ID = {"items": "item_id", "custody": "seq", "incidents": "record_id"}
CUSTODY_COLUMNS = ("seq", "utc", "item_id", "action", "handler", "source", "method", "sha256",
                   "location", "note", "row_hash", "prev_hash", "entry_hash")


class LockerError(ValueError):
    """A request the locker refused; the message says what to do. Nothing was stored."""


@dataclass(frozen=True)
class Anchor:
    """The latest log entry's number and hash: write it down somewhere else (a notebook, an email
    to a colleague) and pass it to verify() later to prove the log was not rewritten since."""
    seq: int
    entry_hash: str


def utc_now() -> str:
    return dt.datetime.now(dt.timezone.utc).isoformat(timespec="microseconds")


def safe_filename(name: str) -> str:
    """The last path component of ``name`` with anything unusual replaced, so an uploaded
    "../../x" cannot write outside the locker."""
    base = re.sub(r"[^A-Za-z0-9._-]+", "_", Path(str(name).replace("\\", "/")).name).strip("._")
    return base[:80] or "file"


record_hash = chain.record_hash  # the one definition of what a record's hash covers


def _require_text(**values: object) -> None:
    for name, value in values.items():
        if not isinstance(value, str) or not value.strip():
            raise LockerError(f"{name} is required (who handled it / where it came from / how it "
                              f"was collected): give a non-empty text, not {value!r}")


class _ReadFailed(Exception):
    """Reading the file being added failed (the source, not the locker)."""


def _entries_text(seqs: list[int]) -> str:
    return f"entry {seqs[0]}" if len(seqs) == 1 else f"entries {seqs[0]}–{seqs[-1]}"


class Locker:
    """An evidence locker in the folder ``root`` (created if needed).

    ``key_path`` is where the key is kept (default: ``root/pseudonym.key``, or
    ``root/locker.key`` when encrypted); keep it on separate storage in real work.
    ``busy_timeout`` is how long a writer waits for another.
    ``passphrase`` makes (or opens) an encrypted locker: files and sensitive fields are sealed
    on disk (crypto.py). ``scrypt_n`` is the key-derivation cost used when the locker is made;
    keep the default (lower values are for tests).
    """

    def __init__(self, root: str | os.PathLike, *, key_path: str | os.PathLike | None = None,
                 busy_timeout: float = 60.0, passphrase: str | None = None,
                 scrypt_n: int = crypto.SCRYPT_N):
        self.root = Path(root)
        self.encrypted = passphrase is not None
        self._connection: store.Connection | None = None
        self._sealer: crypto.Sealer | None = None
        self._destroyed: str | None = None
        self._lost: list[int] = []
        self._appended: list[tuple[dict, str]] = []
        if self.root.exists() and not self.root.is_dir():
            raise LockerError(f"{self.root} is a file, not a folder; give the folder that holds "
                              "(or will hold) the locker")
        if self.encrypted:
            try:
                crypto.check_passphrase(passphrase)
            except ValueError as exc:
                raise LockerError(str(exc)) from None
        default_key = SEALED_KEY_NAME if self.encrypted else KEY_NAME
        self.key_path = Path(key_path) if key_path else self.root / default_key
        db = self.root / DB_NAME
        self._refuse_unless_whole(db)
        try:
            for folder in files.FOLDERS:
                (self.root / folder).mkdir(parents=True, exist_ok=True)
                if (self.root / folder).is_symlink():
                    raise files.LinkFound(f"{self.root / folder} is a link, not the locker's "
                                          "folder; the locker does not follow it")
            self._connection = store.connect(db, busy_timeout)
            self._open(passphrase, scrypt_n)
        except store.Damaged as exc:
            self.close()
            raise LockerError(f"{db} is not a readable locker database ({exc}); restore it from a "
                              "backup, or open a different folder. Nothing was changed.") from None
        except files.LinkFound as exc:
            self.close()
            raise LockerError(f"{exc}; remove the link and restore the folder from a backup") from None
        except (sqlite3.Error, OSError) as exc:
            self.close()
            if isinstance(exc, PermissionError) and exc.filename is None:
                raise  # the key file's own message (pseudonyms.py): "run: chmod 600 ..."
            raise LockerError(f"cannot open the locker in {self.root}: {store.explain(exc)}") from None
        except BaseException:
            self.close()
            raise

    # -- opening --------------------------------------------------------------------------------
    def _evidence_on_disk(self) -> str:
        """What evidence the folder holds, in words ('' if none)."""
        found = []
        for folder, what in (("evidentiary", "evidentiary copies"), ("working", "working copies")):
            with contextlib.suppress(OSError):
                if count := len(os.listdir(self.root / folder)):
                    found.append(f"{count} {what}")
        journal = self.root / JOURNAL_NAME
        if journal.is_file() and journal.stat().st_size:
            found.append(f"a custody journal ({JOURNAL_NAME})")
        return ", ".join(found)

    def _refuse_unless_whole(self, db: Path) -> None:
        """Before anything is created or written: a database that is missing or empty while the
        folder holds evidence means the register was lost, not that this is a new locker."""
        if db.is_symlink():
            raise LockerError(f"{db} is a link, not the locker's database; the locker does not "
                              "follow it. Put the real database back (from a backup).")
        state = "missing" if not db.exists() else "empty (0 bytes)" if db.stat().st_size == 0 else ""
        if state and (evidence := self._evidence_on_disk()):
            raise LockerError(f"{db} is {state}, but the folder holds {evidence}: the database "
                              "that registers them was lost. Nothing was changed. Restore "
                              "locker.sqlite3 (with its -wal file, if any) from a backup before "
                              "using this locker; do not add anything to it until then.")

    def _open(self, passphrase: str | None, scrypt_n: int) -> None:
        conn = self._conn
        fresh = store.is_fresh(conn)
        if fresh and (evidence := self._evidence_on_disk()):
            raise LockerError(f"{self.root / DB_NAME} holds no locker, but the folder holds "
                              f"{evidence}: the database that registers them was replaced or "
                              "lost. Nothing was changed; restore locker.sqlite3 from a backup.")
        if not fresh:
            self._check_settings()
        pseudonym_key, journal_key = self._load_keys(passphrase, fresh, scrypt_n)
        fingerprint = pseudonymise("key fingerprint", pseudonym_key)
        if fresh and not store.initialise(conn, {"key_check": fingerprint,
                                                 "encrypted": "1" if self.encrypted else "0"}):
            self._check_settings()  # another process made this locker a moment ago
        if store.meta(conn, "key_check") != fingerprint:
            raise LockerError(f"the key in {self.key_path} is not the one this locker's "
                              "pseudonyms were made with; use the right key file (key_path=...)")
        self._key = pseudonym_key
        self._journal = Journal(self.root / JOURNAL_NAME, journal_key)
        last = conn.execute("SELECT max(seq) FROM custody").fetchone()[0] or 0
        self._lost = self._journal.read().lost_after(last)

    def _check_settings(self) -> None:
        conn = self._conn
        made = store.meta(conn, "format")
        if made != store.FORMAT:
            raise LockerError(f"{self.root} was made by an earlier version of course.evidence "
                              f"(format {made or 1}, this one reads {store.FORMAT}) that did not "
                              "cover every field; make a new locker and add the files again")
        sealed = store.meta(conn, "encrypted") == "1"
        if sealed and not self.encrypted:
            raise LockerError("this locker is encrypted: open it with "
                              "Locker(folder, passphrase=...)")
        if self.encrypted and not sealed:
            raise LockerError("this locker was made without encryption, and cannot be encrypted "
                              "in place: open it without a passphrase, or make a new encrypted "
                              "locker and add the files to it")
        if not store.meta(conn, "key_check"):
            raise LockerError("the key check is missing from this locker's database, so the key "
                              "cannot be confirmed (a new key would give every witness a new "
                              "pseudonym). Restore locker.sqlite3 from a backup.")

    def _load_keys(self, passphrase: str | None, fresh: bool, scrypt_n: int) -> tuple[bytes, bytes]:
        """(pseudonym key, journal key). Never makes a new key for an existing locker."""
        if not self.encrypted:
            if not fresh and not self.key_path.exists():
                raise LockerError(f"the pseudonym key {self.key_path} is missing; restore it from "
                                  "its backup (a new key would no longer match the stored "
                                  "pseudonyms)")
            key = load_or_create_key(self.key_path)
            return key, key
        try:
            data_key = None
            if fresh and not os.path.lexists(self.key_path):
                with contextlib.suppress(FileExistsError):
                    data_key = crypto.create_key_file(self.key_path, passphrase, scrypt_n)
            if data_key is None:
                data_key = crypto.open_key_file(self.key_path, passphrase)
        except (crypto.KeyFileError, ValueError) as exc:
            raise LockerError(str(exc)) from None
        self._sealer = crypto.Sealer(data_key)
        return self._sealer.pseudonym_key, self._sealer.journal_key

    # -- life cycle ---------------------------------------------------------------------------
    @property
    def _conn(self) -> store.Connection:
        if self._destroyed:
            raise LockerError(f"this locker's key was destroyed on {self._destroyed}: its "
                              "evidence and sealed fields can no longer be read by anyone")
        if self._connection is None:
            raise LockerError(f"this locker ({self.root}) was closed; open it again with "
                              "Locker(folder)")
        return self._connection

    def close(self) -> None:
        if self._connection is not None:
            self._connection.close()
            self._connection = None

    def __enter__(self) -> Locker:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"Locker({str(self.root)!r}{', encrypted' if self.encrypted else ''})"

    @contextlib.contextmanager
    def _storage(self, outcome: str) -> Iterator[None]:
        """Storage errors become LockerErrors that say what happened and what to do."""
        try:
            yield
        except files.LinkFound as exc:
            raise LockerError(f"{exc}. Remove it without opening it, then run verify(); "
                              f"{outcome}.") from None
        except (sqlite3.Error, OSError) as exc:
            raise LockerError(f"{store.explain(exc)}; {outcome}.") from None

    @contextlib.contextmanager
    def _writing(self) -> Iterator[store.Connection]:
        """One write transaction; the journal's commit lines follow the commit."""
        if self._lost:
            raise LockerError(f"the database has lost committed custody {_entries_text(self._lost)} "
                              "(the signed journal records them): nothing can be added until "
                              "locker.sqlite3 is restored from a backup (with its -wal file). "
                              "verify() lists what is missing.")
        conn = self._conn
        with conn.lock:
            self._appended = []
            with store.write_transaction(conn):
                yield conn
            for entry, file in self._appended:
                with contextlib.suppress(OSError):  # committed already; a missing C line is harmless
                    self._journal.committed(entry, file)
            self._appended = []

    # -- sealing rows -----------------------------------------------------------------------------
    def _seal(self, table: str, row: dict) -> dict:
        if self._sealer is None:
            return row
        ident = row[ROW_ID[table]]
        return {k: self._sealer.seal_field(v, f"{table}/{ident}/{k}") if k in SEALED[table] else v
                for k, v in row.items()}

    def _unseal(self, table: str, row: sqlite3.Row | dict) -> tuple[dict, bool]:
        """The row with sealed fields opened, and whether all of them opened."""
        row = dict(row)
        if self._sealer is None:
            return row, True
        ident, whole = row.get(ROW_ID[table]), True
        for column in SEALED[table]:
            if column not in row:
                continue
            try:
                row[column] = self._sealer.open_field(row[column], f"{table}/{ident}/{column}")
            except crypto.Unreadable:
                row[column], whole = UNREADABLE, False
        return row, whole

    def _rows(self, table: str, sql: str, params: tuple = ()) -> tuple[list[dict], set[tuple[str, str]]]:
        rows, unreadable = [], set()
        with self._storage("nothing was changed"):
            for raw in self._conn.execute(sql, params):
                row, whole = self._unseal(table, raw)
                rows.append(row)
                if not whole:
                    unreadable.add((table, str(row[ROW_ID[table]])))
        return rows, unreadable

    # -- custody log ----------------------------------------------------------------------------
    def _append(self, conn: store.Connection, *, item_id: str, action: str, handler: str,
                source: str = "", method: str = "", sha256: str = "", location: str = "",
                note: str = "", row_hash: str = "", file: str = "") -> int:
        """Add one entry linked to the head of the chain. Call inside ``_writing``."""
        top = conn.execute("SELECT max(seq) FROM custody").fetchone()[0] or 0
        seq = max(int(store.meta(conn, "head_seq")), top) + 1
        prev = store.meta(conn, "head_hash")
        entry = {"seq": seq, "utc": utc_now(), "item_id": item_id, "action": action,
                 "handler": handler, "source": source, "method": method, "sha256": sha256,
                 "location": location, "note": note, "row_hash": row_hash}
        entry.update(prev_hash=prev, entry_hash=chain.entry_hash(entry, prev))
        conn.execute(f"INSERT INTO custody ({', '.join(CUSTODY_COLUMNS)}) VALUES "
                     f"({', '.join(':' + c for c in CUSTODY_COLUMNS)})", self._seal("custody", entry))
        store.set_meta(conn, "head_seq", seq)
        store.set_meta(conn, "head_hash", entry["entry_hash"])
        self._journal.pending(entry, file)
        self._appended.append((entry, file))
        return seq

    def head(self) -> Anchor:
        with self._storage("nothing was changed"):
            return Anchor(int(store.meta(self._conn, "head_seq")),
                          store.meta(self._conn, "head_hash"))

    # -- where the copies are -------------------------------------------------------------------
    def _names(self, row: dict) -> tuple[str, str]:
        """The evidentiary and working copies' places, derived from the item's id and hash (never
        read from the database): 'evidentiary/<name>', 'working/<name>'."""
        item_id = row["item_id"]
        if not isinstance(item_id, str) or not files.ITEM_ID.fullmatch(item_id):
            raise ValueError(f"{item_id!r} is not an item id")
        if self.encrypted:
            return f"evidentiary/{item_id}", f"working/{item_id}"
        sha = row["sha256"]
        if not isinstance(sha, str) or not files.SHA256.fullmatch(sha):
            raise ValueError(f"{sha!r} is not a SHA-256")
        return f"evidentiary/{sha}", f"working/{item_id}-{safe_filename(row['filename'])}"

    def _copy_sha(self, fds: dict[str, int]) -> Callable[[str], tuple[str, str]]:
        def copy_sha(rel: str) -> tuple[str, str]:
            folder, name = rel.split("/", 1)
            found = files.kind(fds[folder], name)
            if found is None:
                return "missing", ""
            if found != "file":
                return "not-a-file", "a link, not followed" if found == "link" else "not a file"
            try:
                stream = files.open_stored(fds[folder], name)
            except FileNotFoundError:
                return "missing", ""
            except files.LinkFound:
                return "not-a-file", "a link or other non-file, not followed"
            with stream:
                try:
                    return "ok", self._hash_stored(stream)
                except crypto.Unreadable as exc:
                    return "unreadable", f"it does not open ({exc})"
        return copy_sha

    def _hash_stored(self, stream: BinaryIO) -> str:
        digest = hashlib.sha256()
        chunks = (self._sealer.open_stream(stream.read) if self._sealer
                  else iter(lambda: stream.read(CHUNK_SIZE), b""))
        for chunk in chunks:
            digest.update(chunk)
        return digest.hexdigest()

    def _store_copy(self, read: Callable[[int], bytes], dir_fd: int, name: str,
                    chunk_size: int) -> tuple[str, int]:
        """Write a new read-only file from ``read``, sealed if encrypted; (sha256, size) of the
        plaintext. Flushed to disk before returning, so it survives a power cut."""
        with files.create_stored(dir_fd, name) as out:
            if self._sealer is not None:
                sha, size = self._sealer.seal_stream(read, out.write)
            else:
                digest, size = hashlib.sha256(), 0
                while chunk := read(chunk_size):
                    digest.update(chunk)
                    out.write(chunk)
                    size += len(chunk)
                sha = digest.hexdigest()
            out.flush()
            os.fsync(out.fileno())
            os.fchmod(out.fileno(), 0o444)
        return sha, size

    def _working_from(self, fds: dict[str, int], evidentiary: str) -> str:
        """A fresh copy of the (stored, possibly sealed) evidentiary file under a new temporary
        name in working/; returns that name. (Not fsynced: a working copy damaged by a power cut
        is reported by verify() and restored from the evidentiary copy.)"""
        tmp = f".{secrets.token_hex(6)}.part"
        with files.open_stored(fds["evidentiary"], evidentiary) as src, \
                files.create_stored(fds["working"], tmp, 0o600 if self.encrypted else 0o644) as dst:
            shutil.copyfileobj(src, dst, CHUNK_SIZE)
        return tmp

    # -- evidence items -------------------------------------------------------------------------
    def add_file(self, path: str | os.PathLike, *, handler: str, source: str, method: str,
                 note: str = "", chunk_size: int = CHUNK_SIZE) -> dict:
        """Collect the file at ``path``: returns the new item's row (item_id, sha256, …)."""
        _require_text(handler=handler, source=source, method=method)
        path = Path(path)
        try:
            stream = files.open_input(path)
        except IsADirectoryError:
            raise LockerError(f"{path} is a folder; add the files inside it one by one") from None
        except files.NotAFile as exc:
            raise LockerError(f"{path} is {exc}, not a regular file: only files can be added "
                              "(copy what you need into a file first); nothing was stored") from None
        except OSError as exc:
            raise LockerError(f"cannot read {path}: {exc.strerror or exc}; check the path and "
                              "that you may read the file") from None
        with stream:
            return self._add_stream(stream, path.name, handler=handler, source=source,
                                    method=method, note=note, chunk_size=chunk_size)

    def add_bytes(self, content: bytes, filename: str, *, handler: str, source: str,
                  method: str, note: str = "") -> dict:
        """Collect an in-memory file (such as a FileUpload's content) under ``filename``."""
        _require_text(handler=handler, source=source, method=method, filename=filename)
        if not isinstance(content, bytes | bytearray | memoryview):
            raise LockerError(f"content must be bytes, not {type(content).__name__}")
        return self._add_stream(io.BytesIO(bytes(content)), filename, handler=handler,
                                source=source, method=method, note=note, chunk_size=CHUNK_SIZE)

    def _find_sha(self, conn: store.Connection, sha: str) -> str | None:
        if self._sealer is None:
            known = conn.execute("SELECT item_id FROM items WHERE sha256 = ?", (sha,)).fetchone()
            return known[0] if known else None
        rows, _ = self._rows("items", "SELECT item_id, sha256 FROM items")
        return next((r["item_id"] for r in rows if r["sha256"] == sha), None)

    def _add_stream(self, stream: BinaryIO, filename: str, *, handler: str, source: str,
                    method: str, note: str, chunk_size: int) -> dict:
        def read(n: int) -> bytes:
            try:
                return stream.read(n)
            except OSError as exc:
                raise _ReadFailed(exc) from exc

        conn = self._conn
        with conn.lock, self._storage("nothing was stored"), files.folders(self.root) as fds:
            staged: str | None = f"{secrets.token_hex(8)}.part"
            placed: list[tuple[str, str]] = []
            try:
                try:
                    sha, size = self._store_copy(read, fds["staging"], staged, chunk_size)
                except _ReadFailed as exc:
                    raise LockerError(f"reading {filename} failed part-way ({exc.__cause__}); "
                                      "nothing was stored — check the file or device and try "
                                      "again") from None
                with self._writing() as conn:
                    known = self._find_sha(conn, sha)
                    if known:
                        raise LockerError(f"{filename} is already in the locker as {known} "
                                          "(same SHA-256); log further handling of that item "
                                          "instead")
                    item_id = store.next_id(conn, "items_next", "E", "items", "item_id")
                    row = {"item_id": item_id, "filename": safe_filename(filename), "sha256": sha,
                           "size": size, "added_utc": utc_now(), "handler": handler.strip(),
                           "source": source.strip(), "method": method.strip()}
                    evidentiary, working = self._names(row)
                    row.update(evidentiary_path=evidentiary, working_path=working, note=note)
                    for rel in (evidentiary, working):
                        folder, name = rel.split("/", 1)
                        if files.kind(fds[folder], name) not in (None, "file"):
                            raise LockerError(f"{rel} is already taken by a link or another "
                                              "non-file that the locker did not make; remove it "
                                              "without opening it, then add again. Nothing was "
                                              "stored.")
                    evidentiary_name, working_name = (r.split("/", 1)[1] for r in (evidentiary, working))
                    files.place(fds["staging"], staged, fds["evidentiary"], evidentiary_name)
                    staged = None
                    placed.append(("evidentiary", evidentiary_name))
                    tmp = self._working_from(fds, evidentiary_name)
                    placed.append(("working", tmp))
                    files.place(fds["working"], tmp, fds["working"], working_name)
                    placed[-1] = ("working", working_name)
                    conn.execute("INSERT INTO items VALUES (:item_id, :filename, :sha256, :size, "
                                 ":added_utc, :handler, :source, :method, :evidentiary_path, "
                                 ":working_path, :note)", self._seal("items", row))
                    self._append(conn, item_id=item_id, action="collected",
                                 handler=row["handler"], source=row["source"],
                                 method=row["method"], sha256=sha, location=evidentiary,
                                 note=note, row_hash=chain.item_hash(row), file=evidentiary)
                return row
            except BaseException:
                if staged:
                    files.remove(fds["staging"], staged)
                for folder, name in placed:
                    files.remove(fds[folder], name)
                raise

    def item(self, item_id: str) -> dict:
        rows, _ = self._rows("items", "SELECT * FROM items WHERE item_id = ?", (str(item_id),))
        if not rows:
            raise LockerError(f"no item {item_id!r} in this locker; see locker.items()")
        return rows[0]

    def _trusted(self, item_id: str) -> dict:
        """The item's row, only if it still matches its collection entry in the custody log."""
        rows, bad_rows = self._rows("items", "SELECT * FROM items WHERE item_id = ?",
                                    (str(item_id),))
        if not rows:
            raise LockerError(f"no item {item_id!r} in this locker; see locker.items()")
        row = rows[0]
        entries, bad_entries = self._rows(
            "custody", "SELECT * FROM custody WHERE item_id = ? AND action = 'collected'",
            (str(item_id),))
        if (bad_rows or bad_entries or len(entries) != 1 or entries[0]["sha256"] != row["sha256"]
                or entries[0]["row_hash"] != chain.item_hash(row)):
            raise LockerError(f"the database row of {item_id} no longer matches its collection "
                              "entry in the custody log (it was edited), so the locker will not "
                              "act on it; run verify() and restore locker.sqlite3 from a backup")
        return row

    def _place_of(self, item_id: str, which: int) -> Path:
        path = self.root / self._names(self.item(item_id))[which]
        if path.is_symlink():
            raise LockerError(f"{path} is a link, not the locker's copy; the locker does not "
                              "follow it. Remove it and restore the working copy.")
        return path

    def evidentiary_path(self, item_id: str) -> Path:
        return self._place_of(item_id, 0)

    def working_copy(self, item_id: str) -> Path:
        """The copy to open and work on; the evidentiary copy stays untouched. (In an encrypted
        locker this file is sealed: read it with ``read_bytes``.)"""
        return self._place_of(item_id, 1)

    def read_bytes(self, item_id: str, copy: str = "working") -> bytes:
        """The content of an item's working (or evidentiary) copy, opened in memory only."""
        if copy not in ("working", "evidentiary"):
            raise LockerError(f"copy must be 'working' or 'evidentiary', not {copy!r}")
        rel = self._names(self.item(item_id))[copy == "working"]
        with self._storage("nothing was read"), files.folders(self.root) as fds, \
                files.open_stored(fds[copy], rel.split("/", 1)[1]) as stream:
            if self._sealer is None:
                return stream.read()
            try:
                return b"".join(self._sealer.open_stream(stream.read))
            except crypto.Unreadable as exc:
                raise LockerError(f"the {copy} copy of {item_id} does not open ({exc}); "
                                  "run verify()") from None

    def restore_working_copy(self, item_id: str, *, handler: str, note: str = "") -> Path:
        """Replace the working copy with a fresh copy of the evidence, and log it. Whatever is
        at the working copy's place (an edited file, a link) is replaced, never written through."""
        _require_text(handler=handler)
        conn = self._conn
        with conn.lock, self._storage("nothing was changed"), files.folders(self.root) as fds:
            row = self._trusted(item_id)
            evidentiary, working = self._names(row)
            tmp: str | None = self._working_from(fds, evidentiary.split("/", 1)[1])
            try:
                status, sha = self._copy_sha(fds)(f"working/{tmp}")
                if status != "ok" or sha != row["sha256"]:
                    raise LockerError(f"the evidentiary copy of {item_id} itself no longer matches "
                                      "the hash recorded at collection, so it cannot restore the "
                                      "working copy; run verify(). Nothing was changed.")
                with self._writing() as conn:
                    files.place(fds["working"], tmp, fds["working"], working.split("/", 1)[1])
                    tmp = None
                    self._append(conn, item_id=item_id, action="working-copy-restored",
                                 handler=handler, sha256=row["sha256"], location=working,
                                 note=note)
            finally:
                if tmp:
                    files.remove(fds["working"], tmp)
        return self.root / working

    def log_handling(self, item_id: str, *, action: str, handler: str, method: str = "",
                     note: str = "") -> int:
        """Record a handling step (viewed, shared with…, transferred to…) in the custody log."""
        _require_text(handler=handler, action=action)
        with self._storage("nothing was recorded"):
            row = self._trusted(item_id)
            with self._writing() as conn:
                return self._append(conn, item_id=item_id, action=action.strip(),
                                    handler=handler, method=method, sha256=row["sha256"],
                                    location=row["evidentiary_path"], note=note)

    # -- incident records -----------------------------------------------------------------------
    def add_incident(self, record: dict, *, handler: str, vocabularies: dict | None = None) -> str:
        """Validate and store one incident record; returns its id (IR0001…).

        A witness name is replaced by its keyed pseudonym before anything is written.
        """
        _require_text(handler=handler)
        clean = validate_incident(record, vocabularies)
        name = clean.pop("witness_name")
        clean["witness_pseudonym"] = pseudonymise(name, self._key) if name else None
        with self._storage("nothing was stored"), self._writing() as conn:
            clean.update(record_id=store.next_id(conn, "records_next", "IR", "incidents",
                                                 "record_id"),
                         entered_utc=utc_now(), handler=handler.strip())
            columns = ", ".join(clean)
            conn.execute(f"INSERT INTO incidents ({columns}) VALUES "
                         f"({', '.join(':' + c for c in clean)})", self._seal("incidents", clean))
            stored, _ = self._rows("incidents", "SELECT * FROM incidents WHERE record_id = ?",
                                   (clean["record_id"],))
            digest = record_hash(stored[0])
            self._append(conn, item_id=clean["record_id"], action="record-added", handler=handler,
                         source=clean["source_id"], method=clean["information_type"],
                         sha256=digest, location="incidents", row_hash=digest)
        return clean["record_id"]

    def pseudonym(self, name: str) -> str:
        """The pseudonym this locker gives ``name`` (to find a witness's records)."""
        self._conn  # noqa: B018 - raises if the locker was closed or its key destroyed
        return pseudonymise(name, self._key)

    # -- reading --------------------------------------------------------------------------------
    def _frame(self, table: str, sql: str, columns: tuple[str, ...] | None = None) -> pd.DataFrame:
        with self._storage("nothing was read"):
            cursor = self._conn.execute(sql)
            names = [d[0] for d in cursor.description]
            rows = [self._unseal(table, dict(zip(names, r, strict=True)))[0] for r in cursor]
        return pd.DataFrame(rows, columns=list(columns or names))

    def items(self) -> pd.DataFrame:
        return self._frame("items", "SELECT * FROM items ORDER BY item_id",
                           ("item_id", "filename", "sha256", "size", "added_utc", "handler",
                            "source", "method", "note"))

    def custody_log(self) -> pd.DataFrame:
        return self._frame("custody", "SELECT * FROM custody ORDER BY seq")

    def incidents(self) -> pd.DataFrame:
        return self._frame("incidents", "SELECT * FROM incidents ORDER BY record_id")

    def items_for_export(self) -> pd.DataFrame:
        return self._frame("items", "SELECT * FROM items ORDER BY item_id")

    def counts(self) -> dict[str, int]:
        one = self._conn.execute
        with self._storage("nothing was read"):
            return {t: one(f"SELECT count(*) FROM {t}").fetchone()[0]
                    for t in ("items", "custody", "incidents")}

    # -- checking and sharing -------------------------------------------------------------------
    def _contents(self, fds: dict[str, int] | None) -> Contents:
        conn = self._conn
        with store.read_transaction(conn):
            entries, unreadable = self._rows("custody", "SELECT * FROM custody ORDER BY seq")
            items, bad_items = self._rows("items", "SELECT * FROM items ORDER BY item_id")
            records, bad_records = self._rows("incidents", "SELECT * FROM incidents")
            head_seq, head_hash = int(store.meta(conn, "head_seq")), store.meta(conn, "head_hash")
        contents = Contents(entries=entries, head_seq=head_seq, head_hash=head_hash, items=items,
                            records=records, journal=self._journal.read(),
                            unreadable=unreadable | bad_items | bad_records)
        if fds is not None:
            contents.listing = files.listing(fds)
            contents.copy_sha = self._copy_sha(fds)
            contents.names = self._names
        return contents

    def verify(self, anchor: Anchor | tuple[int, str] | None = None) -> Report:
        """Re-hash every file, walk the custody chain and compare it with the signed journal;
        the report names each problem."""
        if isinstance(anchor, Anchor):
            anchor = (anchor.seq, anchor.entry_hash)
        with self._conn.lock, self._storage("nothing was changed"), \
                files.folders(self.root) as fds:
            return check(self._contents(fds), anchor)

    def export_redacted(self, path: str | os.PathLike, *, handler: str) -> Path:
        """Write a copy safe to share (see export.py for what is kept) and log the export.
        Refused while the locker's rows or log do not check out (a forged field must not leave)."""
        _require_text(handler=handler)
        path = Path(path)
        if not path.parent.is_dir():
            raise LockerError(f"the folder {path.parent} does not exist; create it first or "
                              "choose another place for the export")
        if path.resolve().is_relative_to(self.root.resolve()):
            raise LockerError("write the export outside the locker folder, so it cannot be "
                              "mistaken for evidence")
        with self._conn.lock, self._storage("nothing was exported"):
            report = check(self._contents(None))
            if not report.intact:
                raise LockerError(f"the locker's records do not check out ({len(report.problems)} "
                                  f"problem(s), first: {report.problems[0]}); run verify() and "
                                  "resolve them before sharing anything. Nothing was exported.")
            data = redacted(self.items_for_export(), self.incidents(), self.head())
            text = json.dumps(data, indent=2, ensure_ascii=False)
            tmp = path.with_name(f".{path.name}.{secrets.token_hex(4)}.part")
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
            try:
                with os.fdopen(fd, "w", encoding="utf-8") as out:
                    out.write(text)
                with self._writing() as conn:
                    os.replace(tmp, path)
                    self._append(conn, item_id="-", action="exported-redacted", handler=handler,
                                 sha256=hashlib.sha256(text.encode("utf-8")).hexdigest(),
                                 location=path.name)
            finally:
                with contextlib.suppress(FileNotFoundError):
                    tmp.unlink()
        return path

    # -- destroying the key -----------------------------------------------------------------------
    def destroy_key(self, *, handler: str, confirm: bool = False) -> str:
        """Crypto-shredding: log the step, then overwrite the key file, so that this locker's
        files and sealed fields can never be opened again, by anyone. Returns the UTC time.

        This cannot be undone. It works only if no copy of the key file survives elsewhere (a
        backup, a synced folder); on flash storage the old bytes may linger until the device
        reuses them, but they are still sealed under the passphrase.
        """
        _require_text(handler=handler)
        if not self.encrypted:
            raise LockerError("this locker is not encrypted, so no key stands between its files "
                              "and a reader: destroying a key would not make them unreadable. "
                              "Keep material that may have to be destroyed in an encrypted "
                              "locker (Locker(folder, passphrase=...)).")
        if confirm is not True:
            raise LockerError("destroying the key makes everything in this locker unreadable "
                              "for ever; if that is what you mean, call "
                              "destroy_key(handler=..., confirm=True)")
        with self._storage("the key was not destroyed"):
            with self._writing() as conn:
                self._append(conn, item_id="-", action="key-destroyed", handler=handler,
                             location=self.key_path.name, note="crypto-shredding")
            when = crypto.destroy_key_file(self.key_path)
        self.close()
        self._sealer = None
        self._key = b""
        self._destroyed = when
        return when


def try_open(root: str | os.PathLike, **options) -> str:
    """Open the locker in ``root`` (with ``Locker``'s options), check it, close it, and say in a
    sentence what happened: for a notebook cell that shows a refusal without a traceback."""
    try:
        with Locker(root, **options) as locker:
            report = locker.verify()
    except LockerError as exc:
        return f"Refused: {exc}"
    return f"Opened and checked. {report.summary()}"


__all__ = ["Anchor", "Locker", "LockerError", "REQUIRED", "SEALED", "record_hash",
           "safe_filename", "try_open"]
