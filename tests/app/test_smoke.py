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


async def test_the_favicon(client: httpx.AsyncClient) -> None:
    r = await client.get("/favicon.ico", follow_redirects=True)
    assert r.status_code == 200 and r.headers["content-type"].startswith("image/svg+xml")
    assert b"<svg" in r.content
    page = await client.get("/")
    assert '<link rel="icon" href="/static/img/favicon.svg"' in page.text
