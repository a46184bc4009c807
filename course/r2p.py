"""Module 4 logic: the Responsibility to Protect and acting at each stage of a crisis.

Plain functions and one logic object, no ipywidgets (the views are in ``course/widgets/r2p.py``):

* :class:`ResponseSimulator` - the fictional scenario's crisis unfolds in four phases
  (:data:`PHASES`); in each the trainee chooses measures from a toolbox and, when a phase ends,
  gets feedback from rules grounded in the framework and the sources.
* :func:`evaluate` - the rules, run against a plan (used by the simulator and the exercise).
* :func:`plan_summary`, :func:`ordering_problems`, :func:`order_plan` - reading and ordering a plan.
* :func:`measures_per_province`, :func:`measure_places` - where the chosen measures apply (map).
* :func:`report_themes`, :func:`reports_for_theme` - the Secretary-General's reports by theme.

The toolbox and the rules are data, not code: ``r2p_measures`` and ``r2p_rules`` in
``course/datasets``, each row citing its source. A rule names a ``kind``; each kind has one
small evaluator below (:data:`EVALUATORS`) and reads the rule's ``trigger``, ``requires``,
``phase`` and ``minimum`` columns. ``trigger`` and ``requires`` hold selectors separated by ``;``:
a measure id (``peace-talks``) or ``column=value`` (``form=legal``, ``lever=economic``).

Kinds, precisely (a "step" is one measure chosen in one phase; a plan is steps in the order
they were chosen, phases never going backwards):

* ``coercive-before-peaceful``: a coercive step whose actor has no non-coercive step before it.
* ``requires-before``: a ``trigger`` step before which some selector in ``requires`` has no match.
* ``outnumbered``: more steps match ``trigger`` than match ``requires``.
* ``needs-safeguard``: a ``trigger`` step with no ``requires`` step by the end of ``phase``
  (when blank: by the end of the trigger's own phase).
* ``avoid``: any ``trigger`` step.
* ``by-phase``: fewer than ``minimum`` steps matching ``requires`` by the end of ``phase``.

Rules that look at the end of a phase are judged only once that phase is over (``through``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

import pandas as pd

PHASES: tuple[str, ...] = ("rising-risk", "escalation", "atrocities", "aftermath")
PHASE_TITLES = {
    "rising-risk": "Risk is rising",
    "escalation": "Escalation",
    "atrocities": "Atrocities under way",
    "aftermath": "Aftermath",
}
PILLARS: tuple[str, ...] = ("I", "II", "III")
# The three pillars as the Secretary-General set them out in 2009 (A/63/677), in the course's words.
PILLAR_NAMES = {
    "I": "The State's own responsibility to protect",
    "II": "International assistance and capacity-building",
    "III": "Timely and decisive response",
}
# The 2007 forum's three stages, named by what one does in them.
STAGES: tuple[str, ...] = ("prevent", "react", "rebuild")
MEASURE_COLUMNS = ("measure_id", "label", "description", "pillar", "actor", "stage", "coercive",
                   "lever", "form", "phases", "where", "source")
RULE_COLUMNS = ("rule_id", "kind", "title", "trigger", "requires", "phase", "minimum",
                "message", "advice", "source")
_TRUE = {"true", "1", "yes"}
_FALSE = {"false", "0", "no", ""}


# --- checking input -----------------------------------------------------------------------------

def check_phase(phase) -> str:
    """A phase name, or a ValueError listing the four phases."""
    if phase not in PHASES:
        raise ValueError(f"unknown phase {phase!r}: use one of {', '.join(PHASES)}")
    return phase


def _missing_columns(frame, needed: Iterable[str], what: str, hint: str) -> None:
    if not isinstance(frame, pd.DataFrame):
        raise ValueError(f"expected the {what} as a pandas DataFrame, e.g. {hint}")
    missing = [c for c in needed if c not in frame.columns]
    if missing:
        raise ValueError(f"the {what} lack column(s) {', '.join(missing)}; load them with {hint}")


def _as_bool(value, where: str) -> bool:
    if isinstance(value, bool):
        return value
    text = "" if pd.isna(value) else str(value).strip().lower()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise ValueError(f"{where}: {value!r} is not true or false")


def _split(value) -> tuple[str, ...]:
    """A ``;``-separated cell as a tuple of stripped, non-empty parts (blank -> empty tuple)."""
    if value is None or (not isinstance(value, str) and pd.isna(value)):
        return ()
    return tuple(part.strip() for part in str(value).split(";") if part.strip())


def check_measures(measures: pd.DataFrame) -> pd.DataFrame:
    """The toolbox indexed by ``measure_id``, with ``coercive`` as bool and ``phases`` as tuples.

    Raises a ValueError naming the row and the problem for a bad pillar, stage, phase or flag.
    """
    _missing_columns(measures, MEASURE_COLUMNS, "measures", "data.load('r2p_measures')")
    table = measures.loc[:, list(MEASURE_COLUMNS)].reset_index(drop=True)
    table["measure_id"] = table["measure_id"].astype(str).str.strip()
    if table["measure_id"].duplicated().any():
        dupes = sorted(set(table.loc[table["measure_id"].duplicated(), "measure_id"]))
        raise ValueError(f"measure ids must be unique; repeated: {', '.join(dupes)}")
    for column in ("lever", "form"):
        table[column] = table[column].fillna("").astype(str).str.strip()
    coercive, phases = [], []
    for row in table.itertuples(index=False):
        where = f"measure {row.measure_id!r}"
        if row.pillar not in PILLARS:
            raise ValueError(f"{where}: pillar {row.pillar!r} is not one of {', '.join(PILLARS)}")
        if row.stage not in STAGES:
            raise ValueError(f"{where}: stage {row.stage!r} is not one of {', '.join(STAGES)}")
        own = row.phases if isinstance(row.phases, tuple) else _split(row.phases)
        if not own or any(p not in PHASES for p in own):
            raise ValueError(f"{where}: phases {row.phases!r} must list phases from "
                             f"{', '.join(PHASES)}, separated by ';'")
        phases.append(own)
        coercive.append(_as_bool(row.coercive, where))
    table["coercive"] = pd.Series(coercive, index=table.index, dtype=bool)
    table["phases"] = pd.Series(phases, index=table.index, dtype=object)
    return table.set_index("measure_id", drop=False)


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
class Step:
    """One measure chosen in one phase."""

    phase: str
    measure_id: str


@dataclass(frozen=True)
class Finding:
    """A rule the plan breaks: what, why (with its source), what to do, and which steps."""

    rule_id: str
    title: str
    message: str
    advice: str
    source: str
    measures: tuple[str, ...] = ()
    detail: str = ""

    def text(self) -> str:
        where = f" {self.detail}" if self.detail else ""
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


def check_rules(rules: pd.DataFrame, measures: pd.DataFrame) -> tuple[Rule, ...]:
    """The rules as :class:`Rule` objects, checked against the toolbox.

    Every kind must have an evaluator, every selector must name a measure or a toolbox column,
    and kinds that need a phase, a trigger or a minimum must have one.
    """
    _missing_columns(rules, RULE_COLUMNS, "rules", "data.load('r2p_rules')")
    table = check_measures(measures)
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
        rule = Rule(str(row.rule_id), row.kind, str(row.title), _split(row.trigger),
                    _split(row.requires), phase, minimum, str(row.message), str(row.advice),
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


# --- plans --------------------------------------------------------------------------------------

def check_plan(plan, measures: pd.DataFrame) -> tuple[Step, ...]:
    """A plan as steps, checked: known measures, each available in its phase, phases in order.

    ``plan`` may be a DataFrame with ``phase`` and ``measure_id`` columns, or an iterable of
    :class:`Step` or ``(phase, measure_id)`` pairs.
    """
    table = measures if "phases" in measures and _parsed(measures) else check_measures(measures)
    if isinstance(plan, pd.DataFrame):
        _missing_columns(plan, ("phase", "measure_id"), "plan",
                         "a table with one row per chosen measure")
        pairs = list(zip(plan["phase"], plan["measure_id"], strict=True))
    elif isinstance(plan, str | bytes) or not isinstance(plan, Iterable):
        raise ValueError("a plan is a list of (phase, measure_id) pairs or a DataFrame with "
                         "'phase' and 'measure_id' columns")
    else:
        pairs = [(s.phase, s.measure_id) if isinstance(s, Step) else tuple(s) for s in plan]
    steps, last = [], 0
    for number, pair in enumerate(pairs, start=1):
        if len(pair) != 2:
            raise ValueError(f"step {number}: expected (phase, measure_id), got {pair!r}")
        phase, measure_id = pair
        check_phase(phase)
        check_available(measure_id, phase, table)
        if PHASES.index(phase) < last:
            raise ValueError(f"step {number} ({measure_id}) is in {phase!r}, after a later phase: "
                             "list the steps in the order the phases happen")
        last = PHASES.index(phase)
        steps.append(Step(phase, measure_id))
    return tuple(steps)


def _parsed(measures: pd.DataFrame) -> bool:
    return len(measures) > 0 and isinstance(measures["phases"].iloc[0], tuple)


def check_available(measure_id, phase: str, table: pd.DataFrame) -> None:
    """Raise a ValueError if the measure is unknown, or not in the toolbox for this phase."""
    if measure_id not in table.index:
        raise ValueError(f"unknown measure {measure_id!r}: choose a measure_id from the toolbox "
                         "(data.load('r2p_measures'))")
    if phase not in table.at[measure_id, "phases"]:
        allowed = ", ".join(table.at[measure_id, "phases"])
        raise ValueError(f"{measure_id!r} is not available in the {phase!r} phase "
                         f"(it is available in: {allowed})")


def _through_index(through: str | None) -> int:
    return len(PHASES) - 1 if through is None else PHASES.index(check_phase(through))


def _finding(rule: Rule, measures: Iterable[str] = (), detail: str = "") -> Finding:
    ids = tuple(dict.fromkeys(measures))
    return Finding(rule.rule_id, rule.title, rule.message, rule.advice, rule.source, ids, detail)


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


def _avoid(rule, steps, table, through):
    chosen = [s.measure_id for s in steps if _any_match(rule.trigger, s.measure_id, table)]
    return _finding(rule, chosen) if chosen else None


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
    "avoid": _avoid,
    "by-phase": _by_phase,
}
# The Rule fields each kind cannot do without.
_NEEDS = {
    "requires-before": ("trigger", "requires"),
    "outnumbered": ("trigger", "requires"),
    "needs-safeguard": ("trigger", "requires"),
    "avoid": ("trigger",),
    "by-phase": ("requires", "phase"),
}


def evaluate(plan, measures: pd.DataFrame, rules, *, through: str | None = None) -> list[Finding]:
    """Findings for every rule the plan breaks, in the rules' order.

    ``rules`` is the ``r2p_rules`` table or rules from :func:`check_rules`. ``through`` is the
    last phase that is over (default: all of them, i.e. the plan is complete).
    """
    table = check_measures(measures)
    if isinstance(rules, pd.DataFrame):
        rules = check_rules(rules, measures)
    elif not all(isinstance(r, Rule) for r in rules):
        raise ValueError("rules must be the r2p_rules table (data.load('r2p_rules')) or the "
                         "result of r2p.check_rules")
    steps = check_plan(plan, table)
    last = _through_index(through)
    findings = [EVALUATORS[rule.kind](rule, steps, table, last) for rule in rules]
    return [f for f in findings if f is not None]


def violated_rules(plan, measures: pd.DataFrame, rules) -> list[str]:
    """The ids of the rules a complete plan breaks."""
    return [f.rule_id for f in evaluate(plan, measures, rules)]


def findings_table(findings: Iterable[Finding]) -> pd.DataFrame:
    """Findings as a plain table (rule, what, which measures, source, what to do)."""
    rows = [{"rule_id": f.rule_id, "problem": f.title, "measures": ", ".join(f.measures),
             "detail": f.detail, "source": f.source, "what to do": f.advice} for f in findings]
    return pd.DataFrame(rows, columns=["rule_id", "problem", "measures", "detail", "source",
                                       "what to do"])


def plan_table(plan, measures: pd.DataFrame) -> pd.DataFrame:
    """One row per step with the measure's tags, numbered from 1."""
    table = check_measures(measures)
    steps = check_plan(plan, table)
    columns = ["label", "pillar", "actor", "stage", "coercive"]
    rows = [{"step": n, "phase": s.phase, "measure_id": s.measure_id,
             **{c: table.at[s.measure_id, c] for c in columns}}
            for n, s in enumerate(steps, start=1)]
    return pd.DataFrame(rows, columns=["step", "phase", "measure_id", *columns])


