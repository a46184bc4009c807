"""What monitors see in the fictional country: a media log and incident reports from many sources.

Nothing here is graphic: acts are named by category (``unlawful-killing`` is a term, never a
description). Incident reports follow the HURIDOCS "who did what to whom" shape; one event is
often reported by several sources, which disagree on dates and counts, and some sources share an
affiliation (so they do not corroborate each other).
"""

from __future__ import annotations

import datetime as dt
import random

from tools.scenario import names, series
from tools.scenario.world import GROUP_PERCENT

A = names.ACTORS
FIRST_DAY = dt.date(series.START_YEAR, 1, 1)

# Pyramid level -> [(kind, summary, reason for the level, actor key)]
MEDIA_TEMPLATES = {
    1: [
        ("statement", "A columnist writes that {group} families 'do not share our values' and should keep to their own districts.",
         "Stereotyping and fear of difference, with no act against anyone yet: biased attitudes.", "online"),
        ("statement", "Comment threads under a news story about {place} repeat that the {group} 'only look after their own'.",
         "A stereotype repeated among like-minded readers: biased attitudes.", "online"),
        ("statement", "A council member says residents of {place} 'naturally feel uneasy' around {group} newcomers.",
         "Fear of difference voiced as normal: biased attitudes.", "council"),
        ("statement", "A talk-show caller says he only trusts news 'made by our own people, not the {group}'.",
         "Seeking out only like-minded views: biased attitudes.", "radio"),
    ],
    2: [
        ("statement", "A radio host mocks the {group} accent and invites callers to tell jokes about them.",
         "Ridicule and belittling jokes aimed at a group: acts of bias.", "radio"),
        ("incident", "{group} pupils in {place} report being left out of school teams and called names by classmates.",
         "Name-calling and social exclusion: acts of bias.", "council"),
        ("statement", "A party official calls {group} residents 'parasites' at a rally in {place}.",
         "Dehumanising language about a group: acts of bias (and a sign for risk factor 9).", "party"),
        ("incident", "Leaflets with slurs against the {group} are handed out at the market in {place}.",
         "Slurs spread in public: acts of bias.", "party"),
    ],
    3: [
        ("statement", "The provincial government says trading licences in {place} will be renewed only for applicants with 'long-standing local roots', which excludes most {group} traders.",
         "Unequal treatment written into an institution's rules (work and trade): systemic discrimination.", "governor"),
        ("incident", "{group} families report being refused registration at the housing office in {place}.",
         "Unequal access to housing through an office's practice: systemic discrimination.", "governor"),
        ("statement", "A decree ends {group}-language programmes on public radio in {province}.",
         "A group shut out of public media by decree: systemic discrimination.", "minister"),
        ("incident", "Polling stations in {group} neighbourhoods of {place} are closed before the local vote.",
         "Unequal access to voting: systemic discrimination.", "governor"),
        ("incident", "Courts in {province} stop hearing property claims brought by {group} residents.",
         "Unequal access to justice: systemic discrimination.", "governor"),
    ],
    4: [
        ("incident", "Shops owned by {group} families in {place} are vandalised overnight.",
         "Property attacked because of its owners' group: bias-motivated violence.", "unknown"),
        ("incident", "{group} residents of {place} receive letters threatening them unless they leave.",
         "Threats against people for their group: bias-motivated violence.", "militia"),
        ("incident", "Houses in a {group} quarter of {place} are set on fire; residents leave the area.",
         "Arson aimed at a group's homes: bias-motivated violence.", "militia"),
        ("incident", "Armed men detain {group} men at a checkpoint near {place}; relatives are not told where they are held.",
         "Violence and detention aimed at a group: bias-motivated violence.", "militia"),
        ("statement", "The Grey Lantern militia announces armed patrols to 'protect' {place} from the {group}.",
         "An armed group threatens a named group in public: bias-motivated violence (threats).", "militia"),
    ],
    5: [
        ("statement", "A speaker at a militia rally in {place} calls for the {group} 'to disappear from this land'; officials present do not object.",
         "A public call for a people to disappear, unopposed by the authorities: expressed intent to destroy a group, the top of the pyramid.", "militia"),
        ("incident", "Monitors report repeated, coordinated attacks on {group} villages across {province}, with lists of {group} residents used at checkpoints.",
         "Organised, systematic targeting of a whole group across a province: the top of the pyramid.", "militia"),
        ("incident", "Several {group} villages around {place} are reported emptied after militia operations; many residents are unaccounted for.",
         "A community systematically destroyed as a group: the top of the pyramid.", "army"),
    ],
}


def _level_weights(level: float) -> list[float]:
    return [
        max(0.1, 1.0 - level),
        0.6 + level,
        0.0 if level < 0.2 else 1.5 * level,
        0.0 if level < 0.4 else 2.0 * level,
        0.0 if level < 0.8 else 3.0 * (level - 0.6),
    ]


