"""One entry for the page, its CSV files and the admin API: the asker's parameters in, the
period's figures and tables out (one query module for every way of reading them)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from insights.figures import Figures, compute
from insights.period import Period, read_day, read_office_id, resolve
from insights.tables import Table, build
from staff.models import StaffUser
from staff.service import visible_office_ids


@dataclass(frozen=True)
class Insights:
    period: Period
    figures: Figures
    tables: dict[str, Table]


async def insights_for(session: AsyncSession, user: StaffUser, params: Mapping[str, str], *,
                       max_days: int, now: dt.datetime) -> Insights:
    """``params``: ``office_id``, ``from``, ``to`` (``YYYY-MM-DD``), each optional. Raises
    ``BadPeriod`` (400) or ``UnknownOffice`` (404) for what cannot be answered."""
    office_id = read_office_id(params.get("office_id"))
    first = read_day(params.get("from"), "from")
    last = read_day(params.get("to"), "to")
    visible = await visible_office_ids(session, user)
    period = await resolve(session, visible, office_id=office_id, first=first, last=last,
                           max_days=max_days, today=now)
    figures = await compute(session, period, now)
    return Insights(period, figures, build(figures))
