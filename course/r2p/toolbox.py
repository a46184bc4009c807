"""The toolbox: the measures a trainee can choose (``r2p_measures``), parsed once into a :class:`Toolbox`.

Also the vocabulary every other part uses: the four phases of the crisis, the three pillars and
the 2007 forum's three stages.
"""

from __future__ import annotations

from collections.abc import Iterable

import pandas as pd

from course.checks import require_columns

PHASES: tuple[str, ...] = ("rising-risk", "escalation", "atrocities", "aftermath")

PHASE_TITLES = {
    "rising-risk": "Risk is rising",
    "escalation": "Escalation",
    "atrocities": "Atrocities under way",
    "aftermath": "Aftermath",
}

PILLARS: tuple[str, ...] = ("I", "II", "III")

# The three pillars as the Secretary-General set them out in 2009 (A/63/677), in the course's words.
PILLAR_NAMES = {
    "I": "The protection responsibilities of the State",
    "II": "International assistance and capacity-building",
    "III": "Timely and decisive response",
}

# The 2007 forum's three stages, named by what one does in them.
STAGES: tuple[str, ...] = ("prevent", "react", "rebuild")

MEASURE_COLUMNS = ("measure_id", "label", "description", "pillar", "actor", "stage", "coercive",
                   "lever", "form", "phases", "where", "source")

_TRUE = {"true", "1", "yes"}

_FALSE = {"false", "0", "no", ""}
MEASURES_HINT = "load it with data.load('r2p_measures')"


def check_phase(phase) -> str:
    """A phase name, or a ValueError listing the four phases."""
    if phase not in PHASES:
        raise ValueError(f"unknown phase {phase!r}: use one of {', '.join(PHASES)}")
    return phase

def _as_bool(value, where: str) -> bool:
    if isinstance(value, bool):
        return value
    text = "" if pd.isna(value) else str(value).strip().lower()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise ValueError(f"{where}: {value!r} is not true or false")


def split_cell(value) -> tuple[str, ...]:
    """A ``;``-separated cell as a tuple of stripped, non-empty parts (blank -> empty tuple)."""
    if value is None or (not isinstance(value, str) and pd.isna(value)):
        return ()
    return tuple(part.strip() for part in str(value).split(";") if part.strip())


class Toolbox:
    """The ``r2p_measures`` table checked and parsed once: indexed by ``measure_id``, with
    ``coercive`` as bool and ``phases`` as tuples (:attr:`table`).

    Every function of ``course.r2p`` that takes ``measures`` accepts the raw table or a Toolbox;
    pass a Toolbox (as the simulator does) to parse the table only once.
    """

    def __init__(self, measures: pd.DataFrame):
        self.table = _parse(measures)

    @classmethod
    def of(cls, measures: pd.DataFrame | Toolbox) -> Toolbox:
        """``measures`` itself if it is a Toolbox, else the parsed table as a Toolbox."""
        return measures if isinstance(measures, Toolbox) else cls(measures)

    def __contains__(self, measure_id) -> bool:
        return measure_id in self.table.index

    def __len__(self) -> int:
        return len(self.table)

    def at(self, measure_id: str, column: str):
        """One cell: ``box.at("arms-embargo", "actor")``."""
        return self.table.at[measure_id, column]

    def ids(self, measure_ids) -> list[str]:
        """``measure_ids`` as a list, each checked to be in the toolbox."""
        if isinstance(measure_ids, str) or not isinstance(measure_ids, Iterable):
            raise ValueError("expected a list of measure ids, e.g. ['private-diplomacy', "
                             "'targeted-sanctions']")
        ids = list(measure_ids)
        for m in ids:
            if m not in self:
                raise ValueError(f"unknown measure {m!r}: choose a measure_id from the toolbox "
                                 "(data.load('r2p_measures'))")
        return ids

    def check_available(self, measure_id, phase: str) -> None:
        """Raise a ValueError if the measure is unknown, or not in the toolbox for this phase."""
        check_available(measure_id, phase, self.table)

    def available_in(self, phase: str) -> pd.DataFrame:
        """The rows of the measures that can be chosen in ``phase``."""
        return self.table.loc[self.table["phases"].map(lambda phases: phase in phases)]


def check_measures(measures: pd.DataFrame | Toolbox) -> pd.DataFrame:
    """The toolbox indexed by ``measure_id``, with ``coercive`` as bool and ``phases`` as tuples.

    Raises a ValueError naming the row and the problem for a bad pillar, stage, phase or flag.
    """
    return Toolbox.of(measures).table


def _parse(measures: pd.DataFrame) -> pd.DataFrame:
    require_columns(measures, MEASURE_COLUMNS, "the measures table", MEASURES_HINT)
    table = measures.loc[:, list(MEASURE_COLUMNS)].reset_index(drop=True)
    table["measure_id"] = table["measure_id"].astype(str).str.strip()
    if table["measure_id"].duplicated().any():
        dupes = sorted(set(table.loc[table["measure_id"].duplicated(), "measure_id"]))
        raise ValueError(f"measure ids must be unique; repeated: {', '.join(dupes)}")
    for column in ("lever", "form"):
        table[column] = table[column].fillna("").astype(str).str.strip()
    coercive, phases = [], []
    for row in table.itertuples(index=False):
        where = f"measure {row.measure_id!r}"
        if row.pillar not in PILLARS:
            raise ValueError(f"{where}: pillar {row.pillar!r} is not one of {', '.join(PILLARS)}")
        if row.stage not in STAGES:
            raise ValueError(f"{where}: stage {row.stage!r} is not one of {', '.join(STAGES)}")
        own = row.phases if isinstance(row.phases, tuple) else split_cell(row.phases)
        if not own or any(p not in PHASES for p in own):
            raise ValueError(f"{where}: phases {row.phases!r} must list phases from "
                             f"{', '.join(PHASES)}, separated by ';'")
        phases.append(own)
        coercive.append(_as_bool(row.coercive, where))
    table["coercive"] = pd.Series(coercive, index=table.index, dtype=bool)
    table["phases"] = pd.Series(phases, index=table.index, dtype=object)
    return table.set_index("measure_id", drop=False)


def check_available(measure_id, phase: str, table: pd.DataFrame) -> None:
    """Raise a ValueError if the measure is unknown, or not in the toolbox for this phase."""
    if measure_id not in table.index:
        raise ValueError(f"unknown measure {measure_id!r}: choose a measure_id from the toolbox "
                         "(data.load('r2p_measures'))")
    if phase not in table.at[measure_id, "phases"]:
        allowed = ", ".join(table.at[measure_id, "phases"])
        raise ValueError(f"{measure_id!r} is not available in the {phase!r} phase "
                         f"(it is available in: {allowed})")
