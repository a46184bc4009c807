"""Time in the fictional country: months, phases, how risk builds per province, indicator series.

Risk is driven by one number per province and month, the *intensity* (0 calm .. 1 worst). It builds
in P07, then P06, then P03 (the at-risk provinces) through the phases, and stays low elsewhere.
P02 has a short flare-up of two indicators in 2024 that does not spread: a deliberate distractor,
so that one indicator crossing its threshold is not mistaken for a pattern.
"""

from __future__ import annotations

import random

from tools.scenario.world import uniform

START_YEAR, N_MONTHS = 2023, 30

# (first month index, phase); a phase lasts until the next one starts.
PHASES = [(0, "rising-risk"), (12, "escalation"), (20, "atrocities"), (25, "aftermath")]

AT_RISK = {"P07": (0, 1.0), "P06": (1, 0.9), "P03": (3, 0.7)}  # province -> (lag in months, peak)
CALM = {"P01": 0.06, "P02": 0.1, "P04": 0.12, "P05": 0.05, "P08": 0.09}
DISTRACTOR = ("P02", (14, 15), ("trigger_events", "armed_clashes"))

# Country-level intensity path: (month index, intensity), linear in between.
PATH = [(0, 0.12), (11, 0.45), (19, 0.8), (22, 1.0), (24, 1.0), (29, 0.35)]


def months() -> list[str]:
    return [f"{START_YEAR + t // 12}-{t % 12 + 1:02d}" for t in range(N_MONTHS)]


def phase(t: int) -> str:
    return [name for start, name in PHASES if start <= t][-1]


def _path(t: float) -> float:
    if t <= PATH[0][0]:
        return PATH[0][1]
    for (t0, v0), (t1, v1) in zip(PATH, PATH[1:], strict=False):
        if t <= t1:
            return v0 + (v1 - v0) * (t - t0) / (t1 - t0)
    return PATH[-1][1]


def intensity(province_id: str, t: int) -> float:
    if province_id in AT_RISK:
        lag, peak = AT_RISK[province_id]
        return round(peak * _path(t - lag), 4)
    return CALM[province_id]


HEADLINES = [
    "Census results published; opposition disputes the counting of minority districts",
    "Renewal Party wins by-elections in the south on a 'restore our land' platform",
    "Fuel subsidy cut; protests in several towns end peacefully",
    "Radio Kestrel extends its evening talk show to the whole country",
    "Parliament debates a bill on 'ancestral land' registration",
    "Independent newspaper in Veskaro loses its printing licence",
    "Land registration bill passes; critics say it targets minority landholders",
    "Drought hits southern harvests; staple food prices rise",
    "Grey Lantern militia holds first public parade in Skarnholt",
    "Rights groups report a rise in hostile speech against the Veleni",
    "Government rejects a visit request from an international rights mission",
    "National budget moves funds from courts to 'internal security'",
    "Clashes between militia and local defence groups in the south",
    "State of emergency declared in Skarnholt province",
    "Emergency extended to Dunmaral; curfew in several towns",
    "Opposition Civic Accord leader arrested; party offices closed",
    "Aid convoys delayed at new checkpoints in the south",
    "Militia named as an 'auxiliary force' of the provincial police",
    "Contested local elections; results in Vandrisk annulled",
    "Reports of lists of Veleni residents circulating at checkpoints",
    "Widespread attacks on civilians reported in Skarnholt and Dunmaral",
    "Humanitarian agencies suspend work in two provinces after access is denied",
    "Large numbers flee towards Lirrath and Brimmeld; camps overwhelmed",
    "Regional organisation sends envoys; talks on a ceasefire begin",
    "Ceasefire agreed; international monitors allowed into the south",
    "Monitors begin documenting abuses; commission of inquiry announced",
    "First families return to Dunmaral; many homes found destroyed",
    "Interim authorities suspend the land registration law",
    "Truth and reparations consultations open in three provinces",
    "Commission of inquiry publishes its first interim findings",
]


