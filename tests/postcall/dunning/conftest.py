"""The after-the-call tests run the app with a real SMTP sink as its mail server."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from app.settings import Settings
from tests.cases.conftest import desk, quick_hashes  # noqa: F401 (fixtures)
from tests.smtp_support import SmtpSink


@pytest.fixture
def settings(settings_factory: Callable[..., Settings], smtp_sink: SmtpSink) -> Settings:
    return settings_factory(smtp_host="127.0.0.1", smtp_port=smtp_sink.port)
