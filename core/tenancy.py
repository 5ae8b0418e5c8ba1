"""The municipality a piece of work acts for (``tenants``): set for each request by the host
middleware and by the worker for each job and periodic run, unset (None) for the worker's
claiming, the command line and the platform API, which see every municipality. Kept here so
that the lowest layers (audit events, jobs) can stamp rows with it without knowing the tenants
package."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

from sqlalchemy import Column, ForeignKey, Integer, column, func, select, table
from sqlalchemy.ext.asyncio import AsyncSession

CURRENT_MUNICIPALITY: ContextVar[int | None] = ContextVar("municipality", default=None)


def current_municipality() -> int | None:
    return CURRENT_MUNICIPALITY.get()


@contextmanager
def acting_for(municipality_id: int | None) -> Iterator[None]:
    """Run a block for one municipality (None: for all of them)."""
    token = CURRENT_MUNICIPALITY.set(municipality_id)
    try:
        yield
    finally:
        CURRENT_MUNICIPALITY.reset(token)


DEFAULT_MUNICIPALITY_ID = 1  # made by the migration and by ``create_all`` (``tenants.models``)


def current_or_default() -> int:
    """The municipality a new row belongs to when the code creating it names none."""
    mid = CURRENT_MUNICIPALITY.get()
    return DEFAULT_MUNICIPALITY_ID if mid is None else mid


# The municipality table (``tenants.models``) by name, for what the lowest layers read of it.
_MUNICIPALITY = table("municipality", column("id", Integer), column("name"))


async def town_name(session: AsyncSession, municipality_id: int | None) -> str:
    """The municipality's name where the installation serves several, else "" (as before
    municipalities): for what is made from the database alone, such as letters. Requests take
    it from the host map, the worker's mails from ``tenants.hosts.HostMap.town``: same rule."""
    if municipality_id is None:
        return ""
    query = select(_MUNICIPALITY.c.name, select(func.count()).select_from(_MUNICIPALITY)
                   .scalar_subquery()).where(_MUNICIPALITY.c.id == municipality_id)
    row = (await session.execute(query)).first()
    return str(row[0]) if row is not None and row[1] > 1 else ""


def municipality_column(*, stamped: bool = True, nullable: bool = False) -> Column[int]:
    """``municipality_id`` of a table a municipality owns. ``stamped``: a new row without one
    gets the current municipality's (``current_or_default``); else it stays empty (a platform
    administrator's account)."""
    return Column("municipality_id", Integer, ForeignKey("municipality.id", ondelete="RESTRICT"),
                  nullable=nullable or not stamped, index=True,
                  default=current_or_default if stamped else None)


# What a row's municipality is found through (``tenants.scope`` keeps every ORM statement of a
# request inside the request's municipality by these markers: one criterion per marker, not one
# per table). A table a municipality owns names exactly one of them.
class OwnedByMunicipality:
    """The row has a ``municipality_id`` of its own."""


class OwnedThroughOffice:
    """The row's ``office_id`` names an office of the municipality."""


class OwnedThroughCase:
    """The row's ``case_id`` names a request (case) of the municipality."""


class OwnedThroughService:
    """The row's ``service_id`` names a service of the municipality."""


class OwnedThroughAppointment:
    """The row's ``appointment_id`` names an appointment of one of the municipality's offices."""
