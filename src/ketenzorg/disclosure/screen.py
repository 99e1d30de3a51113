"""Screens of outgoing free text: the reference screen, a list of strings kept outside the case.

A practitioner can type an address into a rationale or an agreement. An organisation screens every
text that would leave with a plugin implementing ``ketenzorg_screen_text`` (for example against its
own register of secret addresses, which the engine never holds); :class:`ListScreen` is the
reference one: it withholds every text that contains one of the strings of a file, compared
case-insensitively with runs of white space as one space.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from pathlib import Path

from ketenzorg.errors import Problem, ValidationError
from ketenzorg.hookspecs import hookimpl

__all__ = ["ListScreen", "normalise"]

_SPACE = re.compile(r"\s+")


def normalise(text: str) -> str:
    """``text`` folded for comparison: case-insensitive, every run of white space one space, trimmed."""
    return _SPACE.sub(" ", text).strip().casefold()


class ListScreen:
    """A screen (and plugin) that withholds every text containing one of ``strings``."""

    def __init__(self, strings: Iterable[str]) -> None:
        self.strings = tuple(sorted({n for n in map(normalise, strings) if n}))

    @classmethod
    def from_file(cls, path: Path | str) -> ListScreen:
        """One string a line (UTF-8); blank lines and lines starting with ``#`` are skipped.

        An unreadable file is an error naming the file, never its content."""
        path = Path(path)
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as error:
            raise ValidationError(
                [Problem(str(path), f"the screen list cannot be read ({type(error).__name__})")]
            ) from None
        return cls(line for line in text.splitlines() if line.strip() and not line.lstrip().startswith("#"))

    def __call__(self, text: str) -> bool:
        folded = normalise(text)
        return any(s in folded for s in self.strings)

    @hookimpl
    def ketenzorg_screen_text(self, text: str) -> bool:
        return self(text)
