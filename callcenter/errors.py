"""Errors that any layer may raise and every door answers the same way."""

from __future__ import annotations


class FieldError(ValueError):
    """A value the caller gave is not acceptable: which field, and why.

    The web framework answers it 422 with ``details: [{"loc": [field], "msg": ...}]``,
    the same shape as a body that fails its schema, so a console can mark the field.
    """

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field
