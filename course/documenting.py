"""Module 3 logic, documenting violations: from scenario reports to locker records, duplicates,
corroboration, and the plain objects behind the incident form and the locker desk (views in
course/widgets/documenting). ``course.documentation`` is an old name for this module.

The locker itself is :mod:`course.evidence`; this module is what the notebook and exercise do
with it and with the fictional scenario's incident reports.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Iterable, Mapping

import pandas as pd

from course.checks import require_columns
from course.evidence import VOCABULARIES, InvalidRecord, Locker, validate_incident
from course.evidence.pseudonyms import normalise_name

# How each kind of source gives us information (HURIDOCS links a source to an event "through
# information"). In the scenario, witnesses, community councils and local NGOs take testimony.
TESTIMONY_SOURCES = ("witness", "community-group", "local-ngo")
OTHER_INFORMATION = {"media": "media-report", "official": "document",
                     "humanitarian": "observation", "social-media": "open-source"}
RELIABILITY_ORDER = {"low": 0, "medium": 1, "high": 2}
REPORT_COLUMNS = ("report_id", "source_id", "event_start", "event_end", "place_id",
                  "victim_group", "perpetrator_type")
REPORTS_FIX = "load it with data.load('scenario_incident_reports')"


def report_to_record(report: Mapping, sources: pd.DataFrame) -> dict:
    """A scenario incident report as a locker record (not yet validated)."""
    known = sources.set_index("source_id")
    if report["source_id"] not in known.index:
        raise ValueError(f"report {report.get('report_id')} cites source {report['source_id']!r}, "
                         "which is not in the sources table")
    source_type = known.loc[report["source_id"], "source_type"]
    testimony = (bool(report["testimony"]) if "testimony" in report
                 else source_type in TESTIMONY_SOURCES)
    information = "testimony" if testimony else OTHER_INFORMATION.get(source_type, "document")
    keys = ("event_start", "event_end", "received", "province_id", "place_id", "act_type",
            "victim_group", "victims_count", "perpetrator_type", "source_id", "summary")
    record = {k: report[k] for k in keys if k in report}
    record.update(report_ref=report["report_id"], source_type=source_type,
                  information_type=information, consent_recorded=bool(report["consent_recorded"]))
    if "victims_count" in record:
        record["victims_count"] = int(record["victims_count"])
    return record


def screen_reports(reports: pd.DataFrame, sources: pd.DataFrame) -> pd.DataFrame:
    """Run every report through the locker's validation: report_id, accepted, problems."""
    rows = []
    for report in reports.to_dict("records"):
        try:
            validate_incident(report_to_record(report, sources))
            rows.append((report["report_id"], True, ""))
        except InvalidRecord as exc:
            rows.append((report["report_id"], False, "; ".join(exc.problems)))
    return pd.DataFrame(rows, columns=["report_id", "accepted", "problems"])


def import_reports(locker: Locker, reports: pd.DataFrame, sources: pd.DataFrame,
                   handler: str) -> pd.DataFrame:
    """Enter every acceptable report into the locker; refused ones are listed, not stored.
    Returns report_id, record_id (empty if refused) and the reason for each refusal."""
    rows = []
    for report in reports.to_dict("records"):
        try:
            record_id = locker.add_incident(report_to_record(report, sources), handler=handler)
            rows.append((report["report_id"], record_id, ""))
        except InvalidRecord as exc:
            rows.append((report["report_id"], "", "; ".join(exc.problems)))
    return pd.DataFrame(rows, columns=["report_id", "record_id", "refused_because"])


def bare_hash(name: str) -> str:
    """The SHA-256 of a (normalised) name, with no key: what *not* to use as a pseudonym."""
    return hashlib.sha256(normalise_name(name).encode("utf-8")).hexdigest()


def guess_from_bare_hash(digest: str, candidates: Iterable[str]) -> str | None:
    """Why a bare hash is not a pseudonym: try each likely name until one hashes to ``digest``."""
    return next((name for name in candidates if bare_hash(name) == digest), None)


