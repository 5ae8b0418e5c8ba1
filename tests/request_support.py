"""Requests sent online for the mail, letter and privacy tests, made through the services the
HTTP API calls (``online.catalogue``, ``online.requests``, ``online.inbox``): an office with
letterhead, an online service whose form has a field of every kind, a clerk, and helpers to
submit, confirm, ask, reject, withdraw and invite."""

from __future__ import annotations

import datetime as dt
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col
from starlette.applications import Starlette

from app.context import AppContext
from app.worker import Worker
from booking.models import Office, Service
from booking.service import CitizenInput
from cases.completion import CasePolicy, CompletionInput, ItemInput
from cases.models import Case
from core.audit import Actor
from core.jobs import Job
from online import inbox
from online.catalogue import create_online_service, update_online_service
from online.models import OnlineRequest, RequestDocument
from online.requests import (
    Held,
    RequestPolicy,
    Submitted,
    citizen_message,
    confirm,
    submit,
    withdraw,
)
from staff.models import StaffUser
from tests.staff.helpers import add_user, context

AUTHORITY = "Stadt Musterhausen"
OFFICE_ADDRESS = "Stadt Musterhausen\nMarktplatz 1\n73760 Musterhausen"
CLERK = "clerk.online@stadt.example"
CITIZEN = "erika@example.org"

FIELDS: list[dict[str, Any]] = [
    {"key": "dog_name", "label": "Name des Hundes", "label_en": "Name of the dog",
     "type": "text", "required": True},
    {"key": "born", "label": "Geburtstag des Hundes", "label_en": "The dog's birthday",
     "type": "date"},
    {"key": "weight", "label": "Gewicht in kg", "label_en": "Weight in kg", "type": "number"},
    {"key": "breed", "label": "Rasse", "label_en": "Breed", "type": "choice",
     "options": [{"value": "mix", "label": "Mischling", "label_en": "Mixed breed"},
                 {"value": "other", "label": "Andere", "label_en": "Other"}]},
    {"key": "insured", "label": "Haftpflichtversichert", "label_en": "Liability insured",
     "type": "checkbox"},
    {"key": "kept_at", "label": "Anschrift der Haltung", "label_en": "Where the dog lives",
     "type": "address"},
    {"key": "found_at", "label": "Fundort", "label_en": "Where it was found",
     "type": "location"},
    {"key": "notes", "label": "Bemerkungen", "label_en": "Notes", "type": "textarea"},
    {"key": "colour", "label": "Fellfarbe", "label_en": "Colour of the coat", "type": "text"},
    {"key": "proof", "label": "Versicherungsnachweis", "label_en": "Proof of insurance",
     "type": "file"},
    {"key": "photo", "label": "Foto des Hundes", "label_en": "Photo of the dog",
     "type": "file"},
]

ANSWERS: dict[str, Any] = {
    "dog_name": "Bello", "born": "2021-04-03", "weight": 12.5, "breed": "mix",
    "insured": True, "kept_at": {"street": "Hauptstraße 1", "postcode": "73760",
                                 "city": "Ostfildern"},
    "found_at": {"lat": 48.7122, "lon": 9.2617}, "notes": "Erste Zeile\nZweite Zeile",
    "colour": "braun",
}

T = TypeVar("T")


