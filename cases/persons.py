"""Whose check, whose fee: the people of a request reached through a family appointment.

An appointment booked for further people (``booking.composition``) names them: person 1 is the
citizen who booked, 2, 3, ... the others. Its identity checks and fee items then refer to one of
those people, and a number beyond them is refused. A request whose appointment names nobody
else keeps the older rule: any person from 1 to ``MAX_PERSON`` (a family member checked in the
call without having been listed).
"""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from booking.composition import party_of
from booking.models import Appointment
from booking.party_models import MAX_PERSON
from core.errors import Invalid


async def check_persons(
    session: AsyncSession, appointment: Appointment, persons: dict[str, int | None],
) -> None:
    """``Invalid`` on the first field whose person is not one of the appointment's people.
    ``persons`` maps a field name to a person number (None: nobody in particular)."""
    given = {field: person for field, person in persons.items() if person is not None}
    for field, person in given.items():
        if not 1 <= person <= MAX_PERSON:
            raise Invalid("The person must be between 1 and %(max)s.", field=field,
                          max=MAX_PERSON)
    if not given:
        return
    party = await party_of(session, appointment)
    if not party.persons:
        return
    for field, person in given.items():
        if person > party.size:
            raise Invalid("This appointment is for %(count)s persons: choose one of them.",
                          field=field, count=party.size)
