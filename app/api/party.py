"""Several services and several people in one appointment, over HTTP (``booking.composition``):
the rules from the settings, the booking's and the availability query's combination, and the
services and persons of ``GET /api/v1/me``."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Any

from app.api.schemas import MePersonOut, MeServiceOut, PersonIn
from app.settings import Settings
from booking.catalog import service_name
from booking.composition import Composition, CompositionRules, Party, PersonInput, compose
from booking.models import Appointment


def composition_rules(settings: Settings) -> CompositionRules:
    return CompositionRules(
        max_services=settings.booking_max_services, max_persons=settings.booking_max_persons)


def composition_of(
    settings: Settings, service_ids: Sequence[int], persons: Sequence[PersonIn] | int,
) -> Composition:
    """The checked combination; ``persons`` as listed in a booking, or only their number (an
    availability query: the names do not change the length)."""
    if isinstance(persons, int):
        listed = [PersonInput("-", "-") for _ in range(persons - 1)]
    else:
        listed = [PersonInput(p.given_name, p.family_name, p.date_of_birth) for p in persons]
    return compose(service_ids, listed, composition_rules(settings), today=date.today())


def party_out(appointment: Appointment, party: Party, lang: str) -> dict[str, Any]:
    """``services`` and ``persons`` of ``GET /api/v1/me``."""
    services = [
        MeServiceOut(id=s.id or 0, name=service_name(s, lang), duration_minutes=s.duration_minutes,
                     fee_cents=s.fee_cents, currency=s.currency, video=s.video,
                     bring=s.bring).model_dump()
        for s in party.services
    ]
    born = appointment.date_of_birth
    persons = [MePersonOut(person=1, given_name=appointment.given_name,
                           family_name=appointment.family_name,
                           date_of_birth=born.isoformat() if born else None).model_dump()]
    persons += [
        MePersonOut(person=p.person, given_name=p.given_name, family_name=p.family_name,
                    date_of_birth=p.date_of_birth.isoformat() if p.date_of_birth else None
                    ).model_dump()
        for p in party.persons
    ]
    return {"services": services, "persons": persons}
