"""Incident records in the who-did-what-to-whom shape, validated before anything is stored.

One record joins the HURIDOCS building blocks in a single row: the *event* (when, where), the
*act* (what, by category), the *victim* (which group, how many), the alleged *perpetrator* (what
kind), the *source* and the *information* it gave (testimony, document, …), and optionally an
*intervention* (who acted on the victims' behalf). Every problem in a record is reported at once,
so the documenter can fix them in one go.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping

from .vocab import VOCABULARIES, check_term

REQUIRED = ("event_start", "province_id", "act_type", "victim_group", "perpetrator_type",
            "source_id", "source_type", "information_type", "consent_recorded", "summary")
OPTIONAL = ("event_end", "received", "place_id", "victims_count", "report_ref", "witness_name",
            "confidential", "intervention")
MAX_SUMMARY = 600  # data minimisation: a short factual summary, not a transcript


class InvalidRecord(ValueError):
    """An incident record that cannot be stored; ``problems`` lists every reason."""

    def __init__(self, problems: list[str]):
        self.problems = problems
        super().__init__("The record was not saved: " + "; ".join(problems))


def _date(value: object, field: str, problems: list[str]) -> dt.date | None:
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(str(value).strip())
    except ValueError:
        problems.append(f"{field}: {value!r} is not a date; write it as YYYY-MM-DD")
        return None


def _blank(value: object) -> bool:
    return value is None or (isinstance(value, str) and not value.strip()) or value != value


def validate_incident(record: Mapping, vocabularies: dict | None = None) -> dict:
    """Check one record and return a clean copy (dates as ISO strings, text stripped).

    Raises InvalidRecord listing every problem: a missing required field, an unknown field,
    a term outside the vocabulary, a date that is not a date or an end before the start,
    a negative count, or testimony without recorded consent.
    """
    if not isinstance(record, Mapping):
        raise InvalidRecord([f"a record must be a mapping of field to value, not {type(record).__name__}"])
    problems: list[str] = []
    unknown = sorted(set(record) - set(REQUIRED) - set(OPTIONAL))
    if unknown:
        problems.append(f"unknown field(s) {', '.join(unknown)}: the locker stores only "
                        f"{', '.join(REQUIRED + OPTIONAL)}")
    clean = {f: record.get(f) for f in REQUIRED + OPTIONAL}
    for field in REQUIRED:
        if _blank(clean[field]):
            problems.append(f"{field} is required")
    for field in OPTIONAL:
        if _blank(clean[field]):
            clean[field] = None
    for field, value in clean.items():
        if isinstance(value, str):
            clean[field] = value.strip()

    for field in VOCABULARIES:
        if clean[field] is not None and (msg := check_term(field, clean[field], vocabularies)):
            problems.append(msg)

    dates = {f: _date(clean[f], f, problems) for f in ("event_start", "event_end", "received")
             if clean[f] is not None}
    start, end, received = (dates.get(f) for f in ("event_start", "event_end", "received"))
    if start and end and end < start:
        problems.append(f"event_end {end} is before event_start {start}; check the two dates")
    if start and received and received < start:
        problems.append(f"received {received} is before event_start {start}: "
                        "a report cannot arrive before the event began")
    for field, value in dates.items():
        clean[field] = value.isoformat() if value else clean[field]

    count = clean["victims_count"]
    if count is not None:
        if isinstance(count, bool) or not isinstance(count, int | float) or count != int(count) or count < 0:
            problems.append(f"victims_count must be a whole number of 0 or more (or left empty "
                            f"if unknown), not {count!r}")
        else:
            clean["victims_count"] = int(count)

    for flag, default in (("consent_recorded", None), ("confidential", True)):
        value = clean[flag]
        if value is None and default is not None:
            clean[flag] = default
        elif value is not None and not isinstance(value, bool):
            problems.append(f"{flag} must be True or False, not {value!r}")

    testimony = clean["information_type"] == "testimony" or clean["witness_name"]
    if testimony and clean["consent_recorded"] is not True:
        problems.append("testimony (or a witness's identity) can be recorded only with the "
                        "witness's informed consent: record consent first, or do not record it")

    summary = clean["summary"] or ""
    if len(summary) > MAX_SUMMARY:
        problems.append(f"summary is {len(summary)} characters; keep it under {MAX_SUMMARY} "
                        "(a factual summary, not a transcript)")
    name = clean["witness_name"]
    if name and name.casefold() in summary.casefold():
        problems.append("summary contains the witness's name; describe them by role instead")

    if problems:
        raise InvalidRecord(problems)
    return clean
