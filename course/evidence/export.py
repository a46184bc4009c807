"""The redacted export: what may leave the locker.

An allow-list, not a block-list: a field is shared only if it is named here, so a column added
later stays private until someone decides otherwise (data minimisation by default). Nothing that
identifies a witness, a source or a documenter goes out: no names (they are never stored), no
pseudonyms (they would let outsiders link a witness's statements), no source ids, no handlers,
no file names. Confidential records lose their place and summary as well.
"""

from __future__ import annotations

import pandas as pd

ITEM_FIELDS = ("item_id", "sha256", "size", "added_utc", "method")
RECORD_FIELDS = ("record_id", "event_start", "event_end", "province_id", "act_type",
                 "victim_group", "victims_count", "perpetrator_type", "source_type",
                 "information_type")
OPEN_RECORD_FIELDS = ("place_id", "summary")  # shared only when the record is not confidential


def _plain(value):
    return None if pd.isna(value) else (value.item() if hasattr(value, "item") else value)


def redacted(items: pd.DataFrame, incidents: pd.DataFrame, head) -> dict:
    records = []
    for row in incidents.to_dict("records"):
        out = {f: _plain(row[f]) for f in RECORD_FIELDS}
        for f in OPEN_RECORD_FIELDS:
            out[f] = "[withheld: confidential]" if row["confidential"] else _plain(row[f])
        records.append(out)
    return {
        "notice": "Redacted export of an evidence locker: no witness, source or handler "
                  "identities. Hashes let a recipient check items they are later given.",
        "custody_head": {"seq": head.seq, "entry_hash": head.entry_hash},
        "items": [{f: _plain(r[f]) for f in ITEM_FIELDS} for r in items.to_dict("records")],
        "incidents": records,
    }
