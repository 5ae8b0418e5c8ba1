"""How the steps of a request read for citizens: milestone labels (past participle, as the
post office and Meschede's status portal word them: "Bescheid versandt", "An die Post
übergeben") and what each step means, shared by the API, the pages and the e-mails.

A request sent online has no appointment page but a request page (the same kind of link):
where an explanation points the citizen to their page, ``ONLINE_EXPLANATIONS`` says so."""

from __future__ import annotations

from cases.milestones import MilestoneKind
from core.i18n import Translator
from core.messages import N_

LABELS: dict[str, str] = {
    MilestoneKind.received: N_("Request received"),
    MilestoneKind.in_progress: N_("In progress"),
    MilestoneKind.question: N_("Question from the office"),
    MilestoneKind.answered: N_("Answer received"),
    MilestoneKind.video_invited: N_("Invited to a video identification"),
    MilestoneKind.rejected: N_("Rejected"),
    MilestoneKind.withdrawn: N_("Withdrawn"),
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
    MilestoneKind.received: N_("Your request has reached the office. A member of staff will "
                               "take it up soon."),
    MilestoneKind.in_progress: N_("A member of staff is now working on your request. If we "
                                  "need anything else from you, we will write to you."),
    MilestoneKind.question: N_("The office has a question about your request. Please answer "
                               "it on your request page."),
    MilestoneKind.answered: N_("Your answer has reached the office. A member of staff will "
                               "continue with your request."),
    MilestoneKind.video_invited: N_("To complete your request we need to check your identity. "
                                    "Please book a short video appointment on your request "
                                    "page."),
    MilestoneKind.rejected: N_("Your request has been rejected. The rejection notice gives "
                               "the reasons and tells you how you can object."),
    MilestoneKind.withdrawn: N_("Your request has been withdrawn. We will not process it "
                                "any further."),
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

# The same steps for a request sent online: its page is the request page.
ONLINE_EXPLANATIONS: dict[str, str] = {
    MilestoneKind.completed: N_("Your request has been completed. You can follow the next "
                                "steps on your request page."),
    MilestoneKind.payment_failed: N_("Your online payment did not go through. Please try "
                                     "again on your request page or pay by bank transfer."),
}


def milestone_label(t: Translator, kind: str, detail: str = "") -> str:
    msgid = LABELS.get(kind)
    if msgid is None:
        return kind
    return t.gettext(msgid, authority=detail) if "%(authority)s" in msgid else t.gettext(msgid)


def milestone_explanation(t: Translator, kind: str, detail: str = "", *,
                          online: bool = False) -> str:
    """What ``kind`` means for the citizen; ``online``: the request was sent online (its
    link is a request page, not an appointment page)."""
    msgid = (ONLINE_EXPLANATIONS.get(kind) if online else None) or EXPLANATIONS.get(kind)
    if msgid is None:
        return milestone_label(t, kind, detail)
    return t.gettext(msgid, authority=detail) if "%(authority)s" in msgid else t.gettext(msgid)
