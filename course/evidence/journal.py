"""The custody journal: a second, signed record of the custody log, kept beside the database.

The database can lose committed work without any error: its write-ahead log (``-wal`` file)
deleted or lost, the file truncated, an old copy put back. The journal is how the locker notices.
Every custody entry is written to it twice, one line each time, signed with an HMAC under a key
derived from the locker's key (so nobody without the key can write a line that checks out):

* ``P`` (pending), just before the database transaction commits;
* ``C`` (committed), just after it has.

So when the database ends at entry 12 and the journal has a ``C`` line for entry 15, entries
13-15 were committed and then lost: the locker says so, and names the items and records they
created, instead of calling their files "left by an interrupted add". A ``P`` line just past the
end with no ``C`` line is what a crash mid-add leaves, and is harmless. Lines are appended and
never rewritten; a torn line (a power cut in the middle of a write) is skipped and reported.

What it cannot catch: someone holding the key can rewrite the journal too; and if the database
*and* the journal are both rolled back to an older copy together, only an anchor kept somewhere
else (``Locker.head()``) shows it.
"""

from __future__ import annotations

import errno
import hashlib
import hmac
import json
import os
import stat
from dataclasses import dataclass, field
from pathlib import Path

from .files import LinkFound

NAME = "custody.journal"
LINE_FIELDS = ("kind", "seq", "entry_hash", "item_id", "action", "file")


@dataclass
class State:
    """What the journal says: every signed line, by custody sequence number."""
    exists: bool = False
    pending: dict[int, list[dict]] = field(default_factory=dict)
    committed: dict[int, dict] = field(default_factory=dict)
    forged: list[int] = field(default_factory=list)  # line numbers whose signature fails
    torn: list[int] = field(default_factory=list)  # line numbers that are not whole lines

    @property
    def last_seq(self) -> int:
        return max([*self.pending, *self.committed, 0])

    def lost_after(self, head_seq: int) -> list[int]:
        """Entries after ``head_seq`` that were committed: those with a ``C`` line, and any
        before a later entry's line (no writer starts an entry before the previous one has
        committed). A lone ``P`` line just after ``head_seq`` is an interrupted add."""
        tops = [s for s in self.committed if s > head_seq]
        tops += [s - 1 for s in self.pending if s > head_seq + 1]
        return list(range(head_seq + 1, max(tops, default=head_seq) + 1))

    def line(self, seq: int) -> dict | None:
        """The best description of entry ``seq``: its committed line, else its latest pending."""
        if seq in self.committed:
            return self.committed[seq]
        return self.pending[seq][-1] if seq in self.pending else None


class Journal:
    def __init__(self, path: Path, key: bytes):
        self.path = path
        self._key = hashlib.sha256(b"upstream-locker journal\0" + key).digest()

    def _sign(self, body: dict) -> str:
        text = json.dumps(body, sort_keys=True, separators=(",", ":"))
        return hmac.new(self._key, text.encode("utf-8"), hashlib.sha256).hexdigest()

    def _append(self, body: dict, sync: bool) -> None:
        line = json.dumps({**body, "mac": self._sign(body)}, sort_keys=True,
                          separators=(",", ":")).encode("utf-8") + b"\n"
        fd = self._open(os.O_RDWR | os.O_APPEND | os.O_CREAT)
        try:
            size = os.fstat(fd).st_size
            if size and os.pread(fd, 1, size - 1) != b"\n":
                line = b"\n" + line  # a torn line before this one stays on its own line
            os.write(fd, line)
            if sync:
                os.fsync(fd)
        finally:
            os.close(fd)

    def _open(self, flags: int) -> int:
        try:
            fd = os.open(self.path, flags | os.O_NOFOLLOW | os.O_NONBLOCK, 0o600)
        except OSError as exc:
            if exc.errno == errno.ELOOP:
                raise LinkFound(f"{self.path} is a link, not the locker's journal; the locker "
                                "does not follow it") from None
            raise
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            os.close(fd)
            raise LinkFound(f"{self.path} is not a file; the locker's journal must be one")
        return fd

    def pending(self, entry: dict, file: str = "") -> None:
        """Flushed to disk before the database commits: after a power cut, a committed entry
        always has its line (else the journal would seem to have lost it)."""
        self._append(self._body("P", entry, file), sync=True)

    def committed(self, entry: dict, file: str = "") -> None:
        """Not flushed: the database's commit is already durable; if a power cut loses this
        line, the entry still has its P line, which is all a whole database needs."""
        self._append(self._body("C", entry, file), sync=False)

    @staticmethod
    def _body(kind: str, entry: dict, file: str) -> dict:
        return {"kind": kind, "seq": int(entry["seq"]), "entry_hash": entry["entry_hash"],
                "item_id": entry["item_id"], "action": entry["action"], "file": file}

    def read(self) -> State:
        state = State()
        try:
            fd = self._open(os.O_RDONLY)
        except FileNotFoundError:
            return state
        with os.fdopen(fd, "rb") as f:
            lines = f.read().split(b"\n")
        state.exists = True
        for number, raw in enumerate(lines, start=1):
            if not raw.strip():
                continue
            try:
                data = json.loads(raw)
                body = {k: data[k] for k in LINE_FIELDS}
                mac = data["mac"]
                if data["kind"] not in ("P", "C") or not isinstance(data["seq"], int):
                    raise ValueError("shape")
            except (ValueError, KeyError, TypeError):
                state.torn.append(number)
                continue
            if not isinstance(mac, str) or not hmac.compare_digest(mac, self._sign(body)):
                state.forged.append(number)
                continue
            if body["kind"] == "C":
                state.committed[body["seq"]] = body
            else:
                state.pending.setdefault(body["seq"], []).append(body)
        return state
