"""nbgrader set up for grading workers: serialized gradebook sessions, the preprocessor lists,
a fix (duplicated graded cells) and three shortcuts that change no result (schema checks, one
gradebook engine, output checks). Imported only by workers: nbgrader takes seconds to import."""

from __future__ import annotations

import fcntl
import os
from pathlib import Path

from nbconvert.preprocessors import ClearMetadataPreprocessor
from nbgrader import api as nbapi
from nbgrader.preprocessors import (
    AssignLatePenalties,
    CheckCellMetadata,
    ClearOutput,
    DeduplicateIds,
    IgnorePattern,
    LimitOutput,
    NbGraderPreprocessor,
    OverwriteCells,
    OverwriteKernelspec,
    SaveAutoGrades,
)

from . import course_root

# ---- serialized gradebook sessions --------------------------------------------------------------

class _FileLock:
    """A re-entrant, cross-process exclusive lock (flock) on one file."""

    def __init__(self, path: Path):
        self.path, self.fd, self.depth = path, None, 0

    def acquire(self):
        if self.depth == 0:
            self.fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
            fcntl.flock(self.fd, fcntl.LOCK_EX)
        self.depth += 1

    def release(self):
        self.depth -= 1
        if self.depth == 0:
            fcntl.flock(self.fd, fcntl.LOCK_UN)
            os.close(self.fd)
            self.fd = None


def serialize_gradebook(lock_path: Path) -> None:
    """Make every nbgrader Gradebook session in this process hold ``lock_path`` exclusively."""
    lock = _FileLock(lock_path)
    cls = nbapi.Gradebook
    if getattr(cls, "_upstream_lock", None) is not None:
        cls._upstream_lock.path = lock_path
        return
    orig_init, orig_close = cls.__init__, cls.close

    def __init__(self, *args, **kwargs):
        lock.acquire()
        self._upstream_locked = True
        try:
            orig_init(self, *args, **kwargs)
        except BaseException:
            self._upstream_locked = False
            lock.release()
            raise

    def close(self):
        try:
            orig_close(self)
        finally:
            if getattr(self, "_upstream_locked", False):
                self._upstream_locked = False
                lock.release()

    cls.__init__, cls.close, cls._upstream_lock = __init__, close, lock


class DropEmptyGradingMetadata(NbGraderPreprocessor):
    """After nbgrader's DeduplicateIds: it keeps the last copy of a duplicated graded cell and
    empties the others' nbgrader metadata, which CheckCellMetadata then rejects as "an old
    version" and the whole submission fails (jupyter/nbgrader#1083). Removing the emptied
    metadata makes the extra copies plain cells, so the submission is graded."""

    def preprocess_cell(self, cell, resources, index):
        if "nbgrader" in cell.metadata and not cell.metadata["nbgrader"]:
            del cell.metadata["nbgrader"]
        return cell, resources


# ---- configuration ------------------------------------------------------------------------------

def grading_config(course_dir, cell_timeout: int | None = None,
                   tests_in: str = "test-interpreter"):
    """The course's config, with nbgrader's Execute swapped for the sandboxed one, and the test
    cells run apart from student code unless ``tests_in="student-kernel"``."""
    from .split_execution import TESTS_IN, SplitExecute

    if tests_in not in TESTS_IN:
        raise ValueError(f"tests_in must be one of {', '.join(TESTS_IN)}, not {tests_in!r}")

    config = course_root.load_config(course_dir)
    config.Autograde.sanitize_preprocessors = [
        ClearOutput, DeduplicateIds, DropEmptyGradingMetadata, OverwriteKernelspec,
        OverwriteCells, CheckCellMetadata]
    config.Autograde.autograde_preprocessors = [
        SplitExecute, IgnorePattern, ClearMetadataPreprocessor, LimitOutput, SaveAutoGrades,
        AssignLatePenalties, CheckCellMetadata]
    config.SplitExecute.tests_in = tests_in
    if cell_timeout is not None:
        config.Execute.timeout = cell_timeout
    if "startup_timeout" not in config.Execute:
        # A kernel forked from the fork server answers within a second; on a loaded machine
        # (a class's grading, or CI running other suites beside it) nbclient's 60 s default was
        # seen to pass. The per-submission wall clock still bounds the whole run.
        config.Execute.startup_timeout = 180
    return config


