from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
from argon2 import PasswordHasher
from starlette.applications import Starlette

from staff import passwords
from tests.staff.helpers import ADMIN_EMAIL, CLERK_EMAIL, add_user, bearer, token_for


@pytest.fixture(autouse=True)
def quick_hashes(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Real argon2id with small cost parameters: the suite creates many accounts on a small
    machine. Production keeps argon2-cffi's defaults (tests/staff/test_passwords.py)."""
    monkeypatch.setattr(passwords, "_hasher",
                        PasswordHasher(time_cost=1, memory_cost=8 * 1024, parallelism=1))
    passwords._dummy_hash.cache_clear()
    yield
    passwords._dummy_hash.cache_clear()


@pytest.fixture
async def admin_headers(app: Starlette, client: httpx.AsyncClient) -> dict[str, str]:
    await add_user(app, ADMIN_EMAIL, "admin")
    return bearer(await token_for(client, ADMIN_EMAIL))


@pytest.fixture
async def clerk_headers(app: Starlette, client: httpx.AsyncClient) -> dict[str, str]:
    await add_user(app, CLERK_EMAIL, "clerk")
    return bearer(await token_for(client, CLERK_EMAIL))
