"""The reparations programme planner: who is owed which form, from whom, in what order.

The **claims** come from the fictional scenario's own record (:func:`claims`): each harm in the
incident reports (their ``act_type``), plus two harms the timeline records (a discriminatory land
law; defenders, journalists and opposition members targeted), defines a group of victims; the
reference table ``reparation_harms`` says which forms of reparation each harm calls for.

A **plan** is a set of :class:`Award` (harm, form, provider, tranche) plus two facts about how it
was made: whether victims' groups and defenders were consulted, and whether it was designed with
gender in mind. :func:`evaluate_reparations` checks a plan against the rules of
``rebuilding_rules`` (tool ``reparations``); each rule's logic is below, keyed by its id:

* ``group-left-out``: a harm in the claims with no award at all.
* ``state-duty``: a harm all of whose awards come from providers other than the State.
* ``central-form-missing``: a harm lacking one of its central forms (one finding, every gap listed).
* ``money-only``: a harm whose only form is compensation.
* ``no-non-repetition``: no award anywhere of guarantees of non-repetition (plan not empty).
* ``continuing-harm-late``: a continuing harm (:data:`CONTINUING_HARMS`) with an award, but none
  in the first tranche.
* ``not-gender-specific`` / ``victims-not-consulted``: the plan's two facts are not true.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import pandas as pd

from course.checks import require_columns
from course.rebuilding.feedback import Finding, finding, load_rules

# The five forms of reparation of the Basic Principles (A/RES/60/147, paras 19-23), in their order.
FORMS: tuple[str, ...] = ("restitution", "compensation", "rehabilitation", "satisfaction",
                          "non-repetition")
PROVIDERS = {
    "state": "The State, through a national programme",
    "liable-parties": "Those a court finds liable",
    "international": "International partners and funds",
}
TRANCHES = {1: "first six months", 2: "within two years", 3: "later"}
# Harms still going on while the plan is drawn up: families do not know where the disappeared
# are; people forced from home have not returned.
CONTINUING_HARMS: tuple[str, ...] = ("enforced-disappearance", "forced-displacement")
# Harms the scenario's timeline records rather than its incident reports: harm -> months.
TIMELINE_HARMS = {
    "discriminatory-law": ("2023-07", "2025-04"),
    "targeting-of-defenders": ("2023-06", "2024-04"),
}
RULE_IDS = ("group-left-out", "state-duty", "central-form-missing", "money-only",
            "no-non-repetition", "continuing-harm-late", "not-gender-specific",
            "victims-not-consulted")
CLAIM_COLUMNS = ["harm", "group_label", "central_forms", "evidence", "reports", "provinces",
                 "source"]


def _split(value) -> tuple[str, ...]:
    if value is None or (not isinstance(value, str | tuple) and pd.isna(value)):
        return ()
    if isinstance(value, tuple):
        return value
    return tuple(p.strip() for p in str(value).split(";") if p.strip())


def claims(reports: pd.DataFrame, timeline: pd.DataFrame, harms: pd.DataFrame) -> pd.DataFrame:
    """One row per group of victims the scenario's record shows, indexed by ``harm``.

    Columns: ``group_label``; ``central_forms`` (a tuple of forms); ``evidence`` (what in the
    record shows the harm); ``reports`` (incident reports naming it, 0 for timeline harms);
    ``provinces`` (where it was reported); ``source`` (why those forms). Reports are counted as
    received: one event may be reported several times, and few reports are corroborated.
    """
    require_columns(reports, ("act_type", "province_id"), "the incident reports",
          "load them with data.load('scenario_incident_reports')")
    require_columns(timeline, ("month", "headline"), "the timeline", "load it with data.load('scenario_timeline')")
    require_columns(harms, ("harm", "group_label", "central_forms", "source"), "the harms table",
                    "load it with data.load('reparation_harms')")
    table = harms.set_index("harm")
    bad = sorted({f for forms in table["central_forms"] for f in _split(forms)} - set(FORMS))
    if bad:
        raise ValueError(f"unknown form(s) {', '.join(bad)}: use {', '.join(FORMS)}")
    headlines = timeline.set_index("month")["headline"]
    rows = []
    for act, part in reports.groupby("act_type", sort=True):
        if act not in table.index:
            raise ValueError(f"act type {act!r} has no row in reparation_harms: add one")
        provinces = ", ".join(sorted(part["province_id"].astype(str).unique()))
        rows.append({"harm": act, "evidence": f"{len(part)} incident report(s) in {provinces}",
                     "reports": len(part), "provinces": provinces})
    for harm, months in TIMELINE_HARMS.items():
        if harm not in table.index:
            continue
        said = "; ".join(f"{m}: {headlines[m]}" for m in months if m in headlines.index)
        if said:
            rows.append({"harm": harm, "evidence": f"timeline {said}", "reports": 0,
                         "provinces": "country-wide"})
    out = pd.DataFrame(rows).set_index("harm")
    out["group_label"] = [table.at[h, "group_label"] for h in out.index]
    out["central_forms"] = [_split(table.at[h, "central_forms"]) for h in out.index]
    out["source"] = [table.at[h, "source"] for h in out.index]
    return out[CLAIM_COLUMNS[1:]]


@dataclass(frozen=True)
class Award:
    """One form of reparation for one group (harm), from one provider, in one tranche."""

    harm: str
    form: str
    provider: str = "state"
    tranche: int = 1


def check_award(award, claim_table: pd.DataFrame) -> Award:
    """An :class:`Award` (or a (harm, form[, provider[, tranche]]) tuple), checked."""
    if isinstance(award, Award):
        fields = (award.harm, award.form, award.provider, award.tranche)
    elif isinstance(award, tuple | list) and 2 <= len(award) <= 4:
        fields = tuple(award) + ("state", 1)[len(award) - 2:]
    else:
        raise ValueError(f"an award is (harm, form, provider, tranche), not {award!r}")
    harm, form, provider, tranche = fields
    if harm not in claim_table.index:
        raise ValueError(f"unknown group {harm!r}: choose a harm from the claims table "
                         f"({', '.join(claim_table.index)})")
    if form not in FORMS:
        raise ValueError(f"unknown form {form!r}: use one of {', '.join(FORMS)}")
    if provider not in PROVIDERS:
        raise ValueError(f"unknown provider {provider!r}: use one of {', '.join(PROVIDERS)}")
    if isinstance(tranche, bool) or tranche not in TRANCHES:
        raise ValueError(f"tranche must be 1, 2 or 3 ({', '.join(TRANCHES.values())}), "
                         f"not {tranche!r}")
    return Award(harm, form, provider, int(tranche))


def evaluate_reparations(awards: Iterable, claim_table: pd.DataFrame, rules: pd.DataFrame, *,
                         consulted: bool = False, gender_specific: bool = False) -> list[Finding]:
    """The findings for a plan, in the rules' order (see the module docstring)."""
    by_id = load_rules(rules, "reparations", RULE_IDS)
    if isinstance(awards, str | bytes) or not isinstance(awards, Iterable):
        raise ValueError("awards are a list of Award or (harm, form, provider, tranche) tuples")
    plan = [check_award(a, claim_table) for a in awards]
    for flag, name in ((consulted, "consulted"), (gender_specific, "gender_specific")):
        if not isinstance(flag, bool):
            raise ValueError(f"{name} must be True or False, not {flag!r}")
    given: dict[str, list[Award]] = {h: [] for h in claim_table.index}
    for a in plan:
        given[a.harm].append(a)
    label = claim_table["group_label"]
    found: list[Finding] = []

    left_out = [h for h, got in given.items() if not got]
    if left_out:
        found.append(finding(by_id["group-left-out"], left_out,
                             "Left out: " + "; ".join(label[h] for h in left_out) + "."))
    not_state = [h for h, got in given.items() if got and all(a.provider != "state" for a in got)]
    if not_state:
        found.append(finding(by_id["state-duty"], not_state,
                             "For: " + "; ".join(label[h] for h in not_state) + "."))
    gaps = {h: [f for f in claim_table.at[h, "central_forms"] if f not in {a.form for a in got}]
            for h, got in given.items() if got}
    gaps = {h: g for h, g in gaps.items() if g}
    if gaps:
        found.append(finding(by_id["central-form-missing"], gaps,
                             " ".join(f"{label[h]}: {', '.join(g)}." for h, g in gaps.items())))
    money = [h for h, got in given.items() if got and {a.form for a in got} == {"compensation"}]
    if money:
        found.append(finding(by_id["money-only"], money,
                             "For: " + "; ".join(label[h] for h in money) + "."))
    if plan and not any(a.form == "non-repetition" for a in plan):
        found.append(finding(by_id["no-non-repetition"]))
    late = [h for h in CONTINUING_HARMS if given.get(h) and all(a.tranche > 1 for a in given[h])]
    if late:
        found.append(finding(by_id["continuing-harm-late"], late,
                             "Not in the first tranche: " + "; ".join(label[h] for h in late)
                             + "."))
    if not gender_specific:
        found.append(finding(by_id["not-gender-specific"]))
    if not consulted:
        found.append(finding(by_id["victims-not-consulted"]))
    return found


