"""Fixtures for the mail tests: a real SMTP server (aiosmtpd) on loopback and app contexts."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest

from app.context import AppContext
from app.main import build_context
from app.settings import Settings
from tests.smtp_support import SmtpSink, wait_for


@pytest.fixture
async def make_ctx(
    settings_factory: Callable[..., Settings],
) -> AsyncIterator[Callable[..., AppContext]]:
    """Build an app context (settings overrides as keywords); engines are disposed at the end."""
    made: list[AppContext] = []

    def make(**overrides: Any) -> AppContext:
        ctx = build_context(settings_factory(**overrides))
        made.append(ctx)
        return ctx

    yield make
    for ctx in made:
        await ctx.db.dispose()


__all__ = ["SmtpSink", "wait_for"]
