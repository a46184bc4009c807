"""The transitional-justice design: mechanisms for the scenario, the elements they serve, the
trade-offs the sources name, and feedback.

The mechanisms are data (``tj_mechanisms``); each serves zero or more of the four
:data:`ELEMENTS`. :func:`evaluate_design` checks a design (a list of mechanism ids) against the
``rebuilding_rules`` of tool ``justice``; each rule's logic is below, keyed by its id:

* ``element-uncovered``: some element is served by no chosen mechanism (one finding, all listed).
* ``trials-alone``: a mechanism serving justice, and none serving reparation.
* ``international-alone``: international justice with no national or local justice mechanism.
* ``institutions-to-build``: national prosecutions with no institutional reform or local justice.
* ``reconciliation-as-impunity``: a reconciliation campaign with no justice or no reparation.
* ``victims-excluded`` / ``defenders-exposed`` / ``no-return``: a non-empty design without
  victims' participation / defenders' protection / return and reintegration.
* ``amnesty-debate``: an amnesty is chosen. This is a **debate**, not a verdict: the finding sets
  out the positions of the 2007 forum, Rights for Peace and the Updated Set, attributed, and asks
  the trainee to argue their choice (``Finding.kind == "debate"``).
"""

from __future__ import annotations

from collections.abc import Iterable

import pandas as pd

from course.checks import require_columns
from course.rebuilding.feedback import Finding, finding, load_rules

ELEMENTS: tuple[str, ...] = ("truth", "justice", "reparation", "non-recurrence")
MECHANISM_COLUMNS = ("mechanism_id", "label", "description", "elements", "level", "strengths",
                     "tradeoffs", "source")
RULE_IDS = ("element-uncovered", "trials-alone", "international-alone", "institutions-to-build",
            "reconciliation-as-impunity", "victims-excluded", "defenders-exposed", "no-return",
            "amnesty-debate")
LOCAL_JUSTICE = ("national-prosecutions", "local-justice", "vetting")
INSTITUTION_BUILDING = ("institutional-reform", "local-justice")


def check_mechanisms(mechanisms: pd.DataFrame) -> pd.DataFrame:
    """The mechanisms indexed by id, with ``elements`` as tuples; ValueError on bad rows."""
    require_columns(mechanisms, MECHANISM_COLUMNS, "the mechanisms",
                    "load them with data.load('tj_mechanisms')")
    table = mechanisms.loc[:, list(MECHANISM_COLUMNS)].copy()
    if table["mechanism_id"].duplicated().any():
        raise ValueError("mechanism ids must be unique")
    parsed = []
    for mid, raw in zip(table["mechanism_id"], table["elements"], strict=True):
        elements = raw if isinstance(raw, tuple) else tuple(
            p.strip() for p in ("" if pd.isna(raw) else str(raw)).split(";") if p.strip())
        bad = [e for e in elements if e not in ELEMENTS]
        if bad:
            raise ValueError(f"mechanism {mid!r}: unknown element(s) {', '.join(bad)}; use "
                             f"{', '.join(ELEMENTS)}")
        parsed.append(elements)
    table["elements"] = pd.Series(parsed, index=table.index, dtype=object)
    return table.set_index("mechanism_id", drop=False)


def check_design(design, table: pd.DataFrame) -> tuple[str, ...]:
    """A design as a tuple of known mechanism ids, each once, in the order given."""
    if isinstance(design, str | bytes) or not isinstance(design, Iterable):
        raise ValueError("a design is a list of mechanism ids, e.g. ['national-prosecutions', "
                         "'reparations-programme']")
    ids = list(design)
    unknown = [m for m in ids if m not in table.index]
    if unknown:
        raise ValueError(f"unknown mechanism(s) {', '.join(map(repr, unknown))}: choose from "
                         f"{', '.join(table.index)}")
    return tuple(dict.fromkeys(ids))


