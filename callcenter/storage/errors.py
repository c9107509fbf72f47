"""Exceptions raised by the storage layer."""

from __future__ import annotations

__all__ = ["MigrationError", "NotFound", "StorageError"]


class StorageError(Exception):
    """Base class of storage errors (sqlite3 errors are passed through unwrapped)."""


class MigrationError(StorageError):
    """The schema could not be brought up to date; the database was left as it was."""


class NotFound(StorageError, LookupError):
    """An update or link referred to a row that does not exist."""
