"""Checks of text values against Table Schema types and constraints (shared by both loaders)."""

from __future__ import annotations

import re

import pandas as pd

from course.data.errors import ManifestError

TRUE, FALSE = {"true", "True", "TRUE", "1"}, {"false", "False", "FALSE", "0"}
DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def bad_values(series: pd.Series, field_type: str) -> pd.Series:
    """Boolean mask of the text values in ``series`` that are not of ``field_type``."""
    text = series.astype(str)
    if field_type == "string":
        return pd.Series(False, index=series.index)
    if field_type == "integer":
        return ~text.str.fullmatch(r"[+-]?\d+")
    if field_type == "number":
        return pd.to_numeric(text, errors="coerce").isna()
    if field_type == "boolean":
        return ~text.isin(TRUE | FALSE)
    if field_type == "date":
        parsed = pd.to_datetime(text, format="%Y-%m-%d", errors="coerce")
        return parsed.isna() | ~text.str.fullmatch(DATE.pattern)
    raise ManifestError(f"schema type {field_type!r} is not supported; use string, integer, number, "
                        "boolean or date")


def convert(series: pd.Series, field_type: str) -> pd.Series:
    if field_type == "integer":
        return series.astype("int64")
    if field_type == "number":
        return pd.to_numeric(series).astype("float64")
    if field_type == "boolean":
        return series.isin(TRUE).astype(bool)
    return series.astype(str)


def constraint_errors(series: pd.Series, field: dict) -> list[tuple[int, str]]:
    """(row index, problem) for values breaking the field's enum/pattern/minimum/maximum."""
    found = []
    rules = field.get("constraints", {})
    if "enum" in rules:
        allowed = {str(v) for v in rules["enum"]}
        for i in series.index[~series.astype(str).isin(allowed)]:
            found.append((i, f"{series[i]!r} is not one of {sorted(allowed)}"))
    if "pattern" in rules:
        for i in series.index[~series.astype(str).str.fullmatch(rules["pattern"])]:
            found.append((i, f"{series[i]!r} does not match the pattern {rules['pattern']}"))
    for bound, test in (("minimum", lambda v, b: v < b), ("maximum", lambda v, b: v > b)):
        if bound in rules:
            numbers = pd.to_numeric(series, errors="coerce")
            for i in series.index[test(numbers, rules[bound])]:
                found.append((i, f"{series[i]!r} is {'below the minimum' if bound == 'minimum' else 'above the maximum'} {rules[bound]}"))
    return found
