"""The municipality a piece of work acts for (``tenants``): set for each request by the host
middleware, unset (None) for the worker, the command line and the platform API, which see
every municipality. Kept here so that the lowest layers (audit events, jobs) can stamp rows
with it without knowing the tenants package."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

from sqlalchemy import Column, ForeignKey, Integer

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


def municipality_column(*, stamped: bool = True, nullable: bool = False) -> Column[int]:
    """``municipality_id`` of a table a municipality owns. ``stamped``: a new row without one
    gets the current municipality's (``current_or_default``); else it stays empty (a platform
    administrator's account)."""
    return Column("municipality_id", Integer, ForeignKey("municipality.id", ondelete="RESTRICT"),
                  nullable=nullable or not stamped, index=True,
                  default=current_or_default if stamped else None)
