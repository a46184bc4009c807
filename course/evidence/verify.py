"""Checking a locker: the custody chain, the journal, the files, and the rows the chain vouches for.

The custody log is the reference. Each "collected" entry records an item's SHA-256 at the moment
of collection and the hash of its whole row, each "record-added" entry the hash of an incident
record, so a file, any field of an item row or a record changed later no longer matches, and the
chain shows whether the log itself was edited (an entry whose hash does not check out) or
thinned (a gap in the sequence numbers). The signed journal beside the database (journal.py)
shows committed entries the database has lost, and a log rewritten from some entry onwards.

This module reads nothing itself: the locker hands it what it read (``Contents``), so the same
checks run on a plain and on an encrypted locker.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from . import chain
from .files import ITEM_ID
from .journal import NAME as JOURNAL_NAME
from .journal import State

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
    "not-a-regular-file": "a link or other non-file stands where the locker keeps a copy; "
                          "the locker did not follow it",
    "journal-missing": "the signed custody journal kept beside the database is gone",
    "journal-altered": "the signed custody journal disagrees with the log, or a line in it "
                       "was not written by the locker",
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
    notes: list[str] = field(default_factory=list)  # harmless findings worth knowing

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
        lines += [f"Note: {note}" for note in self.notes]
        return "\n".join(lines)

    __str__ = summary


@dataclass
class Contents:
    """Everything the checks need, read by the locker in one snapshot (sealed fields opened)."""
    entries: list[dict]
    head_seq: int
    head_hash: str
    items: list[dict]
    records: list[dict]
    journal: State
    unreadable: set[tuple[str, str]] = field(default_factory=set)  # (table, id): will not open
    listing: list[str] | None = None  # 'folder/name' of every file; None: files not checked
    copy_sha: Callable[[str], tuple[str, str]] | None = None  # rel -> (status, sha or detail)
    names: Callable[[dict], tuple[str, str]] | None = None  # item row -> (evidentiary, working)


def _ranges(numbers: list[int]) -> list[tuple[int, int]]:
    runs: list[tuple[int, int]] = []
    for n in sorted(numbers):
        if runs and n == runs[-1][1] + 1:
            runs[-1] = (runs[-1][0], n)
        else:
            runs.append((n, n))
    return runs


def _entries(first: int, last: int) -> str:
    return f"entry {first}" if first == last else f"entries {first}–{last}"


def _check_chain(entries: list[dict], head_seq: int, head_hash: str,
                 anchor: tuple[int, str] | None, unreadable: set[tuple[str, str]],
                 report: Report) -> set[int]:
    """Walk the chain; returns the sequence numbers already reported (edited or removed)."""
    reported: set[int] = set()
    prev, expected = chain.GENESIS, 1
    for entry in entries:
        seq = entry["seq"]
        if seq != expected:
            reported.update(range(expected, seq))
            report.problems.append(Problem("entry-removed", _entries(expected, seq - 1),
                                           f"the log jumps from {expected - 1} to {seq}"))
        elif ("custody", str(seq)) in unreadable:
            reported.add(seq)
            report.problems.append(Problem("entry-altered", f"entry {seq}",
                                           "a sealed field no longer opens"))
        elif chain.entry_hash(entry, entry["prev_hash"]) != entry["entry_hash"]:
            reported.add(seq)
            report.problems.append(Problem("entry-altered", f"entry {seq}",
                                           "its contents no longer match its hash"))
        elif entry["prev_hash"] != prev:
            # This entry is fine, so the one before it was edited and given a fresh hash.
            reported.add(seq - 1)
            report.problems.append(Problem("entry-altered", f"entry {seq - 1}",
                                           f"entry {seq} no longer links to it"))
        prev, expected = entry["entry_hash"], seq + 1
    last = expected - 1
    if last < head_seq:
        reported.update(range(last + 1, head_seq + 1))
        report.problems.append(Problem("entry-removed", _entries(last + 1, head_seq),
                                       "missing from the end of the log"))
    elif last == head_seq and entries and prev != head_hash:
        reported.add(last)
        report.problems.append(Problem("entry-altered", f"entry {last}",
                                       "it no longer matches the recorded head of the log"))
    if anchor is not None:
        seq, digest = anchor
        row = next((e for e in entries if e["seq"] == seq), None)
        if row is None or row["entry_hash"] != digest:
            report.problems.append(Problem("anchor-mismatch", f"entry {seq}",
                                           "the anchor's hash is not in the log"))
    return reported


def _check_journal(c: Contents, reported: set[int], report: Report) -> list[dict]:
    """Compare the log with the signed journal; returns the journal's lines for committed
    entries the database no longer has."""
    journal = c.journal
    if not journal.exists:
        if c.entries:
            report.problems.append(Problem("journal-missing", JOURNAL_NAME,
                                           f"the log has {len(c.entries)} entries"))
        return []
    for number in journal.forged:
        report.problems.append(Problem("journal-altered", f"journal line {number}",
                                       "its signature does not check out"))
    if journal.torn:
        report.notes.append(f"{len(journal.torn)} damaged line(s) in {JOURNAL_NAME} were "
                            "skipped (a power cut while writing leaves one)")
    rewritten, absent = [], []
    for entry in c.entries:
        seq = entry["seq"]
        if seq in reported:
            continue
        committed = journal.committed.get(seq)
        pending = {line["entry_hash"] for line in journal.pending.get(seq, [])}
        if committed is not None and committed["entry_hash"] != entry["entry_hash"]:
            rewritten.append(seq)
        elif committed is None and not pending:
            absent.append(seq)
        elif committed is None and entry["entry_hash"] not in pending:
            rewritten.append(seq)
    for first, last in _ranges(rewritten):
        report.problems.append(Problem("entry-altered", _entries(first, last),
                                       "it differs from the signed journal: the log was "
                                       "rewritten"))
    for first, last in _ranges(absent):
        report.problems.append(Problem("journal-altered", _entries(first, last),
                                       "the signed journal has no line for it"))
    present = c.entries[-1]["seq"] if c.entries else 0
    lost = [seq for seq in journal.lost_after(present) if seq not in reported]
    for first, last in _ranges(lost):
        report.problems.append(Problem("entry-removed", _entries(first, last),
                                       "committed (the signed journal records it) but missing "
                                       "from the database"))
    return [line for seq in lost if (line := journal.line(seq)) is not None]


def _claim(item_id: str, evidentiary: str, listing: list[str], claimed: set[str]) -> None:
    claimed.add(evidentiary)
    claimed.update(rel for rel in listing
                   if rel == f"working/{item_id}" or rel.startswith(f"working/{item_id}-"))


def _check_items(c: Contents, collected: dict[str, dict], lost: list[dict],
                 report: Report) -> set[str]:
    """Check every item row and its two copies; returns the files accounted for."""
    rows = {r["item_id"]: r for r in c.items}
    listing = c.listing or []
    used: set[str] = set()
    for item_id in sorted(set(collected) - set(rows)):
        report.problems.append(Problem("item-removed", item_id, "the log records its collection"))
        _claim(item_id, collected[item_id]["location"], listing, used)
    for line in lost:
        if line["action"] == "collected" and line["item_id"] not in rows:
            report.problems.append(Problem(
                "item-removed", line["item_id"], f"committed as entry {line['seq']} (the signed "
                "journal records it) but missing from the database; its files are still here"))
            _claim(line["item_id"], line["file"], listing, used)
    for item_id, row in rows.items():
        entry = collected.get(item_id)
        if ("items", item_id) in c.unreadable:
            report.problems.append(Problem("item-altered", item_id,
                                           "a sealed field no longer opens"))
            continue
        trusted = (entry is not None and entry["sha256"] == row["sha256"]
                   and entry["location"] == row["evidentiary_path"]
                   and entry["row_hash"] == chain.item_hash(row))
        if not trusted:
            report.problems.append(Problem("item-altered", item_id,
                                           "its row disagrees with the log's collection entry"))
        if c.listing is None or c.names is None or c.copy_sha is None:
            continue
        recorded = entry["sha256"] if entry else row["sha256"]
        try:
            if not ITEM_ID.fullmatch(item_id):
                raise ValueError(item_id)
            paths = c.names({**row, "sha256": recorded})
        except ValueError:
            report.problems.append(Problem("item-altered", item_id,
                                           "its id or hash is not one the locker makes"))
            continue
        checks = [(paths[0], "file-changed", "file-missing")]
        if trusted:  # an edited row cannot say where its working copy is; the evidence can
            checks.append((paths[1], "working-copy-changed", "working-copy-missing"))
        else:
            _claim(item_id, paths[0], listing, used)
        for rel, changed, missing in checks:
            used.add(rel)
            status, value = c.copy_sha(rel)
            if status == "missing":
                report.problems.append(Problem(missing, item_id, rel))
            elif status == "not-a-file":
                report.problems.append(Problem("not-a-regular-file", item_id, f"{rel}: {value}"))
            elif status == "unreadable":
                report.problems.append(Problem(changed, item_id, f"{rel}: {value}"))
            elif value != recorded:
                report.problems.append(Problem(changed, item_id, f"{rel}: recorded "
                                               f"{recorded[:12]}…, now {value[:12]}…"))
    report.checked["items"] = len(rows)
    return used


def _check_records(c: Contents, added: dict[str, dict], lost: list[dict],
                   report: Report) -> None:
    rows = {r["record_id"]: r for r in c.records}
    for record_id in sorted(set(added) - set(rows)):
        report.problems.append(Problem("record-removed", record_id, "the log records its entry"))
    for line in lost:
        if line["action"] == "record-added" and line["item_id"] not in rows:
            report.problems.append(Problem(
                "record-removed", line["item_id"], f"committed as entry {line['seq']} (the "
                "signed journal records it) but missing from the database"))
    for record_id, row in sorted(rows.items()):
        entry = added.get(record_id)
        if ("incidents", record_id) in c.unreadable:
            report.problems.append(Problem("record-altered", record_id,
                                           "a sealed field no longer opens"))
        elif entry is None or entry["sha256"] != chain.record_hash(row):
            report.problems.append(Problem("record-altered", record_id,
                                           "it no longer matches the hash logged when entered"))
    report.checked["records"] = len(rows)


def check(c: Contents, anchor: tuple[int, str] | None = None) -> Report:
    report = Report()
    reported = _check_chain(c.entries, c.head_seq, c.head_hash, anchor, c.unreadable, report)
    lost = _check_journal(c, reported, report)
    collected = {e["item_id"]: e for e in c.entries if e["action"] == "collected"}
    added = {e["item_id"]: e for e in c.entries if e["action"] == "record-added"}
    used = _check_items(c, collected, lost, report)
    _check_records(c, added, lost, report)
    report.checked["log entries"] = len(c.entries)
    if c.listing is not None:
        report.stray = [rel for rel in c.listing if rel not in used]
    return report
