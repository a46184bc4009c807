"""Upstream: the course's logic, data and views (each notebook starts by importing from here)."""

from course import display as _display

# Reading text whole and wrapped, and one table style, in every notebook (course/display.py).
_display.configure()
