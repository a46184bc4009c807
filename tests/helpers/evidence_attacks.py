"""What the evidence locker's tamper tests do as an intruder with disk access would."""

from __future__ import annotations

import os
import sqlite3


def raw(locker):
    """A plain connection that ignores the locker's rules: what an attacker with the file has."""
    conn = sqlite3.connect(locker.root / "locker.sqlite3", isolation_level=None)
    for table in ("custody", "items", "incidents"):
        for op in ("update", "delete"):
            conn.execute(f"DROP TRIGGER IF EXISTS {table}_no_{op}")
    return conn


def every_byte(folder):
    """Every file under ``folder`` (links as their target text), to show nothing changed; not
    SQLite's -shm file, a shared-memory index that any reader may rebuild."""
    out = {}
    for path in sorted(folder.rglob("*")):
        rel = path.relative_to(folder).as_posix()
        if rel.endswith("-shm"):
            continue
        if path.is_symlink():
            out[rel] = ("link", os.readlink(path))
        elif path.is_file():
            out[rel] = path.read_bytes()
    return out
