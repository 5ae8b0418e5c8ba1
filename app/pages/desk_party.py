"""The clerk's desk for an appointment of several people (``booking.composition``): who they
are, each one's identity check, and whose fee item is whose. Empty for an appointment of one
person, so the panels look as they always did."""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from booking.composition import party_of
from booking.models import Appointment
from cases.models import IdentityCheck, Outcome
from core.i18n import Translator
from core.messages import N_

STATES = {
    Outcome.verified.value: N_("Identity verified"),
    Outcome.failed.value: N_("Identity not verified"),
    "": N_("Not checked yet"),
}


async def persons_view(session: AsyncSession, t: Translator, appointment: Appointment,
                       checks: list[IdentityCheck]) -> list[dict[str, Any]]:
    """Each person (1 the citizen who booked) with the outcome of their latest check;
    ``checks`` newest first (``cases.identity.identity_checks``)."""
    party = await party_of(session, appointment)
    if not party.persons:
        return []
    people = [(1, appointment.given_name, appointment.family_name, appointment.date_of_birth)]
    people += [(p.person, p.given_name, p.family_name, p.date_of_birth) for p in party.persons]
    rows = []
    for number, given, family, born in people:
        latest = next((c for c in checks if c.person == number), None)
        outcome = latest.outcome if latest is not None else ""
        rows.append({
            "value": str(number), "number": number,
            "title": f"{given} {family}",
            "hint": t.gettext("born %(date)s", date=t.date(born, "medium")) if born else None,
            "state": outcome or "open", "state_label": t.gettext(STATES[outcome]),
        })
    return rows


def person_label(persons: list[dict[str, Any]], number: int | None) -> str:
    """The name of person ``number`` for an item of the case ("" when nobody's)."""
    found = next((p for p in persons if p["number"] == number), None)
    return str(found["title"]) if found else ""