def choose(rng: random.Random, options: list, weights: list[float] | None = None):
    """Pick one option using only random() (stable across Python versions)."""
    weights = weights or [1.0] * len(options)
    x = rng.random() * sum(weights)
    for option, weight in zip(options, weights, strict=True):
        x -= weight
        if x < 0:
            return option
    return options[-1]


def target_group(province_id: str) -> str:
    """The minority that hostility is aimed at: the Veleni where risk builds, else the largest minority."""
    if province_id in series.AT_RISK:
        return "Veleni"
    shares = dict(zip(names.GROUPS, GROUP_PERCENT[province_id], strict=True))
    minorities = sorted((s, g) for g, s in shares.items() if g != "Ostrani")
    return minorities[-1][1]


def _day(rng: random.Random, month: str) -> dt.date:
    year, mon = int(month[:4]), int(month[5:])
    first = dt.date(year, mon, 1)
    days = ((first.replace(day=28) + dt.timedelta(days=4)).replace(day=1) - first).days
    return first + dt.timedelta(days=int(rng.random() * days))


def media_rows(places: list[dict], rng: random.Random) -> list[dict]:
    items = []
    for pid, (province, _capital) in names.PROVINCES.items():
        local = [p["name"] for p in places if p["province_id"] == pid and p["kind"] != "crossing"]
        for t, month in enumerate(series.months()):
            level = series.intensity(pid, t)
            for _ in range(1 + int(level * 4 + rng.random() * 1.6)):
                pyramid = choose(rng, [1, 2, 3, 4, 5], _level_weights(level))
                kind, summary, reason, actor = choose(rng, MEDIA_TEMPLATES[pyramid])
                text = summary.format(group=target_group(pid), place=choose(rng, local), province=province)
                items.append((_day(rng, month).isoformat(), pid, month, kind, text[0].upper() + text[1:],
                              pyramid, reason, A[actor]))
    items.sort()
    return [
        {"item_id": f"M{n:04d}", "date": d, "month": m, "province_id": pid, "kind": k, "summary": s,
         "pyramid_level": lv, "level_reason": r, "actor": a}
        for n, (d, pid, m, k, s, lv, r, a) in enumerate(items, start=1)
    ]


# source_id, name, source_type, reliability, affiliation. Sources sharing an affiliation are not
# independent of each other: S04/S05, S07/S08 and S09/S10 are the pairs to spot.
SOURCES = [
    ("S01", "Witness A (pseudonym)", "witness", "medium", "none (S01)"),
    ("S02", "Witness B (pseudonym)", "witness", "low", "none (S02)"),
    ("S03", "Witness C (pseudonym)", "witness", "medium", "Veleni Community Council"),
    ("S04", "Meridian Rights Collective", "local-ngo", "high", "Meridian network"),
    ("S05", "Meridian legal aid desk, Saskelm", "local-ngo", "medium", "Meridian network"),
    ("S06", "Caldreth Evening Ledger", "media", "high", "Ledger Media Group"),
    ("S07", "Voice of Renewal (party newspaper)", "media", "low", "Caldrethi Renewal Party"),
    ("S08", "Radio Kestrel news desk", "media", "low", "Caldrethi Renewal Party"),
    ("S09", "Provincial police press office", "official", "medium", "Government of Caldreth"),
    ("S10", "Interior Ministry bulletin", "official", "low", "Government of Caldreth"),
    ("S11", "Relief agency field team", "humanitarian", "high", "relief agency (S11)"),
    ("S12", "Veleni Community Council", "community-group", "medium", "Veleni Community Council"),
    ("S13", "Anonymous social-media post", "social-media", "low", "unknown (S13)"),
]
TESTIMONY_TYPES = {"witness", "community-group", "local-ngo"}


def source_rows() -> list[dict]:
    return [dict(zip(("source_id", "name", "source_type", "reliability", "affiliation"), s, strict=True))
            for s in SOURCES]


# act_type -> (intensity from which it appears, weight, victims range, perpetrator types, summary)
ACTS = {
    "threats-intimidation": (0.0, 3.0, (1, 40), ("militia", "local officials", "unidentified armed men"),
                             "residents of {place} were threatened and told to leave"),
    "destruction-of-property": (0.2, 2.0, (1, 60), ("militia", "unidentified armed men"),
                                "homes and shops in {place} were damaged or destroyed"),
    "arbitrary-detention": (0.0, 2.0, (1, 30), ("police", "militia", "army"),
                            "people from {place} were detained without charge"),
    "restriction-of-movement": (0.3, 1.5, (20, 400), ("police", "army", "militia"),
                                "checkpoints around {place} stopped residents from leaving or returning"),
    "forced-displacement": (0.5, 2.0, (30, 1500), ("militia", "army"),
                            "residents of {place} were forced to leave their homes"),
    "enforced-disappearance": (0.6, 1.0, (1, 15), ("militia", "police"),
                               "people taken near {place} have not been seen since, and officials deny holding them"),
    "denial-of-humanitarian-access": (0.6, 1.0, (100, 3000), ("army", "militia", "local officials"),
                                      "an aid convoy bound for {place} was turned back"),
    "unlawful-killing": (0.75, 1.2, (1, 40), ("militia", "army", "unidentified armed men"),
                         "civilians from {place} were reported killed; no further detail is recorded here"),
}

