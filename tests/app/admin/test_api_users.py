"""Admin API: staff accounts."""

from __future__ import annotations

import json

import httpx
import pytest
from starlette.applications import Starlette

from tests.staff.helpers import (
    ADMIN_EMAIL,
    PASSWORD,
    add_office,
    audit_events,
    bearer,
    error_code,
    token_for,
)

URL = "/api/v1/admin/users"
NEW_PASSWORD = "Ein-ganz-anderes-Passwort"


async def test_user_crud(
    app: Starlette, client: httpx.AsyncClient, admin_headers: dict[str, str]
) -> None:
    office_id = await add_office(app)
    r = await client.post(URL, headers=admin_headers, json={
        "email": "Clerk.One@Stadt.Example", "password": PASSWORD, "role": "clerk",
        "office_ids": [office_id], "display_name": "Clara Clerk",
    })
    assert r.status_code == 201, r.text
    user = r.json()
    assert user["email"] == "clerk.one@stadt.example"
    assert user["office_ids"] == [office_id]
    assert user["active"] is True
    assert "password" not in user and "password_hash" not in user
    listed = (await client.get(URL, headers=admin_headers)).json()
    assert {u["email"] for u in listed} == {ADMIN_EMAIL, "clerk.one@stadt.example"}
    assert all("password" not in json.dumps(u) for u in listed)

    token = await token_for(client, "clerk.one@stadt.example")
    r = await client.patch(f"{URL}/{user['id']}", headers=admin_headers,
                           json={"password": NEW_PASSWORD, "role": "admin"})
    assert r.status_code == 200
    assert r.json()["role"] == "admin"
    # A new password ends the account's existing logins; only the new password works.
    assert (await client.get("/api/v1/auth/me", headers=bearer(token))).status_code == 401
    bad = await client.post("/api/v1/auth/token",
                            json={"email": "clerk.one@stadt.example", "password": PASSWORD})
    assert bad.status_code == 401
    await token_for(client, "clerk.one@stadt.example", NEW_PASSWORD)

    assert (await client.delete(f"{URL}/{user['id']}", headers=admin_headers)).status_code \
        == 204
    gone = await client.post("/api/v1/auth/token",
                             json={"email": "clerk.one@stadt.example", "password": NEW_PASSWORD})
    assert gone.status_code == 401

    for event in await audit_events(app):
        assert PASSWORD not in event.detail and NEW_PASSWORD not in event.detail
    update = (await audit_events(app, "user.update"))[0]
    assert json.loads(update.detail) == {"fields": ["password", "role"]}


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"email": "x@stadt.example", "password": "short"}, "password"),
        ({"email": "x@stadt.example", "password": "Passwort2024!"}, "password"),
        ({"email": "x@stadt.example"}, "password"),
        ({"email": "not an address", "password": PASSWORD}, "email"),
        ({"email": "x@stadt.example", "password": PASSWORD, "role": "boss"}, "role"),
        ({"email": "x@stadt.example", "password": PASSWORD, "office_ids": [4242]}, "office_ids"),
    ],
)
async def test_user_validation(client: httpx.AsyncClient, admin_headers: dict[str, str],
                               body: dict[str, object], field: str) -> None:
    r = await client.post(URL, headers=admin_headers, json=body)
    assert r.status_code == 422, r.text
    assert r.json()["error"]["details"][0]["field"] == field


async def test_duplicate_email_is_409(client: httpx.AsyncClient,
                                      admin_headers: dict[str, str]) -> None:
    r = await client.post(URL, headers=admin_headers,
                          json={"email": ADMIN_EMAIL.upper(), "password": PASSWORD})
    assert r.status_code == 409
    assert error_code(r) == "duplicate"


async def test_admins_cannot_lock_themselves_out(
    client: httpx.AsyncClient, admin_headers: dict[str, str]
) -> None:
    me = (await client.get("/api/v1/auth/me", headers=admin_headers)).json()
    r = await client.delete(f"{URL}/{me['id']}", headers=admin_headers)
    assert r.status_code == 409
    r = await client.patch(f"{URL}/{me['id']}", headers=admin_headers, json={"role": "clerk"})
    assert r.status_code == 409
    r = await client.patch(f"{URL}/{me['id']}", headers=admin_headers, json={"active": False})
    assert r.status_code == 409
    # With a second admin, the first may step down.
    other = await client.post(URL, headers=admin_headers, json={
        "email": "second@stadt.example", "password": PASSWORD, "role": "admin"})
    assert other.status_code == 201
    r = await client.patch(f"{URL}/{me['id']}", headers=admin_headers, json={"role": "clerk"})
    assert r.status_code == 200
