"""Privacy of requests sent online: retention erases closed requests with their answers,
messages and documents after the period (unconfirmed ones sooner), keeps a completed request's
accounting facts, and respects the legal holds; the export by e-mail address lists them and
the erasure by e-mail address covers them, both through the admin API."""

from __future__ import annotations

import datetime as dt
import json
import secrets
from typing import Any

import httpx
from sqlalchemy import func, select, text, update
from sqlmodel import col
from starlette.applications import Starlette

from app.all_models import metadata
from app.worker import retention_task
from booking.models import Appointment
from cases.milestones import Milestone
from cases.models import Case, IdentityCheck
from core.types import utcnow
from online.models import OnlineRequest, RequestDocument, RequestMessage
from privacy.requests import UNCONFIRMED_DAYS
from privacy.rules import ANONYMISED_NAME, PLACEHOLDER_DOMAIN
from tests.request_support import Online, online_world
from tests.staff.helpers import audit_events, context

EXPORT = "/api/v1/admin/privacy/export"
ERASE = "/api/v1/admin/privacy/erase"
MARKER = "qzxmarker"  # lower case: it stands in e-mail addresses too


async def backdate(online: Online, reference: str, days: int, *, decided: bool = True) -> None:
    """As if the request had been sent (and decided) ``days`` ago."""
    then = utcnow() - dt.timedelta(days=days)
    values: dict[str, Any] = {"submitted_at": then - dt.timedelta(days=3)}
    if decided:
        values["decided_at"] = then
    else:
        values["submitted_at"] = then

    async def work(session: Any) -> None:
        case = (await session.execute(select(Case).where(col(Case.reference) == reference))
                ).scalars().one()
        await session.execute(update(OnlineRequest)
                              .where(col(OnlineRequest.case_id) == case.id).values(**values))

    await online.run(work)


async def case_of(online: Online, reference: str) -> tuple[Case, OnlineRequest] | None:
    async with online.ctx.db.transaction() as session:
        case = (await session.execute(select(Case).where(col(Case.reference) == reference))
                ).scalars().first()
        if case is None:
            return None
        request = await session.get(OnlineRequest, case.id)
        assert request is not None
        session.expunge_all()
        return case, request


async def count(online: Online, model: Any, case_id: int | None) -> int:
    async with online.ctx.db.transaction() as session:
        return int(await session.scalar(
            select(func.count()).select_from(model).where(model.case_id == case_id)) or 0)


async def with_history(online: Online, *, email: str = "erika@example.org",
                       name: str = "Erika") -> str:
    """A request with a question, an answer, a document and a milestone or two."""
    sent = await online.submit(email=email, given_name=name,
                               answers={"dog_name": f"Bello {name}", "notes": f"Notiz {name}"})
    reference = sent.case.reference
    await online.add_document(reference, "proof", f"nachweis-{name}.pdf")
    await online.ask(reference, f"Frage an {name}", ("proof",))
    return reference


async def add_identity_call(online: Online, reference: str) -> int:
    """The ended video call in which the request's identity was checked."""
    async def work(session: Any) -> int:
        held = await online.held(session, reference)
        start = utcnow() - dt.timedelta(days=300)
        appointment = Appointment(
            reference="V-" + secrets.token_hex(4).upper(), office_id=online.office_id,
            service_id=online.service_id, start_at=start,
            end_at=start + dt.timedelta(minutes=10), status="completed", given_name="Erika",
            family_name="Mustermann", email="erika@example.org",
            email_norm="erika@example.org", link_nonce=secrets.token_hex(16),
            token_hash=secrets.token_hex(32), link_expires_at=start,
            ics_uid=secrets.token_hex(8), case_id=held.case.id)
        session.add(appointment)
        await session.flush()
        session.add(IdentityCheck(case_id=held.case.id, appointment_id=appointment.id,
                                  document_type="id_card", outcome="verified",
                                  note="Brille"))
        assert appointment.id is not None
        return appointment.id

    return await online.run(work)


