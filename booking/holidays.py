"""Public holidays of a German state, as days an office is closed.

The dates and their German names come from the ``holidays`` package (it follows each state's
holiday law, Easter-dependent days included); an office adds its own closed days (Christmas
Eve, New Year's Eve) on top.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

import holidays


def public_holidays(
    year: int, state: str = "BW", *, extra: Iterable[tuple[int, int, str]] = (),
) -> list[tuple[dt.date, str]]:
    """``(date, name)`` of the state's public holidays in ``year`` plus ``extra`` days given as
    ``(month, day, reason)``, sorted; a day named twice keeps the holiday's name."""
    days = dict(holidays.country_holidays("DE", subdiv=state, years=year, language="de"))
    for month, day, reason in extra:
        days.setdefault(dt.date(year, month, day), reason)
    return sorted(days.items())
