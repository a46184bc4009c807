"""Module 5 logic: rebuilding after atrocities — reparation, transitional justice, the aftermath.

Plain functions and logic objects, no ipywidgets (the views are in ``course/widgets/rebuilding.py``):

* :mod:`.reparations` — the claims the fictional scenario's record supports (:func:`claims`) and
  the :class:`ReparationsPlanner`: who is owed which form of reparation, from whom, in what order,
  with feedback grounded in the Basic Principles (A/RES/60/147) and the 2007 forum.
* :mod:`.justice` — the :class:`TransitionalJusticeDesign`: mechanisms chosen for the scenario,
  which of the four elements (truth, justice, reparation, non-recurrence) they serve, the
  trade-offs the sources name, and feedback; the amnesty question is presented as a debate.
* :mod:`.aftermath` — displacement by province over the crisis, and returns, for the offline map.

The reference tables are data in ``course/datasets`` (``reparation_forms``,
``transitional_justice_elements``, ``tj_mechanisms``, ``reparation_harms``, ``rebuilding_rules``),
each row citing its source; the rules' logic is keyed here by ``rule_id``.
"""

from course.rebuilding.aftermath import (
    AFTERMATH_MEASURES,
    aftermath_map,
    displacement_by_province,
)
from course.rebuilding.feedback import Finding, findings_table, load_rules
from course.rebuilding.justice import (
    ELEMENTS,
    TransitionalJusticeDesign,
    check_mechanisms,
    coverage,
    evaluate_design,
    tradeoffs,
)
from course.rebuilding.reparations import (
    CONTINUING_HARMS,
    FORMS,
    PROVIDERS,
    TRANCHES,
    Award,
    ReparationsPlanner,
    claims,
    evaluate_reparations,
    who_gets_what,
)

__all__ = [
    "AFTERMATH_MEASURES",
    "CONTINUING_HARMS",
    "ELEMENTS",
    "FORMS",
    "PROVIDERS",
    "TRANCHES",
    "Award",
    "Finding",
    "ReparationsPlanner",
    "TransitionalJusticeDesign",
    "aftermath_map",
    "check_mechanisms",
    "claims",
    "coverage",
    "displacement_by_province",
    "evaluate_design",
    "evaluate_reparations",
    "findings_table",
    "load_rules",
    "tradeoffs",
    "who_gets_what",
]
