"""Told once: an address left on the status page is kept sealed, one mail goes out through the
outbox (to a real SMTP server) when a report sets the document ready, and the address is gone
right after."""

from __future__ import annotations

from email.message import EmailMessage

from idstatus.lookup import SEAL_PURPOSE
from idstatus.service import READY_MAIL_JOB
from tests.idstatus.conftest import SERIAL, World, item
from tests.smtp_support import SmtpSink

NOTIFY = "/api/v1/document-status/notify"


def text_of(message: EmailMessage) -> str:
    part = message.get_body(preferencelist=("plain",))
    assert part is not None
    return str(part.get_content())


async def notify(world: World, email: str = "erika@example.org", **extra: str) -> int:
    r = await world.client.post(NOTIFY, json={"document_type": "id_card", "serial": SERIAL,
                                              "email": email, **extra})
    return r.status_code


async def test_told_once_then_the_address_is_gone(world: World, smtp_sink: SmtpSink) -> None:
    await world.push(item("in_production", "2026-11-02T09:00:00+01:00"))
    assert await notify(world) == 202
    [entry] = await world.entries()
    assert entry.notify_email is not None and b"erika" not in entry.notify_email
    assert entry.notified_at is None

    await world.push(item("shipped", "2026-11-09T09:00:00+01:00"))
    assert await world.jobs(READY_MAIL_JOB) == []
    await world.push(item("ready", "2026-11-12T09:00:00+01:00"))
    assert await world.jobs(READY_MAIL_JOB) == [{"document_status_id": entry.id}]
    # The same report again, or a correction and ready again: no second mail.
    await world.push(item("ready", "2026-11-12T10:00:00+01:00"))
    assert len(await world.jobs(READY_MAIL_JOB)) == 1

    await world.run_jobs()
    [message] = smtp_sink.snapshot()
    assert message["To"] == "erika@example.org"
    assert message["Subject"] == "Ihr Ausweis liegt zur Abholung bereit"
    assert message["Content-Language"] == "de"
    body = text_of(message)
    assert "Ihr neuer Ausweis ist da. Sie können ihn hier abholen: Bürgerbüro Mitte." in body
    assert "Ihre E-Mail-Adresse ist jetzt gelöscht" in body
    assert "http://testserver/document-status" in body
    assert SERIAL not in message.as_string()
    [entry] = await world.entries()
    assert entry.notify_email is None and entry.notified_at is not None
    # The page no longer offers the form, the API refuses another address.
    assert await notify(world) == 409
    await world.run_jobs()
    assert len(smtp_sink.snapshot()) == 1


async def test_english_when_asked_in_english(world: World, smtp_sink: SmtpSink) -> None:
    await world.push(item(document_type="passport"))
    r = await world.client.post(NOTIFY, json={"document_type": "passport", "serial": SERIAL,
                                              "email": "erika@example.org", "locale": "en"})
    assert r.status_code == 202
    await world.push(item("ready", "2026-11-12T09:00:00+01:00", document_type="passport"))
    await world.run_jobs()
    [message] = smtp_sink.snapshot()
    assert message["Subject"] == "Your passport is ready for pickup"


async def test_an_address_for_a_document_picked_up_untold_is_dropped(
        world: World, smtp_sink: SmtpSink) -> None:
    await world.push(item())
    assert await notify(world) == 202
    await world.push(item("collected", "2026-11-20T09:00:00+01:00"))
    assert await world.jobs(READY_MAIL_JOB) == []
    [entry] = await world.entries()
    assert entry.notify_email is None


async def test_a_mail_job_whose_document_moved_on_sends_nothing(
        world: World, smtp_sink: SmtpSink) -> None:
    await world.push(item())
    assert await notify(world) == 202
    await world.push(item("ready", "2026-11-12T09:00:00+01:00"))
    await world.push(item("collected", "2026-11-12T11:00:00+01:00"))  # before the worker ran
    await world.run_jobs()
    assert smtp_sink.snapshot() == []
    [entry] = await world.entries()
    assert entry.notify_email is None


async def test_bad_addresses_and_unknown_numbers(world: World) -> None:
    assert await notify(world) == 404
    await world.push(item())
    for bad in ("", "erika", "erika@", "a b@example.org", "x" * 300 + "@example.org"):
        assert await notify(world, bad) == 422, bad
    r = await world.client.post(NOTIFY, json={"document_type": "id_card", "serial": "L01",
                                              "email": "erika@example.org"})
    assert r.status_code == 422 and r.json()["error"]["code"] == "invalid_serial"


async def test_the_seal_is_bound_to_its_entry(world: World) -> None:
    from core.sealing import unseal

    await world.push(item(), item(serial="T22000129"))
    assert await notify(world) == 202
    first, second = await world.entries()
    assert first.notify_email is not None
    key = world.state.secret_key
    assert unseal(key, SEAL_PURPOSE, first.notify_email,
                  aad=f"document-status:{first.id}".encode()) == b"erika@example.org"
    # Copied to another entry, it does not open there.
    assert unseal(key, SEAL_PURPOSE, first.notify_email,
                  aad=f"document-status:{second.id}".encode()) is None
