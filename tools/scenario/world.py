"""The map of the fictional country: provinces tiling a 1000 x 1000 plane, places, groups.

Provinces are cells of a 4 x 2 grid whose inner corners are jittered and whose inner borders wiggle.
Each border is computed once and used by both neighbours (one of them reversed), so the provinces
share borders exactly: no gaps, no overlaps. Only ``random.Random.random`` is used, whose output
is fixed for a given seed across Python versions, and every coordinate is rounded, so the output
is byte-for-byte reproducible.
"""

from __future__ import annotations

import random

from tools.scenario import names

SIZE = 1000.0
COLS, ROWS = 4, 2
# Corner jitter and border wiggle, small against the 250 x 500 cells so every polygon stays simple.
CORNER_JITTER = 45.0
WIGGLE = 18.0
SEGMENTS = 5


def uniform(rng: random.Random, low: float, high: float) -> float:
    return low + (high - low) * rng.random()


def province_ids() -> list[str]:
    return list(names.PROVINCES)


def _cell_id(col: int, row: int) -> str:
    # row 0 is the southern row (y from 0 to 500); ids run west to east, north row first.
    north_first = ROWS - 1 - row
    return f"P{north_first * COLS + col + 1:02d}"


def _corners(rng: random.Random) -> dict[tuple[int, int], tuple[float, float]]:
    corners = {}
    for i in range(COLS + 1):
        for j in range(ROWS + 1):
            x, y = i * SIZE / COLS, j * SIZE / ROWS
            # Outer-edge corners slide only along the edge; the four country corners stay put.
            if 0 < i < COLS:
                x += uniform(rng, -CORNER_JITTER, CORNER_JITTER)
            if 0 < j < ROWS:
                y += uniform(rng, -CORNER_JITTER, CORNER_JITTER)
            corners[(i, j)] = (round(x, 1), round(y, 1))
    return corners


def _border(rng: random.Random, a: tuple[float, float], b: tuple[float, float], outer: bool):
    """Points from a to b (both included); inner borders wiggle sideways, outer ones stay straight."""
    (ax, ay), (bx, by) = a, b
    length = ((bx - ax) ** 2 + (by - ay) ** 2) ** 0.5
    nx, ny = -(by - ay) / length, (bx - ax) / length
    points = [a]
    for k in range(1, SEGMENTS):
        t = k / SEGMENTS
        off = 0.0 if outer else uniform(rng, -WIGGLE, WIGGLE)
        points.append((round(ax + t * (bx - ax) + off * nx, 1), round(ay + t * (by - ay) + off * ny, 1)))
    points.append(b)
    return points


def province_rings(seed: int) -> dict[str, list[tuple[float, float]]]:
    """province_id -> closed, counter-clockwise exterior ring."""
    rng = random.Random(seed)
    c = _corners(rng)
    horizontal = {  # (i, j): border from corner (i, j) to (i + 1, j)
        (i, j): _border(rng, c[(i, j)], c[(i + 1, j)], outer=j in (0, ROWS))
        for j in range(ROWS + 1)
        for i in range(COLS)
    }
    vertical = {  # (i, j): border from corner (i, j) to (i, j + 1)
        (i, j): _border(rng, c[(i, j)], c[(i, j + 1)], outer=i in (0, COLS))
        for i in range(COLS + 1)
        for j in range(ROWS)
    }
    rings = {}
    for row in range(ROWS):
        for col in range(COLS):
            ring = (
                horizontal[(col, row)][:-1]
                + vertical[(col + 1, row)][:-1]
                + list(reversed(horizontal[(col, row + 1)]))[:-1]
                + list(reversed(vertical[(col, row)]))
            )
            rings[_cell_id(col, row)] = ring
    return dict(sorted(rings.items()))


def centre(ring: list[tuple[float, float]]) -> tuple[float, float]:
    """Mean of the ring's points: inside, because the cells are nearly rectangular."""
    pts = ring[:-1]
    return (round(sum(p[0] for p in pts) / len(pts), 1), round(sum(p[1] for p in pts) / len(pts), 1))


def populations(rng: random.Random) -> dict[str, int]:
    return {pid: int(round(uniform(rng, 180_000, 900_000), -3)) for pid in province_ids()}


# Group shares in percent per province (each row sums to 100): Ostrani, Veleni, Quorin, Taskali.
# The Veleni are a sizeable minority in the three provinces where risk builds (P03, P06, P07).
GROUP_PERCENT = {
    "P01": (78, 9, 8, 5),
    "P02": (70, 6, 14, 10),
    "P03": (52, 38, 6, 4),
    "P04": (61, 7, 4, 28),
    "P05": (66, 4, 25, 5),
    "P06": (47, 41, 7, 5),
    "P07": (44, 45, 3, 8),
    "P08": (58, 12, 20, 10),
}


def group_rows() -> list[dict]:
    rows = []
    for pid, percents in GROUP_PERCENT.items():
        assert sum(percents) == 100, pid
        for group, pct in zip(names.GROUPS, percents, strict=True):
            rows.append({"province_id": pid, "group": group, "share": f"{pct / 100:.2f}"})
    return rows


def place_rows(rings: dict[str, list[tuple[float, float]]], rng: random.Random) -> list[dict]:
    rows = []
    n = 0
    for pid, ring in rings.items():
        cx, cy = centre(ring)
        entries = [(names.PROVINCES[pid][1], "town", cx, cy)]
        for name, kind in names.OTHER_PLACES[pid]:
            if kind == "crossing":
                x, y = _crossing_point(pid, cx, cy)
            else:
                x = round(cx + uniform(rng, -70, 70), 1)
                y = round(cy + uniform(rng, -120, 120), 1)
            entries.append((name, kind, x, y))
        for name, kind, x, y in entries:
            n += 1
            rows.append({"place_id": f"L{n:02d}", "name": name, "province_id": pid, "kind": kind,
                         "x": f"{x:.1f}", "y": f"{y:.1f}"})
    return rows


def _crossing_point(pid: str, cx: float, cy: float) -> tuple[float, float]:
    """Just inside the country's outer edge: the north edge for northern provinces, else the south."""
    north_row = int(pid[1:]) <= COLS
    return cx, (SIZE - 15.0 if north_row else 15.0)