def duplicate_pairs(reports: pd.DataFrame, window_days: int = 3) -> pd.DataFrame:
    """Pairs of reports from different sources that may describe the same event.

    Same place, same victim group, same alleged perpetrator type, start dates at most
    ``window_days`` apart. The act is *not* required to match: a source may name the same act
    differently (an official source calling a disappearance a detention). Each pair is a
    candidate for a person to check, not a conclusion.
    """
    require_columns(reports, REPORT_COLUMNS, "the reports table", REPORTS_FIX)
    if window_days < 0:
        raise ValueError(f"window_days must be 0 or more, not {window_days}")
    frame = reports.assign(_start=pd.to_datetime(reports["event_start"]))
    pairs = []
    for _, group in frame.groupby(["place_id", "victim_group", "perpetrator_type"], sort=True):
        rows = group.sort_values("_start").to_dict("records")
        for i, a in enumerate(rows):
            for b in rows[i + 1:]:
                if (b["_start"] - a["_start"]).days > window_days:
                    break
                if a["source_id"] != b["source_id"]:
                    first, second = sorted((a, b), key=lambda r: r["report_id"])
                    pairs.append(_pair(first, second))
    columns = ["report_a", "report_b", "source_a", "source_b", "days_apart", "differences"]
    return pd.DataFrame(pairs, columns=columns).sort_values(["report_a", "report_b"],
                                                            ignore_index=True)


def _pair(a: dict, b: dict) -> tuple:
    differences = [f"{field}: {a[field]} vs {b[field]}"
                   for field in ("act_type", "victims_count", "event_start")
                   if field in a and a[field] != b[field]]
    return (a["report_id"], b["report_id"], a["source_id"], b["source_id"],
            abs((b["_start"] - a["_start"]).days), "; ".join(differences) or "none")


def candidate_events(reports: pd.DataFrame, window_days: int = 3) -> pd.Series:
    """Group reports into candidate events (linked through duplicate pairs): report_id -> id."""
    parent = {r: r for r in reports["report_id"]}

    def root(r: str) -> str:
        while parent[r] != r:
            parent[r] = parent[parent[r]]
            r = parent[r]
        return r

    for a, b in duplicate_pairs(reports, window_days)[["report_a", "report_b"]].itertuples(index=False):
        parent[root(b)] = root(a)
    roots = {r: root(r) for r in parent}
    numbering = {rt: f"C{n:03d}" for n, rt in enumerate(sorted(set(roots.values())), start=1)}
    return pd.Series({r: numbering[rt] for r, rt in roots.items()}, name="event_id")


def corroboration(reports: pd.DataFrame, sources: pd.DataFrame,
                  event_column: str = "event_id") -> pd.DataFrame:
    """Per event: reports, sources, *independent* sources (distinct affiliations), the most
    reliable source's rating, and whether it is corroborated (2+ independent sources)."""
    require_columns(reports, (event_column, "source_id"), "the reports table", REPORTS_FIX)
    require_columns(sources, ("source_id", "affiliation", "reliability"), "the sources table",
                    "load it with data.load('scenario_sources')")
    unknown = sorted(set(reports["source_id"]) - set(sources["source_id"]))
    if unknown:
        raise ValueError(f"reports cite source(s) not in the sources table: {', '.join(unknown)}")
    joined = reports.merge(sources[["source_id", "affiliation", "reliability"]], on="source_id")
    joined["_rel"] = joined["reliability"].map(RELIABILITY_ORDER)
    table = joined.groupby(event_column).agg(
        reports=("source_id", "size"), sources=("source_id", "nunique"),
        independent_sources=("affiliation", "nunique"), best=("_rel", "max"))
    table["best_reliability"] = table.pop("best").map({v: k for k, v in RELIABILITY_ORDER.items()})
    table["corroborated"] = table["independent_sources"] >= 2
    return table.reset_index()


