"""A NUL character (which PostgreSQL cannot store) is refused up front with a clear error,
in query strings, paths, JSON bodies and forms alike; found by the schemathesis run."""

from __future__ import annotations

import httpx


async def test_nul_in_query_or_path_is_a_400(client: httpx.AsyncClient) -> None:
    r = await client.get("/api/v1/admin/audit?action=a%00b")
    assert r.status_code == 400
    assert r.json()["error"]["code"] == "bad_request"
    assert "nicht erlaubt" in r.json()["error"]["message"]
    r = await client.get("/t/abc%00def")
    assert r.status_code == 400
    assert "text/html" in r.headers["content-type"]


async def test_nul_in_json_is_a_422(client: httpx.AsyncClient) -> None:
    r = await client.post("/api/v1/auth/token", json={"email": "a\u0000@b.example",
                                                       "password": "x"})
    assert r.status_code == 422
    r = await client.post("/api/v1/status", json={"case_number": "2026-\u0000",
                                                  "date_of_birth": "2000-01-01"},
                          headers={"Accept-Language": "en"})
    assert r.status_code == 422
    assert r.json()["error"]["message"] == "The request contains characters that are not allowed."


async def test_nul_in_a_form_is_a_400(client: httpx.AsyncClient) -> None:
    r = await client.post("/staff/login", content=b"email=a%00b&password=x",
                          headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert r.status_code == 400
    r = await client.post("/book", content=b"given_name=%00",
                          headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert r.status_code == 400
