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
    location TEXT NOT NULL, note TEXT NOT NULL, row_hash TEXT NOT NULL, prev_hash TEXT NOT NULL,
    entry_hash TEXT NOT NULL);
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


FORMAT = "2"  # 2: every field covered by the chain, custody journal beside the database


class Damaged(Exception):
    """The database file is not a whole, readable SQLite database."""


def connect(path: Path, busy_timeout: float) -> Connection:
    """Open the database, checking first that it is whole (``PRAGMA quick_check`` reads every
    page), so a truncated or damaged file is refused before anything is written to it."""
    conn = sqlite3.connect(path, timeout=busy_timeout, isolation_level=None,
                           check_same_thread=False, factory=Connection)
    try:
        conn.row_factory = sqlite3.Row
        conn.execute(f"PRAGMA busy_timeout = {int(busy_timeout * 1000)}")
        result = [r[0] for r in conn.execute("PRAGMA quick_check")]
        if result != ["ok"]:
            raise Damaged(" ".join(" ".join(result[:3]).split()))
        conn.execute("PRAGMA journal_mode = WAL")
        conn.execute("PRAGMA synchronous = FULL")
        conn.execute("PRAGMA temp_store = MEMORY")  # no temporary files with rows in them
    except sqlite3.DatabaseError as exc:
        conn.close()
        raise Damaged(" ".join(str(exc).split())) from None
    except BaseException:
        conn.close()
        raise
    return conn


@contextlib.contextmanager
def write_transaction(conn: Connection) -> Iterator[Connection]:
    """All or nothing: commit when the block ends, roll back if it raises."""
    with conn.lock:
        conn.execute("BEGIN IMMEDIATE")
        try:
            yield conn
        except BaseException:
            if conn.in_transaction:  # a failed COMMIT (disk full) may have rolled back already
                conn.execute("ROLLBACK")
            raise
        try:
            conn.execute("COMMIT")
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise


@contextlib.contextmanager
def read_transaction(conn: Connection) -> Iterator[Connection]:
    """One consistent snapshot for several reads, even while another process writes."""
    with conn.lock:
        conn.execute("BEGIN")
        try:
            yield conn
        finally:
            conn.execute("COMMIT")


def is_fresh(conn: sqlite3.Connection) -> bool:
    """True for a database with no locker in it yet (no ``meta`` table)."""
    return conn.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'meta'"
                        ).fetchone() is None


def initialise(conn: sqlite3.Connection, settings: dict[str, str]) -> bool:
    """Create the schema and meta rows (``settings`` such as the key check) in one transaction,
    if another process has not just done so; returns True if this call created them."""
    with write_transaction(conn):
        if not is_fresh(conn):
            return False
        for statement in [s for s in SCHEMA.split(";") if s.strip()] + TRIGGERS:
            conn.execute(statement)
        for key in ("head_seq", "items_next", "records_next"):
            conn.execute("INSERT INTO meta VALUES (?, '0')", (key,))
        conn.execute("INSERT INTO meta VALUES ('head_hash', ?)", ("0" * 64,))
        conn.execute("INSERT INTO meta VALUES ('format', ?)", (FORMAT,))
        for key, value in settings.items():
            conn.execute("INSERT INTO meta VALUES (?, ?)", (key, value))
    return True


def meta(conn: sqlite3.Connection, key: str) -> str | None:
    row = conn.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
    return row[0] if row else None


def set_meta(conn: sqlite3.Connection, key: str, value: object) -> None:
    # meta is the one table that is updated in place: it holds the counters and the chain head.
    conn.execute("UPDATE meta SET value = ? WHERE key = ?", (str(value), key))


def next_id(conn: sqlite3.Connection, counter: str, prefix: str, table: str, column: str) -> str:
    """The next id: one past the highest ever used, by the counter, the table *or* the custody
    log, so an id is never given twice even if the counter or a row was tampered with."""
    start = len(prefix) + 1
    used = [int(meta(conn, counter) or 0)]
    for sql in (f"SELECT max(CAST(substr({column}, {start}) AS INTEGER)) FROM {table} "
                f"WHERE {column} GLOB '{prefix}[0-9]*'",
                f"SELECT max(CAST(substr(item_id, {start}) AS INTEGER)) FROM custody "
                f"WHERE item_id GLOB '{prefix}[0-9]*'"):
        used.append(conn.execute(sql).fetchone()[0] or 0)
    number = max(used) + 1
    set_meta(conn, counter, number)
    return f"{prefix}{number:04d}"


def explain(exc: BaseException) -> str:
    """What a storage error means, and what to do, in plain words."""
    text = str(exc)
    errno = getattr(exc, "errno", None)
    if "full" in text or errno == 28:
        return ("the disk is full; free some space (or move the locker to a larger disk), then "
                "try again")
    if "locked" in text or "busy" in text:
        return ("another program kept the locker busy for too long; wait for it to finish and "
                "try again")
    if "readonly" in text or "read-only" in text or errno in (13, 30):
        return ("the locker folder cannot be written to (read-only disk or missing permission); "
                "check the disk and the folder's permissions")
    if isinstance(exc, sqlite3.DatabaseError):
        return (f"the locker database is damaged ({text}); stop using this copy and restore "
                "locker.sqlite3 from a backup")
    return f"a storage error ({getattr(exc, 'strerror', None) or text}); check the disk and try again"
