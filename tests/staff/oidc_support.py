"""A real OpenID Provider for the single sign-on tests: panva's ``oidc-provider`` (OpenID
Certified) under Node, from ``tests/staff/oidc/`` (package.json with its lock, server.js).

The npm package is installed once (``npm ci`` from the lock) into a cache folder named by the
lock's hash, under a file lock so parallel test processes install it once. Each test starts its
own provider on a free loopback port with the client and accounts it needs, and stops it.
Without Node or npm the tests skip, and fail under ``CI=true``.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import re
import shutil
import subprocess
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urljoin

import httpx
import pytest

from tests.conftest import free_port
from tests.npm_support import npm_installed

SOURCE = Path(__file__).parent / "oidc"
CLIENT_ID = "buergerbuero"
CLIENT_SECRET = "test-client-secret-of-the-provider"


@pytest.fixture(scope="session")
def provider_dir() -> Path:
    """A folder with server.js and its installed ``node_modules``."""
    target = npm_installed(SOURCE, "oidc-provider", "node_modules/oidc-provider/package.json")
    shutil.copyfile(SOURCE / "server.js", target / "server.js")  # always the current script
    return target


@dataclass
class RunningProvider:
    issuer: str
    accounts_file: Path

    def set_accounts(self, accounts: Mapping[str, Mapping[str, Any]]) -> None:
        """The accounts from the next sign-in on (the provider reads them every time)."""
        self.accounts_file.write_text(json.dumps(accounts))


@contextlib.asynccontextmanager
async def openid_provider(directory: Path, tmp_path: Path, redirect_uris: list[str],
                          accounts: Mapping[str, Mapping[str, Any]]) -> AsyncIterator[
    RunningProvider
]:
    port = free_port()
    running = RunningProvider(f"http://127.0.0.1:{port}", tmp_path / "accounts.json")
    running.set_accounts(accounts)
    env = {**os.environ, "PORT": str(port), "CLIENT_ID": CLIENT_ID,
           "CLIENT_SECRET": CLIENT_SECRET, "REDIRECT_URIS": ",".join(redirect_uris),
           "ACCOUNTS_FILE": str(running.accounts_file)}
    log = (tmp_path / "provider.log").open("w")
    process = await asyncio.create_subprocess_exec(
        "node", str(directory / "server.js"), cwd=directory, env=env,
        stdout=log, stderr=subprocess.STDOUT)
    try:
        async with httpx.AsyncClient() as probe:
            for _ in range(300):  # until it answers, at most 30 seconds
                if process.returncode is not None:
                    break
                with contextlib.suppress(httpx.TransportError):
                    r = await probe.get(f"{running.issuer}/.well-known/openid-configuration")
                    if r.status_code == 200:
                        break
                await asyncio.sleep(0.1)
            else:
                raise AssertionError("the OpenID Provider did not start")
        assert process.returncode is None, (tmp_path / "provider.log").read_text()
        yield running
    finally:
        if process.returncode is None:
            process.terminate()
            await process.wait()
        log.close()


async def sign_in_at_provider(authorize_url: str, login: str, redirect_uri: str) -> str:
    """A person signs in at the provider's own form (its development interaction: a login name
    and any password): follows its redirects and posts its form, as a browser does, until the
    provider sends the browser back to ``redirect_uri``; returns that URL."""
    async with httpx.AsyncClient() as browser:
        url = authorize_url
        for _ in range(10):
            r = await browser.get(url)
            if r.status_code == 200 and 'name="login"' in r.text:
                action = re.search(r'<form[^>]*action="([^"]+)"', r.text)
                assert action, r.text
                r = await browser.post(urljoin(url, action.group(1)), data={
                    "prompt": "login", "login": login, "password": "any password"})
            assert r.status_code in (302, 303), (r.status_code, r.text[:500])
            url = urljoin(url, r.headers["location"])
            if url.startswith(redirect_uri):
                return url
    raise AssertionError("the provider never sent the browser back")
