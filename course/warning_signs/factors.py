"""The UN Framework's 14 risk factors: numbers, groups (common or crime-specific) and names.

Factors 1-8 are common to all atrocity crimes; 9-14 are each specific to one crime.
"""

from __future__ import annotations

from collections.abc import Iterable

import pandas as pd

from course.checks import require_columns

# UN Framework of Analysis for Atrocity Crimes (2014): factors 1-8 are common to all atrocity
# crimes, 9-14 are specific to one crime each (reference/facts.md, section 2).
FACTORS = tuple(range(1, 15))

COMMON = tuple(range(1, 9))

SPECIFIC = {
    9: "genocide",
    10: "genocide",
    11: "crimes against humanity",
    12: "crimes against humanity",
    13: "war crimes",
    14: "war crimes",
}

# Groups in the order a summary lists them.
GROUPS = ("common", "genocide", "crimes against humanity", "war crimes")


def check_factor(factor) -> int:
    """The risk-factor number as an int, or a ValueError if it is not 1-14."""
    if isinstance(factor, bool):  # True == 1 in Python, but it is not a factor number
        raise ValueError(f"Risk factor {factor!r} is not a number; use 1 to 14.")
    try:
        number = int(factor)
    except (TypeError, ValueError):
        raise ValueError(f"Risk factor {factor!r} is not a number; use 1 to 14.") from None
    if number != factor and not (isinstance(factor, str) and factor.strip() == str(number)):
        raise ValueError(f"Risk factor {factor!r} is not a whole number; use 1 to 14.")
    if number not in FACTORS:
        raise ValueError(f"There is no risk factor {number}: the Framework has factors 1 to 14.")
    return number

def group_of(factor) -> str:
    """'common' for factors 1-8, else the crime the specific factor points to."""
    number = check_factor(factor)
    return "common" if number in COMMON else SPECIFIC[number]

def category_of(factor) -> str:
    """'common' (1-8) or 'specific' (9-14)."""
    return "common" if check_factor(factor) in COMMON else "specific"

def split_common_specific(factors: Iterable) -> dict[str, list[int]]:
    """Split factor numbers into {'common': [...], 'specific': [...]}, each sorted, no repeats."""
    numbers = sorted({check_factor(f) for f in factors})
    return {
        "common": [n for n in numbers if n in COMMON],
        "specific": [n for n in numbers if n not in COMMON],
    }

def by_group(factors_on: Iterable) -> pd.Series:
    """Count factors in each group (common, genocide, crimes against humanity, war crimes)."""
    numbers = {check_factor(f) for f in factors_on}
    counts = {g: sum(1 for n in numbers if group_of(n) == g) for g in GROUPS}
    return pd.Series(counts, name="factors present")

def factor_names(risk_factors: pd.DataFrame) -> dict[int, str]:
    """Factor number -> name, from the ``risk_factors`` reference table (checked for 1-14)."""
    require_columns(risk_factors, ["number", "name"], "the risk-factors table",
                    "load it with data.load('risk_factors')")
    names = {check_factor(n): str(name) for n, name in
             zip(risk_factors["number"], risk_factors["name"], strict=True)}
    missing = [n for n in FACTORS if n not in names]
    if missing:
        raise ValueError(f"The risk-factors table lacks factor(s) {missing}; "
                         "load it with course.data.load('risk_factors').")
    return names
