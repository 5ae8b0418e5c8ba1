"""One appointment for several services and several people (a family's passports).

The rules, in one place:

* **What**: one to ``max_services`` distinct bookable services, all offered by the office, and
  the person who books (person 1) with up to ``max_persons - 1`` further people, each with a
  name and optionally a date of birth. They are numbered 2, 3, ... as on the identity checks.
* **How long**: the sum over the services of ``duration_minutes + (persons - 1) ×
  extra_person_minutes`` (``Service.extra_person_minutes``; unset: the whole duration again).
  The appointment takes as many consecutive grid units of *one* schedule as that length
  covers: the seats of each unit are claimed like those of any appointment (``booking.seats``),
  in one transaction, so a longer appointment is as safe from double booking as a short one.
* **Where**: only a schedule that offers every one of the services; availability for the
  combination lists only the starts where the whole length fits and is free.
* **How many**: every person counts toward the per-address limit of open appointments
  (``party_size``), so a family booking cannot be used to hoard slots.

A plain booking (one service, nobody else) has no rows here and behaves as it always did.
Services here take a session, raise domain errors and never commit.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import ColumnElement, func, insert, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from booking.catalog import BOOKABLE
from booking.models import Appointment, ScheduleService, Service, ServiceOffice
from booking.party_models import MAX_PERSON, AppointmentPerson, AppointmentService
from booking.slot_offer import SlotOffer, load_slot_offer
from core.errors import Invalid, NotFound
from core.messages import N_

NAME_MAX = 100
TOO_MANY = N_("This e-mail address already has the maximum number of open appointments; "
              "every person of an appointment counts.")


@dataclass(frozen=True)
class PersonInput:
    given_name: str
    family_name: str
    date_of_birth: date | None = None


@dataclass(frozen=True)
class CompositionRules:
    max_services: int = 3
    max_persons: int = 5  # the person who books included


@dataclass(frozen=True)
class Composition:
    """Checked services (first = ``appointment.service_id``) and further people."""

    service_ids: tuple[int, ...]
    persons: tuple[PersonInput, ...] = ()

    @property
    def head(self) -> int:
        return self.service_ids[0]

    @property
    def size(self) -> int:
        """How many people the appointment is for."""
        return 1 + len(self.persons)

    @property
    def plain(self) -> bool:
        return len(self.service_ids) == 1 and not self.persons


def compose(
    service_ids: Sequence[int], persons: Sequence[PersonInput], rules: CompositionRules,
    *, today: date,
) -> Composition:
    """The combination as it will be booked, or ``Invalid`` naming the field."""
    if not service_ids:
        raise Invalid("Choose at least one service.", field="service_ids")
    if len(set(service_ids)) != len(service_ids):
        raise Invalid("Each service only once, please.", field="service_ids")
    if len(service_ids) > rules.max_services:
        raise Invalid("At most %(max)s services per appointment.", field="service_ids",
                      max=rules.max_services)
    limit = min(rules.max_persons, MAX_PERSON)
    if 1 + len(persons) > limit:
        raise Invalid("At most %(max)s persons per appointment (you included).",
                      field="persons", max=limit)
    cleaned: list[PersonInput] = []
    for index, person in enumerate(persons):
        given, family = person.given_name.strip(), person.family_name.strip()
        if not given or not family:
            raise Invalid("Please enter the given name and family name of every person.",
                          field=f"persons.{index}.given_name")
        if len(given) > NAME_MAX or len(family) > NAME_MAX:
            raise Invalid("This entry is too long.", field=f"persons.{index}.family_name")
        born = person.date_of_birth
        if born is not None and not date(1900, 1, 1) <= born <= today:
            raise Invalid("Please enter a date of birth between 1900 and today.",
                          field=f"persons.{index}.date_of_birth")
        cleaned.append(PersonInput(given, family, born))
    return Composition(tuple(service_ids), tuple(cleaned))


def extra_minutes(service: Service) -> int:
    """What each further person adds for ``service``."""
    if service.extra_person_minutes is None:
        return service.duration_minutes
    return service.extra_person_minutes


def total_minutes(services: Sequence[Service], persons: int) -> int:
    """The appointment's length for ``persons`` people (see the module doc)."""
    return sum(s.duration_minutes + (persons - 1) * extra_minutes(s) for s in services)


