"""The worker's jobs after the decision, wired to the installation: the case e-mails
(``mail/case_jobs.py``), the hybrid-mail hand-over and status sync and dunning
(``postcall/dispatch_jobs.py``), with the dispatch provider the settings choose.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from app.mail_env import mail_job
from app.tasks import PeriodicTask
from cases.milestones import MAIL_JOB
from core.jobs import Job, payload_int
from mail import case_jobs
from postcall import dispatch as dispatching
from postcall import dispatch_jobs
from postcall.dispatch_providers import (
    DispatchProvider,
    HybridMailConfig,
    HybridMailProvider,
    PrintRoomProvider,
)
from postcall.dunning import REMINDER_JOB
from postcall.notices import CORRECTED_JOB, NOTICE_JOB, RECEIPT_JOB

if TYPE_CHECKING:
    from app.context import AppContext
    from app.settings import Settings
    from app.tasks import JobHandler


def provider_for(ctx: AppContext) -> DispatchProvider:
    """The configured provider, built once per app (it caches its access token)."""
    found = ctx.extras.get("dispatch_provider")
    if found is not None:
        return found  # type: ignore[no-any-return]
    s = ctx.settings
    provider: DispatchProvider
    if s.dispatch_provider == "hybrid":
        provider = HybridMailProvider(HybridMailConfig(
            api_base=s.hybrid_mail_api_base,
            identity_base=s.hybrid_mail_identity_base or s.hybrid_mail_api_base,
            client_id=s.hybrid_mail_client_id or "",
            client_secret=s.hybrid_mail_client_secret or "",
            organisation_id=s.hybrid_mail_organisation_id or "",
        ))
    else:
        provider = PrintRoomProvider()
    ctx.extras["dispatch_provider"] = provider
    return provider


async def submit_dispatch(ctx: AppContext, job: Job) -> None:
    dispatch_id = payload_int(job.data(), "dispatch_id")
    await dispatch_jobs.submit_dispatch(ctx.db, provider_for(ctx), dispatch_id)


async def sync_hybrid_task(ctx: AppContext) -> None:
    await dispatch_jobs.sync_hybrid(ctx.db, provider_for(ctx))


async def dunning_task(ctx: AppContext) -> None:
    await dispatch_jobs.run_dunning(ctx.db, ctx.settings.dunning_grace_days)


def handlers() -> dict[str, JobHandler]:
    return {
        NOTICE_JOB: mail_job(case_jobs.send_notice),
        CORRECTED_JOB: mail_job(case_jobs.send_corrected_notice),
        RECEIPT_JOB: mail_job(case_jobs.send_receipt),
        REMINDER_JOB: mail_job(case_jobs.send_reminder),
        MAIL_JOB: mail_job(case_jobs.send_milestone_mail),
        dispatching.SUBMIT_JOB: submit_dispatch,
    }
def periodic(settings: Settings) -> list[PeriodicTask]:
    tasks = [PeriodicTask("dunning", settings.worker_periodic_seconds, dunning_task)]
    if settings.dispatch_provider == "hybrid":
        tasks.append(PeriodicTask("hybrid_mail_sync", settings.worker_periodic_seconds,
                                  sync_hybrid_task))
    return tasks
