"""What every e-mail to a citizen shares: where it is sent from, its headers and parts, how a
refusal by the SMTP server is told apart from a failure worth a retry, and what the mail jobs
need of the installation (``MailEnv``)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid, parseaddr
from pathlib import Path
from urllib.parse import urlsplit

import aiosmtplib

from booking.links import LinkKeys
from booking.models import Office
from core.i18n import I18n, Translator
from core.jobs import PermanentJobError
from core.rendering import Renderer
from core.transactions import Transactions
from core.types import utcnow
from mail.mailer import Mailer

TEMPLATES_DIR = Path(__file__).parent / "templates"


class PermanentMailError(PermanentJobError):
    """A mail that can never be sent (bad payload, recipient refused): no retry."""


@dataclass(frozen=True)
class MailEnv:
    """The installation as the mail jobs see it (built by the app from its settings)."""

    db: Transactions
    mailer: Mailer
    i18n: I18n
    links: LinkKeys
    base_url: str
    mail_from: str
    hold_minutes: int
    join_before_minutes: int
    # The municipality's name where an installation serves several (``tenants``), else "".
    town: str = ""
    templates: Renderer = field(default_factory=lambda: Renderer(TEMPLATES_DIR))

    def link_url(self, link_nonce: str) -> str:
        """The citizen's page, rebuilt from the stored nonce (no token is ever stored)."""
        return f"{self.base_url}/t/{self.links.token_for(link_nonce)}"


@dataclass(frozen=True)
class Attachment:
    data: bytes
    maintype: str
    subtype: str
    filename: str


def mailbox(name: str, address: str) -> Address:
    """A mailbox whose display name stays a name: built as an ``Address``, so the header is
    written with the name quoted (or encoded) as one piece, and no text an admin typed (an
    office called ``Amt <x@evil.example>``) can become a visible address. Line breaks and other
    control characters in the name become spaces."""
    clean = " ".join("".join(c if c.isprintable() else " " for c in name).split())
    return Address(display_name=clean, addr_spec=address)


def mail_domain(base_url: str) -> str:
    return urlsplit(base_url).hostname or "localhost"


def compose(
    env: MailEnv, t: Translator, name: str, /, *, subject: str, office: Office,
    to: tuple[str, str], message_id: str | None = None, now: datetime | None = None,
    attachments: tuple[Attachment, ...] = (), **context: object,
) -> EmailMessage:
    """One multipart/alternative message (``{name}.txt`` and ``.html``) from the office."""
    text = env.templates.render_string(f"{name}.txt", t, subject=subject, office=office,
                                       town=env.town, **context)
    html = env.templates.render_string(f"{name}.html", t, subject=subject, office=office,
                                       town=env.town, **context)
    sender_name, sender_address = parseaddr(env.mail_from)
    message = EmailMessage()
    message["Subject"] = subject
    sender = sender_name or office.name
    if env.town and env.town not in sender:
        sender = f"{sender} – {env.town}"
    message["From"] = mailbox(sender, sender_address)
    message["To"] = mailbox(*to)
    if office.email:
        message["Reply-To"] = mailbox(office.name, office.email)
    message["Date"] = format_datetime(now or utcnow())
    message["Message-ID"] = message_id or make_msgid(domain=mail_domain(env.base_url))
    message["Auto-Submitted"] = "auto-generated"
    # Quoted-printable keeps umlauts safe on servers without 8BITMIME.
    message.set_content(text, cte="quoted-printable")
    message.add_alternative(html, subtype="html", cte="quoted-printable")
    for attachment in attachments:
        message.add_attachment(attachment.data, maintype=attachment.maintype,
                               subtype=attachment.subtype, filename=attachment.filename)
    return message


def finish(message: EmailMessage, t: Translator) -> EmailMessage:
    # After the body and attachments: set_content() drops Content-* headers set before it.
    message["Content-Language"] = t.lang
    return message


async def deliver(env: MailEnv, message: EmailMessage, label: str) -> None:
    """Send; a refusal of every recipient with a 5xx is final, a 4xx is worth a retry."""
    try:
        await env.mailer.send(message, label=label)
    except aiosmtplib.SMTPRecipientsRefused as exc:
        if all(error.code >= 500 for error in exc.recipients):
            raise PermanentMailError("recipient refused by the SMTP server") from exc
        raise
