"""FHIR R4 date-times as the engine reads them from partners: to the second, with an offset.

One strict reader for every place a moment enters from FHIR (the importer, merge, signatures): R4's
lexical form only (a week date, an ordinal date, the compact form or a missing offset is refused),
a real calendar date, within the engine's years. Its messages never repeat the value.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone
from typing import Any

from ketenzorg.domain import EARLIEST_YEAR, LATEST_YEAR, in_years

__all__ = ["parse_instant"]

_INSTANT = re.compile(
    r"(?P<year>[0-9]{4})-(?P<month>0[1-9]|1[0-2])-(?P<day>0[1-9]|[12][0-9]|3[01])"
    r"T(?P<hour>[01][0-9]|2[0-3]):(?P<minute>[0-5][0-9]):(?P<second>[0-5][0-9]|60)(?:\.(?P<fraction>[0-9]+))?"
    r"(?:(?P<utc>Z)|(?P<sign>[+-])(?P<offset>(?:0[0-9]|1[0-3]):[0-5][0-9]|14:00))"
)
"""R4's lexical form of ``instant`` (fhir.schema.json), which is also that of a ``dateTime``
given to the second: a week date, an ordinal date, the compact form or a missing offset do not
match. The year is checked against the engine's range separately."""


def parse_instant(value: Any) -> datetime:
    """Read an R4 ``instant`` (a date-time to the second, with its offset); ``ValueError`` says why not.

    The message never repeats the value.
    """
    match = _INSTANT.fullmatch(value) if isinstance(value, str) else None
    if match is None:
        raise ValueError(
            "is not a FHIR date-time with seconds and a timezone (YYYY-MM-DDThh:mm:ss+zz:zz or Z)"
        )
    if match["second"] == "60":
        raise ValueError("a leap second cannot be recorded")
    offset = timedelta(0)
    if match["utc"] is None:
        hours, minutes = match["offset"].split(":")
        offset = timedelta(hours=int(hours), minutes=int(minutes))
        if match["sign"] == "-":
            offset = -offset
    fraction = (match["fraction"] or "")[:6].ljust(6, "0")  # FHIR allows any precision
    try:
        moment = datetime(
            int(match["year"]),
            int(match["month"]),
            int(match["day"]),
            int(match["hour"]),
            int(match["minute"]),
            int(match["second"]),
            int(fraction),
            tzinfo=timezone(offset),
        )
    except ValueError:
        raise ValueError("is not a date of the calendar") from None
    if not in_years(moment):
        raise ValueError(f"the year is outside {EARLIEST_YEAR}..{LATEST_YEAR}")
    return moment