def plan_summary(plan, measures: pd.DataFrame) -> pd.DataFrame:
    """Counts of the plan's steps by pillar (rows) and stage (columns), with totals.

    Every pillar and stage appears, with 0 where the plan has none: the gaps are the point.
    """
    steps = plan_table(plan, measures)
    counts = pd.crosstab(steps["pillar"], steps["stage"]) if len(steps) else pd.DataFrame()
    counts = counts.reindex(index=list(PILLARS), columns=list(STAGES), fill_value=0).astype(int)
    counts["total"] = counts.sum(axis=1)
    counts.loc["total"] = counts.sum(axis=0)
    counts.index.name, counts.columns.name = "pillar", "stage"
    return counts


# --- ordering: peaceful means before coercion, per actor ----------------------------------------

def _ids(measure_ids, table: pd.DataFrame) -> list[str]:
    if isinstance(measure_ids, str) or not isinstance(measure_ids, Iterable):
        raise ValueError("expected a list of measure ids, e.g. ['private-diplomacy', "
                         "'targeted-sanctions']")
    ids = list(measure_ids)
    for m in ids:
        if m not in table.index:
            raise ValueError(f"unknown measure {m!r}: choose a measure_id from the toolbox "
                             "(data.load('r2p_measures'))")
    return ids


