"""The booking pages' further services and further persons (``booking.composition``).

Without JavaScript: the service step asks, beside the main matter, for further matters
(checkboxes ``also``) and for how many people come (``persons``); both travel with the other
choices in the query (``also=2,3&persons=3``). The days and times offered are those of the whole
length. The details step then shows one fieldset per further person (``p2_given_name``,
``p2_family_name``, ``p2_date_of_birth``, ...).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from app.pages.citizen_forms import FieldErrors, parse_birth_date
from app.pages.citizen_views import AppointmentView
from booking.availability import (
    Slot,
    days_ahead,
    free_slots,
    local_date,
    office_today,
    zone,
)
from booking.availability_window import window_availability
from booking.catalog import OfferedService, service_name
from booking.composition import (
    Composition,
    CompositionRules,
    PersonInput,
    party_of,
    total_minutes,
)
from booking.models import Appointment, Office, Service
from core.i18n import Translator
from core.messages import N_


def chosen(main: Service, offered: Sequence[OfferedService], also: Sequence[int],
           persons: int, rules: CompositionRules) -> Composition:
    """The combination the pages work with: further services that exist and that an office
    offers together with the others (in the order ticked), within the rules."""
    offices = {o.service.id: set(o.office_ids) for o in offered}
    common = offices.get(main.id, set())
    extra: list[int] = []
    for i in also:
        if i in offices and i != main.id and common & offices[i]:
            extra.append(i)
            common &= offices[i]
    extra = extra[: rules.max_services - 1]
    assert main.id is not None
    count = max(1, min(persons, rules.max_persons))
    return Composition((main.id, *extra), tuple(PersonInput("-", "-") for _ in range(count - 1)))


def service_step(t: Translator, services: Sequence[Service], also: Sequence[int],
                 persons: int, rules: CompositionRules) -> dict[str, Any]:
    """What the service step shows besides the main matter."""
    return {
        "also_options": [{"value": s.id, "title": service_name(s, t.lang),
                          "checked": s.id in also} for s in services]
        if rules.max_services > 1 else [],
        "persons_options": [(n, str(n)) for n in range(1, rules.max_persons + 1)],
        "persons": persons,
    }


async def days_for(session: AsyncSession, composition: Composition, office: Office,
                   channel: str | None = None) -> list[date]:
    """The office-local days with a free start for the whole combination (by ``channel``)."""
    assert office.id is not None
    if composition.plain:
        return await days_ahead(session, service_id=composition.head, office=office,
                                channel=channel)
    today = office_today(office)
    window = await window_availability(
        session, service_id=composition.head, office_id=office.id, start=today,
        end=min(today + timedelta(days=office.horizon_days), today + timedelta(days=62)),
        composition=composition, channel=channel)
    return sorted({local_date(s.start, zone(office.timezone)) for s in window.slots})


def listed(composition: Composition, office: Office, day: date) -> bool:
    """Whether ``days_for`` looks at ``day`` (a free start that day is then among its days)."""
    today = office_today(office)
    days = office.horizon_days if composition.plain else min(office.horizon_days, 62)
    return today <= day <= today + timedelta(days=days)


async def slots_for(session: AsyncSession, composition: Composition, office: Office,
                    day: date, channel: str | None = None) -> list[Slot]:
    assert office.id is not None
    if composition.plain:
        return await free_slots(session, service_id=composition.head, office_id=office.id,
                                start_date=day, end_date=day, channel=channel)
    window = await window_availability(session, service_id=composition.head,
                                       office_id=office.id, start=day, end=day,
                                       composition=composition, channel=channel)
    return window.slots


def summary_rows(t: Translator, services: Sequence[Service], composition: Composition
                 ) -> list[tuple[str, str]]:
    """The details step's summary rows for a combination (none for a plain booking)."""
    if composition.plain:
        return []
    by_id = {s.id: s for s in services}
    picked = [by_id[i] for i in composition.service_ids if i in by_id]
    return [
        (t.gettext("Services"), ", ".join(service_name(s, t.lang) for s in picked)),
        (t.gettext("Persons"), str(composition.size)),
        (t.gettext("Duration"), t.gettext("about %(minutes)s minutes",
                                          minutes=total_minutes(picked, composition.size))),
    ]


@dataclass
class PersonFields:
    number: int
    given_name: str = ""
    family_name: str = ""
    date_of_birth: str = ""


def persons_form(form: Mapping[str, Any], size: int) -> list[PersonFields]:
    def text(name: str) -> str:
        value = form.get(name)
        return value.strip()[:200] if isinstance(value, str) else ""

    return [PersonFields(n, text(f"p{n}_given_name"), text(f"p{n}_family_name"),
                         text(f"p{n}_date_of_birth")) for n in range(2, size + 1)]


def check_persons(fields: Sequence[PersonFields], today: date
                  ) -> tuple[list[PersonInput], FieldErrors]:
    errors: FieldErrors = {}
    persons: list[PersonInput] = []
    for person in fields:
        prefix = f"p{person.number}_"
        for name, value, missing in (
            ("given_name", person.given_name, N_("Enter the first name of person %(n)s.")),
            ("family_name", person.family_name, N_("Enter the last name of person %(n)s.")),
        ):
            if not value:
                errors[prefix + name] = (missing, {"n": person.number})
            elif len(value) > 100 or not value.isprintable():
                errors[prefix + name] = (N_("This is too long: at most %(max)s characters."),
                                         {"max": 100})
        born = None
        if person.date_of_birth:
            born = parse_birth_date(person.date_of_birth)
            if born is None or born >= today or born.year < 1900:
                errors[prefix + "date_of_birth"] = (
                    N_("Enter a date of birth in the past, like 31.12.2015."), {})
        persons.append(PersonInput(person.given_name, person.family_name, born))
    return persons, errors


def with_persons(composition: Composition, persons: Sequence[PersonInput]) -> Composition:
    return Composition(composition.service_ids, tuple(persons))


def offers_all(offered: Sequence[OfferedService], composition: Composition,
               office: Office) -> bool:
    """Whether ``office`` offers every service of the combination."""
    at = {o.service.id for o in offered if office.id in o.office_ids}
    return all(i in at for i in composition.service_ids)


def by_post(services: Sequence[Service], composition: Composition) -> bool:
    """Whether a service of the combination sends its documents by post."""
    return any(s.delivers_by_post for s in services if s.id in composition.service_ids)


async def with_party(session: AsyncSession, t: Translator, appointment: Appointment,
                     view: AppointmentView) -> AppointmentView:
    """``view`` naming every service and person of a family appointment, with its length."""
    party = await party_of(session, appointment)
    if party.composition().plain:
        return view
    names = [f"{appointment.given_name} {appointment.family_name}",
             *(f"{p.given_name} {p.family_name}" for p in party.persons)]
    return dataclasses.replace(
        view, service=", ".join(service_name(s, t.lang) for s in party.services),
        service_description="", persons=names,
        duration=t.gettext("about %(minutes)s minutes",
                           minutes=total_minutes(party.services, party.size)))
