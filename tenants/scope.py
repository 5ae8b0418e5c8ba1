"""Every ORM query of a request stays inside the request's municipality.

A listener on every session adds criteria (SQLAlchemy's ``with_loader_criteria``) to each ORM
SELECT, UPDATE and DELETE while a municipality is current (``core.tenancy``): rows a
municipality owns directly are matched on ``municipality_id``, the others through their office,
their request or their appointment. A handler that loads an object by id, reference or token
therefore finds nothing of another municipality (404) without a filter of its own. The worker's
job handlers and periodic tasks act for their municipality (``app.worker``); the worker's
claiming, the command line, the platform API and the providers' webhooks (until they have found
their object, ``postcall``) run with no municipality and see everything.

New rows a municipality owns get the current municipality's id (the column default,
``core.tenancy.current_or_default``); new cases and closures of work with no municipality their
office's.

Statements on bare tables (``Table.c``, ``text()``) and INSERTs get no criteria: each takes its
municipality from an object read in the scope or checks it itself (``booking.slot_offer``,
``idstatus.service``); README.md lists them ("Statements outside the scope").
"""

from __future__ import annotations

import functools
from typing import Any

from sqlalchemy import column, event, or_, select
from sqlalchemy.orm import ORMExecuteState, Session, with_loader_criteria
from sqlalchemy.sql.base import ExecutableOption as ORMOption
from sqlmodel import col

# Every model that names a marker is imported, so that the markers know their subclasses.
import accessibility.models
import booking.party_models
import booking.waitlist
import calls.models
import cases.milestones
import idstatus.models
import online.models
import postcall.dispatch_models
import postcall.letter_models
import postcall.payments.models
from booking.models import Appointment, Closure, Office, Service
from cases.models import Case
from core import audit, jobs
from core.tenancy import (
    OwnedByMunicipality,
    OwnedThroughAppointment,
    OwnedThroughCase,
    OwnedThroughOffice,
    OwnedThroughService,
    current_municipality,
)
from staff.models import Role, StaffUser
from tenants import models as _models  # noqa: F401 (the table the keys name)

MODULES = (accessibility.models, booking.party_models, booking.waitlist, calls.models,
           cases.milestones, idstatus.models, online.models, postcall.dispatch_models,
           postcall.letter_models, postcall.payments.models, audit, jobs)


def _column(cls: Any, name: str) -> Any:
    """``cls.name``. SQLAlchemy first calls a criterion with the marker itself, which has no
    columns, to find the lambda's bound values; a bare column stands in for that call."""
    try:
        return getattr(cls, name)
    except AttributeError:
        return column(name)


def _in_municipality(mid: int) -> Any:
    return lambda cls: _column(cls, "municipality_id") == mid


def _staff(mid: int) -> Any:
    # A platform administrator signs in on every host (and opens only the platform API).
    return lambda cls: or_(cls.municipality_id == mid, cls.role == Role.platform_admin.value)


def _through_office(mid: int) -> Any:
    return lambda cls: _column(cls, "office_id").in_(
        select(col(Office.id)).where(col(Office.municipality_id) == mid))


def _through_case(mid: int) -> Any:
    return lambda cls: _column(cls, "case_id").in_(
        select(col(Case.id)).where(col(Case.municipality_id) == mid))


def _through_service(mid: int) -> Any:
    return lambda cls: _column(cls, "service_id").in_(
        select(col(Service.id)).where(col(Service.municipality_id) == mid))


def _through_appointment(mid: int) -> Any:
    return lambda cls: _column(cls, "appointment_id").in_(
        select(col(Appointment.id)).where(col(Appointment.office_id).in_(
            select(col(Office.id)).where(col(Office.municipality_id) == mid))))


# The column each marker's rows are matched on, and how. One lambda criterion per marker:
# SQLAlchemy applies it to every mapped subclass, keeps its analysis by the lambda's code and
# takes ``mid`` as a bound parameter. A statement thus carries six options and its cache key
# stays cheap (an option per table cost 1.8 ms per statement; these cost about 0.1 ms).
MARKERS: tuple[tuple[type, str, Any], ...] = (
    (OwnedByMunicipality, "municipality_id", _in_municipality),
    (StaffUser, "municipality_id", _staff),
    (OwnedThroughOffice, "office_id", _through_office),
    (OwnedThroughCase, "case_id", _through_case),
    (OwnedThroughService, "service_id", _through_service),
    (OwnedThroughAppointment, "appointment_id", _through_appointment))


@functools.lru_cache(maxsize=4096)
def criteria(mid: int) -> tuple[ORMOption, ...]:
    """The options that keep a statement inside municipality ``mid``; made once per
    municipality (options are immutable, so every statement may carry the same ones)."""
    return tuple(with_loader_criteria(marker, where(mid), include_aliases=True)
                 for marker, _, where in MARKERS)


def _scope(state: ORMExecuteState) -> None:
    mid = current_municipality()
    if mid is None or state.is_column_load or state.is_relationship_load:
        return
    if state.is_select or state.is_update or state.is_delete:
        state.statement = state.statement.options(*criteria(mid))


def _stamp(session: Session, _context: Any, _instances: Any) -> None:
    """Work of no municipality (a job without one) that adds a row with an office: the office's
    municipality, not the default (``core.tenancy.current_or_default``)."""
    if current_municipality() is not None:
        return
    for obj in session.new:
        if isinstance(obj, (Case, Closure)) and obj.municipality_id is None and obj.office_id:
            office = session.get(Office, obj.office_id)
            if office is not None:
                obj.municipality_id = office.municipality_id


def install() -> None:
    """Listen on every session (idempotent)."""
    if not event.contains(Session, "do_orm_execute", _scope):
        event.listen(Session, "do_orm_execute", _scope)
        event.listen(Session, "before_flush", _stamp)
