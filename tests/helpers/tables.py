"""Small hand-made tables in the course datasets' shapes, shared by several test files.

Built here, not loaded, so that expected numbers can be worked out by hand and the tests do not
move when the generated scenario changes. Every value is made up.
"""

import pandas as pd

MONTHS = ["2024-01", "2024-02", "2024-03", "2024-04"]

# indicator -> risk factor, threshold, direction
CATALOGUE = pd.DataFrame(
    {
        "indicator": ["hate_speech", "press_freedom", "armed_groups", "group_exclusion"],
        "label": ["Hate speech items", "Press freedom score", "Armed groups", "Exclusion index"],
        "unit": ["count", "score", "count", "index"],
        "risk_factor": [7, 3, 1, 9],
        "threshold": [5.0, 40.0, 2.0, 0.5],
        "direction": ["above", "below", "above", "above"],
        "description": ["d"] * 4,
    }
)

# P01 gets steadily worse; P02 stays calm; P03 has an indicator sitting exactly on a threshold.
VALUES = {
    "P01": {
        "hate_speech": [1, 6, 8, 9],
        "press_freedom": [60, 45, 35, 30],
        "armed_groups": [0, 1, 3, 4],
        "group_exclusion": [0.2, 0.6, 0.7, 0.8],
    },
    "P02": {
        "hate_speech": [0, 0, 1, 0],
        "press_freedom": [70, 72, 71, 69],
        "armed_groups": [0, 0, 0, 0],
        "group_exclusion": [0.1, 0.1, 0.1, 0.1],
    },
    "P03": {
        "hate_speech": [5, 5, 6, 2],  # exactly 5 is not above 5
        "press_freedom": [40, 39, 50, 50],  # exactly 40 is not below 40
        "armed_groups": [3, 3, 3, 0],
        "group_exclusion": [0.1, 0.1, 0.1, 0.1],
    },
}


def make_indicators() -> pd.DataFrame:
    rows = [
        (p, m, ind, float(vals[i]))
        for p, by_ind in VALUES.items()
        for ind, vals in by_ind.items()
        for i, m in enumerate(MONTHS)
    ]
    return pd.DataFrame(rows, columns=["province_id", "month", "indicator", "value"])


# Three of the Secretary-General's reports, with their themes in the ``sg_reports`` shape.
SG_REPORTS = pd.DataFrame({
    "year": [2010, 2009, 2024], "symbol": ["A/64/864", "A/63/677", "A/78/901"],
    "title": ["Early warning", "Implementing", "Commitment"],
    "themes": ["early warning", "pillars; implementation", "prevention;protection;early warning"],
})
