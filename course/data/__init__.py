"""The only way course code reaches a data file: load by name, checked against the manifest.

    from course import data
    data.names()                          # every dataset
    data.describe("scenario_indicators")  # its manifest entry (title, sources, licence, schema ...)
    df = data.load("scenario_indicators") # a DataFrame (GeoJSON datasets give a dict)

Every load checks the file's SHA-256 and its table schema (column names, in order, types and
constraints) against ``course/datasets/datapackage.json``, a Frictionless Data Package. Types map
to pandas as: string -> str, integer -> int64, number -> float64, boolean -> bool; ``date``
columns stay ISO strings (``YYYY-MM-DD``, checked), like ``month`` (``YYYY-MM``), so they compare
and sort as text (``pd.to_datetime`` them if you need dates). Loads are cached; each call returns
a fresh copy, so changing it cannot affect the next caller.

``load_user_csv(path, kind)`` checks a table someone brings themselves (kinds: ``USER_KINDS``).
After editing a data file on purpose, a maintainer runs ``python -m tools.rehash``;
``python -m course.data check`` checks every dataset.
"""

from __future__ import annotations

from pathlib import Path

from course.data.catalogue import DEFAULT, MANIFEST, ROOT, Catalogue, sha256
from course.data.errors import (
    DatasetError,
    DatasetFileMissingError,
    DatasetHashMismatchError,
    DatasetSchemaError,
    ManifestError,
    UnknownDatasetError,
    UserDataError,
)
from course.data.user import USER_KINDS, load_user_csv


def names() -> list[str]:
    """The names of every course dataset, sorted."""
    return DEFAULT.names()


def describe(name: str) -> dict:
    """The manifest entry of a dataset: title, description, sources, licences, schema, ..."""
    return DEFAULT.describe(name)


def load(name: str):
    """A course dataset by name: a DataFrame for tables, a dict for GeoJSON; checked on load."""
    return DEFAULT.load(name)


def path(name: str) -> Path:
    """Where the dataset's file is (read it through ``load``, which checks it)."""
    return DEFAULT.path(name)


__all__ = [
    "DEFAULT", "MANIFEST", "ROOT", "USER_KINDS", "Catalogue", "DatasetError",
    "DatasetFileMissingError", "DatasetHashMismatchError", "DatasetSchemaError", "ManifestError",
    "UnknownDatasetError", "UserDataError", "describe", "load", "load_user_csv", "names", "path",
    "sha256",
]