def incidents_by_province(reports: pd.DataFrame, events: pd.Series | None = None,
                          provinces: Iterable[str] | None = None) -> pd.Series:
    """Documented incidents per province: distinct (candidate) events, not raw reports, so a
    much-reported event is not counted three times. Provinces with none get 0 (default: every
    province of the scenario), so "nothing documented" is not mistaken for "no data"."""
    require_columns(reports, ("report_id", "province_id"), "the reports table", REPORTS_FIX)
    events = candidate_events(reports) if events is None else events
    if provinces is None:
        from course import data

        provinces = data.load("scenario_places")["province_id"].unique()
    frame = reports.assign(event_id=reports["report_id"].map(events))
    counts = frame.groupby("province_id")["event_id"].nunique().rename("incidents")
    index = sorted(set(provinces) | set(counts.index))
    return counts.reindex(index, fill_value=0).astype(int)


# -- plain logic behind the interactive pieces ----------------------------------------------------
class IncidentForm:
    """What the incident form does, without widgets: the choices it offers and saving a record."""

    def __init__(self, locker: Locker, provinces: Iterable[str] = (), places: Iterable[str] = ()):
        self.locker = locker
        self.provinces = tuple(provinces)
        self.places = tuple(places)

    def options(self, field: str) -> tuple[str, ...]:
        if field in VOCABULARIES:
            return tuple(VOCABULARIES[field])
        return {"province_id": self.provinces, "place_id": self.places}[field]

    def save(self, values: Mapping, handler: str) -> str:
        """Save the record; returns a confirmation. Raises ValueError saying what to fix."""
        record = {k: v for k, v in values.items() if v not in ("", None)}
        if "consent_recorded" not in record:
            record["consent_recorded"] = False
        for key in ("event_start", "event_end", "received"):
            if isinstance(record.get(key), dt.date):
                record[key] = record[key].isoformat()
        if self.provinces and record.get("province_id") not in (None, *self.provinces):
            raise ValueError(f"province_id {record['province_id']!r} is not a province of the "
                             "scenario; pick one from the list")
        record_id = self.locker.add_incident(record, handler=handler)
        who = " (witness stored only as a pseudonym)" if record.get("witness_name") else ""
        return f"Saved as {record_id}{who}. The custody log now ends at entry {self.locker.head().seq}."


class LockerDesk:
    """What the locker view does: add an uploaded file, check, demonstrate tampering, restore."""

    DEMO_EDIT = b"\n[annotation added to the working copy]\n"

    def __init__(self, locker: Locker, handler: str):
        if not isinstance(handler, str) or not handler.strip():
            raise ValueError("say who is handling the evidence (handler), e.g. 'Trainee 1'")
        self.locker = locker
        self.handler = handler.strip()

    def add_upload(self, filename: str, content: bytes, source: str, method: str) -> str:
        row = self.locker.add_bytes(content, filename, handler=self.handler, source=source,
                                    method=method)
        return (f"Collected {row['filename']} as {row['item_id']}: {row['size']} bytes, "
                f"SHA-256 {row['sha256']}.")

    def check(self) -> tuple[bool, str]:
        report = self.locker.verify()
        return report.intact, report.summary()

    def _known(self, item_id: str | None) -> str:
        if not item_id:
            raise ValueError("add a file to the locker first, then pick it")
        self.locker.item(item_id)  # raises a clear error for an unknown id
        return item_id

    def alter_working_copy(self, item_id: str | None) -> str:
        """The demonstration: change the working copy as an analyst might (an annotation)."""
        path = self.locker.working_copy(self._known(item_id))
        with open(path, "ab") as f:
            f.write(self.DEMO_EDIT)
        return f"Added a line to the working copy of {item_id}. Now run the check."

    def restore(self, item_id: str | None) -> str:
        self.locker.restore_working_copy(self._known(item_id), handler=self.handler,
                                         note="restored after the tamper demonstration")
        return f"Working copy of {item_id} restored from the evidentiary copy (and logged)."
