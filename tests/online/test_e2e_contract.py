"""An online request by the CONTRACT alone, as an outside client sees it: a real uvicorn with the
in-process worker, a real SMTP server, a real clamd, the console script for the first admin;
then only HTTP and e-mail. An admin defines a service with a file field, a citizen sends and
confirms it, uploads a PDF (EICAR refused), a clerk asks for a missing document, the citizen
answers, the clerk completes with a fee; the fee notice, the milestones and the status lookup
agree; another office's clerk gets 403; the stored upload is not readable in the database."""

from __future__ import annotations

import re
from collections.abc import Callable
from email.message import EmailMessage

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import create_async_engine

from app.main import create_app
from app.settings import Settings
from online.models import RequestDocument
from tests.app.test_e2e_contract import ADMIN_PASSWORD, _create_admin, _text_part
from tests.conftest import live_server
from tests.online import samples
from tests.services import OwnClamd, eicar, own_clamd  # noqa: F401 (a fixture)
from tests.smtp_support import SmtpSink, wait_for

LINK = re.compile(r"https://buero\.example/t/([A-Za-z0-9_-]{43})")


def _mails_to(sink: SmtpSink, address: str) -> list[EmailMessage]:
    return [m for m in sink.snapshot() if m["To"].addresses[0].addr_spec == address]


def _pdf_attachment(message: EmailMessage) -> bytes | None:
    for part in message.iter_attachments():
        if part.get_content_type() == "application/pdf":
            payload = part.get_payload(decode=True)
            return payload if isinstance(payload, bytes) else None
    return None


@pytest.fixture
def settings(settings_factory: Callable[..., Settings], smtp_sink: SmtpSink,
             own_clamd: OwnClamd) -> Settings:  # noqa: F811
    return settings_factory(
        smtp_host="127.0.0.1", smtp_port=smtp_sink.port, worker_poll_seconds=0.05,
        base_url="https://buero.example", clamd_address=own_clamd.unix_address)


