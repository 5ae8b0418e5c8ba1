"""No text an admin or a citizen typed becomes an address: an office named like a mailbox, a
name with a line break, through the outbox and a real SMTP server, read back by a mail parser."""

from __future__ import annotations

from collections.abc import Callable

from app.context import AppContext
from app.worker import Worker
from mail.compose import mailbox

from . import factories
from .conftest import SmtpSink
from .test_outbox_smtp import smtp_settings

SPOOF = "Bürgerbüro <noreply@evil.example>"


def test_a_mailbox_name_stays_a_name() -> None:
    box = mailbox("Amt\r\nBcc: x@evil.example", "termine@stadt.example")
    assert box.addr_spec == "termine@stadt.example"
    assert box.display_name == "Amt Bcc: x@evil.example"


async def test_an_office_name_cannot_spoof_the_sender(
    make_ctx: Callable[..., AppContext], smtp_sink: SmtpSink,
) -> None:
    ctx = make_ctx(**smtp_settings(smtp_sink, mail_from="termine@stadt.example"))
    async with ctx.db.transaction(write=True) as session:
        office, service = await factories.add_office_and_service(session)
        office.name = SPOOF
        office.email = "buergerbuero@stadt.example"
        await factories.add_appointment_with_mail(
            session, ctx.links, office, service, email="erika@example.org",
            given_name="Erika <chef@evil.example>")
    worker = Worker(ctx, name="w1", periodic=[])
    while await worker.run_once():
        pass
    [message] = smtp_sink.snapshot()
    senders = message["From"].addresses
    assert [a.addr_spec for a in senders] == ["termine@stadt.example"]
    assert senders[0].display_name == SPOOF  # shown as the name it is
    assert [a.addr_spec for a in message["Reply-To"].addresses] == ["buergerbuero@stadt.example"]
    assert [a.addr_spec for a in message["To"].addresses] == ["erika@example.org"]
    assert "evil.example" not in "".join(a.addr_spec for a in message["To"].addresses)
