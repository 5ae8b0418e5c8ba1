"""How the steps after the call read for citizens: milestone labels (past participle, as the
post office and Meschede's status portal word them: "Bescheid versandt", "An die Post
übergeben"), their dates, and the rendering the API, the pages and the e-mails share."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from app.api.schemas import iso
from app.i18n import Translator
from cases.milestones import Milestone, MilestoneKind, milestones
from cases.models import Case
from core.messages import N_

LABELS: dict[str, str] = {
    MilestoneKind.completed: N_("Request completed"),
    MilestoneKind.notice_sent: N_("Fee notice sent"),
    MilestoneKind.receipt_sent: N_("Receipt sent"),
    MilestoneKind.paid: N_("Payment received"),
    MilestoneKind.payment_failed: N_("Payment failed"),
    MilestoneKind.refunded: N_("Fee refunded"),
    MilestoneKind.reminder_sent: N_("Payment reminder sent"),
    MilestoneKind.printed: N_("Letter printed"),
    MilestoneKind.posted: N_("Handed to the post"),
    MilestoneKind.delivered: N_("Letter delivered"),
    MilestoneKind.returned: N_("Letter returned to us"),
    MilestoneKind.forwarded: N_("Forwarded to %(authority)s"),
    MilestoneKind.dispatch_cancelled: N_("Dispatch cancelled"),
}

# What each step means for the citizen, for the e-mail that announces it.
EXPLANATIONS: dict[str, str] = {
    MilestoneKind.completed: N_("Your request has been completed. You can follow the next "
                                "steps on your appointment page."),
    MilestoneKind.paid: N_("We have received your payment. Thank you!"),
    MilestoneKind.payment_failed: N_("Your online payment did not go through. Please try "
                                     "again on your appointment page or pay by bank "
                                     "transfer."),
    MilestoneKind.refunded: N_("We have refunded the fee to you. You will receive a "
                               "changed fee notice."),
    MilestoneKind.printed: N_("The letter with your documents has been printed. It will be "
                              "handed to the post shortly."),
    MilestoneKind.posted: N_("The letter with your documents has been handed to the post. "
                             "It usually arrives within a few working days."),
    MilestoneKind.delivered: N_("Your letter has been delivered."),
    MilestoneKind.returned: N_("Your letter has come back to us as undeliverable. Please "
                               "contact us so that we can send it to the right address."),
    MilestoneKind.forwarded: N_("Your request has been forwarded to %(authority)s. They will "
                                "send you the document directly."),
    MilestoneKind.dispatch_cancelled: N_("Sending your documents by post has been "
                                         "cancelled. We will contact you."),
}


def milestone_label(t: Translator, kind: str, detail: str = "") -> str:
    msgid = LABELS.get(kind)
    if msgid is None:
        return kind
    return t.gettext(msgid, authority=detail) if "%(authority)s" in msgid else t.gettext(msgid)


def milestone_explanation(t: Translator, kind: str, detail: str = "") -> str:
    msgid = EXPLANATIONS.get(kind)
    if msgid is None:
        return milestone_label(t, kind, detail)
    return t.gettext(msgid, authority=detail) if "%(authority)s" in msgid else t.gettext(msgid)


@dataclass(frozen=True)
class MilestoneView:
    kind: str
    label: str
    date: str  # for people, in the office's zone
    at_iso: str  # for machines, with the office's offset


def milestone_views(t: Translator, rows: list[Milestone], tz: str) -> list[MilestoneView]:
    return [
        MilestoneView(kind=m.kind, label=milestone_label(t, m.kind, m.detail),
                      date=t.datetime(m.at, tz, "medium"), at_iso=iso(m.at, tz))
        for m in rows
    ]


def milestones_out(t: Translator, rows: list[Milestone], tz: str) -> list[dict[str, Any]]:
    """``[{"kind", "at", "label"}]`` as the API gives them, oldest first."""
    return [{"kind": v.kind, "at": v.at_iso, "label": v.label}
            for v in milestone_views(t, rows, tz)]


async def case_milestones_out(session: AsyncSession, case: Case, t: Translator,
                              tz: str) -> list[dict[str, Any]]:
    """The ``milestones`` of the case object in ``GET /api/v1/me``."""
    assert case.id is not None
    return milestones_out(t, await milestones(session, case.id), tz)
