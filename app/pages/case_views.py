"""The case as the citizen reads it on the appointment page (``citizen/_case.html``): case
number, items, total, and what happens with payment and delivery, in plain words."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from booking.lookup import find_appointment
from booking.models import Office
from cases.completion import completed_case
from cases.models import Case, CaseItem
from core.i18n import Translator, uses_english_data


@dataclass(frozen=True)
class CaseItemView:
    name: str
    quantity: int
    amount: str


@dataclass(frozen=True)
class CaseView:
    case_number: str
    items: list[CaseItemView]
    total: str
    payment: str
    delivery: str
    payment_status: str
    dispatch_status: str


def _payment_text(t: Translator, case: Case) -> str:
    amount = t.money(case.amount_cents, case.currency)
    due = t.date(case.due_date, "long") if case.due_date else ""
    status = case.payment_status
    if status == "not_required":
        return t.gettext("There is no fee to pay.")
    if status == "paid":
        return t.gettext("The fee of %(amount)s has been paid. Thank you!", amount=amount)
    if status == "refunded":
        return t.gettext("The fee of %(amount)s has been refunded to you.", amount=amount)
    if status == "failed":
        return t.gettext("Your payment did not go through. Please pay %(amount)s again or by "
                         "bank transfer.", amount=amount)
    if case.payment == "online":
        return t.gettext("Please pay the fee of %(amount)s online by %(date)s.",
                         amount=amount, date=due)
    return t.gettext("Please pay the fee of %(amount)s by %(date)s. You will receive a fee "
                     "notice by e-mail with the bank details. Please give the case number "
                     "%(number)s as the payment reference.",
                     amount=amount, date=due, number=case.case_number)


def _delivery_text(t: Translator, case: Case, office: Office | None) -> str:
    status = case.dispatch_status
    if case.delivery == "external":
        return t.gettext("Your request has been forwarded to: %(authority)s. They will send "
                         "you the document directly.", authority=case.external_authority)
    if case.delivery == "email":
        return t.gettext("You will receive your document by e-mail.")
    if case.delivery == "pickup":
        return t.gettext("You can collect your document at: %(office)s.",
                         office=office.name if office else "")
    texts = {
        "queued": t.gettext("We will send your document to you by post."),
        "printed": t.gettext("Your document has been printed and will be posted soon."),
        "posted": t.gettext("Your document has been posted."),
        "delivered": t.gettext("Your document has been delivered."),
        "returned": t.gettext("Your letter has come back to us. We will contact you."),
        "cancelled": t.gettext("Sending by post has been cancelled. We will contact you."),
    }
    return texts.get(status, t.gettext("We will send your document to you by post."))


def case_view(t: Translator, case: Case, items: list[CaseItem],
              office: Office | None) -> CaseView:
    def name(item: CaseItem) -> str:
        return item.name_en if uses_english_data(t.lang) and item.name_en else item.name

    def money(cents: int, currency: str) -> str:
        return t.money(cents, currency) if cents else t.gettext("Free of charge")

    return CaseView(
        case_number=case.number,
        items=[CaseItemView(name(i), i.quantity, money(i.amount_cents, i.currency))
               for i in items],
        total=money(case.amount_cents, case.currency),
        payment=_payment_text(t, case),
        delivery=_delivery_text(t, case, office),
        payment_status=case.payment_status,
        dispatch_status=case.dispatch_status,
    )


async def citizen_case_view(
    session: AsyncSession, reference: str, t: Translator
) -> CaseView | None:
    """The completed case of the appointment ``reference``, if there is one."""
    appointment = await find_appointment(session, reference)
    if appointment is None or appointment.id is None:
        return None
    found = await completed_case(session, appointment.id)
    if found is None:
        return None
    case, items = found
    return case_view(t, case, items, await session.get(Office, case.office_id))