def ordering_problems(measure_ids, measures: pd.DataFrame) -> list[tuple[str, str, str]]:
    """Every (coercive, peaceful, actor) where a coercive measure comes before a peaceful one
    of the same actor in the list."""
    table = check_measures(measures)
    ids = _ids(measure_ids, table)
    problems = []
    for i, first in enumerate(ids):
        if not table.at[first, "coercive"]:
            continue
        actor = table.at[first, "actor"]
        problems += [(first, later, actor) for later in ids[i + 1:]
                     if table.at[later, "actor"] == actor and not table.at[later, "coercive"]]
    return problems


def order_plan(measure_ids, measures: pd.DataFrame) -> list[str]:
    """The same measures, reordered so that each actor's peaceful measures come before its
    coercive ones.

    Each actor keeps the positions its measures had; within those, its peaceful measures go
    first, then its coercive ones, each in their original order. Other actors do not move.
    """
    table = check_measures(measures)
    ids = _ids(measure_ids, table)
    queues: dict[str, list[str]] = {}
    for actor in dict.fromkeys(table.at[m, "actor"] for m in ids):
        own = [m for m in ids if table.at[m, "actor"] == actor]
        queues[actor] = ([m for m in own if not table.at[m, "coercive"]]
                         + [m for m in own if table.at[m, "coercive"]])
    return [queues[table.at[m, "actor"]].pop(0) for m in ids]


