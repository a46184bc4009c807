"""The feedback rules (``r2p_rules``) and the one small evaluator each kind of rule has.

A rule names a ``kind`` and reads its ``trigger``, ``requires``, ``phase`` and ``minimum``
columns; ``trigger`` and ``requires`` hold selectors separated by ``;``: a measure id
(``peace-talks``) or ``column=value`` (``form=legal``, ``lever=economic``). The kinds are defined
precisely in the docstring of :mod:`course.r2p`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

import pandas as pd

from course.checks import require_columns
from course.r2p.plans import check_plan
from course.r2p.toolbox import PHASES, Toolbox, check_phase, split_cell

RULE_COLUMNS = ("rule_id", "kind", "title", "trigger", "requires", "phase", "minimum",
                "message", "advice", "source")


@dataclass(frozen=True)
class Rule:
    """One feedback rule, as read from ``r2p_rules`` (see the module docstring for the kinds)."""

    rule_id: str
    kind: str
    title: str
    trigger: tuple[str, ...]
    requires: tuple[str, ...]
    phase: str | None
    minimum: int
    message: str
    advice: str
    source: str

@dataclass(frozen=True)
class Finding:
    """A rule the plan breaks: what, why (with its source), what to do, and which steps.

    ``kind`` is ``"problem"`` for what the sources advise against, or ``"debate"`` for a choice on
    which the sources disagree (rule kind ``debate``): the finding then sets out the positions,
    attributed, and its advice asks the trainee to argue their choice; it is not a verdict.
    """

    rule_id: str
    title: str
    message: str
    advice: str
    source: str
    measures: tuple[str, ...] = ()
    detail: str = ""
    kind: str = "problem"

    def text(self) -> str:
        where = f" {self.detail}" if self.detail else ""
        if self.kind == "debate":
            return (f"To weigh: {self.title}.{where} {self.message} [{self.source}] "
                    f"Your turn: {self.advice}")
        return f"{self.title}.{where} {self.message} [{self.source}] What to do: {self.advice}"



# --- selectors: a measure id, or column=value ---------------------------------------------------

def _selector_ok(selector: str, table: pd.DataFrame) -> bool:
    if "=" in selector:
        column, _, _ = selector.partition("=")
        return column.strip() in table.columns and column.strip() != "phases"
    return selector in table.index

def _matches(selector: str, measure_id: str, table: pd.DataFrame) -> bool:
    if "=" not in selector:
        return measure_id == selector
    column, _, value = selector.partition("=")
    return str(table.at[measure_id, column.strip()]) == value.strip()

def _describe(selector: str) -> str:
    """A selector in words: 'form=legal' -> 'a measure whose form is legal'."""
    if "=" not in selector:
        return f"'{selector}'"
    column, _, value = selector.partition("=")
    return f"a measure whose {column.strip()} is {value.strip()}"

def _any_match(selectors: Sequence[str], measure_id: str, table: pd.DataFrame) -> bool:
    return any(_matches(s, measure_id, table) for s in selectors)


def check_rules(rules: pd.DataFrame, measures: pd.DataFrame | Toolbox) -> tuple[Rule, ...]:
    """The rules as :class:`Rule` objects, checked against the toolbox.

    Every kind must have an evaluator, every selector must name a measure or a toolbox column,
    and kinds that need a phase, a trigger or a minimum must have one.
    """
    require_columns(rules, RULE_COLUMNS, "the rules table", "load it with data.load('r2p_rules')")
    table = Toolbox.of(measures).table
    parsed = []
    for row in rules.loc[:, list(RULE_COLUMNS)].itertuples(index=False):
        where = f"rule {row.rule_id!r}"
        if row.kind not in EVALUATORS:
            raise ValueError(f"{where}: unknown kind {row.kind!r}; known kinds: "
                             f"{', '.join(sorted(EVALUATORS))}")
        phase = None if pd.isna(row.phase) or not str(row.phase).strip() else str(row.phase).strip()
        if phase is not None:
            check_phase(phase)
        minimum = 1 if pd.isna(row.minimum) else int(row.minimum)
        rule = Rule(str(row.rule_id), row.kind, str(row.title), split_cell(row.trigger),
                    split_cell(row.requires), phase, minimum, str(row.message), str(row.advice),
                    str(row.source))
        bad = [s for s in rule.trigger + rule.requires if not _selector_ok(s, table)]
        if bad:
            raise ValueError(f"{where}: selector(s) {', '.join(bad)} match no measure id or "
                             "toolbox column")
        needs = _NEEDS.get(rule.kind, ())
        lacking = [field for field in needs if not getattr(rule, field)]
        if lacking:
            raise ValueError(f"{where}: kind {rule.kind!r} needs {', '.join(lacking)}")
        if not str(rule.source).strip() or rule.source == "nan":
            raise ValueError(f"{where}: every rule must cite its source")
        parsed.append(rule)
    return tuple(parsed)


def _through_index(through: str | None) -> int:
    return len(PHASES) - 1 if through is None else PHASES.index(check_phase(through))

def _finding(rule: Rule, measures: Iterable[str] = (), detail: str = "",
             kind: str = "problem") -> Finding:
    ids = tuple(dict.fromkeys(measures))
    return Finding(rule.rule_id, rule.title, rule.message, rule.advice, rule.source, ids, detail,
                   kind)


# --- one evaluator per rule kind ----------------------------------------------------------------
# Each takes (rule, steps, table, through_index) and returns a Finding or None.

def _coercive_before_peaceful(rule, steps, table, through):
    tried, early = set(), []
    for step in steps:
        actor = table.at[step.measure_id, "actor"]
        if not table.at[step.measure_id, "coercive"]:
            tried.add(actor)
        elif actor not in tried:
            early.append(step.measure_id)
    if early:
        actors = ", ".join(dict.fromkeys(table.at[m, "actor"] for m in early))
        return _finding(rule, early, f"Actor(s): {actors}.")
    return None

def _requires_before(rule, steps, table, through):
    for number, step in enumerate(steps):
        if not _any_match(rule.trigger, step.measure_id, table):
            continue
        earlier = [s.measure_id for s in steps[:number]]
        missing = [sel for sel in rule.requires
                   if not any(_matches(sel, m, table) for m in earlier)]
        if missing:
            return _finding(rule, [step.measure_id],
                            f"Not used before it: {', '.join(map(_describe, missing))}.")
    return None

def _outnumbered(rule, steps, table, through):
    heavy = [s.measure_id for s in steps if _any_match(rule.trigger, s.measure_id, table)]
    light = [s.measure_id for s in steps if _any_match(rule.requires, s.measure_id, table)]
    if len(heavy) > len(light):
        return _finding(rule, heavy, f"{len(heavy)} matching {' or '.join(rule.trigger)} against "
                                     f"{len(light)} matching {' or '.join(rule.requires)}.")
    return None

def _needs_safeguard(rule, steps, table, through):
    unguarded = []
    for step in steps:
        if not _any_match(rule.trigger, step.measure_id, table):
            continue
        deadline = PHASES.index(rule.phase or step.phase)
        if deadline > through:
            continue  # the phase that could still bring the safeguard is not over
        guarded = any(_any_match(rule.requires, s.measure_id, table)
                      for s in steps if PHASES.index(s.phase) <= deadline)
        if not guarded:
            unguarded.append(step.measure_id)
    return _finding(rule, unguarded) if unguarded else None

def _debate(rule, steps, table, through):
    chosen = [s.measure_id for s in steps if _any_match(rule.trigger, s.measure_id, table)]
    return _finding(rule, chosen, kind="debate") if chosen else None

def _by_phase(rule, steps, table, through):
    deadline = PHASES.index(rule.phase)
    if deadline > through:
        return None
    count = sum(1 for s in steps if PHASES.index(s.phase) <= deadline
                and _any_match(rule.requires, s.measure_id, table))
    if count < rule.minimum:
        return _finding(rule, (), f"{count} of at least {rule.minimum} by the end of {rule.phase}.")
    return None

EVALUATORS: dict[str, Callable] = {
    "coercive-before-peaceful": _coercive_before_peaceful,
    "requires-before": _requires_before,
    "outnumbered": _outnumbered,
    "needs-safeguard": _needs_safeguard,
    "debate": _debate,
    "by-phase": _by_phase,
}

# The Rule fields each kind cannot do without.
_NEEDS = {
    "requires-before": ("trigger", "requires"),
    "outnumbered": ("trigger", "requires"),
    "needs-safeguard": ("trigger", "requires"),
    "debate": ("trigger",),
    "by-phase": ("requires", "phase"),
}


def evaluate(plan, measures: pd.DataFrame | Toolbox, rules, *, through: str | None = None) -> list[Finding]:
    """Findings for every rule the plan breaks, in the rules' order.

    ``rules`` is the ``r2p_rules`` table or rules from :func:`check_rules`. ``through`` is the
    last phase that is over (default: all of them, i.e. the plan is complete).
    """
    box = Toolbox.of(measures)
    if isinstance(rules, pd.DataFrame):
        rules = check_rules(rules, box)
    elif not all(isinstance(r, Rule) for r in rules):
        raise ValueError("rules must be the r2p_rules table (data.load('r2p_rules')) or the "
                         "result of r2p.check_rules")
    steps = check_plan(plan, box)
    last = _through_index(through)
    findings = [EVALUATORS[rule.kind](rule, steps, box.table, last) for rule in rules]
    return [f for f in findings if f is not None]


def violated_rules(plan, measures: pd.DataFrame | Toolbox, rules) -> list[str]:
    """The ids of the rules a complete plan breaks."""
    return [f.rule_id for f in evaluate(plan, measures, rules)]


def findings_table(findings: Iterable[Finding]) -> pd.DataFrame:
    """Findings as a plain table (rule, kind, what, which measures, source, what to do).

    ``kind`` is ``problem``, or ``debate`` where the sources disagree and the trainee argues."""
    rows = [{"rule_id": f.rule_id, "kind": f.kind, "problem": f.title,
             "measures": ", ".join(f.measures), "detail": f.detail, "source": f.source,
             "what to do": f.advice} for f in findings]
    return pd.DataFrame(rows, columns=["rule_id", "kind", "problem", "measures", "detail",
                                       "source", "what to do"])
