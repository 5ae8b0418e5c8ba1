"""Online services on the clerk's desk of ``tests/cases``: two offices (A, B), a clerk of each,
an admin, and an online service defined through the admin API."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette

from cases.models import Case
from online.models import OnlineRequest
from tests.cases.conftest import Desk, build_desk, quick_hashes  # noqa: F401 (a fixture)

DOG_TAX: dict[str, Any] = {
    "name": "Hundesteuer-Anmeldung", "name_en": "Dog tax registration",
    "description": "Melden Sie Ihren Hund zur Hundesteuer an.", "fee_cents": 0,
    "identity": "none", "processing_days": 14,
    "fields": [
        {"key": "breed", "label": "Rasse", "label_en": "Breed", "type": "text",
         "required": True},
        {"key": "acquired_on", "label": "Seit wann halten Sie den Hund?",
         "label_en": "Since when do you keep the dog?", "type": "date", "required": True},
        {"key": "chip", "label": "Chipnummer", "type": "text"},
        {"key": "size", "label": "Größe", "type": "choice", "required": True,
         "options": [{"value": "small", "label": "klein", "label_en": "small"},
                     {"value": "large", "label": "groß", "label_en": "large"}]},
        {"key": "proof", "label": "Nachweis", "type": "file", "max_bytes": 2_000_000},
        {"key": "consent", "label": "Ich bestätige die Angaben.", "type": "checkbox",
         "required": True},
    ],
}
ANSWERS: dict[str, Any] = {"breed": "Dackel", "acquired_on": "2026-11-01", "size": "small",
                           "consent": True}
CITIZEN = {"given_name": "Erika", "family_name": "Mustermann",
           "email": "erika@example.org"}


@dataclass
class Portal:
    desk: Desk
    service_id: int

    @property
    def client(self) -> httpx.AsyncClient:
        return self.desk.client

    async def submit(self, answers: dict[str, Any] | None = None, *, office: str = "a",
                     service_id: int | None = None, **extra: Any) -> httpx.Response:
        return await self.client.post("/api/v1/requests", json={
            "service_id": service_id or self.service_id,
            "office_id": self.desk.office_a if office == "a" else self.desk.office_b,
            "citizen": extra.pop("citizen", CITIZEN), "answers": answers or ANSWERS, **extra})

    async def token(self, reference: str) -> str:
        """The link token, rebuilt from its nonce as the mail worker does."""
        cases = await self.desk.rows(Case, reference=reference)
        assert len(cases) == 1
        request = (await self.desk.rows(OnlineRequest, case_id=cases[0].id))[0]
        return self.desk.state.links.token_for(request.link_nonce)

    async def sent(self, answers: dict[str, Any] | None = None, **extra: Any,
                   ) -> tuple[str, dict[str, str]]:
        """A request sent and confirmed: (reference, the link's headers)."""
        r = await self.submit(answers, **extra)
        assert r.status_code == 201, r.text
        reference = r.json()["reference"]
        link = {"Authorization": f"Bearer {await self.token(reference)}"}
        r = await self.client.post("/api/v1/me/confirm", headers=link)
        assert r.status_code == 200, r.text
        assert r.json()["status"] == "received"
        return reference, link


@pytest.fixture
async def portal(app: Starlette, client: httpx.AsyncClient) -> Portal:
    desk = await build_desk(app, client)
    r = await client.post("/api/v1/admin/online-services",
                          json={**DOG_TAX, "office_ids": [desk.office_a, desk.office_b]},
                          headers=desk.admin)
    assert r.status_code == 201, r.text
    return Portal(desk=desk, service_id=r.json()["id"])
