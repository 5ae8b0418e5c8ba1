"""The rejection notice (Ablehnungsbescheid) of a request sent online, as PDF.

Refusing a request is an administrative act like the fee notice, so the notice is German, the
official language (§ 23 VwVfG), on the same DIN 5008 letter (template ``rejection.html``): the
authority and the citizen in the window, the request's reference (Vorgangsnummer: a refused
request has no Kassenzeichen) and the day it was sent, the decision, the clerk's reasons (as
long as they are: they flow on to further pages) and the legal-remedy notice the fee notice
carries (``postcall.fee_notice.remedy_text``: Widerspruch within one month, or the office's own
text where Land law differs).

The notice is made on demand from the request, not stored as a ``case_document``: a letter kind
there needs a schema change (its ``ck_case_document_kind`` lists the kinds). It is reproducible
for the same data (dated the day of the decision, fixed creation date), so the e-mail of a
retried job and a later download carry the same text.

Postcall does not know online requests (``online`` imports ``postcall``): the caller reads the
refusal from the request and hands it over as a ``Rejection``.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession

from booking.models import Office, Service
from cases.models import Case
from postcall.dispatch import postal_address
from postcall.documents import Authority, DocumentError, LetterAddress
from postcall.fee_notice import remedy_text
from postcall.letter_frame import Frame, contact_lines, salutation
from postcall.letter_render import german_date, render_letter
from postcall.notices import office_authority, recipient_for

TITLE = "Ablehnungsbescheid"
REFERENCE_LABEL = "Vorgangsnummer"
FILENAME_TITLE = "Ablehnungsbescheid"
MACHINE_NOTE = "Dieser Bescheid wurde maschinell erstellt und ist ohne Unterschrift gültig."


@dataclass(frozen=True)
class Rejection:
    """What a refused request says about its refusal."""

    reasons: str
    submitted_at: dt.datetime
    decided_at: dt.datetime
    clerk_name: str = ""


@dataclass(frozen=True, kw_only=True)
class RejectionData:
    """Everything the notice prints; ``citizen_name`` is empty for a request sent anonymously
    (the salutation is then without a name)."""

    authority: Authority
    recipient: LetterAddress
    citizen_name: str
    reference: str
    service: str
    submitted_on: dt.date
    issue_date: dt.date
    reasons: str
    clerk_name: str = ""

    def __post_init__(self) -> None:
        for value, what in ((self.reference, "the reference"), (self.service, "the service"),
                            (self.reasons, "the reasons")):
            if not value.strip():
                raise DocumentError(f"{what} must not be empty")


async def rejection_data(session: AsyncSession, case: Case, rejection: Rejection) -> RejectionData:
    """The notice's data from the request, its office (letterhead; no bank details needed)
    and its postal address; dated the day of the decision in the office's time zone."""
    office = await session.get(Office, case.office_id)
    service = await session.get(Service, case.service_id)
    if office is None or service is None:  # RESTRICT foreign keys: cannot happen
        raise DocumentError(f"request {case.reference} without office or service")
    zone = ZoneInfo(office.timezone)
    clerk = rejection.clerk_name.strip()
    return RejectionData(
        authority=await office_authority(session, office, payment=False),
        recipient=recipient_for(case, await postal_address(session, case.id)),
        citizen_name=f"{case.given_name} {case.family_name}".strip(),
        reference=case.reference, service=service.name,
        submitted_on=rejection.submitted_at.astimezone(zone).date(),
        issue_date=rejection.decided_at.astimezone(zone).date(),
        reasons=rejection.reasons,
        # A clerk's account may be labelled with its e-mail address: no name to sign with.
        clerk_name="" if "@" in clerk else clerk,
    )


def paragraphs(text: str) -> list[list[str]]:
    """Free text as paragraphs (a blank line between them) of lines (the clerk's line breaks
    kept)."""
    found = []
    for block in text.replace("\r", "").split("\n\n"):
        lines = [" ".join(line.split()) for line in block.split("\n")]
        if any(lines):
            found.append([line for line in lines if line])
    return found


def render_rejection_notice(data: RejectionData) -> bytes:
    """The Ablehnungsbescheid as a PDF (see the module doc)."""
    auth = data.authority
    contact = data.clerk_name or auth.department or auth.name
    frame = Frame(
        authority=auth, recipient=data.recipient, subject=TITLE, reference=data.reference,
        reference_label=REFERENCE_LABEL, date=data.issue_date,
        info=[(REFERENCE_LABEL, data.reference), ("Ihr Antrag vom", german_date(data.submitted_on)),
              *contact_lines(auth, contact, data.issue_date)],
        subject_detail=f"Ihr Antrag vom {german_date(data.submitted_on)}: {data.service}",
        signer=data.clerk_name, machine_note=MACHINE_NOTE,
    )
    return render_letter("rejection.html", frame.context(
        data=data, reasons=paragraphs(data.reasons), remedy_text=remedy_text(auth),
        greeting=salutation(auth.style, data.citizen_name),
    ))


async def rejection_notice(session: AsyncSession, case: Case, rejection: Rejection) -> bytes:
    """The notice of ``case`` as PDF bytes (rendered in a thread: about a tenth of a second)."""
    data = await rejection_data(session, case, rejection)
    return await asyncio.to_thread(render_rejection_notice, data)
