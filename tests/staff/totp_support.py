"""Helpers for the second factor's tests: an injected clock at the start of a 30-second step,
codes computed with pyotp from the secret at that time, and enrolment through the pages."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator

import httpx
import pyotp
import pytest

from core.types import Clock, utcnow
from tests.staff.helpers import form_token

STEP = 30


@pytest.fixture
def step_start() -> Iterator[dt.datetime]:
    """Puts the services' clock two seconds into a TOTP time step (running on from there), so a
    test has 28 seconds before the next step begins; returns that moment."""
    real = dt.datetime.now(dt.UTC)
    into = real.timestamp() % STEP
    Clock.shift(dt.timedelta(seconds=2 - into))
    try:
        yield utcnow()
    finally:
        Clock.shift(dt.timedelta(0))


def code(secret: str, steps: int = 0) -> str:
    """The code of ``secret`` at the services' time, ``steps`` steps later (or earlier)."""
    return pyotp.TOTP(secret).at(utcnow(), counter_offset=steps)


def secret_on(html: str) -> str:
    found = re.search(r'id="totp-secret" data-secret="([A-Z2-7]+)"', html)
    assert found, "no secret on the enrolment page"
    return found.group(1)


def hidden(html: str, name: str) -> str:
    found = re.search(rf'name="{name}" value="([^"]*)"', html)
    assert found, f"no hidden field {name}"
    return found.group(1)


def recovery_codes_on(html: str) -> list[str]:
    return re.findall(r"<li><code>([a-z0-9-]+)</code></li>", html)


async def enrol(client: httpx.AsyncClient) -> tuple[str, list[str]]:
    """Set up the second factor through /staff/totp for the browser's (half-done) login:
    the secret read off the page and the recovery codes shown."""
    page = await client.get("/staff/totp")
    assert page.status_code == 200, page.text
    secret = secret_on(page.text)
    r = await client.post("/staff/totp", data={
        "csrf_token": form_token(page.text), "secret": hidden(page.text, "secret"),
        "otp": code(secret), "next": "/staff"})
    assert r.status_code == 200, r.text
    codes = recovery_codes_on(r.text)
    assert len(codes) == 10
    return secret, codes


async def submit_code(client: httpx.AsyncClient, otp: str) -> httpx.Response:
    page = await client.get("/staff/login/code")
    assert page.status_code == 200, page.text
    return await client.post("/staff/login/code", data={
        "csrf_token": form_token(page.text), "otp": otp, "next": "/staff"})