def timeline_rows() -> list[dict]:
    assert len(HEADLINES) == N_MONTHS
    return [{"month": m, "phase": phase(t), "headline": h}
            for t, (m, h) in enumerate(zip(months(), HEADLINES, strict=True))]


# indicator, label, unit, risk factor, threshold, direction, description,
# then the generator's settings: value when calm, value at the worst, intensity at which it starts
# to move, noise, decimals.
INDICATORS = [
    ("armed_clashes", "Armed clashes", "events per month", 1, 4, "above",
     "Clashes between armed groups or with security forces.", 0.5, 14, 0.3, 1.0, 0),
    ("violation_reports", "Serious violation reports", "reports per month", 2, 10, "above",
     "Reports of serious human rights violations received by monitors.", 2, 40, 0.2, 1.5, 0),
    ("courts_functioning", "Courts functioning", "% of courts sitting", 3, 60, "below",
     "Share of the province's courts that are open and hearing cases.", 92, 25, 0.35, 3.0, 0),
    ("food_price_index", "Staple food price index", "index, 2022 = 100", 3, 140, "above",
     "Price of a basket of staple foods; rises everywhere after the 2023 drought.", 104, 175, 0.3, 3.0, 1),
    ("land_seizure_claims", "Disputed land seizures", "claims per month", 4, 15, "above",
     "Claims that land or property was seized from its holders.", 3, 45, 0.1, 2.0, 0),
    ("militia_strength", "Estimated militia members", "people (estimate)", 5, 1500, "above",
     "Monitors' estimate of armed militia members active in the province.", 200, 6000, 0.15, 100, 0),
    ("independent_outlets", "Independent news outlets", "outlets operating", 6, 3, "below",
     "Independent newspapers and radio stations still operating.", 7, 0, 0.2, 0.3, 0),
    ("civic_space_score", "Civic space score", "0 (closed) to 1 (open)", 6, 0.4, "below",
     "Monitors' score of freedom to assemble, organise and speak.", 0.75, 0.1, 0.1, 0.03, 2),
    ("emergency_decrees", "Emergency decrees in force", "decrees", 7, 1, "above",
     "Decrees suspending ordinary rights or courts in the province.", 0, 6, 0.3, 0.2, 0),
    ("trigger_events", "Trigger events", "events per month",
     8, 0.5, "above",
     "Sudden events that can set off violence: contested votes, arrests of leaders, shocks.",
     0, 1.4, 0.5, 0.3, 0),
    ("dehumanising_speech", "Dehumanising speech items", "items per month", 9, 20, "above",
     "Items of speech logged by monitors that portray a group as less than human.", 4, 90, 0.05, 3.0, 0),
    ("removal_calls", "Calls to remove a group", "statements per month", 10, 2, "above",
     "Public statements calling for a group to be removed from the area or to disappear.", 0, 12, 0.45, 0.4, 0),
    ("attacks_on_civilians", "Attacks on civilians", "incidents per month", 11, 8, "above",
     "Incidents in which civilians were the target.", 0.5, 35, 0.5, 1.0, 0),
    ("coordinated_orders", "Reports of lists or coordinated orders", "reports per month", 12, 1, "above",
     "Reports of lists of group members, or of orders coordinating attacks.", 0, 8, 0.55, 0.3, 0),
    ("attacks_on_protected_sites", "Attacks on protected sites", "incidents per month", 13, 1, "above",
     "Attacks on hospitals, schools and places of worship.", 0, 7, 0.6, 0.3, 0),
    ("aid_access_denials", "Humanitarian access denials", "incidents per month", 14, 2, "above",
     "Occasions on which aid workers or convoys were refused access.", 0.2, 15, 0.5, 0.5, 0),
]

# Bounds that keep a noisy value meaningful.
BOUNDS = {"courts_functioning": (0, 100), "civic_space_score": (0, 1)}


def catalogue_rows() -> list[dict]:
    return [
        {"indicator": i[0], "label": i[1], "unit": i[2], "risk_factor": i[3],
         "threshold": i[4], "direction": i[5], "description": i[6]}
        for i in INDICATORS
    ]


