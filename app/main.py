"""The application factory. Nothing is built at import: ``create_app`` wires routes and
middleware, and the lifespan builds engines, catalogues, limiters and the worker."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from pathlib import Path

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.routing import BaseRoute, Mount
from starlette.staticfiles import StaticFiles

from app.api import admin as api_admin
from app.api import admin_insights as api_admin_insights
from app.api import auth as api_auth
from app.api import citizen as api_citizen
from app.api import citizen_docs as api_citizen_docs
from app.api import clerk as api_clerk
from app.api import clerk_cases as api_clerk_cases
from app.api import connection_test as api_connection_test
from app.api import dispatch as api_dispatch
from app.api import docs as api_docs
from app.api import document_status as api_document_status
from app.api import guest_links as api_guest_links
from app.api import lost_links as api_lost_links
from app.api import online as api_online
from app.api import online_clerk as api_online_clerk
from app.api import online_documents as api_online_documents
from app.api import ops, ws
from app.api import payments as api_payments
from app.api import platform as api_platform
from app.api import privacy as api_privacy
from app.api import public as api_public
from app.api import waitlist as api_waitlist
from app.api.availability import start as start_availability_cache
from app.api.availability import stop as stop_availability_cache
from app.calls import start_calls, stop_calls
from app.context import AppContext
from app.db import Database
from app.errors import exception_handlers
from app.middleware import (
    LanguageMiddleware,
    NulGuardMiddleware,
    SecurityHeadersMiddleware,
    admission_gate,
    outage_guard,
)
from app.pages import accessibility as pages_accessibility
from app.pages import admin as pages_admin
from app.pages import admin_audit as pages_admin_audit
from app.pages import admin_insights as pages_admin_insights
from app.pages import admin_jobs as pages_admin_jobs
from app.pages import admin_letters as pages_admin_letters
from app.pages import apply as pages_apply
from app.pages import brand as pages_brand
from app.pages import call as pages_call
from app.pages import citizen as pages_citizen
from app.pages import desk as pages_desk
from app.pages import document_status as pages_document_status
from app.pages import document_status_staff as pages_document_status_staff
from app.pages import guest as pages_guest
from app.pages import lost_links as pages_lost_links
from app.pages import online_staff as pages_online_staff
from app.pages import payment as pages_payment
from app.pages import postcall_pages as pages_postcall
from app.pages import postcall_staff as pages_postcall_staff
from app.pages import privacy as pages_privacy
from app.pages import second_factor as pages_second_factor
from app.pages import sso as pages_sso
from app.pages import staff as pages_staff
from app.pages import waiting as pages_waiting
from app.pages import waitlist as pages_waitlist
from app.settings import Settings
from app.templating import Templates
from booking.links import LinkKeys
from core.i18n import I18n
from core.ratelimit import RateLimiter
from monitoring.metrics import install as install_metrics
from tenants.middleware import MunicipalityMiddleware
from tenants.scope import install as install_tenant_scope

log = logging.getLogger("buergerbuero")

STATIC_DIR = Path(__file__).resolve().parent.parent / "static"


def build_context(settings: Settings) -> AppContext:
    install_tenant_scope()
    secret = settings.resolved_secret_key()
    i18n = I18n()
    return AppContext(
        settings=settings,
        db=Database(
            settings.database_url,
            pool_size=settings.database_pool_size,
            max_overflow=settings.database_max_overflow,
        ),
        links=LinkKeys(secret),
        i18n=i18n,
        secret_key=secret,
        templates=Templates(i18n),
        limiter=RateLimiter(
            enabled=settings.rate_limits_enabled,
            redis_url=settings.redis_url,
            redis_prefix=settings.redis_prefix,
            rules={
                "booking": settings.rate_limit_booking,
                "token": settings.rate_limit_token,
                "login": settings.rate_limit_login,
                "connection_test": settings.rate_limit_connection_test,
                "payment": settings.rate_limit_payment,
                "status_lookup": settings.rate_limit_status_lookup,
                "availability": settings.rate_limit_availability,
                # Wrong attempts per client and case number (app/api/citizen_docs.py).
                "status_lookup_case": settings.rate_limit_status_lookup_case,
                "request": settings.rate_limit_request,  # online requests sent per client
                "upload": settings.rate_limit_upload,  # documents per citizen link
                "link_resend": settings.rate_limit_link_resend,  # per address (keyed hash)
                "link_resend_client": settings.rate_limit_link_resend_client,
                "document_status": settings.rate_limit_document_status,
                "barrier_report": settings.rate_limit_barrier_report,
            },
        ),
    )


def all_routes() -> list[BaseRoute]:
    routes: list[BaseRoute] = []
    for module in (  # these first: /admin/waitlist, /admin/accessibility are no /admin/{kind}
        api_waitlist, pages_waitlist, pages_accessibility,
        ops, api_docs, api_public, api_citizen, api_auth, api_admin, api_clerk, api_clerk_cases,
        api_connection_test, ws, api_payments, pages_payment,
        api_dispatch, api_citizen_docs, pages_postcall, pages_postcall_staff,
        pages_citizen, pages_desk, pages_staff, api_privacy, pages_privacy, pages_admin_audit,
        pages_admin_insights, api_admin_insights,
        pages_admin_jobs, pages_admin_letters, pages_online_staff, pages_admin, pages_call,
        pages_second_factor, pages_sso, api_online, api_online_clerk, api_online_documents,
        pages_apply, api_lost_links, api_document_status, pages_document_status,
        pages_document_status_staff, pages_lost_links, pages_waiting, api_guest_links,
        pages_guest, api_platform, pages_brand,
    ):
        routes.extend(module.routes)
    routes.append(Mount("/static", app=StaticFiles(directory=STATIC_DIR), name="static"))
    return routes


def create_app(settings: Settings | None = None, *, run_worker: bool = False) -> Starlette:
    """Build the ASGI app. ``run_worker`` runs background jobs in this process (``serve``)."""
    settings = settings or Settings()

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        state = build_context(settings)
        app.state.ctx = state
        install_metrics(state)
        await start_calls(state)
        try:
            await start_availability_cache(state)  # after start_calls: it uses the Redis client
        except BaseException:
            await stop_calls(state)
            raise
        worker_task: asyncio.Task[None] | None = None
        if run_worker:
            from app.worker import Worker

            worker = Worker(state)
            worker_task = asyncio.create_task(worker.run_forever(), name="worker")
        try:
            yield
        finally:
            if worker_task is not None:
                worker_task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await worker_task
            await stop_availability_cache(state)
            await stop_calls(state)
            await state.limiter.close()
            await state.db.dispose()

    return Starlette(
        routes=all_routes(),
        middleware=[
            Middleware(SecurityHeadersMiddleware, hsts=settings.env == "production"),
            Middleware(LanguageMiddleware),
            Middleware(NulGuardMiddleware),
            Middleware(outage_guard, retry_after=settings.retry_after_seconds),
            Middleware(MunicipalityMiddleware,  # the request's municipality (tenants.hosts)
                       locate=lambda scope: (scope["app"].state.ctx.db,
                                             scope["app"].state.ctx.hosts)),
            # After the municipality: it classes the path below a town's path prefix.
            Middleware(admission_gate, max_active=settings.admission_max_active,
                       max_waiting=settings.admission_max_waiting, retry_after=1),
        ],
        exception_handlers=exception_handlers,
        lifespan=lifespan,
    )
