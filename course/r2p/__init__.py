"""Module 4 logic: the Responsibility to Protect and acting at each stage of a crisis.

Plain functions and one logic object, no ipywidgets (the views are in ``course/widgets/r2p.py``),
one module per concern; every name is also reachable as ``course.r2p.NAME``:

* ``toolbox`` - :class:`Toolbox`, the measures parsed once, and the phases, pillars and stages;
* ``simulator`` - :class:`ResponseSimulator`: the fictional scenario's crisis unfolds in four
  phases (:data:`PHASES`); in each the trainee chooses measures from the toolbox and, when a phase
  ends, gets feedback from rules grounded in the framework and the sources;
* ``rules`` - :func:`evaluate`, the rules run against a plan (used by the simulator and the
  exercise);
* ``plans`` - :func:`plan_summary`, :func:`ordering_problems`, :func:`order_plan`: reading and
  ordering a plan;
* ``places`` - :func:`measures_per_province`, :func:`measure_places`: where the chosen measures
  apply (drawn by :func:`measure_map`, in ``course.maps.response_plan``);
* ``reports`` - :func:`report_themes`, :func:`reports_for_theme`: the Secretary-General's reports.

Functions that take ``measures`` accept the ``r2p_measures`` table or a :class:`Toolbox`.

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
* ``debate``: any ``trigger`` step, for a choice on which the sources disagree: the finding
  (``kind == "debate"``) sets out the positions, attributed, instead of a verdict.
* ``by-phase``: fewer than ``minimum`` steps matching ``requires`` by the end of ``phase``.

Rules that look at the end of a phase are judged only once that phase is over (``through``).
"""

from course.r2p.places import PLACE_COLUMNS, measure_places, measures_per_province, province_ids
from course.r2p.plans import (
    Step,
    check_plan,
    order_plan,
    ordering_problems,
    plan_summary,
    plan_table,
)
from course.r2p.reports import report_themes, reports_for_theme
from course.r2p.rules import (
    EVALUATORS,
    RULE_COLUMNS,
    Finding,
    Rule,
    check_rules,
    evaluate,
    findings_table,
    violated_rules,
)
from course.r2p.simulator import ResponseSimulator
from course.r2p.toolbox import (
    MEASURE_COLUMNS,
    PHASE_TITLES,
    PHASES,
    PILLAR_NAMES,
    PILLARS,
    STAGES,
    Toolbox,
    check_available,
    check_measures,
    check_phase,
)

__all__ = [
    "EVALUATORS", "MEASURE_COLUMNS", "PHASES", "PHASE_TITLES", "PILLARS", "PILLAR_NAMES",
    "PLACE_COLUMNS", "RULE_COLUMNS", "STAGES", "Finding", "ResponseSimulator", "Rule", "Step",
    "Toolbox", "check_available", "check_measures", "check_phase", "check_plan", "check_rules",
    "evaluate", "findings_table", "measure_map", "measure_places", "measures_per_province",
    "order_plan", "ordering_problems", "plan_summary", "plan_table", "province_ids",
    "report_themes", "reports_for_theme", "violated_rules",
]


def __getattr__(name: str):
    if name == "measure_map":  # drawn in the view layer; folium is imported only to draw it
        from course.maps.response_plan import measure_map

        return measure_map
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