def _noise(rng: random.Random, scale: float) -> float:
    # Sum of three uniforms: bell-shaped, bounded, and built only on random().
    return (rng.random() + rng.random() + rng.random() - 1.5) * scale


def _value(spec, level: float, t: int, rng: random.Random) -> float:
    name, *_, calm, worst, onset, noise, _decimals = spec
    move = max(0.0, min(1.0, (level - onset) / (1 - onset)))
    value = calm + (worst - calm) * move + _noise(rng, noise)
    if name == "food_price_index":  # the drought raises prices everywhere, a national trend
        value += 18 * min(1.0, max(0.0, (t - 7) / 10))
    low, high = BOUNDS.get(name, (0, float("inf")))
    return max(low, min(high, value))


def _format(value: float, decimals: int) -> str:
    return str(int(round(value))) if decimals == 0 else f"{value:.{decimals}f}"


def indicator_rows(province_ids: list[str], rng: random.Random) -> list[dict]:
    rows = []
    flare_pid, flare_months, flare_indicators = DISTRACTOR
    for pid in province_ids:
        for t, month in enumerate(months()):
            for spec in INDICATORS:
                level = intensity(pid, t)
                if pid == flare_pid and t in flare_months and spec[0] in flare_indicators:
                    level = 0.9
                value = _value(spec, level, t, rng)
                rows.append({"province_id": pid, "month": month, "indicator": spec[0],
                             "value": _format(value, spec[-1])})
    return rows


# Where people displaced from the at-risk provinces go (share of those who stay in the country).
RECEIVING = {"P02": 0.4, "P08": 0.3, "P04": 0.15, "P05": 0.1, "P01": 0.05}
LEAVE_COUNTRY = 0.25  # share of the displaced who cross a border (not counted as displaced_in)


def displacement_rows(populations: dict[str, int], rng: random.Random) -> list[dict]:
    rows = []
    for t, month in enumerate(months()):
        out = {}
        for pid in populations:
            level = intensity(pid, t)
            rate = 0.0 if level < 0.4 else 0.03 * (level - 0.4) ** 2
            out[pid] = int(round(populations[pid] * rate * uniform(rng, 0.8, 1.2) + 40 * rng.random()))
        moving = sum(out[p] for p in AT_RISK) * (1 - LEAVE_COUNTRY)
        for pid in populations:
            received = int(round(moving * RECEIVING.get(pid, 0.0) + 30 * rng.random()))
            rows.append({"month": month, "province_id": pid, "displaced_in": received,
                         "displaced_out": out[pid]})
    return rows


# Returns in the aftermath: people come back to the at-risk provinces they left, starting in the
# month the timeline first reports returns there, a small share of those who left during the
# escalation and atrocities each month (many homes were destroyed). Derived from the
# displacement rows and the timeline, with no randomness of its own.
RETURNS_START = {"P06": "2025-03", "P07": "2025-04", "P03": "2025-06"}
RETURN_RATES = (0.03, 0.05, 0.07, 0.08)  # share returning in the 1st, 2nd, 3rd, 4th+ month


def return_rows(displacement: list[dict], timeline: list[dict]) -> list[dict]:
    phase = {row["month"]: row["phase"] for row in timeline}
    left: dict[str, int] = {}
    for row in displacement:
        if phase[row["month"]] in ("escalation", "atrocities"):
            left[row["province_id"]] = left.get(row["province_id"], 0) + row["displaced_out"]
    aftermath = [m for m in months() if phase[m] == "aftermath"]
    rows = []
    for month in aftermath:
        for pid in sorted(left):
            start = RETURNS_START.get(pid)
            step = aftermath.index(month) - aftermath.index(start) if start else -1
            rate = RETURN_RATES[min(step, len(RETURN_RATES) - 1)] if step >= 0 else 0.0
            rows.append({"month": month, "province_id": pid,
                         "returned": int(round(left[pid] * rate))})
    return rows
