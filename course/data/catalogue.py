"""A folder of datasets described by a Frictionless datapackage.json: load by name, checked."""

from __future__ import annotations

import copy
import difflib
import functools
import hashlib
import json
from pathlib import Path

import pandas as pd

from course.data.checks import DATE, bad_values, constraint_errors, convert
from course.data.errors import (
    DatasetFileMissingError,
    DatasetHashMismatchError,
    DatasetSchemaError,
    ManifestError,
    UnknownDatasetError,
)

ROOT = Path(__file__).resolve().parent.parent / "datasets"
MANIFEST = "datapackage.json"
NOT_RESOURCES = {MANIFEST, "README.md"}
MAX_REPORTED_ERRORS = 20

RESTORE = ("reinstall the course or run `git checkout course/datasets/{path}`; if you changed the "
           "file on purpose, run `python -m tools.rehash` (make rehash) and describe the change in "
           "course/datasets/README.md")


def sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


class Catalogue:
    """The datasets in one folder, described by its datapackage.json (the course's by default)."""

    def __init__(self, root: Path | str = ROOT):
        self.root = Path(root)

    # manifest

    @property
    def manifest_path(self) -> Path:
        return self.root / MANIFEST

    def manifest(self) -> dict:
        """The manifest (a copy: editing it changes nothing)."""
        return copy.deepcopy(self._manifest())

    def _manifest(self) -> dict:
        """The cached manifest itself: read it, never change it."""
        try:
            stamp = self.manifest_path.stat().st_mtime_ns
        except FileNotFoundError:
            raise ManifestError(
                f"no dataset manifest at {self.manifest_path}: reinstall the course or run "
                "`git checkout course/datasets/datapackage.json`") from None
        return _read_manifest(str(self.manifest_path), stamp)

    def _resources(self) -> dict[str, dict]:
        # Read-only views of the cached entries; what leaves this class is copied (describe).
        # Copying the whole manifest on every load cost more than reading the cached table.
        return {r["name"]: r for r in self._manifest().get("resources", [])}

    def names(self) -> list[str]:
        return sorted(self._resources())

    def describe(self, name: str) -> dict:
        """The manifest entry of a dataset (a copy: editing it changes nothing)."""
        resources = self._resources()
        if name not in resources:
            close = difflib.get_close_matches(str(name), resources, n=3, cutoff=0.5)
            hint = f" Did you mean {', '.join(repr(c) for c in close)}?" if close else ""
            raise UnknownDatasetError(
                f"there is no dataset called {name!r}.{hint} `data.names()` lists all "
                f"{len(resources)} datasets.")
        return copy.deepcopy(resources[name])

    def path(self, name: str) -> Path:
        return self.root / self.describe(name)["path"]

    # loading

    def load(self, name: str):
        """A dataset by name: a DataFrame for tables, a dict for GeoJSON. Checks hash and schema."""
        entry = self.describe(name)
        path = self.root / entry["path"]
        try:
            stat = path.stat()
        except FileNotFoundError:
            raise DatasetFileMissingError(
                f"dataset {name!r}: its file {entry['path']} is missing from {self.root}. To restore "
                f"it, {RESTORE.format(path=entry['path'])}.") from None
        value = _load_checked(str(path), stat.st_mtime_ns, stat.st_size, json.dumps(entry, sort_keys=True))
        # GeoJSON is cached as checked text: parsing it again is faster than deep-copying a dict
        return value.copy() if isinstance(value, pd.DataFrame) else json.loads(value)

    def verify(self, name: str) -> None:
        """Raise unless the dataset's file exists and matches its manifest hash and schema."""
        self.load(name)

    # maintenance (rewriting the hashes is a maintainer's tool: tools/rehash.py)

    def unlisted_files(self) -> list[str]:
        """Files in the folder that the manifest does not describe."""
        listed = {r["path"] for r in self._resources().values()}
        return sorted(p.name for p in self.root.iterdir()
                      if p.is_file() and p.name not in NOT_RESOURCES and p.name not in listed)


# The course's own datasets: what ``course.data.load`` and ``load_user_csv`` read.
DEFAULT = Catalogue(ROOT)


