"""Plans: the steps a trainee chose, checked, tabulated by pillar and stage, and put in order.

A plan is a list of (phase, measure_id) steps, or a DataFrame with those two columns, in the order
they were chosen; phases never go backwards.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import pandas as pd

from course.checks import require_columns
from course.r2p.toolbox import PHASES, PILLARS, STAGES, Toolbox, check_phase


@dataclass(frozen=True)
class Step:
    """One measure chosen in one phase."""

    phase: str
    measure_id: str


def check_plan(plan, measures: pd.DataFrame | Toolbox) -> tuple[Step, ...]:
    """A plan as steps, checked: known measures, each available in its phase, phases in order.

    ``plan`` may be a DataFrame with ``phase`` and ``measure_id`` columns, or an iterable of
    :class:`Step` or ``(phase, measure_id)`` pairs.
    """
    box = Toolbox.of(measures)
    if isinstance(plan, pd.DataFrame):
        require_columns(plan, ("phase", "measure_id"), "the plan",
                        "give it one row per chosen measure")
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
        box.check_available(measure_id, phase)
        if PHASES.index(phase) < last:
            raise ValueError(f"step {number} ({measure_id}) is in {phase!r}, after a later phase: "
                             "list the steps in the order the phases happen")
        last = PHASES.index(phase)
        steps.append(Step(phase, measure_id))
    return tuple(steps)


def plan_table(plan, measures: pd.DataFrame | Toolbox) -> pd.DataFrame:
    """One row per step with the measure's tags, numbered from 1."""
    box = Toolbox.of(measures)
    steps = check_plan(plan, box)
    columns = ["label", "pillar", "actor", "stage", "coercive"]
    rows = [{"step": n, "phase": s.phase, "measure_id": s.measure_id,
             **{c: box.at(s.measure_id, c) for c in columns}}
            for n, s in enumerate(steps, start=1)]
    return pd.DataFrame(rows, columns=["step", "phase", "measure_id", *columns])


def plan_summary(plan, measures: pd.DataFrame | Toolbox) -> pd.DataFrame:
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

def ordering_problems(measure_ids, measures: pd.DataFrame | Toolbox) -> list[tuple[str, str, str]]:
    """Every (coercive, peaceful, actor) where a coercive measure comes before a peaceful one
    of the same actor in the list."""
    box = Toolbox.of(measures)
    ids = box.ids(measure_ids)
    problems = []
    for i, first in enumerate(ids):
        if not box.at(first, "coercive"):
            continue
        actor = box.at(first, "actor")
        problems += [(first, later, actor) for later in ids[i + 1:]
                     if box.at(later, "actor") == actor and not box.at(later, "coercive")]
    return problems


def order_plan(measure_ids, measures: pd.DataFrame | Toolbox) -> list[str]:
    """The same measures, reordered so that each actor's peaceful measures come before its
    coercive ones.

    Each actor keeps the positions its measures had; within those, its peaceful measures go
    first, then its coercive ones, each in their original order. Other actors do not move.
    """
    box = Toolbox.of(measures)
    ids = box.ids(measure_ids)
    queues: dict[str, list[str]] = {}
    for actor in dict.fromkeys(box.at(m, "actor") for m in ids):
        own = [m for m in ids if box.at(m, "actor") == actor]
        queues[actor] = ([m for m in own if not box.at(m, "coercive")]
                         + [m for m in own if box.at(m, "coercive")])
    return [queues[box.at(m, "actor")].pop(0) for m in ids]
