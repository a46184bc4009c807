"""The course's colours, in one place: maps, charts and widgets all take them from here.

``SEQUENTIAL`` (ColorBrewer YlOrRd, five classes) runs light to dark, so it stays ordered in
greyscale; it shades choropleth classes and the five Pyramid of Hate levels alike.
``QUALITATIVE`` is the Okabe-Ito colour-blind-safe set for categories; ``NO_DATA`` is grey.
"""

SEQUENTIAL = ("#ffffb2", "#fecc5c", "#fd8d3c", "#f03b20", "#bd0026")
QUALITATIVE = ("#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442")
NO_DATA = "#d9d9d9"
# Marks drawn over the sequential colours (the escalation chart's flag) use its darkest shade.
EMPHASIS = SEQUENTIAL[-1]
