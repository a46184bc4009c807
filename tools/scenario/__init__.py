"""The fictional country of Caldreth, generated from a seed: every scenario file in course/datasets.

``python -m tools.scenario`` (``make scenario``) rewrites the ``scenario_*`` files in
``course/datasets`` and rehashes the manifest; ``python -m tools.scenario DIR`` writes them into
DIR instead (the tests compare the bytes). Nothing here is real: the names are invented and every
file says it is fictional. This is a maintainer's tool and holds the instructors' answer key
(:func:`incident_truth`), so it lives outside the ``course`` package trainees install.
"""

from __future__ import annotations

import csv
import io
import json
import random
from pathlib import Path

from tools.scenario import names, reports, series, world

SEED = 20230101
DATASETS = Path(__file__).resolve().parents[2] / "course" / "datasets"
FICTIONAL_NOTE = (f"FICTIONAL: the {names.COUNTRY} and everything in this file are invented for "
                  "training; no real place, people or event is described.")

# file name -> columns (a `fictional` column is added to every table)
TABLES = {
    "scenario_places.csv": ["place_id", "name", "province_id", "kind", "x", "y"],
    "scenario_groups.csv": ["province_id", "group", "share"],
    "scenario_timeline.csv": ["month", "phase", "headline"],
    "scenario_indicator_catalogue.csv": ["indicator", "label", "unit", "risk_factor", "threshold",
                                         "direction", "description"],
    "scenario_indicators.csv": ["province_id", "month", "indicator", "value"],
    "scenario_media_log.csv": ["item_id", "date", "month", "province_id", "kind", "summary",
                               "pyramid_level", "level_reason", "actor"],
    "scenario_sources.csv": ["source_id", "name", "source_type", "reliability", "affiliation"],
    "scenario_incident_reports.csv": ["report_id", "source_id", "received", "event_start", "event_end",
                                      "province_id", "place_id", "act_type", "victim_group",
                                      "victims_count", "perpetrator_type", "summary",
                                      "consent_recorded", "testimony"],
    "scenario_displacement.csv": ["month", "province_id", "displaced_in", "displaced_out"],
    "scenario_event_matches.csv": ["report_id", "event_id"],
    "scenario_returns.csv": ["month", "province_id", "returned"],
}
GEOJSON = "scenario_provinces.geojson"
FILES = [GEOJSON, *TABLES]


def build(seed: int = SEED) -> tuple[dict[str, bytes], dict[str, str]]:
    """Every scenario file's bytes, and the incident-report truth (report_id -> event_id)."""
    # One generator per part, so changing one part does not reshuffle the others.
    rng = {part: random.Random(f"{seed}-{part}") for part in
           ("pop", "places", "indicators", "displacement", "media", "incidents")}
    rings = world.province_rings(seed)
    pops = world.populations(rng["pop"])
    places = world.place_rows(rings, rng["places"])
    incidents, truth = reports.incident_rows(places, rng["incidents"])
    rows = {
        "scenario_places.csv": places,
        "scenario_groups.csv": world.group_rows(),
        "scenario_timeline.csv": series.timeline_rows(),
        "scenario_indicator_catalogue.csv": series.catalogue_rows(),
        "scenario_indicators.csv": series.indicator_rows(list(rings), rng["indicators"]),
        "scenario_media_log.csv": reports.media_rows(places, rng["media"]),
        "scenario_sources.csv": reports.source_rows(),
        "scenario_incident_reports.csv": incidents,
        "scenario_displacement.csv": series.displacement_rows(pops, rng["displacement"]),
        # the monitoring team's review: which reports describe the same event (an input of
        # Exercise 3's Task 5 and Module 3, shown to trainees; no exercise is graded against it)
        "scenario_event_matches.csv": [{"report_id": r, "event_id": e}
                                       for r, e in sorted(truth.items())],
    }
    rows["scenario_returns.csv"] = series.return_rows(rows["scenario_displacement.csv"],
                                                      rows["scenario_timeline.csv"])
    files = {name: _csv(TABLES[name], rows[name]) for name in TABLES}
    files[GEOJSON] = _geojson(rings, pops)
    return files, truth


def incident_truth(seed: int = SEED) -> dict[str, str]:
    """For instructors and graders: which incident reports describe the same event (report -> event)."""
    return build(seed)[1]


def write(directory: Path = DATASETS, seed: int = SEED) -> list[Path]:
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for name, content in build(seed)[0].items():
        (directory / name).write_bytes(content)
        written.append(directory / name)
    return written


def _cell(value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _csv(columns: list[str], rows: list[dict]) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow([*columns, "fictional"])
    for row in rows:
        writer.writerow([_cell(row[c]) for c in columns] + ["true"])
    return out.getvalue().encode("utf-8")


def _geojson(rings, pops) -> bytes:
    features = [
        {
            "type": "Feature",
            "properties": {"province_id": pid, "name": names.PROVINCES[pid][0],
                           "capital": names.PROVINCES[pid][1], "population": pops[pid],
                           "fictional": True},
            "geometry": {"type": "Polygon", "coordinates": [[list(p) for p in ring]]},
        }
        for pid, ring in rings.items()
    ]
    collection = {"type": "FeatureCollection", "name": names.COUNTRY, "fictional": True,
                  "note": FICTIONAL_NOTE, "crs_note": "Non-geographic plane, 0-1000 x 0-1000, x east, y north",
                  "features": features}
    return (json.dumps(collection, ensure_ascii=False, indent=1) + "\n").encode("utf-8")
