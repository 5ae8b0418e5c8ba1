"""E-mails after the call: the fee notice, the changed notice, the receipt, the payment reminder
and one message per status step (milestone), each in the booking's language with the link to
the citizen's page. The letters themselves are German (administrative acts) and go as PDF
attachments; the reminder also carries the notice's GiroCode as an image.

Templates: ``mail/templates/case/`` (plain text and accessible HTML, like the appointment
e-mails).
"""

from __future__ import annotations

import io
from dataclasses import dataclass, field
from datetime import date, datetime
from email.message import EmailMessage
from typing import Any

from booking.catalog import service_name
from booking.models import Appointment, Office, Service
from cases.milestone_texts import milestone_explanation, milestone_label
from cases.models import Case, CaseItem, Channel
from core.i18n import Translator, uses_english_data
from mail.compose import Attachment, MailEnv, compose, finish, mail_domain
from postcall.documents import Authority
from postcall.girocode import (
    epc_transfer,
    group_iban,
    normalize_bic,
    remittance_text,
)

TEMPLATES = ("notice", "receipt", "reminder", "milestone")


@dataclass
class CaseMail:
    """The facts one mail about a case is made of."""

    case: Case
    items: list[CaseItem]
    office: Office
    appointment: Appointment | None  # None for a request sent online
    link_url: str
    attachments: list[Attachment] = field(default_factory=list)
    extra: dict[str, Any] = field(default_factory=dict)
    # Named while the request has no items yet (an online request's steps before its decision).
    service: Service | None = None


def _subject(t: Translator, template: str, case: Case, extra: dict[str, Any]) -> str:
    if case.case_number is None:  # a step of a request sent online, before its decision
        return t.gettext("%(label)s – request %(reference)s", label=extra["label"],
                         reference=case.reference)
    number = case.case_number
    if template == "notice":
        if extra.get("corrected"):
            return t.gettext("Your changed fee notice – case number %(number)s", number=number)
        return t.gettext("Your fee notice – case number %(number)s", number=number)
    if template == "receipt":
        return t.gettext("Payment receipt – case number %(number)s", number=number)
    if template == "reminder":
        return t.gettext("Payment reminder – case number %(number)s", number=number)
    return t.gettext("%(label)s – case number %(number)s", label=extra["label"], number=number)


def pdf_attachment(pdf: bytes, title: str, case_number: str) -> Attachment:
    safe = "".join(ch if ch.isalnum() or ch == "-" else "-" for ch in case_number)
    return Attachment(pdf, "application", "pdf", f"{title}-{safe}.pdf")


def girocode_png(authority: Authority, case_number: str, open_cents: int) -> Attachment:
    """The notice's GiroCode as a PNG, for banking apps that scan from another screen."""
    bank = authority.account
    qr = epc_transfer(bank.account_holder, bank.iban, bank.bic, open_cents,
                      text=remittance_text(case_number, authority.remittance_prefix)).qr()
    out = io.BytesIO()
    qr.save(out, kind="png", scale=8, border=4)
    return Attachment(out.getvalue(), "image", "png", "girocode.png")


def bank_rows(t: Translator, authority: Authority, case_number: str, open_cents: int,
              due: date | None, currency: str) -> list[tuple[str, str]]:
    bank = authority.account
    rows = [
        (t.gettext("Recipient"), bank.account_holder),
        ("IBAN", group_iban(bank.iban)),
        ("BIC", normalize_bic(bank.bic)),
        (t.gettext("Bank"), bank.bank_name),
        (t.gettext("Amount"), t.money(open_cents, currency)),
        (t.gettext("Payment reference"), remittance_text(case_number, authority.remittance_prefix)),
    ]
    if due is not None:
        rows.insert(5, (t.gettext("Due on"), t.date(due, "long")))
    return rows


def service_names(t: Translator, items: list[CaseItem]) -> str:
    english = uses_english_data(t.lang)
    names = [item.name_en if english and item.name_en else item.name for item in items]
    return ", ".join(names)


def build_case_mail(env: MailEnv, template: str, mail: CaseMail, *, message_id: str,
                    now: datetime | None = None) -> EmailMessage:
    if template not in TEMPLATES:
        raise ValueError(f"unknown mail template {template!r}")
    office, case = mail.office, mail.case
    t = env.i18n.translator(case.locale)
    online = case.channel == Channel.online
    extra = dict(mail.extra)
    if template == "milestone":
        detail = extra.get("detail", "")
        extra["label"] = milestone_label(t, extra["kind"], detail)
        extra["explanation"] = milestone_explanation(t, extra["kind"], detail, online=online)
        extra["date_text"] = t.datetime(extra["at"], office.timezone, "medium")
    citizen_name = f"{case.given_name} {case.family_name}".strip()
    names = service_names(t, mail.items)
    if not names and mail.service is not None:
        names = service_name(mail.service, t.lang)
    message = compose(
        env, t, f"case/{template}", subject=_subject(t, template, case, extra),
        office=office, to=(citizen_name, case.email), message_id=message_id, now=now,
        attachments=tuple(mail.attachments), citizen_name=citizen_name,
        case_number=case.case_number, reference=case.reference, online=online,
        service_names=names, link_url=mail.link_url, rows=extra.pop("rows", []), **extra,
    )
    return finish(message, t)


def message_id(job_id: int, kind: str, case: Case, base_url: str) -> str:
    """The same on every attempt of one job, so a retried mail is recognisably the same."""
    number = case.case_number or case.reference  # a request sent online has none at first
    return f"<{kind}-{job_id}.{number}@{mail_domain(base_url)}>".replace(" ", "")
