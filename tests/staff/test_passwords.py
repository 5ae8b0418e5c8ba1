"""Password hashing (argon2id, rehash on new parameters) and the password policy."""

from __future__ import annotations

import httpx
import pytest
from argon2 import PasswordHasher
from sqlalchemy import select
from starlette.applications import Starlette

from staff import passwords
from staff.models import StaffUser
from tests.staff.helpers import CLERK_EMAIL, PASSWORD, add_user, context, token_for


def test_production_hasher_is_argon2id_with_library_defaults() -> None:
    # The autouse fixture swaps in a cheap hasher; the module's own is restored here.
    hasher = PasswordHasher()
    hashed = hasher.hash(PASSWORD)
    assert hashed.startswith("$argon2id$")
    assert "m=65536,t=3,p=4" in hashed


async def test_hash_and_verify() -> None:
    hashed = await passwords.hash_password(PASSWORD)
    assert hashed.startswith("$argon2id$")
    assert PASSWORD not in hashed
    assert await passwords.verify(hashed, PASSWORD) == (True, None)
    assert await passwords.verify(hashed, PASSWORD + "x") == (False, None)
    assert await passwords.verify(None, PASSWORD) == (False, None)
    assert await passwords.verify("garbage", PASSWORD) == (False, None)


async def test_login_rehashes_when_parameters_change(
    app: Starlette, client: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(passwords, "_hasher",
                        PasswordHasher(time_cost=1, memory_cost=8 * 1024, parallelism=1))
    await add_user(app, CLERK_EMAIL)
    stronger = PasswordHasher(time_cost=2, memory_cost=16 * 1024, parallelism=1)
    monkeypatch.setattr(passwords, "_hasher", stronger)
    await token_for(client, CLERK_EMAIL)
    async with context(app).db.transaction() as session:
        user = (await session.execute(select(StaffUser))).scalars().one()
        assert "m=16384,t=2,p=1" in user.password_hash
        assert not stronger.check_needs_rehash(user.password_hash)
    await token_for(client, CLERK_EMAIL)  # the new hash verifies


@pytest.mark.parametrize(
    "password",
    ["kurz", "elf-zeichen", "aaaaaaaaaaaa", "abababababab", "123456789012", "987654321098",
     "qwertzuiop12", "Passwort2024!", "passwortpasswort", "Sommer2025!!", "abcdefghijklm",
     "x" * 1025],
)
def test_weak_passwords_are_refused(password: str) -> None:
    assert passwords.weakness(password) is not None


@pytest.mark.parametrize(
    "password", ["Vier-Kerzen-am-Adventskranz", "correct horse battery", "Xk9-fj3!pq2Lm",
                 "Rathaus am Marktplatz 7"],
)
def test_reasonable_passwords_are_accepted(password: str) -> None:
    assert passwords.weakness(password) is None