def coverage(design, mechanisms: pd.DataFrame) -> pd.DataFrame:
    """For each element, the chosen mechanisms that serve it (labels) and how many."""
    table = check_mechanisms(mechanisms)
    chosen = check_design(design, table)
    rows = [{"element": e,
             "served_by": ", ".join(table.at[m, "label"] for m in chosen
                                    if e in table.at[m, "elements"]),
             "mechanisms": sum(e in table.at[m, "elements"] for m in chosen)} for e in ELEMENTS]
    return pd.DataFrame(rows).set_index("element")


def tradeoffs(design, mechanisms: pd.DataFrame) -> pd.DataFrame:
    """The chosen mechanisms with what they serve, their strengths and trade-offs, and sources."""
    table = check_mechanisms(mechanisms)
    chosen = list(check_design(design, table))
    out = table.loc[chosen, ["label", "elements", "strengths", "tradeoffs", "source"]].copy()
    out["elements"] = [", ".join(e) or "(the process)" for e in out["elements"]]
    return out.rename(columns={"elements": "serves"}).reset_index(drop=True)


def evaluate_design(design, mechanisms: pd.DataFrame, rules: pd.DataFrame) -> list[Finding]:
    """The findings for a design, in the rules' order (see the module docstring)."""
    by_id = load_rules(rules, "justice", RULE_IDS)
    table = check_mechanisms(mechanisms)
    chosen = check_design(design, table)
    serves = {e: [m for m in chosen if e in table.at[m, "elements"]] for e in ELEMENTS}
    has = set(chosen).__contains__
    found: list[Finding] = []
    uncovered = [e for e in ELEMENTS if not serves[e]]
    if uncovered:
        found.append(finding(by_id["element-uncovered"], uncovered,
                             f"Not served: {', '.join(uncovered)}."))
    if serves["justice"] and not serves["reparation"]:
        found.append(finding(by_id["trials-alone"], serves["justice"]))
    if has("international-justice") and not any(has(m) for m in LOCAL_JUSTICE):
        found.append(finding(by_id["international-alone"], ["international-justice"]))
    if has("national-prosecutions") and not any(has(m) for m in INSTITUTION_BUILDING):
        found.append(finding(by_id["institutions-to-build"], ["national-prosecutions"]))
    if has("reconciliation-campaign") and not (serves["justice"] and serves["reparation"]):
        lacking = [e for e in ("justice", "reparation") if not serves[e]]
        found.append(finding(by_id["reconciliation-as-impunity"], ["reconciliation-campaign"],
                             f"Nothing in the design serves {' or '.join(lacking)}."))
    if chosen:
        for rule_id, needed in (("victims-excluded", "victims-participation"),
                                ("defenders-exposed", "protect-defenders"),
                                ("no-return", "return-reintegration")):
            if not has(needed):
                found.append(finding(by_id[rule_id]))
    if has("amnesty"):
        found.append(finding(by_id["amnesty-debate"], ["amnesty"], kind="debate"))
    return found


class TransitionalJusticeDesign:
    """The design behind the widget: choose and drop mechanisms, read coverage and trade-offs,
    get feedback. Bad input raises ValueError with a message saying what to do."""

    def __init__(self, mechanisms: pd.DataFrame, rules: pd.DataFrame):
        self.mechanisms = check_mechanisms(mechanisms)
        load_rules(rules, "justice", RULE_IDS)
        self.rules = rules
        self.chosen: list[str] = []

    def choose(self, mechanism_id) -> None:
        check_design([mechanism_id], self.mechanisms)
        if mechanism_id in self.chosen:
            raise ValueError(f"{self.mechanisms.at[mechanism_id, 'label']!r} is already in the "
                             "design")
        self.chosen.append(mechanism_id)

    def drop(self, mechanism_id) -> None:
        if mechanism_id not in self.chosen:
            raise ValueError(f"{mechanism_id!r} is not in the design: nothing to drop")
        self.chosen.remove(mechanism_id)

    def reset(self) -> None:
        self.chosen = []

    def coverage(self) -> pd.DataFrame:
        return coverage(self.chosen, self.mechanisms)

    def tradeoffs(self) -> pd.DataFrame:
        return tradeoffs(self.chosen, self.mechanisms)

    def findings(self) -> list[Finding]:
        return evaluate_design(self.chosen, self.mechanisms, self.rules)
