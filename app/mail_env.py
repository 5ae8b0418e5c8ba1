"""The mail jobs wired to the installation: one ``MailEnv`` (mailer, languages, links, settings
the messages need) per app, and the adapter that runs a mail job with it in the worker."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import replace

from app.context import AppContext
from app.tasks import JobHandler
from core.jobs import Job
from mail.compose import MailEnv
from mail.mailer import Mailer, MailerConfig

EXTRAS_KEY = "mail_env"


def mail_env(ctx: AppContext) -> MailEnv:
    """The app's one mail environment (and mailer), created on first use."""
    env = ctx.extras.get(EXTRAS_KEY)
    if not isinstance(env, MailEnv):
        s = ctx.settings
        mailer = Mailer(MailerConfig(
            mail_dir=s.mail_dir, smtp_host=s.smtp_host, smtp_port=s.smtp_port,
            smtp_username=s.smtp_username, smtp_password=s.smtp_password, smtp_tls=s.smtp_tls,
            smtp_starttls=s.smtp_starttls, smtp_timeout_seconds=s.smtp_timeout_seconds,
        ))
        env = MailEnv(db=ctx.db, mailer=mailer, i18n=ctx.i18n, links=ctx.links,
                      base_url=s.base_url, mail_from=s.mail_from, hold_minutes=s.hold_minutes,
                      join_before_minutes=s.join_before_minutes)
        ctx.extras[EXTRAS_KEY] = env
    return env


def mailer_for(ctx: AppContext) -> Mailer:
    return mail_env(ctx).mailer


async def forget_mails_to(ctx: AppContext, address: str) -> None:
    """After an erasure: the mails written to files for ``address`` go too."""
    await asyncio.to_thread(mailer_for(ctx).forget, address)


async def job_mail_env(ctx: AppContext, job: Job) -> MailEnv:
    """The mail environment of a job: with its municipality's name and host (its links must
    open on its host) where the installation serves several."""
    env = mail_env(ctx)
    town, base_url = await ctx.hosts.town(ctx.db, job.municipality_id, env.base_url)
    return replace(env, town=town, base_url=base_url) if town else env


def mail_job(run: Callable[[MailEnv, Job], Awaitable[None]]) -> JobHandler:
    """A worker handler that runs the mail job ``run`` with the job's mail environment."""

    async def handle(ctx: AppContext, job: Job) -> None:
        await run(await job_mail_env(ctx, job), job)

    return handle