# --- the simulator ------------------------------------------------------------------------------

class ResponseSimulator:
    """The crisis in phases; the trainee chooses measures; rules give feedback as phases end.

    A measure may be chosen once per phase (again in a later phase if it is still available).
    Choices in the current phase can be withdrawn; earlier phases are history.
    """

    def __init__(self, measures: pd.DataFrame, rules: pd.DataFrame,
                 timeline: pd.DataFrame | None = None):
        self.measures = check_measures(measures)
        self.rules = check_rules(rules, measures)
        self.timeline = timeline
        self._phase = 0
        self._finished = False
        self._steps: list[Step] = []
        self.feedback_by_phase: dict[str, list[Finding]] = {}

    @property
    def phase(self) -> str:
        return PHASES[self._phase]

    @property
    def finished(self) -> bool:
        return self._finished

    @property
    def steps(self) -> tuple[Step, ...]:
        return tuple(self._steps)

    def current_choices(self) -> list[str]:
        return [s.measure_id for s in self._steps if s.phase == self.phase]

    def available(self) -> pd.DataFrame:
        """The toolbox for the current phase."""
        mask = self.measures["phases"].map(lambda phases: self.phase in phases)
        return self.measures.loc[mask, ["label", "pillar", "actor", "stage", "coercive",
                                        "description", "source"]]

    def headlines(self) -> list[str]:
        """The scenario's (fictional) headlines for the current phase, if a timeline was given."""
        if self.timeline is None:
            return []
        rows = self.timeline[self.timeline["phase"] == self.phase]
        return [f"{r.month}: {r.headline}" for r in rows.itertuples(index=False)]

    def _open(self) -> None:
        if self._finished:
            raise ValueError("the simulation is over: call reset() to plan again")

    def choose(self, measure_id: str) -> Step:
        self._open()
        check_available(measure_id, self.phase, self.measures)
        if measure_id in self.current_choices():
            raise ValueError(f"{measure_id!r} is already in your plan for this phase")
        step = Step(self.phase, measure_id)
        self._steps.append(step)
        return step

    def withdraw(self, measure_id: str) -> None:
        self._open()
        if measure_id not in self.current_choices():
            raise ValueError(f"{measure_id!r} is not among this phase's choices, so there is "
                             "nothing to withdraw (earlier phases cannot be changed)")
        self._steps.remove(Step(self.phase, measure_id))

    def advance(self) -> list[Finding]:
        """End the current phase; return the feedback that holds once it is over."""
        self._open()
        ended = self.phase
        findings = evaluate(self._steps, self.measures, self.rules, through=ended)
        self.feedback_by_phase[ended] = findings
        if self._phase == len(PHASES) - 1:
            self._finished = True
        else:
            self._phase += 1
        return findings

    def feedback(self) -> list[Finding]:
        """Feedback on the plan so far, judging only the phases that are over."""
        if self._finished:
            return evaluate(self._steps, self.measures, self.rules)
        if self._phase == 0:
            # no phase is over: only the rules that look at single steps can speak
            return [f for f in evaluate(self._steps, self.measures, self.rules,
                                        through=PHASES[0])
                    if self._rule(f.rule_id).kind not in ("by-phase", "needs-safeguard")]
        return evaluate(self._steps, self.measures, self.rules, through=PHASES[self._phase - 1])

    def _rule(self, rule_id: str) -> Rule:
        return next(r for r in self.rules if r.rule_id == rule_id)

    def measure_ids(self) -> list[str]:
        """The measures chosen so far, each once, in the order first chosen (for the map)."""
        return list(dict.fromkeys(s.measure_id for s in self._steps))

    def summary(self) -> pd.DataFrame:
        return plan_summary(self._steps, self.measures)

    def plan(self) -> pd.DataFrame:
        return plan_table(self._steps, self.measures)

    def reset(self) -> None:
        self._phase, self._finished, self._steps = 0, False, []
        self.feedback_by_phase = {}


