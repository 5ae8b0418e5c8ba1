"""Staff passwords: argon2id hashes and a policy against obviously weak choices.

Hashing and verifying cost tens of milliseconds of CPU on purpose, so they run in a worker
thread, never on the event loop. ``verify`` against a dummy hash when the account does not
exist keeps the answer time the same for unknown users and wrong passwords.
"""

from __future__ import annotations

import asyncio
import re
from dataclasses import dataclass, field
from functools import cache
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

MIN_LENGTH = 12
MAX_LENGTH = 1024

# argon2-cffi's defaults are the RFC 9106 low-memory profile of argon2id. When they change in a
# later release, ``check_needs_rehash`` upgrades each hash at the next successful login.
_hasher = PasswordHasher()


@cache
def _dummy_hash() -> str:
    return _hasher.hash("not a password of anyone: dummy for constant-time answers")


async def hash_password(password: str) -> str:
    return await asyncio.to_thread(_hasher.hash, password)


def _verify_sync(password_hash: str | None, password: str) -> tuple[bool, str | None]:
    target = password_hash or _dummy_hash()
    try:
        _hasher.verify(target, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False, None
    if not password_hash:  # no account, or one without a password (single sign-on only)
        return False, None
    new_hash = _hasher.hash(password) if _hasher.check_needs_rehash(password_hash) else None
    return True, new_hash


async def verify(password_hash: str | None, password: str) -> tuple[bool, str | None]:
    """(matches, new hash when the parameters changed). ``None`` hash: unknown account; an
    empty one: an account without a password, which no password matches."""
    return await asyncio.to_thread(_verify_sync, password_hash, password[:MAX_LENGTH])


# --- policy ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Weakness:
    msgid: str
    params: dict[str, Any] = field(default_factory=dict)


# Words that make up most guessed passwords (German and English); a password that is one of
# these plus digits and punctuation ("Passwort2024!") is refused.
COMMON_WORDS = frozenset(
    """
password passwort passwd kennwort geheim secret qwertz qwerty qwertzuiop qwertyuiop asdfgh
asdfghjkl yxcvbnm zxcvbnm letmein welcome willkommen admin administrator administrateur root
hallo hello sommer winter fruehling herbst frühling iloveyou ichliebedich master dragon monkey
football fussball fußball schalke bayern borussia baseball sunshine princess shadow superman
michael daniel thomas andreas stefan test tester testtest changeme default benutzer user
buergerbuero bürgerbüro rathaus stadt verwaltung abc abcdef
""".split()  # noqa: SIM905 (a word list reads better as text)
)

_SEQUENCES = (
    "abcdefghijklmnopqrstuvwxyz",
    "0123456789",
    "qwertzuiopasdfghjklyxcvbnm",
    "qwertyuiopasdfghjklzxcvbnm",
    "1qaz2wsx3edc4rfv5tgb6zhn7ujm8ik9ol0p",
)


def _in_sequence(lowered: str) -> bool:
    for base in _SEQUENCES:
        ring = base * (len(lowered) // len(base) + 2)
        if lowered in ring or lowered[::-1] in ring:
            return True
    return False


def weakness(password: str) -> Weakness | None:
    """Why ``password`` is not acceptable, or None."""
    if len(password) < MIN_LENGTH:
        return Weakness("Please use at least %(min)s characters.", {"min": MIN_LENGTH})
    if len(password) > MAX_LENGTH:
        return Weakness("Please use at most %(max)s characters.", {"max": MAX_LENGTH})
    lowered = password.lower()
    if len(set(lowered)) < 5 or _in_sequence(lowered):
        return Weakness("This password is too easy to guess. Please choose another one.")
    letters = re.sub(r"[^a-zäöüß]", "", lowered)
    if letters in COMMON_WORDS or _repeats_word(letters):
        return Weakness("This password is too easy to guess. Please choose another one.")
    return None


def _repeats_word(letters: str) -> bool:
    """"passwortpasswort", "adminadminadmin": one common word repeated."""
    for word in COMMON_WORDS:
        if len(letters) > len(word) and len(letters) % len(word) == 0 and \
                letters == word * (len(letters) // len(word)):
            return True
    return False
