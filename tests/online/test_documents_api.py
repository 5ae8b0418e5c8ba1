"""Documents of an online request through the API, scanned by a real clamd of the tests' own:
type by content, size, malware (EICAR), photos without metadata, sealed at rest, served only to
the request's citizen and its office's clerks, as downloads."""

from __future__ import annotations

import io
from collections.abc import Callable
from typing import Any

import pytest
from PIL import Image

from app.settings import Settings
from online.models import OnlineRequest, RequestDocument
from tests.online import samples
from tests.online.conftest import ANSWERS, DOG_TAX, Portal
from tests.services import OwnClamd, eicar, own_clamd  # noqa: F401 (a fixture)


@pytest.fixture
def settings(settings_factory: Callable[..., Settings], own_clamd: OwnClamd) -> Settings:  # noqa: F811
    return settings_factory(clamd_address=own_clamd.unix_address)


async def upload(portal: Portal, link: dict[str, str], data: bytes, name: str = "nachweis.pdf",
                 field: str = "proof") -> Any:
    return await portal.client.post("/api/v1/me/documents", headers=link,
                                    data={"field": field}, files={"file": (name, data)})


async def test_a_pdf_is_kept_sealed_and_served_as_a_download(portal: Portal) -> None:
    desk = portal.desk
    reference, link = await portal.sent()
    pdf = samples.pdf("Impfbescheinigung Waldi")
    r = await upload(portal, link, pdf, name="../../etc/Impfpass Waldi.pdf")
    assert r.status_code == 201, r.text
    document = r.json()
    assert document["content_type"] == "application/pdf" and document["scanned"] is True
    assert document["filename"] == "Impfpass Waldi.pdf" and document["field"] == "proof"
    [row] = await desk.rows(RequestDocument)
    assert pdf not in row.sealed and b"Impfbescheinigung" not in row.sealed
    r = await portal.client.get(f"/api/v1/me/documents/{document['id']}", headers=link)
    assert r.status_code == 200 and r.content == pdf
    assert r.headers["content-disposition"].startswith("attachment;")
    assert r.headers["cache-control"] == "private, no-store"
    path = f"/api/v1/clerk/requests/{reference}/documents/{document['id']}"
    r = await portal.client.get(path, headers=desk.clerk_a)
    assert r.status_code == 200 and r.content == pdf
    assert (await portal.client.get(path, headers=desk.clerk_b)).status_code == 403
    assert (await portal.client.get(path, headers=link)).status_code == 401
    r = await portal.client.get(f"/api/v1/clerk/requests/{reference}", headers=desk.clerk_a)
    assert [d["filename"] for d in r.json()["documents"]] == ["Impfpass Waldi.pdf"]
    # Another request's link does not open this document.
    _, other = await portal.sent(citizen={"given_name": "Max", "family_name": "Muster",
                                          "email": "max@example.org"})
    r = await portal.client.get(f"/api/v1/me/documents/{document['id']}", headers=other)
    assert r.status_code == 404


async def test_malware_wrong_types_and_big_files_are_refused(portal: Portal) -> None:
    _, link = await portal.sent()
    r = await upload(portal, link, samples.pdf() + eicar())
    assert r.status_code == 422 and r.json()["error"]["code"] == "malware_found"
    assert "Eicar" not in r.text  # the signature's name goes to the log, not to the citizen
    r = await upload(portal, link, b"#!/bin/sh\necho hallo\n", name="foto.jpg")
    assert r.status_code == 415
    r = await upload(portal, link, samples.pdf() + b"\0" * 2_100_000)
    assert r.status_code == 413
    r = await upload(portal, link, samples.pdf(), field="breed")
    assert r.status_code == 422 and r.json()["error"]["details"][0]["field"] == "field"
    r = await portal.client.post("/api/v1/me/documents", headers=link,
                                 json={"field": "proof"})
    assert r.status_code == 415
    assert await portal.desk.rows(RequestDocument) == []


async def test_photos_lose_their_metadata(portal: Portal) -> None:
    _, link = await portal.sent()
    photo = samples.jpeg()
    assert samples.leaks(photo)
    r = await upload(portal, link, photo, name="IMG_2041.JPG")
    assert r.status_code == 201 and r.json()["content_type"] == "image/jpeg"
    assert r.json()["filename"] == "IMG_2041.jpg"
    r = await portal.client.get(f"/api/v1/me/documents/{r.json()['id']}", headers=link)
    assert samples.leaks(r.content) == []
    assert Image.open(io.BytesIO(r.content)).getexif() == {}


async def test_a_required_document_before_confirming_and_an_answer_by_upload(
    portal: Portal,
) -> None:
    desk = portal.desk
    fields = [{**f, "required": True} if f["key"] == "proof" else f for f in DOG_TAX["fields"]]
    r = await portal.client.patch(f"/api/v1/admin/online-services/{portal.service_id}",
                                  json={"fields": fields}, headers=desk.admin)
    assert r.status_code == 200
    r = await portal.submit(ANSWERS)
    assert r.status_code == 201
    reference = r.json()["reference"]
    link = {"Authorization": f"Bearer {await portal.token(reference)}"}
    r = await portal.client.post("/api/v1/me/confirm", headers=link)
    assert r.status_code == 409 and r.json()["error"]["code"] == "documents_missing"
    assert r.json()["error"]["details"][0]["field"] == "documents.proof"
    assert (await upload(portal, link, samples.png(), name="a.png")).status_code == 201
    r = await portal.client.post("/api/v1/me/confirm", headers=link)
    assert r.status_code == 200 and r.json()["status"] == "received"

    r = await portal.client.post(f"/api/v1/clerk/requests/{reference}/messages", json={
        "text": "Das Foto ist unscharf, bitte noch einmal.", "documents_requested": ["proof"]},
        headers=desk.clerk_a)
    assert r.json()["status"] == "waiting_for_citizen"
    assert (await upload(portal, link, samples.png(), name="b.png")).status_code == 201
    [request] = await desk.rows(OnlineRequest)
    assert request.status == "in_progress" and request.needs_attention
    r = await portal.client.post(f"/api/v1/clerk/requests/{reference}/reject",
                                 json={"reason": "Kein Hund."}, headers=desk.clerk_a)
    assert (await upload(portal, link, samples.png(), name="c.png")).status_code == 409