def released(config, assignment: str) -> bool:
    with nbapi.Gradebook(config.CourseDirectory.db_url,
                         config.CourseDirectory.get("course_id", "")) as gb:
        try:
            gb.find_assignment(assignment)
        except nbapi.MissingEntry:
            return False
    return True


def cache_schema_checks() -> None:
    """nbgrader's CheckCellMetadata calls ``jsonschema.validate`` per cell, which re-checks the
    (constant) schema itself every time: a third of a second per notebook. Validate with one
    checked validator per schema instead; what is accepted or rejected does not change."""
    import jsonschema
    from nbgrader.nbgraderformat import common

    validators: dict[int, object] = {}

    def validate(instance, schema, *args, **kwargs):
        if args or kwargs:
            return jsonschema.validate(instance, schema, *args, **kwargs)
        v = validators.get(id(schema))
        if v is None:
            cls = jsonschema.validators.validator_for(schema)
            cls.check_schema(schema)
            v = validators[id(schema)] = (cls(schema), schema)  # keep schema alive with its id
        v[0].validate(instance)

    common.jsonschema = type("CachedJsonschema", (), {"validate": staticmethod(validate),
                                                      "ValidationError":
                                                      jsonschema.ValidationError})


def reuse_gradebook_engine() -> None:
    """nbgrader opens a new SQLAlchemy engine for every Gradebook session (about eleven per
    submission), and with it a new statement cache, so every query is compiled again: a tenth of
    a second per submission. One engine per database URL in a worker keeps the cache; each
    session still ends as before (``Gradebook.close`` disposes of the engine's connections, and
    the next session opens new ones), under the same lock (``serialize_gradebook``)."""
    engines: dict = {}
    create = nbapi.create_engine
    if getattr(create, "_upstream_cached", False):
        return

    def create_engine(url, *args, **kwargs):
        key = (str(url), args, tuple(sorted(kwargs.items())))
        if key not in engines:
            engines[key] = create(url, *args, **kwargs)
        return engines[key]

    create_engine._upstream_cached = True
    nbapi.create_engine = create_engine


def fast_output_checks() -> None:
    """nbclient builds each output from a kernel message with nbformat, which checks it against
    the notebook schema's ``output`` definition with jsonschema (its fast validator takes no
    ``$ref``): about 0.4 ms an output. Check with a fastjsonschema validator compiled once per
    definition instead (as nbformat itself checks whole notebooks); what it refuses is checked
    again the original way, so the error raised is nbformat's. The two agree on JSON data (what
    kernel messages are); fastjsonschema would also take a tuple for an array."""
    import json

    import fastjsonschema
    from nbformat.v4 import nbbase

    if getattr(nbbase.validate, "_upstream_fast", False):
        return
    original = nbbase.validate
    path = Path(nbbase.__file__).with_name(nbbase.nbformat_schema[(None, None)])
    definitions = json.loads(path.read_text(encoding="utf-8"))["definitions"]
    compiled: dict = {}

    def validate(node, ref=None):
        if ref is None or ref not in definitions:
            return original(node, ref)
        if ref not in compiled:
            compiled[ref] = fastjsonschema.compile({
                "$schema": "http://json-schema.org/draft-04/schema#",
                "definitions": definitions, "$ref": f"#/definitions/{ref}"},
                use_default=False)  # check only: never fill in defaults
        try:
            compiled[ref](node)
        except fastjsonschema.JsonSchemaException:
            return original(node, ref)
        return None

    validate._upstream_fast = True
    nbbase.validate = validate