async def test_an_online_request_by_the_contract(settings: Settings,
                                                 smtp_sink: SmtpSink) -> None:
    _create_admin(settings)
    app = create_app(settings, run_worker=True)
    async with live_server(app) as base, httpx.AsyncClient(base_url=base, timeout=30) as http:
        r = await http.post("/api/v1/auth/token",
                            json={"email": "admin@stadt.example", "password": ADMIN_PASSWORD})
        admin = {"Authorization": f"Bearer {r.json()['access_token']}"}
        offices = []
        for name in ("Bürgerbüro Musterstadt", "Bürgerbüro Nord"):
            r = await http.post("/api/v1/admin/offices", headers=admin, json={
                "name": name, "timezone": "Europe/Berlin", "authority": "Stadt Musterstadt",
                "address": "Marktplatz 1\n12345 Musterstadt", "iban": "DE02120300000000202051",
                "bic": "BYLADEM1001", "bank_name": "Stadtkasse Musterstadt"})
            assert r.status_code == 201, r.text
            offices.append(r.json()["id"])
        r = await http.post("/api/v1/admin/services", headers=admin, json={
            "name": "Hundesteuermarke", "fee_cents": 1500, "video": False,
            "fee_schedule_ref": "Hundesteuersatzung § 3", "office_ids": offices})
        fee_item = r.json()["id"]
        r = await http.post("/api/v1/admin/online-services", headers=admin, json={
            "name": "Hundesteuer-Anmeldung", "office_ids": offices, "fee_cents": 1500,
            "identity": "none", "processing_days": 14, "fields": [
                {"key": "breed", "label": "Rasse", "type": "text", "required": True},
                {"key": "proof", "label": "Nachweis", "type": "file", "max_bytes": 2_000_000},
                {"key": "vaccination", "label": "Impfpass", "type": "file"}]})
        assert r.status_code == 201, r.text
        service_id = r.json()["id"]
        clerks = {}
        for index, office in enumerate(offices):
            email = f"clerk{index}@stadt.example"
            r = await http.post("/api/v1/admin/users", headers=admin, json={
                "email": email, "password": ADMIN_PASSWORD, "role": "clerk",
                "office_ids": [office]})
            assert r.status_code == 201, r.text
            r = await http.post("/api/v1/auth/token",
                                json={"email": email, "password": ADMIN_PASSWORD})
            clerks[index] = {"Authorization": f"Bearer {r.json()['access_token']}"}

        r = await http.get("/api/v1/online-services")
        assert [s["name"] for s in r.json()] == ["Hundesteuer-Anmeldung"]
        r = await http.post("/api/v1/requests", json={
            "service_id": service_id, "office_id": offices[0], "locale": "de",
            "citizen": {"given_name": "Erika", "family_name": "Mustermann",
                        "email": "erika@example.org", "date_of_birth": "1980-05-17"},
            "answers": {"breed": "Dackel"}})
        assert r.status_code == 201 and r.json()["status"] == "submitted", r.text
        reference = r.json()["reference"]
        await wait_for(lambda: len(_mails_to(smtp_sink, "erika@example.org")) >= 1,
                       what="the mail with the link")
        found = LINK.findall(_text_part(_mails_to(smtp_sink, "erika@example.org")[0]))
        assert found, "the mail carries the link"
        link = {"Authorization": f"Bearer {found[0]}"}

        pdf = samples.pdf("Impfbescheinigung Waldi")
        r = await http.post("/api/v1/me/documents", headers=link, data={"field": "proof"},
                            files={"file": ("nachweis.pdf", pdf)})
        assert r.status_code == 201, r.text
        r = await http.post("/api/v1/me/documents", headers=link, data={"field": "proof"},
                            files={"file": ("harmlos.pdf", samples.pdf() + eicar())})
        assert r.status_code == 422 and r.json()["error"]["code"] == "malware_found"
        r = await http.post("/api/v1/me/confirm", headers=link)
        assert r.status_code == 200 and r.json()["status"] == "received"
        await wait_for(lambda: len(_mails_to(smtp_sink, "erika@example.org")) >= 2,
                       what="the receipt")
        receipt = _text_part(_mails_to(smtp_sink, "erika@example.org")[1])
        assert "Dackel" in receipt and reference in receipt and "nachweis.pdf" in receipt

        r = await http.get(f"/api/v1/clerk/requests/{reference}", headers=clerks[1])
        assert r.status_code == 403
        document_id = (await http.get("/api/v1/me", headers=link)).json()["documents"][0]["id"]
        r = await http.get(f"/api/v1/clerk/requests/{reference}/documents/{document_id}",
                           headers=clerks[1])
        assert r.status_code == 403
        r = await http.get(f"/api/v1/clerk/requests/{reference}/documents/{document_id}",
                           headers=clerks[0])
        assert r.status_code == 200 and r.content == pdf

        r = await http.post(f"/api/v1/clerk/requests/{reference}/messages", headers=clerks[0],
                            json={"text": "Bitte laden Sie noch den Impfpass hoch.",
                                  "documents_requested": ["vaccination"]})
        assert r.status_code == 200 and r.json()["status"] == "waiting_for_citizen"
        await wait_for(lambda: len(_mails_to(smtp_sink, "erika@example.org")) >= 3,
                       what="the question")
        question = _text_part(_mails_to(smtp_sink, "erika@example.org")[2])
        assert "Impfpass" in question
        r = await http.post("/api/v1/me/documents", headers=link,
                            data={"field": "vaccination"},
                            files={"file": ("impfpass.png", samples.png())})
        assert r.status_code == 201, r.text
        r = await http.post("/api/v1/me/messages", headers=link, json={"text": "Erledigt."})
        assert r.status_code == 201

        r = await http.post(f"/api/v1/clerk/requests/{reference}/complete", headers=clerks[0],
                            json={"items": [{"service_id": fee_item}], "payment": "invoice",
                                  "delivery": "email"})
        assert r.status_code == 200, r.text
        case_number = r.json()["case"]["case_number"]
        await wait_for(lambda: any(_pdf_attachment(m) for m in
                                   _mails_to(smtp_sink, "erika@example.org")),
                       what="the fee notice")
        r = await http.get("/api/v1/me/fee-notice.pdf", headers=link)
        assert r.status_code == 200 and r.content.startswith(b"%PDF")

        async def notice_noted() -> bool:
            # The mail goes out first, then its milestone is written: both lookups below must
            # see the same, finished history.
            me = (await http.get("/api/v1/me", headers=link)).json()
            return "notice_sent" in {m["kind"] for m in me["milestones"]}

        await wait_for(notice_noted, what="the fee notice's milestone")
        me = (await http.get("/api/v1/me", headers=link)).json()
        assert me["status"] == "completed" and me["case"]["case_number"] == case_number
        assert me["case"]["amount_cents"] == 1500
        r = await http.post("/api/v1/status", json={"case_number": case_number,
                                                    "date_of_birth": "1980-05-17"})
        assert r.status_code == 200
        assert r.json()["reference"] == reference and r.json()["request_status"] == "completed"
        assert [m["kind"] for m in r.json()["milestones"]] == \
            [m["kind"] for m in me["milestones"]]
        assert {"received", "in_progress", "question", "answered", "completed"} <= \
            {m["kind"] for m in me["milestones"]}

    engine = create_async_engine(settings.database_url)
    async with engine.connect() as conn:
        stored = (await conn.execute(select(RequestDocument.sealed))).scalars().all()  # type: ignore[call-overload]
    await engine.dispose()
    assert len(stored) == 2 and all(pdf not in blob and b"Impf" not in blob for blob in stored)
    ids = smtp_sink.message_ids()
    assert len(ids) == len(set(ids)), "no mail twice"
