"""Decimals that are written back exactly as they were read (FHIR keeps a decimal's precision)."""

from __future__ import annotations

from decimal import Decimal

__all__ = ["ExactDecimal"]


class ExactDecimal(Decimal):
    """A decimal that remembers how it was written (``1.50``, ``0.00000012``) and is written so."""

    __slots__ = ("_written",)
    _written: str

    def __new__(cls, written: str) -> ExactDecimal:
        self = super().__new__(cls, written)
        self._written = written
        return self

    def __str__(self) -> str:
        return self._written

    def __repr__(self) -> str:
        return f"ExactDecimal({self._written!r})"