# --- where measures apply (for the map) ---------------------------------------------------------

def measure_places(measure_ids, measures: pd.DataFrame, places: pd.DataFrame) -> pd.DataFrame:
    """The places where each chosen measure applies (measures whose ``where`` is a place kind).

    Country-wide measures (``where`` = ``country``) have no single place and are left out here;
    :func:`measures_per_province` counts them in every province.
    """
    table = check_measures(measures)
    ids = list(dict.fromkeys(_ids(measure_ids, table)))
    _missing_columns(places, ("place_id", "name", "province_id", "kind", "x", "y"), "places",
                     "data.load('scenario_places')")
    rows = []
    for m in ids:
        kind = table.at[m, "where"]
        for place in places[places["kind"] == kind].itertuples(index=False):
            rows.append({"measure_id": m, "label": table.at[m, "label"],
                         "place_id": place.place_id, "place": place.name,
                         "province_id": place.province_id, "kind": kind,
                         "x": place.x, "y": place.y})
    return pd.DataFrame(rows, columns=["measure_id", "label", "place_id", "place", "province_id",
                                       "kind", "x", "y"])


def measures_per_province(measure_ids, measures: pd.DataFrame, places: pd.DataFrame,
                          province_ids: Iterable[str]) -> pd.Series:
    """How many of the chosen measures reach each province: country-wide ones reach all, the
    others reach the provinces that hold a place of their kind."""
    table = check_measures(measures)
    ids = list(dict.fromkeys(_ids(measure_ids, table)))
    provinces = list(province_ids)
    counts = pd.Series(0, index=pd.Index(provinces, name="province_id"), dtype=int)
    located = measure_places(ids, measures, places)
    for m in ids:
        if table.at[m, "where"] == "country":
            counts += 1
        else:
            reached = set(located.loc[located["measure_id"] == m, "province_id"])
            counts += counts.index.isin(reached).astype(int)
    return counts.rename("measures")


