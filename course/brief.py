"""The capstone: an early-warning and response brief for Caldreth, from the course's own tools.

A trainee picks a province and a month of the fictional scenario. Five *pictures* are computed
from the scenario's data with the modules' own logic, and the trainee writes each section's text:

1. :func:`risk_picture` — risk factors present and their trend (Module 1, ``warning_signs``);
2. :func:`escalation_picture` — the Pyramid of Hate over recent months (Module 2, ``pyramid``);
3. :func:`documentation_picture` — candidate events, which are corroborated and which are not, and
   reports set aside for lack of consent (Module 3, ``documenting``);
4. :func:`plan_picture` — a response plan by stage and pillar, with the simulator's feedback
   (Module 4, ``r2p``);
5. :func:`rebuilding_picture` — a reparations plan and a transitional-justice design, with
   feedback (Module 5, ``rebuilding``).

:class:`Brief` holds the pictures, the trainee's texts and the facts they state;
:func:`consistency_problems` checks those facts against the data (the capstone's autograded
checks); :func:`render_html` makes ONE self-contained HTML document (inline CSS, no scripts, no
outside URL) and :func:`export` writes it.
"""

from __future__ import annotations

import datetime as dt
import html
import re
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from course import checks, documenting, pyramid, r2p, rebuilding, warning_signs

SECTIONS = {
    "risk": "1. Risk factors present and their trend",
    "escalation": "2. Escalation on the Pyramid of Hate",
    "documentation": "3. The state of documentation: what is corroborated and what is not",
    "response": "4. Response plan by stage and pillar",
    "rebuilding": "5. What rebuilding will need",
}
TRENDS = ("rising", "steady", "falling")
WINDOW = 3  # months over which a trend or an escalation is read
# Anything in the raw page that would make a browser fetch or run something. Every text in the
# brief is escaped, so none of these can come from a trainee's words.
_ACTIVE = re.compile(r"<(?:script|img|iframe|link|object|embed|video|audio|source|base|form)\b"
                     r"|<[^>]*\b(?:src|href|srcset|action)\s*=", re.I)
_CSS_FETCH = re.compile(r"url\(|@import", re.I)
FICTIONAL = ("Fictional scenario: Caldreth, its places, people and events are invented for "
             "training. Nothing in this brief describes a real country.")


def _check_province(province_id, provinces: pd.Series) -> str:
    return checks.check_province(province_id, provinces)


def _table_html(frame: pd.DataFrame, index: bool = False) -> str:
    return frame.to_html(index=index, border=0, escape=True, na_rep="", classes="data")


# --- the five pictures --------------------------------------------------------------------------

@dataclass
class RiskPicture:
    province_id: str
    month: str
    factors: tuple[int, ...]          # factor numbers present in that province and month
    count: int
    count_before: int                 # WINDOW months earlier
    trend: str                        # rising / steady / falling
    table: pd.DataFrame               # factor, name, group, indicators crossed

    def summary(self) -> str:
        return (f"{self.count} of 14 risk factors present in {self.month}; "
                f"{self.count_before} {WINDOW} months earlier ({self.trend}).")


def risk_picture(indicators: pd.DataFrame, catalogue: pd.DataFrame, risk_factors: pd.DataFrame,
                 province_id: str, month: str) -> RiskPicture:
    """The factors present for one province and month, and the trend over :data:`WINDOW` months."""
    province_id = _check_province(province_id, indicators["province_id"])
    counts = warning_signs.factor_counts(indicators, catalogue)
    month = warning_signs.check_month(month, list(counts.index))
    months = list(counts.index)
    if months.index(month) < WINDOW:
        raise ValueError(f"choose a month from {months[WINDOW]} on, so that the trend over "
                         f"{WINDOW} months can be read")
    present = warning_signs.factors_present(indicators, catalogue)
    here = present[(present["province_id"] == province_id) & (present["month"] == month)
                   & present["present"]]
    names = warning_signs.factor_names(risk_factors)
    factors = tuple(sorted(int(f) for f in here["risk_factor"]))
    table = pd.DataFrame({
        "factor": list(factors),
        "name": [names[f] for f in factors],
        "group": [warning_signs.group_of(f) for f in factors],
        "indicators crossed": [int(here.loc[here["risk_factor"] == f, "indicators_crossed"].iloc[0])
                               for f in factors]})
    now = int(counts.at[month, province_id])
    before = int(counts.at[months[months.index(month) - WINDOW], province_id])
    trend = "rising" if now > before else "falling" if now < before else "steady"
    return RiskPicture(province_id, month, factors, now, before, trend, table)


