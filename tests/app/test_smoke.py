from __future__ import annotations

import httpx


async def test_healthz_and_ready(client: httpx.AsyncClient) -> None:
    r = await client.get("/healthz")
    assert r.status_code == 200
    assert r.headers["referrer-policy"] == "no-referrer"
    r = await client.get("/readyz")
    assert r.json()["checks"]["database"] == "ok"


async def test_unknown_api_path_has_error_shape(client: httpx.AsyncClient) -> None:
    r = await client.get("/api/v1/nope")
    assert r.status_code == 404
    assert r.json()["error"]["code"] == "not_found"
