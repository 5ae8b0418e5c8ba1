"""The request for missing documents (Nachforderung von Unterlagen) of a request sent online.

When a clerk asks a citizen for documents or details before deciding, the question goes by
e-mail and onto the request's page; where the citizen gets letters by post (or the office wants
the question on file), this letter says the same on the DIN 5008 frame (template
``missing_documents.html``): the request's reference and day, what is missing (the clerk's
words, as paragraphs) and by when. It is not an administrative act: no legal-remedy notice.
Postcall does not know online requests: the caller hands the request's facts over.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession

from booking.models import Office, Service
from cases.models import Case
from postcall.dispatch import postal_address
from postcall.documents import Authority, DocumentError, LetterAddress
from postcall.letter_frame import Frame, contact_lines, salutation
from postcall.letter_render import german_date, render_letter
from postcall.notices import office_authority, recipient_for
from postcall.rejection import REFERENCE_LABEL, paragraphs

TITLE = "Nachforderung von Unterlagen"
MACHINE_NOTE = "Dieses Schreiben wurde maschinell erstellt und ist ohne Unterschrift gültig."


@dataclass(frozen=True, kw_only=True)
class MissingDocumentsData:
    authority: Authority
    recipient: LetterAddress
    citizen_name: str  # empty for a request sent anonymously
    reference: str
    service: str
    submitted_on: dt.date
    issue_date: dt.date
    missing: str  # the clerk's question: what is missing
    reply_by: dt.date | None = None
    clerk_name: str = ""

    def __post_init__(self) -> None:
        for value, what in ((self.reference, "the reference"), (self.service, "the service"),
                            (self.missing, "what is missing")):
            if not value.strip():
                raise DocumentError(f"{what} must not be empty")
        if self.reply_by is not None and self.reply_by < self.issue_date:
            raise DocumentError("the reply date must not be before the date of the letter")


async def missing_documents_data(
    session: AsyncSession, case: Case, *, question: str, requested: Sequence[str],
    submitted_at: dt.datetime, asked_at: dt.datetime, clerk_name: str = "",
) -> MissingDocumentsData:
    """The letter's data from the request: the clerk's question and the labels of the
    documents asked for; ``LetterUnavailable`` when the office has no address for letters."""
    office = await session.get(Office, case.office_id)
    service = await session.get(Service, case.service_id)
    if office is None or service is None:  # RESTRICT foreign keys: cannot happen
        raise DocumentError(f"request {case.reference} without office or service")
    zone = ZoneInfo(office.timezone)
    missing = question.strip()
    if requested:
        missing += "\n\nBitte reichen Sie nach: " + ", ".join(requested) + "."
    clerk = clerk_name.strip()
    return MissingDocumentsData(
        authority=await office_authority(session, office, payment=False),
        recipient=recipient_for(case, await postal_address(session, case.id)),
        citizen_name=f"{case.given_name} {case.family_name}".strip(),
        reference=case.reference, service=service.name,
        submitted_on=submitted_at.astimezone(zone).date(),
        issue_date=asked_at.astimezone(zone).date(), missing=missing.strip(),
        clerk_name="" if "@" in clerk else clerk,
    )


def render_missing_documents(data: MissingDocumentsData) -> bytes:
    auth = data.authority
    sent = german_date(data.submitted_on)
    frame = Frame(
        authority=auth, recipient=data.recipient, subject=TITLE, reference=data.reference,
        reference_label=REFERENCE_LABEL, date=data.issue_date,
        info=[(REFERENCE_LABEL, data.reference), ("Ihr Antrag vom", sent),
              *contact_lines(auth, data.clerk_name or auth.department or auth.name,
                             data.issue_date)],
        subject_detail=f"Ihr Antrag vom {sent}: {data.service}",
        signer=data.clerk_name, machine_note=MACHINE_NOTE,
    )
    return render_letter("missing_documents.html", frame.context(
        data=data, paragraphs=paragraphs(data.missing),
        greeting=salutation(auth.style, data.citizen_name),
    ))