@dataclass
class EscalationPicture:
    province_id: str
    month: str
    highest_level: int                # highest pyramid level of an item that month (0: none)
    escalating: bool                  # pyramid.escalation_flags for that month
    table: pd.DataFrame               # last six months: items per level, escalating flag

    def summary(self) -> str:
        top = (f"highest level {self.highest_level}" if self.highest_level
               else "no monitored item")
        return (f"{top} in {self.month}; "
                f"{'flagged' if self.escalating else 'not flagged'} as escalating (the flag: at "
                f"least 2 items at level 3 or above, and more than the average of the previous "
                f"{WINDOW} months).")


def escalation_picture(media_log: pd.DataFrame, province_id: str, month: str) -> EscalationPicture:
    province_id = _check_province(province_id, media_log["province_id"])
    month = pyramid.check_month(month)
    span = pyramid.month_range(media_log["month"])
    if month not in span:
        raise ValueError(f"month {month} is outside the log ({span[0]} to {span[-1]})")
    counts = pyramid.monthly_counts(media_log, province_id, span)
    flags = pyramid.escalation_flags(counts, window=WINDOW)
    items = media_log[(media_log["province_id"] == province_id) & (media_log["month"] == month)]
    highest = int(items["pyramid_level"].max()) if len(items) else 0
    recent = counts.loc[:month].tail(6).copy()
    recent.columns = [f"level {c}" for c in recent.columns]
    recent["escalating"] = flags.loc[recent.index]
    return EscalationPicture(province_id, month, highest, bool(flags[month]),
                             recent.reset_index())


@dataclass
class DocumentationPicture:
    province_id: str
    month: str
    reports: int                      # usable reports on events that started by the month's end
    set_aside: int                    # testimony without recorded consent: not used
    events: int                       # candidate events
    corroborated: int
    uncorroborated: tuple[str, ...]   # candidate event ids with fewer than 2 independent sources
    table: pd.DataFrame

    def summary(self) -> str:
        return (f"{self.events} candidate event(s) from {self.reports} usable report(s): "
                f"{self.corroborated} corroborated, {len(self.uncorroborated)} not; "
                f"{self.set_aside} report(s) set aside for lack of consent.")


def documentation_picture(reports: pd.DataFrame, sources: pd.DataFrame, province_id: str,
                          month: str) -> DocumentationPicture:
    """What the record holds for one province up to the end of ``month``: events grouped from
    reports (Module 3's candidate events), their corroboration, and what cannot be used."""
    province_id = _check_province(province_id, pd.Series([f"P0{i}" for i in range(1, 9)]))
    month = pyramid.check_month(month)
    end = pd.Period(month, freq="M").end_time
    here = reports[(reports["province_id"] == province_id)
                   & (pd.to_datetime(reports["event_start"]) <= end)]
    no_consent = here["testimony"].astype(bool) & ~here["consent_recorded"].astype(bool)
    usable = here[~no_consent]
    if len(usable):
        events = documenting.candidate_events(usable)
        grouped = usable.assign(event_id=usable["report_id"].map(events))
        table = documenting.corroboration(grouped, sources)
    else:
        table = pd.DataFrame(columns=["event_id", "reports", "sources", "independent_sources",
                                      "best_reliability", "corroborated"])
    open_events = tuple(table.loc[~table["corroborated"].astype(bool), "event_id"])
    return DocumentationPicture(province_id, month, len(usable), int(no_consent.sum()),
                                len(table), int(table["corroborated"].astype(bool).sum()),
                                open_events, table.reset_index(drop=True))


@dataclass
class PlanPicture:
    steps: pd.DataFrame               # phase, measure, actor, pillar, stage, coercive
    by_stage_and_pillar: pd.DataFrame
    findings: list = field(default_factory=list)   # r2p.Finding

    def stages(self) -> set[str]:
        return set(self.steps["stage"])

    def pillars(self) -> set[str]:
        return set(self.steps["pillar"])


def plan_picture(plan, measures: pd.DataFrame, rules: pd.DataFrame) -> PlanPicture:
    """A response plan (``(phase, measure_id)`` pairs) with its tags and the simulator's feedback."""
    table = r2p.check_measures(measures)
    steps = r2p.check_plan(plan, table)
    rows = [{"phase": s.phase, "measure": table.at[s.measure_id, "label"],
             "actor": table.at[s.measure_id, "actor"], "pillar": table.at[s.measure_id, "pillar"],
             "stage": table.at[s.measure_id, "stage"],
             "coercive": "yes" if table.at[s.measure_id, "coercive"] else "no"} for s in steps]
    frame = pd.DataFrame(rows, columns=["phase", "measure", "actor", "pillar", "stage",
                                        "coercive"])
    grid = pd.crosstab(frame["stage"], frame["pillar"]).reindex(
        index=list(r2p.STAGES), columns=list(r2p.PILLARS), fill_value=0)
    return PlanPicture(frame, grid, r2p.evaluate(steps, measures, rules))


