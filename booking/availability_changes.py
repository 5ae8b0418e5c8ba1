"""Which offices' availability a committed transaction may have changed.

Availability is derived from offices, services, schedules, closures, appointments and seats. Any
code that writes them (bookings, holds, confirmations, cancellations, moves, hold expiry, clerk
and admin changes, the worker) goes through an ORM session, so the changes are collected here
from SQLAlchemy's session events instead of by each caller: a new write path cannot forget to
report itself.

* ``after_flush`` sees the ORM objects written. An appointment counts when a field availability
  depends on changed (status, hold, times, schedule, office); it names its office. Schedules,
  closures, office-service links, offices and a schedule's services (when the session holds the
  schedule) name theirs; a closure for every office and a service stand for every office.
* ``do_orm_execute`` sees statements. A write statement that carries the execution option
  ``OFFICES_OPTION`` names its offices (the booking's own ``INSERT`` of an appointment does).
  Any other ``INSERT``/``UPDATE``/``DELETE`` on one of those tables stands for every office,
  except on ``slot_seat``: seats are always claimed and freed together
  with a change to their appointment, which names the office. Seat statements in a transaction
  without such an appointment still stand for every office.
* After the outermost commit (never after a rollback or a savepoint), the listeners registered
  for that database get the set of office ids, or ``None`` for "every office".
* A transaction that only took places (a new appointment, its seats: ``TAKES_OPTION`` on the
  booking's own statements) is not reported to listeners that wait for freed places
  (``subscribe(..., freeing_only=True)``, the waitlist); anything else may have freed some.

Listeners are registered per database URL (password left out), not per engine: every engine of
this process on the same database reports to them, which is what a cache over that database
needs. Other processes' writes are not seen here; they reach a cache through
``booking/availability_cache.py`` (Redis) or its time bound.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import event, inspect
from sqlalchemy.engine import URL, make_url
from sqlalchemy.orm import (
    ORMExecuteState,
    Session,
    SessionTransaction,
    UOWTransaction,
)
from sqlalchemy.orm.util import identity_key
from sqlalchemy.sql.elements import TextClause

from booking.models import (
    Appointment,
    Closure,
    Office,
    Schedule,
    ScheduleService,
    Service,
    ServiceOffice,
    SlotSeat,
)

log = logging.getLogger("buergerbuero.availability")

# ``None``: every office.
Offices = frozenset[int] | None
Listener = Callable[[Offices], None]

_INFO_KEY = "buero_availability_changes"
# Execution option of a write statement: the ids of the offices whose availability it changes.
OFFICES_OPTION = "buero_availability_offices"
# Execution option beside it: the statement only takes places (a booking's INSERT).
TAKES_OPTION = "buero_availability_takes"
_SEAT_TABLE = "slot_seat"
_MODELS = (Appointment, Closure, Office, Schedule, ScheduleService, Service, ServiceOffice,
           SlotSeat)
_TABLES = {model.__tablename__ for model in _MODELS}
# The appointment fields availability reads (see booking.availability.lapsed_hold and seats).
_APPOINTMENT_FIELDS = ("status", "hold_expires_at", "office_id", "schedule_id", "start_at",
                       "end_at")

_listeners: dict[str, list[tuple[Listener, bool]]] = {}  # (listener, freeing only)
_installed = False


@dataclass
class _Changes:
    offices: set[int] = field(default_factory=set)
    everything: bool = False
    seats: bool = False
    frees: bool = False  # may have freed a place (else it only took some)

    @property
    def relevant(self) -> bool:
        return self.everything or self.seats or bool(self.offices)

    def offices_or_all(self) -> Offices:
        if self.everything or not self.offices:  # seats alone: whose, is not known
            return None
        return frozenset(self.offices)


def database_key(url: str | URL) -> str:
    """One name per database, whatever engine reaches it (the password is left out)."""
    return make_url(url).render_as_string(hide_password=True)


def subscribe(url: str | URL, listener: Listener, *, freeing_only: bool = False
              ) -> Callable[[], None]:
    """Call ``listener`` after every commit to this database that may change availability
    (``freeing_only``: that may have freed a place).

    It runs right after the commit, inside the committing coroutine: it must be quick and must not
    raise (an exception is logged and swallowed; the commit stands). Returns the unsubscribe.
    """
    _install()
    key = database_key(url)
    entry = (listener, freeing_only)
    _listeners.setdefault(key, []).append(entry)

    def unsubscribe() -> None:
        found = _listeners.get(key, [])
        if entry in found:
            found.remove(entry)
        if not found:
            _listeners.pop(key, None)

    return unsubscribe


def _install() -> None:
    global _installed
    if _installed:
        return
    event.listen(Session, "after_flush", _after_flush)
    event.listen(Session, "do_orm_execute", _on_execute)
    event.listen(Session, "after_commit", _after_commit)
    event.listen(Session, "after_transaction_end", _after_transaction_end)
    _installed = True


def _changes(session: Session) -> _Changes:
    found = session.info.get(_INFO_KEY)
    if not isinstance(found, _Changes):
        found = session.info[_INFO_KEY] = _Changes()
    return found


def _history_values(obj: Any, name: str) -> list[Any]:
    history = inspect(obj).attrs[name].history
    return [*history.added, *history.unchanged, *history.deleted]


def _after_flush(session: Session, _flush: UOWTransaction) -> None:
    if not _listeners:
        return
    for obj in (*session.new, *session.deleted):
        _note_object(session, obj, dirty=False)
    for obj in session.dirty:  # only objects that are neither new nor deleted
        _note_object(session, obj, dirty=True)


def _note_object(session: Session, obj: Any, *, dirty: bool) -> None:
    # Only a new appointment or seat is known to take places and free none.
    if isinstance(obj, _MODELS) and not (obj in session.new
                                         and isinstance(obj, Appointment | SlotSeat)):
        _changes(session).frees = True
    if isinstance(obj, Appointment):
        if dirty and not any(inspect(obj).attrs[name].history.has_changes()
                             for name in _APPOINTMENT_FIELDS):
            return
        _note_offices(session, _history_values(obj, "office_id"))
    elif isinstance(obj, Schedule | ServiceOffice):
        _note_offices(session, _history_values(obj, "office_id"))
    elif isinstance(obj, Office):
        _note_offices(session, [obj.id])
    elif isinstance(obj, Closure):
        _note_offices(session, _history_values(obj, "office_id"))
    elif isinstance(obj, SlotSeat):
        _changes(session).seats = True
    elif isinstance(obj, ScheduleService):
        # The schedule's office, when the session holds the schedule (as when it is created).
        schedule = session.identity_map.get(identity_key(Schedule, obj.schedule_id))
        _note_offices(session, [schedule.office_id if isinstance(schedule, Schedule) else None])
    elif isinstance(obj, Service):
        _changes(session).everything = True


def _note_offices(session: Session, values: list[Any]) -> None:
    changes = _changes(session)
    for value in values:
        if isinstance(value, int):
            changes.offices.add(value)
        else:  # a closure for every office, or an id not known yet
            changes.everything = True


def _on_execute(state: ORMExecuteState) -> None:
    if not _listeners or state.is_select:
        return
    statement = state.statement
    if state.is_insert or state.is_update or state.is_delete:
        table = getattr(getattr(statement, "table", None), "name", None)
        named = state.execution_options.get(OFFICES_OPTION)
        takes = state.execution_options.get(TAKES_OPTION) or (
            table == _SEAT_TABLE and state.is_insert)
        if not takes and (named is not None or table in _TABLES or table is None):
            _changes(state.session).frees = True
        if named is not None:  # the statement says whose availability it changes
            _note_offices(state.session, list(named))
            return
        if table == _SEAT_TABLE:
            _changes(state.session).seats = True
        elif table in _TABLES or table is None:
            _changes(state.session).everything = True
    elif isinstance(statement, TextClause) and not statement.text.lstrip().upper().startswith(
        "SELECT"
    ):
        changes = _changes(state.session)
        changes.everything = changes.frees = True  # hand-written SQL: assume the worst


def _after_commit(session: Session) -> None:
    if session.get_nested_transaction() is not None:
        return  # a savepoint was released; the outer transaction may still roll back
    changes = session.info.pop(_INFO_KEY, None)
    if not isinstance(changes, _Changes):
        return
    if not changes.relevant:
        return
    offices = changes.offices_or_all()
    try:
        key = database_key(session.get_bind().engine.url)
    except Exception:  # a session without one bind: no cache is built on such a session
        log.warning("availability changes of a session without a single database are not reported")
        return
    for listener, freeing_only in list(_listeners.get(key, ())):
        if freeing_only and not changes.frees:
            continue
        try:
            listener(offices)
        except Exception:  # the commit stands; a cache's time bound limits the damage
            log.exception("an availability change listener failed")


def _after_transaction_end(session: Session, transaction: SessionTransaction) -> None:
    if transaction.parent is None:
        session.info.pop(_INFO_KEY, None)  # rolled back (a commit has taken it already)
