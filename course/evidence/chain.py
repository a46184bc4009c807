"""The custody log's hash chain, as plain functions.

Each entry's hash covers its own fields *and* the previous entry's hash, so changing any entry
breaks every link after it unless the attacker rewrites the rest of the log too; keeping a copy
of the latest hash somewhere else (the "anchor") catches even that.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping

GENESIS = "0" * 64  # the "previous hash" of the very first entry

# The fields an entry's hash covers, in this order; nothing else in a row is trusted.
# ``row_hash`` is the hash of the item row or incident record the entry vouches for (see
# row_hash below), so every stored field of every row is bound into the chain.
FIELDS = ("seq", "utc", "item_id", "action", "handler", "source", "method", "sha256",
          "location", "note", "row_hash")


def canonical(data: Mapping) -> bytes:
    """A byte string that is identical for equal data, whatever the key order (sorted JSON)."""
    return json.dumps(dict(data), sort_keys=True, ensure_ascii=False,
                      separators=(",", ":"), default=str).encode("utf-8")


def row_hash(row: Mapping, id_field: str) -> str:
    """The SHA-256 of every stored field of a row except its id (which the custody entry that
    vouches for the row names itself): change any field and this changes."""
    fields = {k: row[k] for k in sorted(row) if k != id_field}
    return hashlib.sha256(canonical(fields)).hexdigest()


def record_hash(row: Mapping) -> str:
    """What the custody log stores for an incident record: the SHA-256 of its stored fields."""
    return row_hash(row, "record_id")


def item_hash(row: Mapping) -> str:
    """What the custody log stores for an item row: the SHA-256 of its stored fields."""
    return row_hash(row, "item_id")


def entry_hash(entry: Mapping, prev_hash: str) -> str:
    """The SHA-256 that links ``entry`` to the entry before it (whose hash is ``prev_hash``)."""
    missing = [f for f in FIELDS if f not in entry]
    if missing:
        raise ValueError(f"custody entry lacks field(s) {', '.join(missing)}; "
                         f"an entry needs {', '.join(FIELDS)}")
    body = {f: entry[f] for f in FIELDS}
    body["seq"] = int(body["seq"])
    return hashlib.sha256(prev_hash.encode("ascii") + canonical(body)).hexdigest()


def first_broken(entries: Iterable[Mapping]) -> int | None:
    """The ``seq`` of the first entry whose stored hash or link does not check out, or None.

    ``entries`` are mappings with the FIELDS plus ``prev_hash`` and ``entry_hash``, in log order.
    A missing entry shows up as a gap in ``seq``; the first missing number is returned.
    """
    prev, expected = GENESIS, 1
    for entry in entries:
        seq = int(entry["seq"])
        if seq != expected:
            return expected
        if entry["prev_hash"] != prev or entry_hash(entry, entry["prev_hash"]) != entry["entry_hash"]:
            # A good self-hash with a bad link means the entry before was edited and re-hashed.
            return seq if entry_hash(entry, entry["prev_hash"]) != entry["entry_hash"] else seq - 1
        prev, expected = entry["entry_hash"], seq + 1
    return None