@dataclass
class RebuildingPicture:
    grid: pd.DataFrame                # who gets what
    coverage: pd.DataFrame            # elements served
    findings: list = field(default_factory=list)  # rebuilding.Finding, both tools

    def groups_left_out(self) -> list[str]:
        forms = [c for c in self.grid.columns if c != "group"]
        return [h for h in self.grid.index if not self.grid.loc[h, forms].astype(bool).any()]

    def elements_missing(self) -> list[str]:
        return [e for e in self.coverage.index if self.coverage.at[e, "mechanisms"] == 0]


def rebuilding_picture(awards, claims: pd.DataFrame, design, mechanisms: pd.DataFrame,
                       rules: pd.DataFrame, *, consulted: bool = False,
                       gender_specific: bool = False) -> RebuildingPicture:
    findings = rebuilding.evaluate_reparations(awards, claims, rules, consulted=consulted,
                                               gender_specific=gender_specific)
    findings += rebuilding.evaluate_design(design, mechanisms, rules)
    return RebuildingPicture(rebuilding.who_gets_what(awards, claims),
                             rebuilding.coverage(design, mechanisms), findings)


# --- the brief ----------------------------------------------------------------------------------

@dataclass
class Brief:
    """Everything the exported brief shows. ``texts`` maps a :data:`SECTIONS` key to the
    trainee's own words; ``stated`` holds the facts the trainee states (checked against the data
    by :func:`consistency_problems`): ``factors``, ``trend``, ``highest_level``, ``escalating``,
    ``uncorroborated``."""

    province: str
    risk: RiskPicture
    escalation: EscalationPicture
    documentation: DocumentationPicture
    plan: PlanPicture
    rebuilding: RebuildingPicture
    texts: dict[str, str]
    stated: dict
    author: str = "A trainee of the Upstream course"
    title: str = "Early-warning and response brief: Caldreth"

    @property
    def month(self) -> str:
        return self.risk.month


def consistency_problems(brief: Brief) -> list[str]:
    """What in the brief does not match the data, or is missing (empty list: consistent)."""
    problems = []
    stated = brief.stated
    if sorted(stated.get("factors", [])) != list(brief.risk.factors):
        problems.append(f"the risk factors named ({sorted(stated.get('factors', []))}) are not "
                        f"the ones present in {brief.month} ({list(brief.risk.factors)})")
    if stated.get("trend") != brief.risk.trend:
        problems.append(f"the trend named ({stated.get('trend')!r}) is not the data's "
                        f"({brief.risk.trend!r}: {brief.risk.summary()})")
    if stated.get("highest_level") != brief.escalation.highest_level:
        problems.append(f"the highest pyramid level named ({stated.get('highest_level')!r}) is not "
                        f"the log's ({brief.escalation.highest_level})")
    if stated.get("escalating") is not brief.escalation.escalating:
        problems.append(f"'escalating' is stated as {stated.get('escalating')!r}; the log's flag "
                        f"is {brief.escalation.escalating}")
    if stated.get("uncorroborated") != len(brief.documentation.uncorroborated):
        problems.append(f"the number of uncorroborated events named "
                        f"({stated.get('uncorroborated')!r}) is not the record's "
                        f"({len(brief.documentation.uncorroborated)})")
    missing_stages = sorted(set(r2p.STAGES) - brief.plan.stages())
    if missing_stages:
        problems.append(f"the response plan has no measure for stage(s) {', '.join(missing_stages)}")
    missing_pillars = sorted(set(r2p.PILLARS) - brief.plan.pillars())
    if missing_pillars:
        problems.append(f"the response plan has no measure under pillar(s) "
                        f"{', '.join(missing_pillars)}")
    if brief.rebuilding.groups_left_out():
        problems.append("the reparations plan leaves out: "
                        + ", ".join(brief.rebuilding.groups_left_out()))
    if brief.rebuilding.elements_missing():
        problems.append("the transitional-justice design serves no mechanism for: "
                        + ", ".join(brief.rebuilding.elements_missing()))
    for key, heading in SECTIONS.items():
        if not str(brief.texts.get(key, "")).strip():
            problems.append(f"write the text of section '{heading}'")
    return problems


_CSS = """
body{font:15px/1.5 Georgia,'Times New Roman',serif;color:#1b1b1b;max-width:52em;margin:2em auto;
padding:0 1em}
h1{font-size:1.6em;margin-bottom:.2em}h2{font-size:1.2em;border-bottom:1px solid #999;
margin-top:1.6em}
.note{background:#fff4d6;border-left:4px solid #8a6d00;padding:.4em .8em}
.facts{background:#eef3fb;border-left:4px solid #1f4e8c;padding:.4em .8em}
.finding{margin:.3em 0}.debate{font-style:italic}
table.data{border-collapse:collapse;font:13px/1.3 Arial,Helvetica,sans-serif;margin:.5em 0}
table.data th,table.data td{border:1px solid #bbb;padding:3px 6px;text-align:left}
footer{margin-top:2em;font-size:.85em;color:#444}
@media print{body{margin:0;max-width:none}}
"""