# --- the Secretary-General's reports ------------------------------------------------------------

def _themes_of(cell) -> list[str]:
    return list(_split(cell))


def report_themes(reports: pd.DataFrame) -> list[str]:
    """Every theme named in the reports' ``themes`` column (``;``-separated), sorted."""
    _missing_columns(reports, ("year", "symbol", "title", "themes"), "reports",
                     "data.load('sg_reports')")
    return sorted({t for cell in reports["themes"] for t in _themes_of(cell)})


def reports_for_theme(reports: pd.DataFrame, theme: str | None = None) -> pd.DataFrame:
    """The reports, by year, that carry ``theme`` (all of them when theme is None or 'all')."""
    known = report_themes(reports)
    ordered = reports.sort_values("year")
    if theme in (None, "all"):
        return ordered.reset_index(drop=True)
    if theme not in known:
        raise ValueError(f"no report has the theme {theme!r}; themes: {', '.join(known)}")
    mask = ordered["themes"].map(lambda cell: theme in _themes_of(cell))
    return ordered[mask].reset_index(drop=True)


def province_ids(provinces: dict) -> list[str]:
    """The ``province_id`` of every feature in the provinces GeoJSON, in file order."""
    try:
        return [str(f["properties"]["province_id"]) for f in provinces["features"]]
    except (KeyError, TypeError):
        raise ValueError("expected the provinces GeoJSON, e.g. data.load('scenario_provinces')") \
            from None


def measure_map(measure_ids, measures: pd.DataFrame, places: pd.DataFrame, provinces: dict,
                *, title: str = "Where the plan's measures apply"):
    """An offline map: provinces shaded by how many chosen measures reach them, with the camps,
    crossings and towns that place-bound measures target marked on top."""
    from course import maps  # imported here: the logic above needs no map library

    counts = measures_per_province(measure_ids, measures, places, province_ids(provinces))
    view = maps.scenario_choropleth(counts, title=title, legend_title="measures",
                                    caption="Country-wide measures count in every province.")
    located = measure_places(measure_ids, measures, places)
    if len(located):
        maps.add_points(view, located, label="place", columns=["label"])
    return view
