"""The SQLite side of the locker: schema, connection settings and transactions.

Why these settings: WAL lets readers work while one process writes; ``synchronous=FULL`` makes a
committed transaction survive a crash or power cut; ``BEGIN IMMEDIATE`` takes the write lock
*before* reading the chain's head, so two writers can never both link to the same entry; the busy
timeout makes a second writer wait its turn instead of failing.
"""

from __future__ import annotations

import contextlib
import sqlite3
import threading
from collections.abc import Iterator
from pathlib import Path

SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS items (
    item_id TEXT PRIMARY KEY, filename TEXT NOT NULL, sha256 TEXT NOT NULL UNIQUE,
    size INTEGER NOT NULL, added_utc TEXT NOT NULL, handler TEXT NOT NULL, source TEXT NOT NULL,
    method TEXT NOT NULL, evidentiary_path TEXT NOT NULL, working_path TEXT NOT NULL,
    note TEXT NOT NULL DEFAULT '');
CREATE TABLE IF NOT EXISTS custody (
    seq INTEGER PRIMARY KEY, utc TEXT NOT NULL, item_id TEXT NOT NULL, action TEXT NOT NULL,
    handler TEXT NOT NULL, source TEXT NOT NULL, method TEXT NOT NULL, sha256 TEXT NOT NULL,
    location TEXT NOT NULL, note TEXT NOT NULL, prev_hash TEXT NOT NULL, entry_hash TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS incidents (
    record_id TEXT PRIMARY KEY, report_ref TEXT, event_start TEXT NOT NULL, event_end TEXT,
    received TEXT, province_id TEXT NOT NULL, place_id TEXT, act_type TEXT NOT NULL,
    victim_group TEXT NOT NULL, victims_count INTEGER, perpetrator_type TEXT NOT NULL,
    source_id TEXT NOT NULL, source_type TEXT NOT NULL, information_type TEXT NOT NULL,
    consent_recorded INTEGER NOT NULL, witness_pseudonym TEXT, confidential INTEGER NOT NULL,
    summary TEXT NOT NULL, intervention TEXT, entered_utc TEXT NOT NULL, handler TEXT NOT NULL);
"""

# The database refuses edits and deletions itself; verify() catches anyone who goes around it.
APPEND_ONLY = ("custody", "items", "incidents")
TRIGGERS = [
    f"CREATE TRIGGER IF NOT EXISTS {table}_no_{op} BEFORE {op.upper()} ON {table} "
    f"BEGIN SELECT RAISE(ABORT, '{table} is append-only: add a new entry instead'); END"
    for table in APPEND_ONLY for op in ("update", "delete")
]


class Connection(sqlite3.Connection):
    """A connection that a notebook's cells and its widgets' callbacks can share: the kernel may
    run callbacks on another thread, so the thread check is off and a lock lets one transaction
    run at a time."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.lock = threading.RLock()


def connect(path: Path, busy_timeout: float) -> Connection:
    conn = sqlite3.connect(path, timeout=busy_timeout, isolation_level=None,
                           check_same_thread=False, factory=Connection)
    conn.row_factory = sqlite3.Row
    conn.execute(f"PRAGMA busy_timeout = {int(busy_timeout * 1000)}")
    conn.execute("PRAGMA journal_mode = WAL")
    conn.execute("PRAGMA synchronous = FULL")
    return conn


@contextlib.contextmanager
def write_transaction(conn: Connection) -> Iterator[Connection]:
    """All or nothing: commit when the block ends, roll back if it raises."""
    with conn.lock:
        conn.execute("BEGIN IMMEDIATE")
        try:
            yield conn
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")


@contextlib.contextmanager
def read_transaction(conn: Connection) -> Iterator[Connection]:
    """One consistent snapshot for several reads, even while another process writes."""
    with conn.lock:
        conn.execute("BEGIN")
        try:
            yield conn
        finally:
            conn.execute("COMMIT")


def initialise(conn: sqlite3.Connection) -> None:
    with write_transaction(conn):
        statements = [s for s in SCHEMA.split(";") if s.strip()] + TRIGGERS
        for statement in statements:
            conn.execute(statement)
        for key in ("head_seq", "items_next", "records_next"):
            conn.execute("INSERT OR IGNORE INTO meta VALUES (?, '0')", (key,))
        conn.execute("INSERT OR IGNORE INTO meta VALUES ('head_hash', ?)", ("0" * 64,))


def meta(conn: sqlite3.Connection, key: str) -> str | None:
    row = conn.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
    return row[0] if row else None


def set_meta(conn: sqlite3.Connection, key: str, value: object) -> None:
    # meta is the one table that is updated in place: it holds the counters and the chain head.
    conn.execute("UPDATE meta SET value = ? WHERE key = ?", (str(value), key))


def next_id(conn: sqlite3.Connection, counter: str, prefix: str) -> str:
    number = int(meta(conn, counter)) + 1
    set_meta(conn, counter, number)
    return f"{prefix}{number:04d}"
