"""The response simulator: the crisis unfolds in four phases; the trainee chooses measures from the
toolbox; when a phase ends, the rules give feedback (the view is ``course.widgets.r2p``)."""

from __future__ import annotations

import pandas as pd

from course.r2p.plans import Step, plan_summary, plan_table
from course.r2p.rules import Finding, Rule, check_rules, evaluate
from course.r2p.toolbox import PHASES, Toolbox


class ResponseSimulator:
    """The crisis in phases; the trainee chooses measures; rules give feedback as phases end.

    A measure may be chosen once per phase (again in a later phase if it is still available).
    Choices in the current phase can be withdrawn; earlier phases are history.
    """

    def __init__(self, measures: pd.DataFrame | Toolbox, rules: pd.DataFrame,
                 timeline: pd.DataFrame | None = None):
        self.toolbox = Toolbox.of(measures)
        self.measures = self.toolbox.table  # the parsed table, indexed by measure_id
        self.rules = check_rules(rules, self.toolbox)
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
        return self.toolbox.available_in(self.phase)[["label", "pillar", "actor", "stage",
                                                       "coercive", "description", "source"]]

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
        self.toolbox.check_available(measure_id, self.phase)
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
        findings = evaluate(self._steps, self.toolbox, self.rules, through=ended)
        self.feedback_by_phase[ended] = findings
        if self._phase == len(PHASES) - 1:
            self._finished = True
        else:
            self._phase += 1
        return findings

    def feedback(self) -> list[Finding]:
        """Feedback on the plan so far, judging only the phases that are over."""
        if self._finished:
            return evaluate(self._steps, self.toolbox, self.rules)
        if self._phase == 0:
            # no phase is over: only the rules that look at single steps can speak
            return [f for f in evaluate(self._steps, self.toolbox, self.rules,
                                        through=PHASES[0])
                    if self._rule(f.rule_id).kind not in ("by-phase", "needs-safeguard")]
        return evaluate(self._steps, self.toolbox, self.rules, through=PHASES[self._phase - 1])

    def _rule(self, rule_id: str) -> Rule:
        return next(r for r in self.rules if r.rule_id == rule_id)

    def measure_ids(self) -> list[str]:
        """The measures chosen so far, each once, in the order first chosen (for the map)."""
        return list(dict.fromkeys(s.measure_id for s in self._steps))

    def summary(self) -> pd.DataFrame:
        return plan_summary(self._steps, self.toolbox)

    def plan(self) -> pd.DataFrame:
        return plan_table(self._steps, self.toolbox)

    def reset(self) -> None:
        self._phase, self._finished, self._steps = 0, False, []
        self.feedback_by_phase = {}
