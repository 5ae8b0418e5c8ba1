"""Online payment against the fake Stripe on a real uvicorn: the app is configured with its
address and keys; ``World`` writes completed cases and reads back what happened."""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from argon2 import PasswordHasher
from sqlalchemy import func, select
from sqlmodel import col
from starlette.applications import Starlette

from app.context import AppContext
from app.settings import Settings
from booking.models import Appointment, Service, ServiceOffice
from cases.intake import request_of
from cases.milestones import Milestone
from cases.models import Case, CaseItem
from core.audit import AuditEvent
from core.jobs import Job
from postcall.payments.models import PaymentAttempt, ProcessedWebhookEvent, Refund
from staff import passwords
from tests.postcall.payments.fake_stripe import FakeStripe
from tests.staff.helpers import add_appointment, add_office, add_user, bearer, decide, token_for

ADMIN = "admin@stadt.example"
CLERK = "clerk@stadt.example"
_numbers = itertools.count(1)


@pytest.fixture(autouse=True)
def quick_hashes(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Real argon2id with small cost parameters (accounts on a small machine)."""
    monkeypatch.setattr(passwords, "_hasher",
                        PasswordHasher(time_cost=1, memory_cost=8 * 1024, parallelism=1))
    passwords._dummy_hash.cache_clear()
    yield
    passwords._dummy_hash.cache_clear()


@pytest.fixture
async def fake_stripe() -> AsyncIterator[FakeStripe]:
    async with FakeStripe().running() as fake:
        yield fake


@pytest.fixture
def settings(settings_factory: Callable[..., Settings], fake_stripe: FakeStripe) -> Settings:
    return settings_factory(stripe_secret_key=fake_stripe.secret_key,
                            stripe_webhook_secret=fake_stripe.webhook_secret,
                            stripe_api_base=fake_stripe.base_url)


@dataclass
class CaseRef:
    id: int
    number: str
    token: str
    appointment_id: int

    @property
    def auth(self) -> dict[str, str]:
        return bearer(self.token)


@dataclass
class World:
    app: Starlette
    client: httpx.AsyncClient
    fake: FakeStripe

    @property
    def state(self) -> AppContext:
        state = self.app.state.ctx
        assert isinstance(state, AppContext)
        return state

    async def case(self, *, payment: str = "online", status: str = "open",
                   items: tuple[tuple[str, int, int], ...] = (("Meldebescheinigung", 1000, 2),
                                                              ("Beglaubigung", 345, 1)),
                   locale: str = "de") -> CaseRef:
        """A completed appointment with its case (written directly, as the clerk's desk
        leaves it): by default 2 × 10,00 € + 3,45 € = 23,45 €, open, to be paid online."""
        office_id = await add_office(self.app, "Bürgerbüro Mitte")
        async with self.state.db.transaction(write=True) as session:
            service = Service(name=items[0][0], fee_cents=items[0][1])
            session.add(service)
            await session.flush()
            assert service.id is not None
            session.add(ServiceOffice(service_id=service.id, office_id=office_id))
            service_id = service.id
        start = dt.datetime.now(dt.UTC).replace(microsecond=0) - dt.timedelta(hours=1)
        appointment_id, token = await add_appointment(
            self.app, office_id=office_id, service_id=service_id, start=start,
            status="completed")
        number = f"2026-{next(_numbers):06d}"
        amount = sum(fee * quantity for _name, fee, quantity in items)
        async with self.state.db.transaction(write=True) as session:
            row = await session.get(Appointment, appointment_id)
            assert row is not None
            row.locale = locale
            case = decide(await request_of(session, row), case_number=number,
                          amount_cents=amount, payment=payment, payment_status=status,
                          delivery="email", dispatch_status="not_required", locale=locale,
                          due_date=dt.date.today() + dt.timedelta(days=14))
            await session.flush()
            assert case.id is not None
            for position, (name, fee, quantity) in enumerate(items):
                session.add(CaseItem(case_id=case.id, position=position, name=name,
                                     unit_fee_cents=fee, quantity=quantity,
                                     amount_cents=fee * quantity))
            return CaseRef(case.id, number, token, appointment_id)

    # --- acting ------------------------------------------------------------------------------

    async def start(self, ref: CaseRef) -> httpx.Response:
        return await self.client.post("/api/v1/me/payment", headers=ref.auth)

    async def start_session(self, ref: CaseRef) -> str:
        """Start a payment through the API; the fake's session id."""
        r = await self.start(ref)
        assert r.status_code == 200, r.text
        url = r.json()["redirect_url"]
        assert url.startswith(self.fake.base_url + "/c/pay/cs_test_")
        return str(url.rsplit("/", 1)[1])

    async def deliver(self, payload: bytes, signature: str | None = "sign",
                      **sign: Any) -> httpx.Response:
        headers = {"Content-Type": "application/json"}
        if signature == "sign":
            signature = self.fake.sign(payload, **sign)
        if signature is not None:
            headers["Stripe-Signature"] = signature
        return await self.client.post("/api/v1/webhooks/stripe", content=payload,
                                      headers=headers)

    async def send(self, event_type: str, session_id: str, **kwargs: Any) -> httpx.Response:
        r = await self.deliver(self.fake.event(event_type, session_id, **kwargs))
        assert r.status_code == 200, r.text
        return r

    async def admin(self) -> dict[str, str]:
        await add_user(self.app, ADMIN, "admin")
        return bearer(await token_for(self.client, ADMIN))

    async def clerk(self) -> dict[str, str]:
        await add_user(self.app, CLERK, "clerk")
        return bearer(await token_for(self.client, CLERK))

    # --- reading -----------------------------------------------------------------------------

    async def rows(self, model: Any, **where: Any) -> list[Any]:
        async with self.state.db.transaction() as session:
            query = select(model)
            for name, value in where.items():
                query = query.where(col(getattr(model, name)) == value)
            return list((await session.execute(query.order_by(col(model.id)))).scalars())

    async def case_row(self, ref: CaseRef) -> Case:
        [row] = await self.rows(Case, id=ref.id)
        assert isinstance(row, Case)
        return row

    async def attempts(self, ref: CaseRef) -> list[PaymentAttempt]:
        return await self.rows(PaymentAttempt, case_id=ref.id)

    async def milestones(self, ref: CaseRef) -> list[str]:
        return [m.kind for m in await self.rows(Milestone, case_id=ref.id)]

    async def jobs(self, kind: str) -> list[dict[str, Any]]:
        return [job.data() for job in await self.rows(Job, kind=kind)]

    async def audit(self, action: str) -> list[AuditEvent]:
        return await self.rows(AuditEvent, action=action)

    async def refunds(self, ref: CaseRef) -> list[Refund]:
        return await self.rows(Refund, case_id=ref.id)

    async def count(self, model: Any) -> int:
        async with self.state.db.transaction() as session:
            return int((await session.execute(select(func.count()).select_from(model)))
                       .scalar_one())

    async def snapshot(self) -> dict[str, Any]:
        """Everything a webhook could change, to prove that a refused one changed nothing."""
        return {
            "cases": [(c.id, c.payment_status, c.updated_at) for c in await self.rows(Case)],
            "attempts": [(a.id, a.status, a.payment_intent, a.paid_at)
                         for a in await self.rows(PaymentAttempt)],
            "events": await self.count(ProcessedWebhookEvent),
            "milestones": await self.count(Milestone),
            "jobs": await self.count(Job),
            "audit": await self.count(AuditEvent),
        }


@pytest.fixture
async def world(app: Starlette, client: httpx.AsyncClient, fake_stripe: FakeStripe) -> World:
    return World(app, client, fake_stripe)
