"""Open call sockets are authorised again while they live: a clerk deactivated or logged out, or
an appointment cancelled, closes the socket with 4401 at the hub's next check (every few
seconds; here the test runs the check), on whichever instance holds it. A call whose
appointment the clerk completes during the call goes on."""

from __future__ import annotations

import dataclasses

import httpx
import pytest
from sqlalchemy import event, update
from sqlmodel import col
from starlette.applications import Starlette

from app.calls import call_gate, hub_of
from app.settings import Settings
from booking.models import Appointment
from signaling import Hub
from tests.calls.conftest import CLERK, CallSite, seed_site, state_of, two_instances
from tests.calls.peers import Signal
from tests.calls.test_close_codes import Room
from tests.conftest import REDIS_URL, SHARED_REDIS, require
from tests.staff.helpers import PASSWORD, add_user, bearer

pytestmark = pytest.mark.usefixtures("office_hours")


def checking(hub: Hub) -> Hub:
    """The hub checks the open calls' tokens at every sweep (the test runs the sweeps)."""
    hub.limits = dataclasses.replace(hub.limits, revalidate_interval=0)
    return hub


async def in_call(site: CallSite, citizen_base: str | None = None,
                  headers: dict[str, str] | None = None) -> tuple[str, Signal, Signal]:
    room = await Room.open(site, citizen_base=citizen_base, headers=headers)
    return room.reference, room.citizen, room.clerk


async def deactivate_clerk(app: Starlette, http: httpx.AsyncClient) -> None:
    """An admin deactivates the clerk through the admin API."""
    await add_user(app, "admin@example.org", "admin")
    r = await http.post("/api/v1/auth/token",
                        json={"email": "admin@example.org", "password": PASSWORD})
    admin = bearer(r.json()["access_token"])
    users = (await http.get("/api/v1/admin/users", headers=admin)).json()
    [clerk] = [u for u in users if u["email"] == CLERK]
    r = await http.patch(f"/api/v1/admin/users/{clerk['id']}", json={"active": False},
                         headers=admin)
    assert r.status_code == 200, r.text


async def set_status(site: CallSite, reference: str, status: str) -> None:
    async with site.state.db.transaction(write=True) as session:
        await session.execute(update(Appointment).where(col(Appointment.reference) == reference)
                              .values(status=status))


async def test_a_deactivated_clerk_is_closed_with_4401(site: CallSite) -> None:
    hub = checking(hub_of(site.state))
    _, citizen, clerk = await in_call(site)
    await hub.sweep()
    await clerk.nothing()
    await deactivate_clerk(site.app, site.http)
    await hub.sweep()
    await clerk.closed_with(4401)
    await citizen.expect("peer-left")
    await citizen.nothing()  # the citizen's own link still admits


async def test_logging_out_closes_the_clerks_call(site: CallSite) -> None:
    """The call token belongs to the login that asked for it: its logout ends the call."""
    hub = checking(hub_of(site.state))
    r = await site.http.post("/api/v1/auth/token", json={"email": CLERK, "password": PASSWORD})
    second_login = bearer(r.json()["access_token"])
    _, citizen, clerk = await in_call(site, headers=second_login)
    # Another login of the same clerk logging out changes nothing.
    assert (await site.http.delete("/api/v1/auth/token",
                                   headers=site.clerk_headers)).status_code == 204
    await hub.sweep()
    await clerk.nothing()
    assert (await site.http.delete("/api/v1/auth/token",
                                   headers=second_login)).status_code == 204
    await hub.sweep()
    await clerk.closed_with(4401)
    await citizen.expect("peer-left")


async def test_a_cancelled_appointment_closes_both(site: CallSite) -> None:
    hub = checking(hub_of(site.state))
    reference, citizen, clerk = await in_call(site)
    await set_status(site, reference, "cancelled")
    await hub.sweep()
    await citizen.closed_with(4401)
    await clerk.closed_with(4401)


async def test_completing_during_the_call_ends_nothing(site: CallSite) -> None:
    hub = checking(hub_of(site.state))
    reference, citizen, clerk = await in_call(site)
    await set_status(site, reference, "completed")
    await hub.sweep()
    await citizen.nothing()
    await clerk.nothing()


@SHARED_REDIS
@pytest.mark.redis
async def test_revocation_reaches_the_instance_that_holds_the_socket(settings: Settings) -> None:
    """The clerk's socket is on B; the admin deactivates the clerk on A."""
    require(REDIS_URL is not None, "BUERO_TEST_REDIS_URL")
    assert REDIS_URL is not None
    async with two_instances(settings, REDIS_URL) as two:
        site_b = await seed_site(two.app_b, two.base_b, two.http_b)
        hub_a = checking(hub_of(state_of(two.app_a)))
        hub_b = checking(hub_of(state_of(two.app_b)))
        _, citizen, clerk = await in_call(site_b, citizen_base=two.base_a)
        await deactivate_clerk(two.app_a, two.http_a)
        await hub_a.sweep()
        await clerk.nothing()  # A holds only the citizen, whose link still admits
        await hub_b.sweep()
        await clerk.closed_with(4401)
        await citizen.expect("peer-left")


async def test_the_check_costs_the_same_few_queries_for_many_calls(site: CallSite) -> None:
    """Every 5 s each instance checks all its open calls: two queries for the links and the
    call tokens, one per clerk for the offices, however many calls are open."""
    tokens = []
    for _ in range(4):
        reference, link = await site.appointment()
        tokens += [link, await site.call_token(reference)]
    engine = site.state.db.engine.sync_engine
    statements: list[str] = []

    def count(conn: object, cursor: object, statement: str, *args: object) -> None:
        if statement.lstrip().upper().startswith("SELECT"):
            statements.append(statement)

    event.listen(engine, "before_cursor_execute", count)
    try:
        valid = await call_gate(site.state).still_valid([*tokens, "unknown", "bb_call_unknown"])
    finally:
        event.remove(engine, "before_cursor_execute", count)
    assert valid == [True] * 8 + [False, False]
    assert len(statements) == 3, statements
