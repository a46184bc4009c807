"""The evidence locker: files, custody log and incident records in one folder.

Layout of a locker folder::

    locker.sqlite3      items, custody log, incident records (SQLite, WAL)
    evidentiary/<sha256>  the untouched copy of each item, read-only, named by its hash
    working/E0001-name    a copy to open, annotate, crop…; restorable from the evidentiary copy
    staging/            files being copied in (an interrupted add leaves them here, harmlessly)
    pseudonym.key       the HMAC key for witness pseudonyms (0600; see pseudonyms.py)

Adding a file copies it once, hashing as it goes, then records item and custody entry in one
transaction. Files are written (and fsynced) before the transaction commits, so a crash at any
point leaves either a complete, registered item or an unregistered stray file, never a row that
points at nothing.

What it does not do (say so when you teach it): it does not encrypt anything (use an encrypted
disk); the read-only mode of evidentiary copies does not stop their owner or an administrator,
and the database's append-only triggers do not stop someone editing the file directly — the
hashes and the chain *detect* such changes, they do not prevent them; and a log rewritten from
an edit onwards is caught only by comparing with an anchor kept somewhere else (``head()``).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import json
import os
import re
import secrets
import shutil
import sqlite3
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

import pandas as pd

from . import chain, store
from .hashing import CHUNK_SIZE, copy_and_hash
from .pseudonyms import load_or_create_key, pseudonymise
from .records import REQUIRED, validate_incident
from .verify import Report, check

DB_NAME, KEY_NAME = "locker.sqlite3", "pseudonym.key"


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


def record_hash(row: dict) -> str:
    """What the custody log stores for an incident record: the SHA-256 of its stored fields."""
    fields = {k: row[k] for k in sorted(row) if k not in ("record_id",)}
    return hashlib.sha256(chain.canonical(fields)).hexdigest()


def _require_text(**values: object) -> None:
    for name, value in values.items():
        if not isinstance(value, str) or not value.strip():
            raise LockerError(f"{name} is required (who handled it / where it came from / how it "
                              f"was collected): give a non-empty text, not {value!r}")


class Locker:
    """An evidence locker in the folder ``root`` (created if needed).

    ``key_path`` is where the pseudonym key is kept (default: ``root/pseudonym.key``); keep it
    on separate storage in real work. ``busy_timeout`` is how long a writer waits for another.
    """

    def __init__(self, root: str | os.PathLike, *, key_path: str | os.PathLike | None = None,
                 busy_timeout: float = 60.0):
        self.root = Path(root)
        if self.root.exists() and not self.root.is_dir():
            raise LockerError(f"{self.root} is a file, not a folder; give the folder that holds "
                              "(or will hold) the locker")
        for folder in ("evidentiary", "working", "staging"):
            (self.root / folder).mkdir(parents=True, exist_ok=True)
        self.key_path = Path(key_path) if key_path else self.root / KEY_NAME
        self._connection: sqlite3.Connection | None = None
        try:
            self._connection = store.connect(self.root / DB_NAME, busy_timeout)
            store.initialise(self._connection)
            self._key = self._load_key()
        except sqlite3.DatabaseError as exc:
            self.close()
            raise LockerError(f"{self.root / DB_NAME} is not a readable locker database ({exc}); "
                              "restore it from a backup, or open a different folder") from None
        except BaseException:
            self.close()
            raise

    def _load_key(self) -> bytes:
        """The pseudonym key, checked against the fingerprint recorded when the locker was made:
        a lost or swapped key would silently give every witness a new pseudonym."""
        recorded = store.meta(self._conn, "key_check")
        if recorded and not self.key_path.exists():
            raise LockerError(f"the pseudonym key {self.key_path} is missing; restore it from its "
                              "backup (a new key would no longer match the stored pseudonyms)")
        key = load_or_create_key(self.key_path)
        fingerprint = pseudonymise("key fingerprint", key)
        if not recorded:
            with store.write_transaction(self._conn):
                self._conn.execute("INSERT OR IGNORE INTO meta VALUES ('key_check', ?)",
                                   (fingerprint,))
            recorded = store.meta(self._conn, "key_check")
        if recorded != fingerprint:
            raise LockerError(f"the key in {self.key_path} is not the one this locker's "
                              "pseudonyms were made with; use the right key file (key_path=...)")
        return key

    # -- life cycle ---------------------------------------------------------------------------
    @property
    def _conn(self) -> sqlite3.Connection:
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
        return f"Locker({str(self.root)!r})"

    # -- custody log ----------------------------------------------------------------------------
    def _append(self, *, item_id: str, action: str, handler: str, source: str = "",
                method: str = "", sha256: str = "", location: str = "", note: str = "") -> int:
        """Add one entry linked to the head of the chain. Call inside a write transaction."""
        conn = self._conn
        seq = int(store.meta(conn, "head_seq")) + 1
        prev = store.meta(conn, "head_hash")
        entry = {"seq": seq, "utc": utc_now(), "item_id": item_id, "action": action,
                 "handler": handler, "source": source, "method": method, "sha256": sha256,
                 "location": location, "note": note}
        digest = chain.entry_hash(entry, prev)
        conn.execute("INSERT INTO custody VALUES (:seq, :utc, :item_id, :action, :handler, "
                     ":source, :method, :sha256, :location, :note, :prev, :digest)",
                     {**entry, "prev": prev, "digest": digest})
        store.set_meta(conn, "head_seq", seq)
        store.set_meta(conn, "head_hash", digest)
        return seq

    def head(self) -> Anchor:
        return Anchor(int(store.meta(self._conn, "head_seq")), store.meta(self._conn, "head_hash"))

    # -- evidence items -------------------------------------------------------------------------
    def add_file(self, path: str | os.PathLike, *, handler: str, source: str, method: str,
                 note: str = "", chunk_size: int = CHUNK_SIZE) -> dict:
        """Collect the file at ``path``: returns the new item's row (item_id, sha256, …)."""
        _require_text(handler=handler, source=source, method=method)
        path = Path(path)
        try:
            stream = open(path, "rb")  # noqa: SIM115 - closed by the "with stream" below
        except IsADirectoryError:
            raise LockerError(f"{path} is a folder; add the files inside it one by one") from None
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

    def _add_stream(self, stream: BinaryIO, filename: str, *, handler: str, source: str,
                    method: str, note: str, chunk_size: int) -> dict:
        staged = self.root / "staging" / f"{secrets.token_hex(8)}.part"
        placed: list[Path] = []
        try:
            try:
                sha, size = copy_and_hash(stream, staged, chunk_size)
            except OSError as exc:
                raise LockerError(f"reading {filename} failed part-way ({exc}); nothing was "
                                  "stored — check the file or device and try again") from None
            os.chmod(staged, 0o444)
            with store.write_transaction(self._conn) as conn:
                known = conn.execute("SELECT item_id FROM items WHERE sha256 = ?", (sha,)).fetchone()
                if known:
                    raise LockerError(f"{filename} is already in the locker as {known[0]} "
                                      "(same SHA-256); log further handling of that item instead")
                item_id = store.next_id(conn, "items_next", "E")
                evidentiary = f"evidentiary/{sha}"
                working = f"working/{item_id}-{safe_filename(filename)}"
                os.replace(staged, self.root / evidentiary)
                placed.append(self.root / evidentiary)
                shutil.copyfile(self.root / evidentiary, self.root / working)
                placed.append(self.root / working)
                row = {"item_id": item_id, "filename": safe_filename(filename), "sha256": sha,
                       "size": size, "added_utc": utc_now(), "handler": handler.strip(),
                       "source": source.strip(), "method": method.strip(),
                       "evidentiary_path": evidentiary, "working_path": working, "note": note}
                conn.execute("INSERT INTO items VALUES (:item_id, :filename, :sha256, :size, "
                             ":added_utc, :handler, :source, :method, :evidentiary_path, "
                             ":working_path, :note)", row)
                self._append(item_id=item_id, action="collected", handler=row["handler"],
                             source=row["source"], method=row["method"], sha256=sha,
                             location=evidentiary, note=note)
            return row
        except BaseException:
            for path in [staged, *placed]:
                if path.exists():
                    os.chmod(path, 0o644)
                    path.unlink()
            raise

    def item(self, item_id: str) -> dict:
        row = self._conn.execute("SELECT * FROM items WHERE item_id = ?", (item_id,)).fetchone()
        if row is None:
            raise LockerError(f"no item {item_id!r} in this locker; see locker.items()")
        return dict(row)

    def evidentiary_path(self, item_id: str) -> Path:
        return self.root / self.item(item_id)["evidentiary_path"]

    def working_copy(self, item_id: str) -> Path:
        """The copy to open and work on; the evidentiary copy stays untouched."""
        return self.root / self.item(item_id)["working_path"]

    def restore_working_copy(self, item_id: str, *, handler: str, note: str = "") -> Path:
        """Replace the working copy with a fresh copy of the evidence, and log it."""
        _require_text(handler=handler)
        row = self.item(item_id)
        with store.write_transaction(self._conn):
            target = self.root / row["working_path"]
            shutil.copyfile(self.root / row["evidentiary_path"], target)
            self._append(item_id=item_id, action="working-copy-restored", handler=handler,
                         sha256=row["sha256"], location=row["working_path"], note=note)
        return target

    def log_handling(self, item_id: str, *, action: str, handler: str, method: str = "",
                     note: str = "") -> int:
        """Record a handling step (viewed, shared with…, transferred to…) in the custody log."""
        _require_text(handler=handler, action=action)
        row = self.item(item_id)
        with store.write_transaction(self._conn):
            return self._append(item_id=item_id, action=action.strip(), handler=handler,
                                method=method, sha256=row["sha256"],
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
        with store.write_transaction(self._conn) as conn:
            clean.update(record_id=store.next_id(conn, "records_next", "IR"),
                         entered_utc=utc_now(), handler=handler.strip())
            columns = ", ".join(clean)
            conn.execute(f"INSERT INTO incidents ({columns}) VALUES "
                         f"({', '.join(':' + c for c in clean)})", clean)
            stored = dict(conn.execute("SELECT * FROM incidents WHERE record_id = ?",
                                       (clean["record_id"],)).fetchone())
            self._append(item_id=clean["record_id"], action="record-added", handler=handler,
                         source=clean["source_id"], method=clean["information_type"],
                         sha256=record_hash(stored), location="incidents")
        return clean["record_id"]

    def pseudonym(self, name: str) -> str:
        """The pseudonym this locker gives ``name`` (to find a witness's records)."""
        return pseudonymise(name, self._key)

    # -- reading --------------------------------------------------------------------------------
    def _frame(self, sql: str) -> pd.DataFrame:
        cursor = self._conn.execute(sql)
        return pd.DataFrame([tuple(r) for r in cursor], columns=[d[0] for d in cursor.description])

    def items(self) -> pd.DataFrame:
        return self._frame("SELECT item_id, filename, sha256, size, added_utc, handler, source, "
                           "method, note FROM items ORDER BY item_id")

    def custody_log(self) -> pd.DataFrame:
        return self._frame("SELECT * FROM custody ORDER BY seq")

    def incidents(self) -> pd.DataFrame:
        return self._frame("SELECT * FROM incidents ORDER BY record_id")

    def counts(self) -> dict[str, int]:
        one = self._conn.execute
        return {t: one(f"SELECT count(*) FROM {t}").fetchone()[0]
                for t in ("items", "custody", "incidents")}

    # -- checking and sharing -------------------------------------------------------------------
    def verify(self, anchor: Anchor | tuple[int, str] | None = None) -> Report:
        """Re-hash every file and walk the custody chain; the report names each problem."""
        if isinstance(anchor, Anchor):
            anchor = (anchor.seq, anchor.entry_hash)
        return check(self._conn, self.root, anchor)

    def export_redacted(self, path: str | os.PathLike, *, handler: str) -> Path:
        """Write a copy safe to share (see export.py for what is kept) and log the export."""
        from .export import redacted

        _require_text(handler=handler)
        path = Path(path)
        if not path.parent.is_dir():
            raise LockerError(f"the folder {path.parent} does not exist; create it first or "
                              "choose another place for the export")
        if path.resolve().is_relative_to(self.root.resolve()):
            raise LockerError("write the export outside the locker folder, so it cannot be "
                              "mistaken for evidence")
        data = redacted(self.items_for_export(), self.incidents(), self.head())
        text = json.dumps(data, indent=2, ensure_ascii=False)
        tmp = path.with_name(path.name + ".part")
        tmp.write_text(text, "utf-8")
        with store.write_transaction(self._conn):
            os.replace(tmp, path)
            self._append(item_id="-", action="exported-redacted", handler=handler,
                         sha256=hashlib.sha256(text.encode("utf-8")).hexdigest(),
                         location=path.name)
        return path

    def items_for_export(self) -> pd.DataFrame:
        return self._frame("SELECT * FROM items ORDER BY item_id")


__all__ = ["Anchor", "Locker", "LockerError", "REQUIRED", "record_hash", "safe_filename"]
