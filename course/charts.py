"""Charts for the modules (matplotlib, no pyplot: figures are not kept in global state).

The view layer: the widgets show these as PNG images (:func:`figure_png`), so nothing needs a
browser to build. The numbers they draw come from the logic modules (``course.pyramid``);
colours from :mod:`course.palette`.
"""

from __future__ import annotations

import io
from collections.abc import Mapping

import pandas as pd
from matplotlib.figure import Figure

from course.palette import EMPHASIS, SEQUENTIAL
from course.pyramid import LEVEL_NAMES, LEVELS, ExplorerState

__all__ = ["escalation_figure", "figure_png", "pyramid_figure"]


def pyramid_figure(counts: Mapping[int, int] | pd.Series, title: str = "Your pyramid",
                   level_names: Mapping[int, str] = LEVEL_NAMES) -> Figure:
    """Horizontal bars, level 1 at the bottom, centred so the shape reads as a pyramid."""
    values = {lvl: int(pd.Series(counts).get(lvl, 0)) for lvl in LEVELS}
    if any(v < 0 for v in values.values()):
        raise ValueError("counts cannot be negative")
    fig = Figure(figsize=(6, 3.2), layout="constrained")
    ax = fig.subplots()
    widest = max(max(values.values()), 1)
    for lvl in LEVELS:
        width = values[lvl]
        ax.barh(lvl, width, left=-width / 2, height=0.8, color=SEQUENTIAL[lvl - 1],
                edgecolor="#444", linewidth=1 if width else 0)
        ax.text(widest / 2 + widest * 0.05, lvl, f"{lvl}. {level_names[lvl]}: {width}",
                va="center", fontsize=9)
    ax.set_xlim(-widest / 2 - widest * 0.05, widest * 1.6)
    ax.set_ylim(0.4, 5.6)
    ax.axis("off")
    ax.set_title(title if sum(values.values()) else f"{title} (nothing sorted yet)", fontsize=11)
    return fig


def escalation_figure(state: ExplorerState) -> Figure:
    """Stacked monthly bars by level up to the chosen month; flagged months marked with ▲."""
    counts = state.counts
    fig = Figure(figsize=(9, 3.4), layout="constrained")
    ax = fig.subplots()
    bottom = pd.Series(0, index=counts.index)
    x = range(len(counts))
    for lvl in LEVELS:
        ax.bar(x, counts[lvl], bottom=bottom, color=SEQUENTIAL[lvl - 1], edgecolor="#666",
               linewidth=0.3, label=f"{lvl}. {LEVEL_NAMES[lvl]}")
        bottom = bottom + counts[lvl]
    top = max(int(bottom.max()), 1)
    for i, flagged in enumerate(state.flags):
        if flagged:
            ax.text(i, bottom.iloc[i] + top * 0.03, "▲", ha="center", color=EMPHASIS)
    step = max(1, len(counts) // 12)
    ax.set_xticks(list(x)[::step], list(counts.index)[::step], rotation=45, ha="right",
                  fontsize=8)
    ax.set_ylim(0, top * 1.15)
    ax.set_ylabel("items in the log")
    ax.set_title(f"Fictional scenario - {state.place}, up to {state.month} "
                 "(▲ escalating month)", fontsize=10)
    ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1), reverse=True)
    return fig


def figure_png(fig: Figure) -> bytes:
    """PNG bytes of a figure, for an ipywidgets Image (works with no browser attached)."""
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=90)
    return buffer.getvalue()