SOURCE_PREFIX = {
    "witness": "Witness says", "community-group": "Community council reports that",
    "local-ngo": "NGO report:", "media": "Newspaper/radio report:", "official": "Official statement:",
    "humanitarian": "Field team notes that", "social-media": "Unverified post claims",
}

# What an official source calls an act it plays down (a contradiction between sources to find).
OFFICIAL_RELABEL = {"enforced-disappearance": "arbitrary-detention", "forced-displacement": "restriction-of-movement",
                    "unlawful-killing": "destruction-of-property"}


def _events(places: list[dict], rng: random.Random) -> list[dict]:
    events = []
    for pid in names.PROVINCES:
        local = [p for p in places if p["province_id"] == pid and p["kind"] in ("town", "village")]
        for t, month in enumerate(series.months()):
            level = series.intensity(pid, t)
            count = int(level * 3.2 + rng.random()) if pid in series.AT_RISK else int(rng.random() < 0.1)
            for _ in range(count):
                acts = [a for a, spec in ACTS.items() if spec[0] <= level]
                act = choose(rng, acts, [ACTS[a][1] for a in acts])
                _, _, (low, high), perps, _ = ACTS[act]
                start = _day(rng, month)
                events.append({
                    "province_id": pid, "place": choose(rng, local), "act_type": act,
                    "victim_group": target_group(pid), "victims_count": low + int(rng.random() * (high - low + 1)),
                    "perpetrator_type": choose(rng, list(perps)), "event_start": start,
                    "event_end": start + dt.timedelta(days=int(rng.random() * 3)),
                })
    return events


def _report(event: dict, source: tuple, first: bool, rng: random.Random) -> dict:
    sid, _name, stype, _rel, _aff = source
    start, end, count, act = event["event_start"], event["event_end"], event["victims_count"], event["act_type"]
    if not first:  # later reports disagree on dates, counts or even the act
        if rng.random() < 0.4:
            shift = dt.timedelta(days=choose(rng, [-3, -2, -1, 1, 2, 3]))
            if start + shift < FIRST_DAY:  # keep every date inside the scenario's months
                shift = -shift
            start, end = start + shift, end + shift
        if rng.random() < 0.45:
            count = max(1, int(round(count * (0.4 + rng.random() * 1.8))))
    if stype == "official":
        count = max(1, count // 3)
        if act in OFFICIAL_RELABEL and rng.random() < 0.5:
            act = OFFICIAL_RELABEL[act]
    received = end + dt.timedelta(days=1 + int(rng.random() * 20))
    place = event["place"]
    what = ACTS[act][4].format(place=place["name"])
    summary = (f"{SOURCE_PREFIX[stype]} {what}; {count} {event['victim_group']} people affected; "
               f"{event['perpetrator_type']} named as responsible.")
    testimony = stype in TESTIMONY_TYPES
    return {
        "source_id": sid, "received": received.isoformat(), "event_start": start.isoformat(),
        "event_end": end.isoformat(), "province_id": event["province_id"], "place_id": place["place_id"],
        "act_type": act, "victim_group": event["victim_group"], "victims_count": count,
        "perpetrator_type": event["perpetrator_type"], "summary": summary,
        "consent_recorded": (rng.random() >= 0.2) if testimony else True, "testimony": testimony,
    }


def incident_rows(places: list[dict], rng: random.Random) -> tuple[list[dict], dict[str, str]]:
    """The incident reports, and the truth for instructors: report_id -> event_id."""
    reports = []
    for n, event in enumerate(_events(places, rng), start=1):
        copies = choose(rng, [1, 2, 3], [0.55, 0.3, 0.15])
        pool = list(SOURCES)
        for k in range(copies):
            source = choose(rng, pool)
            pool.remove(source)
            reports.append((f"E{n:03d}", _report(event, source, k == 0, rng)))
    reports.sort(key=lambda r: (r[1]["received"], r[1]["source_id"], r[0]))
    rows, truth = [], {}
    for n, (event_id, report) in enumerate(reports, start=1):
        report_id = f"R{n:03d}"
        truth[report_id] = event_id
        rows.append({"report_id": report_id, **report})
    return rows, truth