async def test_retention_erases_closed_requests_and_keeps_what_must_stay(
    app: Starlette,
) -> None:
    online = await online_world(app, fee_cents=1250)
    rejected = await with_history(online)
    await online.reject(rejected, "Der Hund ist schon angemeldet.")
    call_id = await add_identity_call(online, rejected)
    await backdate(online, rejected, 200)
    withdrawn = await with_history(online, name="Max", email="max@example.org")
    await online.withdraw(withdrawn)
    await backdate(online, withdrawn, 200)
    recent = await with_history(online, name="Lena", email="lena@example.org")
    await online.reject(recent, "Zu spät.")
    await backdate(online, recent, 10)
    still_open = await with_history(online, name="Tom", email="tom@example.org")
    await backdate(online, still_open, 200, decided=False)
    completed = await with_history(online, name="Ida", email="ida@example.org")
    await online.complete(completed)
    fee_open = await with_history(online, name="Eva", email="eva@example.org")
    await online.complete(fee_open)

    async def paid(session: Any) -> None:
        await session.execute(update(Case).where(col(Case.reference) == completed)
                              .values(payment_status="paid"))

    await online.run(paid)
    await backdate(online, completed, 200)
    await backdate(online, fee_open, 200)
    unconfirmed_old = (await online.submit(confirmation=True, email="old@example.org",
                                           given_name="Alt")).case.reference
    await backdate(online, unconfirmed_old, UNCONFIRMED_DAYS + 1, decided=False)
    unconfirmed_new = (await online.submit(confirmation=True, email="new@example.org",
                                           given_name="Neu")).case.reference
    rejected_case = await case_of(online, rejected)
    assert rejected_case is not None
    rejected_id = rejected_case[0].id

    await retention_task(online.ctx)

    # Closed requests and an old unconfirmed one are gone, with everything that hung on them.
    for gone in (rejected, withdrawn, unconfirmed_old):
        assert await case_of(online, gone) is None, gone
    for model in (RequestMessage, RequestDocument, Milestone, IdentityCheck):
        assert await count(online, model, rejected_id) == 0, model
    async with online.ctx.db.transaction() as session:
        call = await session.get(Appointment, call_id)
        assert call is not None and call.case_id is None  # its own retention anonymises it

    # A completed request keeps its case number and amounts, not the person's data.
    kept = await case_of(online, completed)
    assert kept is not None
    case, request = kept
    assert case.case_number and case.amount_cents == 1250 and case.state == "completed"
    assert (case.given_name, case.family_name) == (ANONYMISED_NAME, ANONYMISED_NAME)
    assert case.email.endswith("@" + PLACEHOLDER_DOMAIN) and case.email == request.email_norm
    assert request.answers == "{}" and request.status == "completed"
    assert await count(online, RequestMessage, case.id) == 0
    assert await count(online, RequestDocument, case.id) == 0

    # Kept whole: within the period, still open, fee unpaid, unconfirmed but recent.
    for reference, name in ((recent, "Lena"), (still_open, "Tom"), (fee_open, "Eva"),
                            (unconfirmed_new, "Neu")):
        found = await case_of(online, reference)
        assert found is not None and found[0].given_name == name, reference
    found = await case_of(online, fee_open)
    assert found is not None and "Bello Eva" in found[1].answers

    events = await audit_events(app, "privacy.retention")
    by_case = [e for e in events if e.object_type == "case"]
    assert {str(rejected_id), str(case.id)} <= {e.object_id for e in by_case}
    assert sorted(json.loads(e.detail)["reference"] for e in by_case) == sorted(
        [rejected, withdrawn, unconfirmed_old, completed])
    details = " ".join(e.detail for e in events)
    assert "Erika" not in details and "Max" not in details

    # A second run has nothing left to do.
    await retention_task(online.ctx)
    assert len(await audit_events(app, "privacy.retention")) == len(events)


