"""The limits of prediction: base rates, false alarms and missed warnings (Bayes' rule)."""

from __future__ import annotations

from collections.abc import Iterable

import pandas as pd


def _check_rate(value, name: str) -> float:
    try:
        rate = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a number between 0 and 1, not {value!r}.") from None
    if not 0 <= rate <= 1:
        raise ValueError(f"{name} must be between 0 and 1 (a share), not {value!r}.")
    return rate

def alarm_outcomes(
    cases: int, base_rate: float, hit_rate: float, false_alarm_rate: float
) -> pd.Series:
    """Expected outcomes when a warning rule is applied to ``cases`` countries (or provinces).

    ``base_rate``: share of cases where the event really begins; ``hit_rate``: share of those the
    rule warns about; ``false_alarm_rate``: share of the others it warns about all the same.
    Returns expected counts of warned events, missed events, false alarms and quiet non-events,
    plus ``alarms`` and ``share of alarms that were real`` (precision).
    """
    if int(cases) != cases or cases < 1:
        raise ValueError(f"cases must be a whole number of at least 1, not {cases!r}.")
    base = _check_rate(base_rate, "base_rate")
    hit = _check_rate(hit_rate, "hit_rate")
    false = _check_rate(false_alarm_rate, "false_alarm_rate")
    events, others = cases * base, cases * (1 - base)
    warned, false_alarms = events * hit, others * false
    alarms = warned + false_alarms
    return pd.Series({
        "cases": float(cases),
        "events": events,
        "warned events": warned,
        "missed events": events - warned,
        "false alarms": false_alarms,
        "quiet non-events": others - false_alarms,
        "alarms": alarms,
        "share of alarms that were real": warned / alarms if alarms else float("nan"),
    })

def precision(base_rate: float, hit_rate: float, false_alarm_rate: float) -> float:
    """Chance that a warning is followed by the event (Bayes' rule); NaN if nothing warns."""
    return float(alarm_outcomes(1, base_rate, hit_rate, false_alarm_rate)[
        "share of alarms that were real"])

def precision_by_base_rate(
    base_rates: Iterable[float], hit_rate: float, false_alarm_rate: float
) -> pd.DataFrame:
    """:func:`precision` for several base rates, with the false alarms per real warning."""
    rows = []
    for base in base_rates:
        share = precision(base, hit_rate, false_alarm_rate)
        rows.append({
            "base rate": _check_rate(base, "base_rate"),
            "share of alarms that were real": share,
            "false alarms per real warning": (1 - share) / share if share else float("inf"),
        })
    return pd.DataFrame(rows)