def who_gets_what(awards: Iterable, claim_table: pd.DataFrame) -> pd.DataFrame:
    """The plan as a grid: one row per group, one column per form; each cell names the provider
    and tranche ("state, 1"), or is empty."""
    plan = [check_award(a, claim_table) for a in awards]
    grid = pd.DataFrame("", index=claim_table.index, columns=list(FORMS))
    for a in plan:
        grid.at[a.harm, a.form] = f"{a.provider}, {a.tranche}"
    grid.insert(0, "group", claim_table["group_label"])
    return grid


class ReparationsPlanner:
    """The planner behind the widget: add and remove awards, state how the plan was made, and
    get feedback. Bad input raises ValueError with a message saying what to do."""

    def __init__(self, claim_table: pd.DataFrame, forms: pd.DataFrame, rules: pd.DataFrame):
        require_columns(claim_table, ("group_label", "central_forms"), "the claims",
                        "make them with rebuilding.claims(...)")
        require_columns(forms, ("form", "label", "asks_of_state", "source"), "the forms of reparation",
                        "load them with data.load('reparation_forms')")
        load_rules(rules, "reparations", RULE_IDS)  # fail now, not at the first feedback
        self.claims, self.rules = claim_table, rules
        self.forms = forms.set_index("form")
        self.reset()

    def reset(self) -> None:
        self._awards: dict[tuple[str, str], Award] = {}
        self.consulted = False
        self.gender_specific = False

    @property
    def awards(self) -> tuple[Award, ...]:
        return tuple(self._awards.values())

    def add(self, harm, form, provider="state", tranche=1) -> Award:
        """Give ``harm``'s group ``form`` from ``provider`` in ``tranche``; replaces an earlier
        award of the same form to the same group."""
        award = check_award((harm, form, provider, tranche), self.claims)
        self._awards[(award.harm, award.form)] = award
        return award

    def remove(self, harm, form) -> None:
        if (harm, form) not in self._awards:
            raise ValueError(f"the plan gives no {form!r} to {harm!r}: nothing to remove")
        del self._awards[(harm, form)]

    def set_process(self, *, consulted: bool, gender_specific: bool) -> None:
        for flag, name in ((consulted, "consulted"), (gender_specific, "gender_specific")):
            if not isinstance(flag, bool):
                raise ValueError(f"{name} must be True or False, not {flag!r}")
        self.consulted, self.gender_specific = consulted, gender_specific

    def findings(self) -> list[Finding]:
        return evaluate_reparations(self.awards, self.claims, self.rules,
                                    consulted=self.consulted,
                                    gender_specific=self.gender_specific)

    def grid(self) -> pd.DataFrame:
        return who_gets_what(self.awards, self.claims)

    def form_text(self, form: str) -> str:
        if form not in self.forms.index:
            raise ValueError(f"unknown form {form!r}: use one of {', '.join(FORMS)}")
        row = self.forms.loc[form]
        return f"{row['label']}: {row['asks_of_state']} [{row['source']}]"
