"""Privacy actions of the composition layer: the data-subject export and erasure with the call
events added (``call_event`` lives in ``calls``). The rules are
in ``privacy.service``.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from accessibility import service as accessibility
from booking import waitlist
from calls.models import CallEvent
from core.audit import Actor, record
from privacy import service as privacy


async def export_subject(session: AsyncSession, actor: Actor, email: str) -> dict[str, Any]:
    """Everything stored about one e-mail address; the export itself is audited (without the
    address: the audit log holds no citizen data)."""
    data = await privacy.export_subject(session, email)
    ids = [a["id"] for a in data["appointments"]]
    events: list[dict[str, Any]] = []
    if ids:
        query = (select(CallEvent).where(col(CallEvent.appointment_id).in_(ids))
                 .order_by(col(CallEvent.id)))
        events = [e.model_dump(mode="json") for e in (await session.execute(query)).scalars()]
    data["call_events"] = events
    data["waitlist"] = [w.model_dump(mode="json", exclude={"link_nonce", "token_hash"})
                        for w in await waitlist.wishes_of(session, email)]
    data["barrier_reports"] = [r.model_dump(mode="json")
                               for r in await accessibility.reports_of(session, email)]
    record(session, actor, "privacy.export", "subject", "",
           {"appointments": [a["reference"] for a in data["appointments"]],
            "requests": [r["reference"] for r in data["online_requests"]]})
    return data


async def erase_subject(session: AsyncSession, actor: Actor, email: str) -> dict[str, Any]:
    result = await privacy.erase_subject(session, actor, email)
    result.erased += await waitlist.erase_wishes(session, email)  # nothing holds them
    result.erased += await accessibility.erase_reports(session, email)
    record(session, actor, "privacy.erase_request", "subject", "",
           {"erased": result.erased, "retained": [ref for ref, _ in result.retained]})
    return {
        "erased": result.erased,
        "retained": [{"reference": ref, "reason_code": code,
                      "reason": privacy.HOLD_REASONS[code]} for ref, code in result.retained],
    }
