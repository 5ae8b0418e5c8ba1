"""The one CSRF mechanism of all forms (``app/csrf.py``), without a server: a token is bound to
the browser's cookie, the server's key and, for staff, the session."""

from __future__ import annotations

import secrets

from app.csrf import token, valid

KEY = b"k" * 32


def test_csrf_token_is_bound_to_cookie_and_key() -> None:
    cookie = secrets.token_urlsafe(32)
    given = token(KEY, cookie)
    assert valid(KEY, cookie, given)
    assert not valid(KEY, secrets.token_urlsafe(32), given)
    assert not valid(b"y" * 32, cookie, given)
    assert not valid(KEY, cookie, given[:-1])
    assert not valid(KEY, cookie, "")
    assert not valid(KEY, cookie, None)
    assert not valid(KEY, None, given)
    assert not valid(KEY, "short", token(KEY, "short"))  # not our cookie format


def test_a_staff_token_is_bound_to_its_session() -> None:
    cookie = secrets.token_urlsafe(32)
    session_a, session_b = "a" * 64, "b" * 64
    given = token(KEY, cookie, session_a)
    assert valid(KEY, cookie, given, session_a)
    assert not valid(KEY, cookie, given)  # not as a form without a session (the login)
    assert not valid(KEY, cookie, given, session_b)  # nor in another session
    assert not valid(KEY, cookie, token(KEY, cookie), session_a)  # nor the other way round
    assert token(KEY, cookie, session_a) != token(KEY, cookie, session_b)
