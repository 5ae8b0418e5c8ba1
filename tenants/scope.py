"""Every ORM query of a request stays inside the request's municipality.

A listener on every session adds criteria (SQLAlchemy's ``with_loader_criteria``) to each ORM
SELECT, UPDATE and DELETE while a municipality is current (``core.tenancy``): rows a
municipality owns directly are matched on ``municipality_id``, the others through their office,
their request or their appointment. A handler that loads an object by id, reference or token
therefore finds nothing of another municipality (404) without a filter of its own. The worker,
the command line and the platform API run with no municipality and see everything.

New rows a municipality owns get the current municipality's id (the column default,
``core.tenancy.current_or_default``); the worker's new cases and closures their office's.

Statements on bare tables (``Table.c``) are not ORM statements: the few of those that read
offices or services check the municipality themselves (``booking.slot_offer``).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, Select, event, or_, select
from sqlalchemy.orm import ORMExecuteState, Session, with_loader_criteria
from sqlalchemy.sql.base import ExecutableOption as ORMOption
from sqlmodel import col

from accessibility.models import AccessibilityStatement, BarrierReport, SignVideo
from booking.models import Appointment, Closure, Office, Schedule, Service, ServiceOffice
from booking.waitlist import WaitlistWish
from calls.models import CallEvent, CallToken, GuestLink
from cases.milestones import Milestone
from cases.models import Case, CaseItem, IdentityCheck
from core.audit import AuditEvent
from core.jobs import Job
from core.tenancy import current_municipality
from idstatus.models import DocumentStatus, DocumentStatusImport
from online.models import FormField, OnlineRequest, OnlineService, RequestDocument, RequestMessage
from postcall.dispatch_models import CaseDocument, Dispatch, Feedback, PostalAddress
from postcall.letter_models import OfficeLetter
from postcall.payments.models import PaymentAttempt, Refund
from staff.models import Role, StaffOffice, StaffUser
from tenants import models as _models  # noqa: F401 (the table the keys name)

# Tables with a ``municipality_id`` of their own.
OWNED: tuple[Any, ...] = (Office, Service, Closure, Case, AuditEvent, Job, StaffUser,
                          AccessibilityStatement, BarrierReport, SignVideo)
# Tables that belong to a municipality through ``office_id``, ``case_id``, ``service_id`` or
# ``appointment_id``.
BY_OFFICE: tuple[Any, ...] = (Appointment, Schedule, WaitlistWish, Dispatch, Feedback,
                              DocumentStatus, DocumentStatusImport, ServiceOffice, StaffOffice,
                              OfficeLetter)
BY_CASE: tuple[Any, ...] = (OnlineRequest, RequestMessage, RequestDocument, CaseDocument,
                            PaymentAttempt, Refund, CaseItem, PostalAddress, Milestone,
                            IdentityCheck)
BY_SERVICE: tuple[Any, ...] = (OnlineService, FormField)
BY_APPOINTMENT: tuple[Any, ...] = (CallToken, CallEvent, GuestLink)


def _offices(mid: int) -> Select[Any]:
    return select(col(Office.id)).where(col(Office.municipality_id) == mid)


def _own(model: Any, mid: int) -> ColumnElement[bool]:
    if model is StaffUser:
        # A platform administrator signs in on every host (and opens only the platform API).
        return or_(col(StaffUser.municipality_id) == mid,
                   col(StaffUser.role) == Role.platform_admin.value)
    condition: ColumnElement[bool] = model.municipality_id == mid
    return condition


def criteria(mid: int) -> list[ORMOption]:
    """The options that keep a statement inside municipality ``mid``."""
    options: list[ORMOption] = []
    for model in OWNED:
        options.append(with_loader_criteria(model, _own(model, mid), include_aliases=True))
    for model in BY_OFFICE:
        options.append(with_loader_criteria(
            model, model.office_id.in_(_offices(mid)), include_aliases=True))
    cases = select(col(Case.id)).where(col(Case.municipality_id) == mid)
    for model in BY_CASE:
        options.append(with_loader_criteria(model, model.case_id.in_(cases),
                                            include_aliases=True))
    services = select(col(Service.id)).where(col(Service.municipality_id) == mid)
    for model in BY_SERVICE:
        options.append(with_loader_criteria(model, model.service_id.in_(services),
                                            include_aliases=True))
    appointments = select(col(Appointment.id)).where(
        col(Appointment.office_id).in_(_offices(mid)))
    for model in BY_APPOINTMENT:
        options.append(with_loader_criteria(model, model.appointment_id.in_(appointments),
                                            include_aliases=True))
    return options


def _scope(state: ORMExecuteState) -> None:
    mid = current_municipality()
    if mid is None or state.is_column_load or state.is_relationship_load:
        return
    if state.is_select or state.is_update or state.is_delete:
        state.statement = state.statement.options(*criteria(mid))


def _stamp(session: Session, _context: Any, _instances: Any) -> None:
    """Work of no municipality (the worker's) that adds a row with an office: the office's
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