async def load_services(session: AsyncSession, service_ids: Sequence[int]) -> list[Service]:
    """The bookable services, in the order given; ``NotFound`` when one is not."""
    rows = await session.execute(
        select(Service).where(col(Service.id).in_(list(service_ids)), BOOKABLE))
    found = {s.id: s for s in rows.scalars()}
    missing = [i for i in service_ids if i not in found]
    if missing:
        raise NotFound("This service does not exist.")
    return [found[i] for i in service_ids]


async def composed_offer(
    session: AsyncSession, composition: Composition, *, office_id: int, start: datetime
) -> SlotOffer:
    """``booking.slot_offer.load_slot_offer`` for the whole combination: its length, offered
    only when the office offers every service, on the schedules that offer them all."""
    offer = await load_slot_offer(
        session, office_id=office_id, service_id=composition.head, start=start)
    services = await load_services(session, composition.service_ids)
    offered = offer.offered
    openings = offer.openings
    for service_id in composition.service_ids[1:]:
        other = await load_slot_offer(
            session, office_id=office_id, service_id=service_id, start=start)
        offered = offered and other.offered
        ids = {o.id for o in other.openings}
        openings = tuple(o for o in openings if o.id in ids)
    return dataclasses.replace(
        offer, offered=offered, openings=openings,
        duration_minutes=total_minutes(services, composition.size))


@dataclass(frozen=True)
class Shape:
    """What availability needs of a combination at one office."""

    offered: bool
    minutes: int
    schedule_ids: frozenset[int]


async def shape_at(session: AsyncSession, composition: Composition, office_id: int) -> Shape:
    """Whether the office offers every service, the length, and the schedules offering all."""
    services = await load_services(session, composition.service_ids)
    wanted = list(composition.service_ids)
    offered = (await session.execute(
        select(func.count()).select_from(ServiceOffice).where(
            col(ServiceOffice.office_id) == office_id,
            col(ServiceOffice.service_id).in_(wanted)))).scalar_one()
    common = await session.execute(
        select(col(ScheduleService.schedule_id))
        .where(col(ScheduleService.service_id).in_(wanted))
        .group_by(col(ScheduleService.schedule_id))
        .having(func.count() == len(wanted)))
    return Shape(offered == len(wanted), total_minutes(services, composition.size),
                 frozenset(common.scalars()))


# --- stored ------------------------------------------------------------------------------------


def party_size() -> ColumnElement[int]:
    """The people of an appointment (1 + its further persons), for the per-address limit."""
    further = (select(func.count()).select_from(AppointmentPerson)
               .where(col(AppointmentPerson.appointment_id) == col(Appointment.id))
               .scalar_subquery())
    return 1 + further


async def save(session: AsyncSession, appointment_id: int, composition: Composition) -> None:
    """The rows of a combination (none for a plain booking)."""
    if composition.plain:
        return
    if len(composition.service_ids) > 1:
        await session.execute(insert(AppointmentService), [
            {"appointment_id": appointment_id, "position": i, "service_id": sid}
            for i, sid in enumerate(composition.service_ids)])
    if composition.persons:
        await session.execute(insert(AppointmentPerson), [
            {"appointment_id": appointment_id, "person": i, "given_name": p.given_name,
             "family_name": p.family_name, "date_of_birth": p.date_of_birth}
            for i, p in enumerate(composition.persons, start=2)])


@dataclass(frozen=True)
class Party:
    """An appointment's services (first = its ``service_id``) and further people."""

    services: list[Service]
    persons: list[AppointmentPerson]

    @property
    def size(self) -> int:
        return 1 + len(self.persons)

    def composition(self) -> Composition:
        return Composition(
            tuple(s.id for s in self.services if s.id is not None),
            tuple(PersonInput(p.given_name, p.family_name, p.date_of_birth)
                  for p in self.persons))


async def party_of(session: AsyncSession, appointment: Appointment) -> Party:
    """What ``appointment`` is for: its services and further persons (a plain booking: its
    one service, nobody else)."""
    listed = await session.execute(
        select(Service)
        .join(AppointmentService, col(AppointmentService.service_id) == col(Service.id))
        .where(col(AppointmentService.appointment_id) == appointment.id)
        .order_by(col(AppointmentService.position)))
    services = list(listed.scalars())
    if not services:
        service = await session.get(Service, appointment.service_id)
        services = [service] if service is not None else []
    persons = await session.execute(
        select(AppointmentPerson)
        .where(col(AppointmentPerson.appointment_id) == appointment.id)
        .order_by(col(AppointmentPerson.person)))
    return Party(services, list(persons.scalars()))
