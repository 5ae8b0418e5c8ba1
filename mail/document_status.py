"""The e-mail "your ID card / passport is ready for pickup": the outbox job
``mail.document_ready``, queued once when a report sets a document ``ready`` and someone left
an address for it (``idstatus``).

The address is opened from its seal only here, and deleted right after the SMTP server accepted
the mail. Should the worker die between the two, the mail goes again on the retry (with the
same Message-ID), as every mail of the outbox may.
"""

from __future__ import annotations

import hashlib
import logging

from core.jobs import Job, payload_int
from idstatus.lookup import forget_address, ready_mail
from mail.compose import MailEnv, compose, deliver, finish, mail_domain

log = logging.getLogger("buergerbuero.mail")


async def send_ready_mail(env: MailEnv, secret_key: bytes, job: Job) -> None:
    """Handler for ``mail.document_ready`` jobs."""
    row_id = payload_int(job.data(), "document_status_id")
    async with env.db.transaction() as session:
        found = await ready_mail(session, secret_key, row_id)
        if found is not None:
            session.expunge(found.office)
    if found is None:
        log.info("job %s: nothing to tell (entry gone, no address or no longer ready)", job.id)
        async with env.db.transaction(write=True) as session:
            await forget_address(session, row_id)
        return
    t = env.i18n.translator(found.locale)
    passport = found.document_type == "passport"
    subject = (t.gettext("Your passport is ready for pickup") if passport
               else t.gettext("Your ID card is ready for pickup"))
    ready_text = (t.gettext("Your new passport has arrived. You can pick it up at %(office)s.",
                            office=found.office.name) if passport else
                  t.gettext("Your new ID card has arrived. You can pick it up at %(office)s.",
                            office=found.office.name))
    digest = hashlib.sha256(f"document-ready:{job.id}:{row_id}".encode()).hexdigest()[:16]
    message = compose(
        env, t, "document/ready", subject=subject, office=found.office, to=("", found.address),
        message_id=f"<job-{job.id}.{digest}@{mail_domain(env.base_url)}>", citizen_name="",
        ready_text=ready_text, status_url=f"{env.base_url}/document-status")
    await deliver(env, finish(message, t), "document_ready")
    async with env.db.transaction(write=True) as session:
        await forget_address(session, row_id)