@functools.lru_cache(maxsize=8)
def _read_manifest(path: str, _mtime_ns: int) -> dict:
    try:
        return json.loads(Path(path).read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise ManifestError(f"{path} is not valid JSON ({err}): run `git checkout "
                            "course/datasets/datapackage.json` or fix the file by hand.") from None


@functools.lru_cache(maxsize=64)
def _load_checked(path: str, _mtime_ns: int, _size: int, entry_json: str):
    """Read and check one file; cached on the file's mtime and size and its manifest entry."""
    entry = json.loads(entry_json)
    name, file = entry["name"], Path(path)
    expected = entry.get("hash", "").removeprefix("sha256:")
    actual = sha256(file)
    if actual != expected:
        raise DatasetHashMismatchError(
            f"dataset {name!r}: the file {entry['path']} has changed since the manifest was written "
            f"(SHA-256 {actual[:12]}…, expected {expected[:12] or 'none'}…). To restore it, "
            f"{RESTORE.format(path=entry['path'])}.")
    fields = entry.get("schema", {}).get("fields", [])
    if entry.get("format") == "geojson":
        return _check_geojson(name, file, fields)
    return _check_table(name, file, fields)


def _schema_error(name: str, problems: list[str], file: Path) -> DatasetSchemaError:
    shown = problems[:MAX_REPORTED_ERRORS]
    more = len(problems) - len(shown)
    lines = "\n  ".join(shown + ([f"… and {more} more"] if more else []))
    return DatasetSchemaError(
        f"dataset {name!r} does not match its schema in datapackage.json:\n  {lines}\n"
        "If the file is right, update the schema in datapackage.json and run "
        f"`python -m tools.rehash` (make rehash); otherwise restore it with `git checkout course/datasets/{file.name}`.")


def _check_table(name: str, file: Path, fields: list[dict]) -> pd.DataFrame:
    frame = pd.read_csv(file, dtype=str, keep_default_na=False, encoding="utf-8")
    expected = [f["name"] for f in fields]
    if list(frame.columns) != expected:
        missing = [c for c in expected if c not in frame.columns]
        extra = [c for c in frame.columns if c not in expected]
        detail = (f"missing {missing}" if missing else "") + ("; " if missing and extra else "") + \
                 (f"unexpected {extra}" if extra else "") or "same columns, different order"
        raise _schema_error(name, [f"columns are {list(frame.columns)}, expected {expected} ({detail})"], file)
    problems = []
    for field in fields:
        column = frame[field["name"]]
        bad = bad_values(column, field.get("type", "string"))
        for i in column.index[bad]:
            problems.append(f"row {i + 2}, column {field['name']!r}: {column[i]!r} is not a valid "
                            f"{field.get('type')}")
        if not bad.any():
            problems += [f"row {i + 2}, column {field['name']!r}: {why}"
                         for i, why in constraint_errors(column, field)]
    if problems:
        raise _schema_error(name, problems, file)
    for field in fields:
        frame[field["name"]] = convert(frame[field["name"]], field.get("type", "string"))
    return frame


JSON_TYPES = {
    "string": lambda v: isinstance(v, str),
    "integer": lambda v: isinstance(v, int) and not isinstance(v, bool),
    "number": lambda v: isinstance(v, (int, float)) and not isinstance(v, bool),
    "boolean": lambda v: isinstance(v, bool),
    "date": lambda v: isinstance(v, str) and bool(DATE.fullmatch(v)),
}


def _check_geojson(name: str, file: Path, fields: list[dict]) -> str:
    """The file's text, once its features are checked against the schema."""
    try:
        text = file.read_text(encoding="utf-8")
        collection = json.loads(text)
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise _schema_error(name, [f"not valid JSON: {err}"], file) from None
    if not isinstance(collection, dict) or collection.get("type") != "FeatureCollection":
        raise _schema_error(name, ["the file is not a GeoJSON FeatureCollection"], file)
    problems = []
    for n, feature in enumerate(collection.get("features", [])):
        props = feature.get("properties") or {}
        if not feature.get("geometry"):
            problems.append(f"feature {n}: no geometry")
        for field in fields:
            value = props.get(field["name"])
            if field["name"] not in props:
                problems.append(f"feature {n}: property {field['name']!r} is missing")
            elif not JSON_TYPES[field.get("type", "string")](value):
                problems.append(f"feature {n}: property {field['name']!r} = {value!r} is not a valid "
                                f"{field.get('type')}")
    if problems:
        raise _schema_error(name, problems, file)
    return text
