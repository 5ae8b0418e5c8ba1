"""The limits of lost links, with the limits switched on: per address (under a keyed hash, the
answer unchanged and nothing sent over it) and per client (429)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

import pytest

from app.settings import Settings
from online.lost_links import LINKS_MAIL_JOB, address_key
from tests.idstatus.conftest import World
from tests.smtp_support import SmtpSink

RESEND = "/api/v1/links/resend"


@pytest.fixture
def settings(settings_factory: Callable[..., Settings], smtp_sink: SmtpSink) -> Settings:
    return settings_factory(
        smtp_host="127.0.0.1", smtp_port=smtp_sink.port, rate_limits_enabled=True,
        rate_limit_login="1000/minute", rate_limit_token="1000/minute",
        rate_limit_link_resend="2/hour", rate_limit_link_resend_client="6/hour")


async def test_the_per_address_limit_holds(world: World) -> None:
    await world.desk.appointment(start_in=dt.timedelta(days=3))
    answers = [await world.client.post(RESEND, json={"email": email}) for email in
               ("erika@example.org", "ERIKA@example.org", "erika+x@example.org")]
    assert [r.status_code for r in answers] == [202, 202, 202]
    assert answers[0].content == answers[2].content
    assert len(await world.jobs(LINKS_MAIL_JOB)) == 2  # the third was over the limit
    # Another address is counted on its own.
    assert (await world.client.post(RESEND, json={"email": "nobody@example.org"})).status_code \
        == 202
    # The client's own limit (six in all) answers 429.
    codes = [(await world.client.post(RESEND, json={"email": f"n{i}@example.org"})).status_code
             for i in range(3)]
    assert codes == [202, 202, 429]
    assert len(await world.jobs(LINKS_MAIL_JOB)) == 2


def test_the_limiter_sees_no_address() -> None:
    key = address_key(b"secret", "Erika+x@Example.org")
    assert key == address_key(b"secret", "erika@example.org")
    assert "erika" not in key and len(key) == 32
    assert key != address_key(b"other secret", "erika@example.org")
