"""The course's colours, in one place: maps, charts and widgets all take them from here.

``SEQUENTIAL`` (ColorBrewer YlOrRd, five classes) runs light to dark, so it stays ordered in
greyscale; it shades choropleth classes and the five Pyramid of Hate levels alike.
``sequential(k)`` gives ColorBrewer's own k-class YlOrRd scheme (3 to 9 classes), so a map with
six classes gets six different colours (taking them from the five-class set cannot).
``QUALITATIVE`` is the Okabe-Ito colour-blind-safe set for categories; ``NO_DATA`` is grey.
"""

SEQUENTIAL = ("#ffffb2", "#fecc5c", "#fd8d3c", "#f03b20", "#bd0026")
QUALITATIVE = ("#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442")
NO_DATA = "#d9d9d9"
# Marks drawn over the sequential colours (the escalation chart's flag) use its darkest shade.
EMPHASIS = SEQUENTIAL[-1]

# ColorBrewer's YlOrRd scheme for each number of classes.
YLORRD = {
    3: ("#ffeda0", "#feb24c", "#f03b20"),
    4: ("#ffffb2", "#fecc5c", "#fd8d3c", "#e31a1c"),
    5: SEQUENTIAL,
    6: ("#ffffb2", "#fed976", "#feb24c", "#fd8d3c", "#f03b20", "#bd0026"),
    7: ("#ffffb2", "#fed976", "#feb24c", "#fd8d3c", "#fc4e2a", "#e31a1c", "#b10026"),
    8: ("#ffffcc", "#ffeda0", "#fed976", "#feb24c", "#fd8d3c", "#fc4e2a", "#e31a1c", "#b10026"),
    9: ("#ffffcc", "#ffeda0", "#fed976", "#feb24c", "#fd8d3c", "#fc4e2a", "#e31a1c", "#bd0026",
        "#800026"),
}


def sequential(classes: int) -> tuple[str, ...]:
    """``classes`` distinct colours, light to dark (ColorBrewer YlOrRd; 1 to 9 classes)."""
    if not 1 <= classes <= max(YLORRD):
        raise ValueError(f"a map can show 1 to {max(YLORRD)} classes in distinct colours, not "
                         f"{classes}: pass fewer bins")
    few = {1: (YLORRD[3][1],), 2: (YLORRD[3][0], YLORRD[3][2])}  # light and dark, far apart
    return few.get(classes) or YLORRD[classes]
