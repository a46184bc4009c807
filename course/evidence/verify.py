"""Checking a locker: the custody chain, the files, and the rows the chain vouches for.

The custody log is the reference. Each "collected" entry records an item's SHA-256 at the moment
of collection and each "record-added" entry the hash of an incident record, so a file, an item
row or a record changed later no longer matches, and the chain shows whether the log itself was
edited (an entry whose hash does not check out) or thinned (a gap in the sequence numbers).
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass, field
from pathlib import Path

from . import chain, store
from .hashing import sha256_file

# What each kind of problem means, in words a trainee can act on.
KINDS = {
    "entry-altered": "a custody log entry was edited after it was written",
    "entry-removed": "a custody log entry was deleted",
    "anchor-mismatch": "the log does not end where the separately kept anchor says it should",
    "file-changed": "an evidentiary copy no longer matches the hash taken at collection",
    "file-missing": "an evidentiary copy is gone",
    "item-altered": "an item's row in the database was edited",
    "item-removed": "an item's row was deleted from the database",
    "record-altered": "an incident record was edited after it was entered",
    "record-removed": "an incident record was deleted",
    "working-copy-changed": "a working copy differs from the evidence; restore it before analysis",
    "working-copy-missing": "a working copy is gone; restore it from the evidentiary copy",
}


@dataclass(frozen=True)
class Problem:
    kind: str
    where: str  # an item id (E0001), a record id (IR0001) or a log entry ("entry 7")
    detail: str

    def __str__(self) -> str:
        return f"{self.where}: {KINDS[self.kind]} ({self.detail})"


@dataclass
class Report:
    problems: list[Problem] = field(default_factory=list)
    checked: dict[str, int] = field(default_factory=dict)
    stray: list[str] = field(default_factory=list)  # files no row refers to (an interrupted add)

    @property
    def intact(self) -> bool:
        return not self.problems

    def kinds(self) -> set[str]:
        return {p.kind for p in self.problems}

    def summary(self) -> str:
        counts = ", ".join(f"{n} {what}" for what, n in self.checked.items())
        if self.intact:
            lines = [f"All intact: checked {counts}."]
        else:
            lines = [f"{len(self.problems)} problem(s) found (checked {counts}):"]
            lines += [f"  - {p}" for p in self.problems]
        if self.stray:
            lines.append(f"Note: {len(self.stray)} file(s) not registered (left by an interrupted "
                         "add; nothing registered is affected): " + ", ".join(self.stray))
        return "\n".join(lines)

    __str__ = summary


def _check_chain(entries: list[sqlite3.Row], head_seq: int, head_hash: str,
                 anchor: tuple[int, str] | None, report: Report) -> None:
    prev, expected = chain.GENESIS, 1
    for row in entries:
        entry = dict(row)
        seq = entry["seq"]
        if seq != expected:
            gone = f"entry {expected}" if seq == expected + 1 else f"entries {expected}–{seq - 1}"
            report.problems.append(Problem("entry-removed", gone, f"the log jumps from "
                                           f"{expected - 1} to {seq}"))
        elif chain.entry_hash(entry, entry["prev_hash"]) != entry["entry_hash"]:
            report.problems.append(Problem("entry-altered", f"entry {seq}",
                                           "its contents no longer match its hash"))
        elif entry["prev_hash"] != prev:
            # This entry is fine, so the one before it was edited and given a fresh hash.
            report.problems.append(Problem("entry-altered", f"entry {seq - 1}",
                                           f"entry {seq} no longer links to it"))
        prev, expected = entry["entry_hash"], seq + 1
    last = expected - 1
    if last < head_seq:
        gone = f"entry {head_seq}" if last == head_seq - 1 else f"entries {last + 1}–{head_seq}"
        report.problems.append(Problem("entry-removed", gone, "missing from the end of the log"))
    elif last == head_seq and entries and prev != head_hash:
        report.problems.append(Problem("entry-altered", f"entry {last}",
                                       "it no longer matches the recorded head of the log"))
    if anchor is not None:
        seq, digest = anchor
        row = next((e for e in entries if e["seq"] == seq), None)
        if row is None or row["entry_hash"] != digest:
            report.problems.append(Problem("anchor-mismatch", f"entry {seq}",
                                           "the anchor's hash is not in the log"))


def _check_items(conn: sqlite3.Connection, root: Path, collected: dict[str, sqlite3.Row],
                 report: Report) -> set[str]:
    rows = {r["item_id"]: r for r in conn.execute("SELECT * FROM items ORDER BY item_id")}
    used: set[str] = set()
    for item_id in sorted(set(collected) - set(rows)):
        report.problems.append(Problem("item-removed", item_id, "the log records its collection"))
    for item_id, row in rows.items():
        entry = collected.get(item_id)
        if entry is None or entry["sha256"] != row["sha256"] or entry["location"] != row["evidentiary_path"]:
            report.problems.append(Problem("item-altered", item_id,
                                           "its row disagrees with the log's collection entry"))
        recorded = entry["sha256"] if entry else row["sha256"]
        for rel, changed, missing in ((row["evidentiary_path"], "file-changed", "file-missing"),
                                      (row["working_path"], "working-copy-changed",
                                       "working-copy-missing")):
            used.add(rel)
            path = root / rel
            if not path.is_file():
                report.problems.append(Problem(missing, item_id, rel))
                continue
            now = sha256_file(path)
            if now != recorded:
                report.problems.append(Problem(changed, item_id, f"{rel}: recorded "
                                               f"{recorded[:12]}…, now {now[:12]}…"))
    report.checked["items"] = len(rows)
    return used


def _check_records(conn: sqlite3.Connection, added: dict[str, sqlite3.Row],
                   report: Report) -> None:
    from .locker import record_hash  # the one definition of what a record's hash covers

    rows = {r["record_id"]: dict(r) for r in conn.execute("SELECT * FROM incidents")}
    for record_id in sorted(set(added) - set(rows)):
        report.problems.append(Problem("record-removed", record_id, "the log records its entry"))
    for record_id, row in sorted(rows.items()):
        entry = added.get(record_id)
        if entry is None or entry["sha256"] != record_hash(row):
            report.problems.append(Problem("record-altered", record_id,
                                           "it no longer matches the hash logged when entered"))
    report.checked["records"] = len(rows)


def check(conn: sqlite3.Connection, root: Path, anchor: tuple[int, str] | None = None) -> Report:
    report = Report()
    with store.read_transaction(conn):
        entries = conn.execute("SELECT * FROM custody ORDER BY seq").fetchall()
        head_seq, head_hash = int(store.meta(conn, "head_seq")), store.meta(conn, "head_hash")
        _check_chain(entries, head_seq, head_hash, anchor, report)
        collected = {e["item_id"]: e for e in entries if e["action"] == "collected"}
        added = {e["item_id"]: e for e in entries if e["action"] == "record-added"}
        used = _check_items(conn, root, collected, report)
        _check_records(conn, added, report)
    report.checked["log entries"] = len(entries)
    for folder in ("evidentiary", "working", "staging"):
        for path in sorted((root / folder).glob("*")):
            rel = path.relative_to(root).as_posix()
            if rel not in used:
                report.stray.append(rel)
    return report
