"""Rate limits hold behind the shipped proxy whatever a client writes into X-Forwarded-For.

The app runs in a real uvicorn with the compose file's proxy settings; the compose file's proxy
address is played by a loopback address (127.0.0.10) that a small forwarding proxy connects
from, and that proxy sets X-Forwarded-For exactly as ``deploy/nginx.conf`` does (the address it
sees, replacing the client's). An attacker with a rotating forged header, through the proxy or
straight to the app, stays one client; IPv6 clients count by their /64.
"""

from __future__ import annotations

import importlib
import ipaddress
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from app.api.http import client_key
from app.main import create_app
from app.settings import Settings
from tests.conftest import live_server

DEPLOY = Path(__file__).resolve().parents[3] / "deploy"
yaml: Any = importlib.import_module("yaml")
PROXY = "127.0.0.10"  # plays the proxy's fixed address of the compose file
ATTACKER = "127.0.0.3"
LOOKUP = {"case_number": "2026-000001", "date_of_birth": "1980-01-01"}


def compose_proxy_settings() -> tuple[bool, str, str]:
    data = yaml.safe_load((DEPLOY / "docker-compose.yml").read_text())
    env = data["services"]["app1"]["environment"]
    proxy_address = data["services"]["proxy"]["networks"]["backend"]["ipv4_address"]
    return env["BUERO_PROXY_HEADERS"] == "true", env["BUERO_FORWARDED_ALLOW_IPS"], proxy_address


def test_only_the_proxy_may_name_the_client() -> None:
    proxy_headers, allowed, proxy_address = compose_proxy_settings()
    assert proxy_headers and allowed == proxy_address  # exactly the proxy, no "*"
    conf = (DEPLOY / "nginx.conf").read_text()
    assert "$proxy_add_x_forwarded_for" not in conf
    forwarded = re.findall(r"proxy_set_header X-Forwarded-For\s+(\S+);", conf)
    assert forwarded and set(forwarded) == {"$remote_addr"}
    # nginx: a location with its own proxy_set_header inherits none of the server's.
    for location in re.findall(r"location [^{]+\{([^}]*)\}", conf):
        if "proxy_set_header" in location:
            assert "proxy_set_header X-Forwarded-For" in location, location


def nginx_forwarded_for() -> str:
    """The value deploy/nginx.conf gives X-Forwarded-For (``$remote_addr`` or nginx's
    ``$proxy_add_x_forwarded_for``, which appends to what the client sent)."""
    [value] = set(re.findall(r"proxy_set_header X-Forwarded-For\s+(\S+);",
                             (DEPLOY / "nginx.conf").read_text()))
    return str(value)


def forwarding_proxy(upstream: str) -> Starlette:
    """What deploy/nginx.conf does for the API: pass the request on from the proxy's address,
    with X-Forwarded-For as the configuration says."""
    transport = httpx.AsyncHTTPTransport(local_address=PROXY)
    appends = nginx_forwarded_for() == "$proxy_add_x_forwarded_for"

    async def forward(request: Request) -> Response:
        headers = {k: v for k, v in request.headers.items()
                   if k.lower() not in ("host", "x-forwarded-for", "content-length")}
        assert request.client is not None
        sent = request.headers.get("x-forwarded-for")
        headers["X-Forwarded-For"] = (f"{sent}, {request.client.host}" if appends and sent
                                      else request.client.host)
        async with httpx.AsyncClient(base_url=upstream, transport=transport) as client:
            r = await client.request(request.method, request.url.path,
                                     params=request.query_params, headers=headers,
                                     content=await request.body())
        return Response(r.content, status_code=r.status_code,
                        media_type=r.headers.get("content-type"))

    return Starlette(routes=[Route("/{path:path}", forward, methods=["GET", "POST"])])


@pytest.fixture
def behind_proxy(settings_factory: Callable[..., Settings]) -> Starlette:
    return create_app(settings_factory(rate_limits_enabled=True,
                                       rate_limit_status_lookup="5/minute"))


async def lookups(base: str, source: str, n: int, forged: bool) -> list[int]:
    transport = httpx.AsyncHTTPTransport(local_address=source)
    async with httpx.AsyncClient(base_url=base, transport=transport) as client:
        codes = []
        for i in range(n):
            headers = {"X-Forwarded-For": f"203.0.113.{i + 1}"} if forged else {}
            r = await client.post("/api/v1/status", json=LOOKUP, headers=headers)
            codes.append(r.status_code)
        return codes


async def test_forged_headers_do_not_escape_the_limit(behind_proxy: Starlette) -> None:
    proxy_headers, allowed, proxy_address = compose_proxy_settings()
    trusted = PROXY if allowed == proxy_address else allowed  # the compose file's, on loopback
    async with (
        live_server(behind_proxy, proxy_headers=proxy_headers,
                    forwarded_allow_ips=trusted) as app_base,
        live_server(forwarding_proxy(app_base)) as proxy_base,
    ):
        # Through the proxy, with a new forged address each time: one client all along.
        codes = await lookups(proxy_base, ATTACKER, 8, forged=True)
        assert codes[:5] == [404] * 5 and codes[5:] == [429] * 3, codes
        # Another client behind the same proxy has its own budget.
        assert (await lookups(proxy_base, "127.0.0.4", 1, forged=False)) == [404]
        # Straight to the app (not from the proxy's address): the header is ignored.
        codes = await lookups(app_base, "127.0.0.5", 7, forged=True)
        assert codes[:5] == [404] * 5 and codes[5:] == [429] * 2, codes


@pytest.mark.parametrize(("host", "key"), [
    ("2001:db8:1:2:aaaa::1", "2001:db8:1:2::/64"),
    ("2001:db8:1:2:ffff:ffff:ffff:ffff", "2001:db8:1:2::/64"),
    ("2001:db8:1:3::1", "2001:db8:1:3::/64"),
    ("::ffff:192.0.2.7", "192.0.2.7"),
    ("192.0.2.7", "192.0.2.7"),
    ("unknown", "unknown"),
])
def test_ipv6_clients_count_by_their_64(host: str, key: str) -> None:
    class Conn:
        client = type("Client", (), {"host": host})()

    assert client_key(Conn()) == key  # type: ignore[arg-type]
    if ":" in host and "ffff:192" not in host:
        assert ipaddress.ip_address(host) in ipaddress.ip_network(key)
