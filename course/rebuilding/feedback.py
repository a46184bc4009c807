"""Feedback shared by the planner and the design: rules read from ``rebuilding_rules``."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import pandas as pd

from course.checks import require_columns

RULE_COLUMNS = ("rule_id", "tool", "title", "message", "advice", "source")
TOOLS = ("reparations", "justice")


@dataclass(frozen=True)
class Finding:
    """What a plan or design should look at again: the rule, why (with its source), what to do.

    ``kind`` is ``"problem"`` for something the sources advise against, or ``"debate"`` for a
    question on which the sources disagree: the finding then sets out the positions, attributed,
    and asks the trainee to argue their own choice instead of giving a verdict.
    ``subjects`` are the groups or mechanisms concerned; ``detail`` says how the rule applies.
    """

    rule_id: str
    title: str
    message: str
    advice: str
    source: str
    subjects: tuple[str, ...] = ()
    detail: str = ""
    kind: str = "problem"

    def text(self) -> str:
        where = f" {self.detail}" if self.detail else ""
        lead = "To weigh: " if self.kind == "debate" else ""
        return f"{lead}{self.title}.{where} {self.message} [{self.source}] What to do: {self.advice}"


def load_rules(rules: pd.DataFrame, tool: str, known: Iterable[str]) -> dict[str, dict]:
    """The rules for one tool, keyed by rule_id, checked: every rule the code knows is present,
    none is unknown, and each cites a source."""
    if tool not in TOOLS:
        raise ValueError(f"tool must be one of {', '.join(TOOLS)}, not {tool!r}")
    require_columns(rules, RULE_COLUMNS, "the rules", "load them with data.load('rebuilding_rules')")
    table = rules[rules["tool"] == tool]
    by_id = {str(r["rule_id"]): {c: str(r[c]) for c in RULE_COLUMNS}
             for r in table.to_dict("records")}
    known = set(known)
    lacking = sorted(known - set(by_id))
    if lacking:
        raise ValueError(f"the {tool} rules lack {', '.join(lacking)}: use "
                         "data.load('rebuilding_rules')")
    unknown = sorted(set(by_id) - known)
    if unknown:
        raise ValueError(f"no logic for {tool} rule(s) {', '.join(unknown)}")
    for rule_id, rule in by_id.items():
        if not rule["source"].strip() or rule["source"] == "nan":
            raise ValueError(f"rule {rule_id!r}: every rule must cite its source")
    return by_id


def finding(rule: dict, subjects: Iterable[str] = (), detail: str = "",
            kind: str = "problem") -> Finding:
    return Finding(rule["rule_id"], rule["title"], rule["message"], rule["advice"],
                   rule["source"], tuple(dict.fromkeys(subjects)), detail, kind)


def findings_table(findings: Iterable[Finding]) -> pd.DataFrame:
    """Findings as a table: one row each (rule, kind, what it concerns, source)."""
    rows = [{"rule_id": f.rule_id, "kind": f.kind, "title": f.title,
             "concerns": ", ".join(f.subjects), "detail": f.detail, "source": f.source}
            for f in findings]
    return pd.DataFrame(rows, columns=["rule_id", "kind", "title", "concerns", "detail", "source"])
