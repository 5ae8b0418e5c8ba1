"""ID card / passport status and lost links: the clerk's desk of ``tests/cases`` (offices A and
B, a clerk of each, an admin) plus an integration account of office A, the app's mail going to
a real SMTP server (aiosmtpd), and helpers to push reports and run the worker's jobs."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from sqlalchemy import select
from sqlmodel import col
from starlette.applications import Starlette

from app.context import AppContext
from app.settings import Settings
from app.worker import Worker
from core.jobs import Job
from idstatus.models import DocumentStatus
from tests.cases.conftest import Desk, build_desk, quick_hashes  # noqa: F401 (a fixture)
from tests.smtp_support import SmtpSink
from tests.staff.helpers import add_user, bearer, token_for

INTEGRATION = "passamt.software@stadt.example"
SERIAL = "L01X00T47"  # nine characters of digits and C F G H J K L M N P R T V W X Y Z
PUSH = "/api/v1/integration/document-status"
LOOKUP = "/api/v1/document-status"


@pytest.fixture
def settings(settings_factory: Callable[..., Settings], smtp_sink: SmtpSink) -> Settings:
    return settings_factory(smtp_host="127.0.0.1", smtp_port=smtp_sink.port,
                            smtp_timeout_seconds=5.0)


@dataclass
class World:
    desk: Desk
    integration: dict[str, str]  # the passport software's token, office A

    @property
    def client(self) -> httpx.AsyncClient:
        return self.desk.client

    @property
    def state(self) -> AppContext:
        return self.desk.state

    async def push(self, *items: dict[str, Any], office: str = "a",
                   headers: dict[str, str] | None = None) -> httpx.Response:
        office_id = self.desk.office_a if office == "a" else self.desk.office_b
        return await self.client.post(PUSH, json={"office_id": office_id, "items": list(items)},
                                      headers=headers or self.integration)

    async def lookup(self, serial: str = SERIAL, document_type: str = "id_card",
                     **headers: str) -> httpx.Response:
        return await self.client.post(LOOKUP, json={"document_type": document_type,
                                                    "serial": serial}, headers=headers)

    async def entries(self) -> list[DocumentStatus]:
        async with self.state.db.transaction() as session:
            rows = list((await session.execute(
                select(DocumentStatus).order_by(col(DocumentStatus.id)))).scalars())
            session.expunge_all()
            return rows

    async def jobs(self, kind: str) -> list[dict[str, Any]]:
        async with self.state.db.transaction() as session:
            found = (await session.execute(select(Job).where(col(Job.kind) == kind)
                                           .order_by(col(Job.id)))).scalars().all()
            return [job.data() for job in found]

    async def run_jobs(self) -> None:
        worker = Worker(self.state, name="test", periodic=[])
        while await worker.run_once():
            pass


def item(status: str = "in_production", at: str = "2026-11-02T09:00:00+01:00",
         serial: str = SERIAL, document_type: str = "id_card") -> dict[str, str]:
    return {"document_type": document_type, "serial": serial, "status": status, "at": at}


@pytest.fixture
async def world(app: Starlette, client: httpx.AsyncClient) -> World:
    desk = await build_desk(app, client)
    await add_user(app, INTEGRATION, "integration", office_ids=[desk.office_a])
    return World(desk=desk, integration=bearer(await token_for(client, INTEGRATION)))