async def dump(app: Starlette) -> str:
    parts = []
    async with context(app).db.transaction() as session:
        for table in metadata.sorted_tables:
            for row in await session.execute(text(f'SELECT * FROM "{table.name}"')):
                parts.append(repr(tuple(row)))
    return "\n".join(parts).lower()


async def test_erasure_by_address_covers_requests_and_leaves_no_trace(
    app: Starlette, client: httpx.AsyncClient, admin_headers: dict[str, str],
) -> None:
    online = await online_world(app)
    email = f"erika.{MARKER}@example.org"
    closed = await with_history(online, email=email, name=f"Erika{MARKER}")
    await online.reject(closed, f"Grund {MARKER}")
    running = await with_history(online, email=email.upper(), name="Erika")
    other = await with_history(online, email="max@example.org", name="Max")
    assert MARKER in await dump(app)

    r = await client.post(ERASE, json={"email": email}, headers=admin_headers)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["erased"] == [closed]
    assert body["retained"] == [{
        "reference": running, "reason_code": "request_open",
        "reason": "Der Online-Antrag wird noch bearbeitet: Er muss zuerst entschieden oder "
                  "zurückgezogen werden."}]
    # The open request's own data carries no marker (its name is "Erika"); its address does.
    leftover = (await dump(app)).replace(email, "")
    assert MARKER not in leftover
    assert await case_of(online, closed) is None
    for reference in (running, other):
        found = await case_of(online, reference)
        assert found is not None and found[0].given_name in ("Erika", "Max")
    erased = await audit_events(app, "privacy.erase")
    assert [e.object_type for e in erased] == ["case"] and closed in erased[0].detail


async def test_the_export_lists_requests_with_answers_messages_and_documents(
    app: Starlette, client: httpx.AsyncClient, admin_headers: dict[str, str],
) -> None:
    online = await online_world(app)
    reference = await with_history(online)
    await online.citizen_message(reference, "Hier ist der Nachweis.")
    await with_history(online, email="max@example.org", name="Max")

    r = await client.get(EXPORT, params={"email": "Erika@Example.org"}, headers=admin_headers)
    assert r.status_code == 200, r.text
    data = r.json()
    [request] = data["online_requests"]
    assert request["reference"] == reference and request["status"] == "in_progress"
    assert request["service"] == "Hundesteuer-Anmeldung"
    assert request["office"] == "Bürgerbüro Musterhausen"
    assert request["answers"] == {"dog_name": "Bello Erika", "notes": "Notiz Erika"}
    assert [(m["author"], m["text"]) for m in request["messages"]] == [
        ("office", "Frage an Erika"), ("citizen", "Hier ist der Nachweis.")]
    assert request["messages"][0]["documents_requested"] == ["proof"]
    [document] = request["documents"]
    assert document["filename"] == "nachweis-Erika.pdf" and document["size"] == 1234
    assert "sealed" not in r.text and "token_hash" not in r.text and "link_nonce" not in r.text
    assert "Max" not in r.text
    case = next(c for c in data["cases"] if c["reference"] == reference)
    assert {m["kind"] for m in case["milestones"]} >= {"received", "question", "answered"}
    assert {"request.submit", "request.ask"} <= {e["action"] for e in data["audit_events"]}
    [exported] = await audit_events(app, "privacy.export")
    assert reference in exported.detail and "erika" not in exported.detail.lower()


async def test_an_identity_call_of_an_open_request_is_not_anonymised(app: Starlette) -> None:
    """Appointment retention leaves the call alone while its request is being processed."""
    online = await online_world(app)
    reference = await with_history(online)
    call_id = await add_identity_call(online, reference)
    await retention_task(online.ctx)
    async with online.ctx.db.transaction() as session:
        call = await session.get(Appointment, call_id)
        assert call is not None and call.given_name == "Erika"
        assert call.case_id is not None
    found = await case_of(online, reference)
    assert found is not None and found[0].given_name == "Erika"
    assert await audit_events(app, "privacy.retention") == []
