"""Online payment wired to the settings: the provider (Stripe when ``BUERO_STRIPE_SECRET_KEY``
is set), the payment configuration, starting a payment (API and page), and the worker's
reconciliation task."""

from __future__ import annotations

import logging
from dataclasses import replace
from datetime import timedelta
from typing import TYPE_CHECKING

from app.settings import Settings
from core.tenancy import current_municipality
from postcall.payments.errors import OnlinePaymentUnavailable
from postcall.payments.flows import PaymentConfig, reconcile_open, start_payment
from postcall.payments.stripe_provider import StripeProvider

if TYPE_CHECKING:
    from app.context import AppContext

log = logging.getLogger("buergerbuero.payments")


def online_payment_offered(settings: Settings) -> bool:
    return bool(settings.stripe_secret_key)


def provider_for(settings: Settings) -> StripeProvider | None:
    """A provider for one piece of work (``async with``: it closes its connections)."""
    if not settings.stripe_secret_key:
        return None
    return StripeProvider(settings.stripe_secret_key,
                          webhook_secret=settings.stripe_webhook_secret,
                          api_base=settings.stripe_api_base)


def payment_config(settings: Settings) -> PaymentConfig:
    return PaymentConfig(base_url=settings.base_url,
                         session_minutes=settings.payment_session_minutes,
                         reconcile_minutes=settings.payment_reconcile_minutes)


async def start_online_payment(state: AppContext, case_id: int) -> str:
    """Start a checkout for the case; the provider's page URL (shared with the citizen page's
    pay button)."""
    provider = provider_for(state.settings)
    if provider is None:
        raise OnlinePaymentUnavailable()
    # Per link, not per address: pressing "pay" again and again creates no pile of sessions.
    await state.limiter.hit("payment", f"case:{case_id}")
    config = payment_config(state.settings)
    # The provider sends the citizen back to the municipality's own host.
    _, base_url = await state.hosts.town(state.db, current_municipality(), config.base_url)
    async with provider:
        return await start_payment(state.db, provider, case_id,
                                   replace(config, base_url=base_url))


async def reconcile_task(ctx: AppContext) -> None:
    """Periodic: re-read unfinished payment attempts, so a missed webhook is caught up."""
    provider = provider_for(ctx.settings)
    if provider is None:
        return
    async with provider:
        result = await reconcile_open(
            ctx.db, provider, older_than=timedelta(minutes=ctx.settings.payment_reconcile_minutes)
        )
    if result.checked:
        log.info("re-read %d payment attempts: %s", result.checked, result.outcomes)