def _paragraphs(text: str) -> str:
    parts = [p.strip() for p in str(text).split("\n\n") if p.strip()]
    return "".join(f"<p>{html.escape(p).replace(chr(10), '<br>')}</p>" for p in parts)


def _findings_html(findings) -> str:
    if not findings:
        return "<p>No rule of the course's tools flags this part of the plan.</p>"
    items = []
    for f in findings:
        debate = getattr(f, "kind", "problem") == "debate"
        lead = "To weigh (the sources disagree): " if debate else ""
        items.append(f"<li class='finding{' debate' if debate else ''}'>{html.escape(lead)}"
                     f"<b>{html.escape(f.title)}</b> [{html.escape(f.source)}]</li>")
    return f"<p>Feedback from the course's tools:</p><ul>{''.join(items)}</ul>"


def render_html(brief: Brief, *, generated: dt.date | None = None) -> str:
    """The brief as ONE HTML document: inline CSS, no scripts, nothing fetched from outside.

    Every text, the trainee's included, is escaped. Raises ValueError if the result would
    still reference an outside host (it never should)."""
    day = (generated or dt.date.today()).isoformat()
    r, e, d = brief.risk, brief.escalation, brief.documentation
    parts = [
        ("risk", f"<div class='facts'>{html.escape(r.summary())}</div>" + _table_html(r.table)),
        ("escalation", f"<div class='facts'>{html.escape(e.summary())}</div>"
                       + _table_html(e.table)),
        ("documentation", f"<div class='facts'>{html.escape(d.summary())}</div>"
                          + (f"<p>Not corroborated: {html.escape(', '.join(d.uncorroborated))}"
                             "</p>" if d.uncorroborated else "") + _table_html(d.table)),
        ("response", _table_html(brief.plan.steps)
                     + "<p>Measures by stage (rows) and pillar (columns):</p>"
                     + _table_html(brief.plan.by_stage_and_pillar, index=True)
                     + _findings_html(brief.plan.findings)),
        ("rebuilding", "<p>Reparations: who gets what (provider, tranche).</p>"
                       + _table_html(brief.rebuilding.grid, index=True)
                       + "<p>Transitional justice: elements served.</p>"
                       + _table_html(brief.rebuilding.coverage, index=True)
                       + _findings_html(brief.rebuilding.findings)),
    ]
    body = "".join(
        f"<section><h2>{html.escape(SECTIONS[key])}</h2>"
        f"{_paragraphs(brief.texts.get(key, '')) or '<p><i>(no text written)</i></p>'}"
        f"{data_html}</section>" for key, data_html in parts)
    page = (
        "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>"
        "<meta name='viewport' content='width=device-width, initial-scale=1'>"
        f"<title>{html.escape(brief.title)}</title><style>{_CSS}</style></head><body>"
        f"<header><h1>{html.escape(brief.title)}</h1>"
        f"<p>Province {html.escape(brief.province)} · month {html.escape(brief.month)} · "
        f"prepared by {html.escape(brief.author)} · {day}</p>"
        f"<p class='note' role='note'>{html.escape(FICTIONAL)}</p></header>"
        f"<main>{body}</main><footer><p>Figures computed with the Upstream course's tools from "
        "the fictional scenario's datasets. Frameworks: UN Framework of Analysis for Atrocity "
        "Crimes (2014); Pyramid of Hate (Anti-Defamation League); Berkeley Protocol (2020, "
        "2022); A/RES/60/1, paras 138-139; A/78/901 (2024); 2007 Human Rights Defenders Policy "
        "Forum; A/RES/60/147 (2005); E/CN.4/2005/102/Add.1 (2005).</p></footer></body></html>")
    active = sorted({m.group(0) for m in _ACTIVE.finditer(page)})
    active += sorted({m.group(0) for m in _CSS_FETCH.finditer(_CSS)})
    if active:
        raise ValueError(f"the brief would fetch or run something: {active}")
    return page


def outside_urls(page: str) -> list[str]:
    """Outside hosts a page would fetch from (the maps' check), for an exported brief."""
    from course.maps import external_urls  # imported here: the brief itself needs no map library

    return external_urls(page)


def export(brief: Brief, path: str | Path) -> Path:
    """Write the brief to ``path`` (an ``.html`` file) and return the path."""
    path = Path(path)
    if path.suffix.lower() not in (".html", ".htm"):
        raise ValueError(f"export to an .html file, not {path.name!r}")
    path.write_text(render_html(brief), encoding="utf-8")
    return path
