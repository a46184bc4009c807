"""The errors course.data raises; each message names the dataset, the problem and the fix."""

from __future__ import annotations


class DatasetError(Exception):
    """Base class: something is wrong with a course dataset or a user's table."""


class ManifestError(DatasetError):
    """datapackage.json is missing or cannot be read."""


class UnknownDatasetError(DatasetError, KeyError):
    """No dataset of that name in the manifest."""

    def __str__(self) -> str:  # KeyError would print the message in quotes
        return str(self.args[0])


class DatasetFileMissingError(DatasetError):
    """The manifest names a file that is not there."""


class DatasetHashMismatchError(DatasetError):
    """The file's SHA-256 differs from the manifest: it was changed or damaged."""


class DatasetSchemaError(DatasetError):
    """The file's columns or values do not match the manifest's schema."""


class UserDataError(DatasetError, ValueError):
    """A table brought by a user does not fit the declared kind; ``errors`` lists each problem."""

    def __init__(self, message: str, errors: list[str] | None = None):
        super().__init__(message)
        self.errors = list(errors or [])