@dataclass
class Online:
    app: Starlette
    office_id: int
    service_id: int
    clerk_id: int

    @property
    def ctx(self) -> AppContext:
        return context(self.app)

    async def run(self, work: Callable[[AsyncSession], Awaitable[T]]) -> T:
        async with self.ctx.db.transaction(write=True) as session:
            return await work(session)

    async def submit(self, *, locale: str = "de", confirmation: bool = False,
                     answers: dict[str, Any] | None = None, email: str = CITIZEN,
                     given_name: str = "Erika", family_name: str = "Mustermann",
                     now: dt.datetime | None = None) -> Submitted:
        citizen = CitizenInput(given_name=given_name, family_name=family_name, email=email)

        async def work(session: AsyncSession) -> Submitted:
            return await submit(
                session, self.ctx.links, RequestPolicy(require_confirmation=confirmation),
                service_id=self.service_id, office_id=self.office_id, citizen=citizen,
                answers=ANSWERS if answers is None else answers, locale=locale, now=now)

        return await self.run(work)

    async def held(self, session: AsyncSession, reference: str) -> Held:
        case = (await session.execute(
            select(Case).where(col(Case.reference) == reference))).scalars().one()
        request = await session.get(OnlineRequest, case.id)
        assert request is not None
        return Held(case=case, request=request)

    async def confirm(self, reference: str) -> None:
        async def work(session: AsyncSession) -> None:
            await confirm(session, RequestPolicy(), await self.held(session, reference))

        await self.run(work)

    async def citizen_message(self, reference: str, text: str) -> None:
        async def work(session: AsyncSession) -> None:
            await citizen_message(session, await self.held(session, reference), text)

        await self.run(work)

    async def withdraw(self, reference: str) -> None:
        async def work(session: AsyncSession) -> None:
            await withdraw(session, await self.held(session, reference))

        await self.run(work)

    async def clerk(self, reference: str,
                    step: Callable[[AsyncSession, inbox.Entry, StaffUser], Awaitable[Any]],
                    ) -> None:
        """One step of the clerk's (``online.inbox``) on the request ``reference``."""
        async def work(session: AsyncSession) -> None:
            user = await session.get(StaffUser, self.clerk_id)
            assert user is not None
            entry = await inbox.request_for_staff(session, user, reference)
            await step(session, entry, user)

        await self.run(work)

    async def ask(self, reference: str, text: str, documents: tuple[str, ...] = ()) -> None:
        await self.clerk(reference, lambda s, e, u: inbox.ask(s, e, u, text, documents))

    async def reject(self, reference: str, reason: str) -> None:
        await self.clerk(reference, lambda s, e, u: inbox.reject(s, e, u, reason))

    async def take_up(self, reference: str) -> None:
        await self.clerk(reference, lambda s, e, u: inbox.claim(s, e, u))

    async def complete(self, reference: str, *, payment: str = "invoice",
                       delivery: str = "email") -> None:
        """The clerk decides the request: its own service as the one item."""
        data = CompletionInput(items=(ItemInput(service_id=self.service_id),),
                               payment=payment, delivery=delivery)
        await self.clerk(reference, lambda s, e, u: inbox.complete(s, e, u, data, CasePolicy()))

    async def invite_video(self, reference: str) -> None:
        await self.clerk(reference, lambda s, e, u: inbox.invite_video(s, e, u))

    async def add_document(self, reference: str, field_key: str, filename: str) -> None:
        async def work(session: AsyncSession) -> None:
            held = await self.held(session, reference)
            assert held.case.id is not None
            session.add(RequestDocument(case_id=held.case.id, field_key=field_key,
                                        filename=filename, content_type="application/pdf",
                                        size=1234, sealed=b"\x00sealed bytes"))

        await self.run(work)

    async def retire(self, key: str) -> None:
        """The admin takes the field ``key`` off the form (it is kept, retired)."""
        async def work(session: AsyncSession) -> None:
            fields = [f for f in FIELDS if f["key"] != key]
            await update_online_service(session, Actor.system(), self.service_id,
                                        {"fields": fields})

        await self.run(work)

    async def jobs(self, kind: str) -> list[Job]:
        async with self.ctx.db.transaction() as session:
            rows = await session.execute(select(Job).where(col(Job.kind) == kind)
                                         .order_by(col(Job.id)))
            found = list(rows.scalars())
            session.expunge_all()
            return found


async def online_world(app: Starlette, *, bank: bool = True, fee_cents: int = 0) -> Online:
    """An office with letterhead (``bank``: and bank details), a video service for identity
    calls, the online service "Hundesteuer-Anmeldung" (``fee_cents``, no identity check) with
    ``FIELDS`` and a clerk."""
    ctx = context(app)
    async with ctx.db.transaction(write=True) as session:
        office = Office(name="Bürgerbüro Musterhausen", authority=AUTHORITY,
                        address=OFFICE_ADDRESS, email="buergerbuero@musterhausen.example",
                        phone="07000 123-0")
        if bank:
            office.iban, office.bic = "DE89370400440532013000", "COBADEFFXXX"
            office.bank_name = "Kreissparkasse Musterhausen"
        video = Service(name="Identitätsprüfung per Video", name_en="Identity check by video",
                        duration_minutes=10, requires_identity=False)
        session.add_all([office, video])
        await session.flush()
        assert office.id is not None
        offered = await create_online_service(session, Actor.system(), {
            "name": "Hundesteuer-Anmeldung", "name_en": "Dog tax registration",
            "fee_cents": fee_cents, "fee_schedule_ref": "Hundesteuersatzung § 4",
            "office_ids": [office.id], "processing_days": 14,
            "video_service_id": video.id, "fields": FIELDS,
        })
        office_id, service_id = office.id, offered.service.id
    assert service_id is not None
    clerk_id = await add_user(app, CLERK, "clerk", office_ids=[office_id])
    return Online(app=app, office_id=office_id, service_id=service_id, clerk_id=clerk_id)


async def drain(app: Starlette, *, clock: Callable[[], dt.datetime] | None = None,
                rounds: int = 20) -> int:
    """Run the worker until no job is due; returns how many ran."""
    worker = Worker(context(app), name="test-worker", periodic=[],
                    **({"clock": clock} if clock is not None else {}))
    total = 0
    for _ in range(rounds):
        ran = await worker.run_once()
        total += ran
        if ran == 0:
            return total
    raise AssertionError("the worker kept finding jobs")
