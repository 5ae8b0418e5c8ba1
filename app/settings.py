"""Settings from the environment (prefix ``BUERO_``) and ``.env``.

Every field here is documented in the README's configuration table; a test fails when one is not.
"""

from __future__ import annotations

import secrets
from pathlib import Path
from typing import Literal

from pydantic import Field, IPvAnyAddress, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from cases.numbers import check_number_format
from core.secret_strength import MIN_SECRET_BITS, entropy_bits, is_placeholder
from staff.oidc import parse_group_map


class SettingsError(ValueError):
    """A setting combination that must not run (e.g. production without a secret key)."""


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="BUERO_", env_file=".env", env_file_encoding="utf-8", extra="ignore"
    )

    env: Literal["development", "production", "test"] = "development"
    database_url: str = "sqlite+aiosqlite:///./var/buergerbuero.db"
    # PostgreSQL connections per process: a steady pool; requests beyond it wait for a connection
    # (no churn of short-lived overflow connections under sustained load).
    database_pool_size: int = Field(default=20, ge=1, le=500)
    database_max_overflow: int = Field(default=0, ge=0, le=500)
    retry_after_seconds: int = Field(default=5, ge=1, le=3600)  # 503 while a service is away
    # Admission control (core/admission.py): HTTP requests one process works on at once (0: no
    # limit); more wait, staff first, then pages, then the public API, whose waiting queue is
    # cut at ``admission_max_waiting`` (503 with Retry-After beyond it).
    admission_max_active: int = Field(default=4, ge=0, le=10_000)
    admission_max_waiting: int = Field(default=1000, ge=0, le=1_000_000)
    secret_key: str | None = None
    base_url: str = "http://127.0.0.1:8000"
    var_dir: Path = Path("var")

    smtp_host: str | None = None
    smtp_port: int = 25
    smtp_username: str | None = None
    smtp_password: str | None = None
    smtp_starttls: bool = False
    mail_from: str = "buergerbuero@localhost"
    smtp_tls: bool = False  # implicit TLS (usually port 465); STARTTLS is smtp_starttls
    smtp_timeout_seconds: float = Field(default=30.0, gt=0)

    redis_url: str | None = None
    # Begins every Redis key and pub/sub channel of this installation, so that several
    # installations (or a staging beside production) can share one Redis without hearing
    # each other's calls, availability changes or rate counts.
    redis_prefix: str = Field(default="buero:", pattern=r"^[A-Za-z0-9_.:-]{1,64}$")
    # How long an availability answer may be served from memory at most (0: never); writes on
    # this instance (and, with Redis, on every instance) drop it at once anyway.
    availability_cache_seconds: float = Field(default=10.0, ge=0, le=3600)
    stun_urls: str | None = None
    turn_urls: str | None = None
    turn_secret: str | None = None
    turn_ttl_seconds: int = 3600

    stripe_secret_key: str | None = None
    stripe_webhook_secret: str | None = None
    stripe_api_base: str | None = None
    # Online payment: a Checkout Session lives this long (Stripe allows 30 minutes to 24 hours);
    # an unfinished attempt is re-read from the provider when this many minutes old (a missed
    # webhook is caught up); the pay button is limited per citizen link.
    payment_session_minutes: int = Field(default=60, ge=30, le=24 * 60)
    payment_reconcile_minutes: int = Field(default=10, ge=1, le=24 * 60)
    rate_limit_payment: str = "5/minute;20/day"

    require_email_confirmation: bool = True
    hold_minutes: int = Field(default=15, ge=1, le=24 * 60)
    max_active_bookings_per_email: int = Field(default=3, ge=1)
    # Per appointment (booking.composition); each person counts toward the limit above, but an
    # address's first appointment is never refused for its size.
    booking_max_services: int = Field(default=3, ge=1, le=10)
    booking_max_persons: int = Field(default=5, ge=1, le=20)
    link_grace_days: int = Field(default=30, ge=0)
    reminder_hours: int = Field(default=24, ge=1)

    # Online requests (without an appointment): double opt-in as for bookings
    # (require_email_confirmation), confirmed within this many hours or expired; open requests
    # per e-mail address; uploads are scanned by ClamAV's clamd at this address
    # ("unix:/run/clamav/clamd.ctl" or "tcp:host:port"); production refuses to start without it.
    request_confirm_hours: int = Field(default=48, ge=1, le=24 * 14)
    max_open_requests_per_email: int = Field(default=3, ge=1)
    waitlist_offer_hours: float = Field(default=4.0, gt=0, le=24 * 14)
    waitlist_max_open_per_email: int = Field(default=3, ge=1)
    clamd_address: str | None = None
    clamd_timeout_seconds: float = Field(default=30.0, gt=0, le=600)
    rate_limit_request: str = "5/minute;30/hour"
    rate_limit_upload: str = "20/minute;100/hour"

    rate_limits_enabled: bool = True
    # Bookings and waitlist entries need a solved challenge (README "Proof of work").
    proof_of_work: bool = True
    proof_of_work_max_number: int = Field(default=50_000, ge=1_000, le=10_000_000)
    proof_of_work_seconds: int = Field(default=600, ge=30, le=3600)
    rate_limit_booking: str = "10/minute;60/hour"
    rate_limit_availability: str = "120/minute;1000/hour"
    rate_limit_token: str = "60/minute"  # noqa: S105 (a rate, not a secret)
    rate_limit_login: str = "10/minute"
    login_max_failures: int = 5
    login_lockout_minutes: int = 15

    join_before_minutes: int = 15
    join_after_minutes: int = 30
    call_token_minutes: int = Field(default=120, ge=1, le=24 * 60)
    call_hello_timeout_seconds: float = Field(default=5.0, gt=0)
    rate_limit_connection_test: str = "5/hour"
    connection_test_seconds: float = Field(default=60.0, gt=0, le=600)
    connection_test_max_concurrent: int = Field(default=4, ge=1)
    connection_test_private_candidates: bool = False  # tests, intranets: loopback and LAN too
    connection_test_public_addresses: list[IPvAnyAddress] = Field(default_factory=list)

    case_number_format: str = "{year}-{seq:06d}"
    fee_due_days: int = Field(default=14, ge=0, le=365)
    # After the call: one payment reminder this many days after the fee notice's due date;
    # postal letters go to the print room's batches or to a hybrid-mail service (Pingen-style).
    dunning_grace_days: int = Field(default=7, ge=0, le=365)
    dispatch_provider: Literal["print_room", "hybrid"] = "print_room"
    hybrid_mail_api_base: str = "https://api.pingen.com"
    hybrid_mail_identity_base: str | None = None
    hybrid_mail_client_id: str | None = None
    hybrid_mail_client_secret: str | None = None
    hybrid_mail_webhook_secret: str | None = None
    hybrid_mail_organisation_id: str | None = None
    rate_limit_status_lookup: str = "10/minute;50/hour"
    rate_limit_status_lookup_case: str = "5/minute;10/hour;20/day"
    # Lost links: per address (a keyed hash of it; over it nothing is sent) and per client.
    rate_limit_link_resend: str = "3/hour;10/day"
    rate_limit_link_resend_client: str = "10/hour;50/day"
    # ID card / passport status: lookups per client; entries go this many days after pickup.
    rate_limit_document_status: str = "20/minute;100/hour"
    document_status_keep_days: int = Field(default=30, ge=0, le=3650)
    # Accessibility: barrier reports per client, and the days the office takes to answer one.
    rate_limit_barrier_report: str = "3/minute;20/day"
    barrier_answer_days: int = Field(default=14, ge=1, le=365)
    # Privacy: personal data of appointments that ended (completed, cancelled, expired, no-show)
    # is anonymised this many days after they ended; cases with their amounts are kept.
    retention_days: int = Field(default=90, ge=1, le=3650)
    # The longest period the office's insights (/admin/insights, the admin API) sum at once.
    insights_max_days: int = Field(default=731, ge=1, le=3660)

    staff_session_hours: int = 10
    # Whose local accounts must have a second factor (TOTP); password sign-in can be switched off
    # where everyone signs in through the town's identity provider.
    staff_totp_required: Literal["admin", "all", "none"] = "admin"
    staff_password_login: bool = True
    # Single sign-on with the town's OpenID Connect provider (README "Staff sign-in"): unset
    # issuer, none. The group map is JSON, checked at start (staff.oidc.parse_group_map).
    oidc_issuer: str | None = None
    oidc_client_id: str | None = None
    oidc_client_secret: str | None = None
    oidc_scopes: str = "openid email profile"
    oidc_groups_claim: str = "groups"
    oidc_group_map: str = "{}"
    oidc_link_by_email: bool = False
    api_token_hours: int = 8

    worker_poll_seconds: float = 1.0
    worker_batch_size: int = 20
    job_max_attempts: int = 12
    job_backoff_base_seconds: float = Field(default=10.0, gt=0)
    job_backoff_max_seconds: float = Field(default=3600.0, gt=0)
    job_lease_seconds: float = Field(default=300.0, gt=0)
    worker_periodic_seconds: float = Field(default=30.0, gt=0)

    log_level: str = "INFO"
    log_format: Literal["text", "json"] = "text"
    log_client_ip: bool = False

    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=1, le=65535)
    # Server processes of `buergerbuero serve`; above 1 they must share state through Redis.
    workers: int = Field(default=1, ge=1, le=64)
    proxy_headers: bool = False
    forwarded_allow_ips: str = "127.0.0.1"

    @field_validator("base_url")
    @classmethod
    def _strip_slash(cls, value: str) -> str:
        return value.rstrip("/")

    @field_validator("clamd_address")
    @classmethod
    def _clamd_address(cls, value: str | None) -> str | None:
        if value and not (value.startswith("unix:") or value.startswith("tcp:")):
            raise SettingsError("BUERO_CLAMD_ADDRESS is unix:/path/to/socket or tcp:host:port")
        return value or None

    @field_validator("case_number_format")
    @classmethod
    def _case_number_format(cls, value: str) -> str:
        return check_number_format(value)

    @model_validator(mode="after")
    def _base_url_from_host_and_port(self) -> Settings:
        """Unset, the public address is where this process serves (``BUERO_PORT=8100 make
        run`` puts :8100 into its links); production needs it set (https)."""
        if "base_url" not in self.model_fields_set:
            host = "127.0.0.1" if self.host in ("", "0.0.0.0", "::") else self.host  # noqa: S104
            host = f"[{host}]" if ":" in host else host
            self.base_url = f"http://{host}:{self.port}"
        return self

    @model_validator(mode="after")
    def _hybrid_mail_complete(self) -> Settings:
        if self.dispatch_provider == "hybrid":
            missing = [name for name in ("hybrid_mail_client_id", "hybrid_mail_client_secret",
                                         "hybrid_mail_organisation_id",
                                         "hybrid_mail_webhook_secret")
                       if not getattr(self, name)]
            if missing:
                names = ", ".join(f"BUERO_{name.upper()}" for name in missing)
                raise SettingsError(f"BUERO_DISPATCH_PROVIDER=hybrid needs {names}")
        return self

    @model_validator(mode="after")
    def _oidc_complete(self) -> Settings:
        if self.oidc_issuer and not (self.oidc_client_id and self.oidc_client_secret):
            raise SettingsError("BUERO_OIDC_ISSUER needs BUERO_OIDC_CLIENT_ID and "
                                "BUERO_OIDC_CLIENT_SECRET")
        parse_group_map(self.oidc_group_map)
        return self

    @model_validator(mode="after")
    def _production_guards(self) -> Settings:
        if self.env != "production":
            return self
        if not self.secret_key:
            raise SettingsError("BUERO_SECRET_KEY must be set in production")
        for name in SECRETS:
            value = getattr(self, name)
            if value and is_placeholder(value):
                raise SettingsError(f"BUERO_{name.upper()} still holds the example's value; "
                                    "set your own")
        if entropy_bits(self.secret_key) < MIN_SECRET_BITS:
            raise SettingsError(
                "BUERO_SECRET_KEY is too weak for production (at least 32 random bytes); "
                "make one with: python3 -c 'import secrets; print(secrets.token_urlsafe(32))'")
        if not self.base_url.startswith("https://"):
            raise SettingsError("BUERO_BASE_URL must be https in production")
        if not self.clamd_address:
            raise SettingsError("BUERO_CLAMD_ADDRESS must be set in production: uploads of "
                                "online requests are checked for malware by ClamAV")
        if self.database_url.startswith("sqlite") and _is_network_path(self.database_url):
            raise SettingsError("SQLite on a network path is not supported in production")
        return self

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")

    @property
    def mail_dir(self) -> Path:
        return self.var_dir / "mail"

    def resolved_secret_key(self) -> bytes:
        """The secret key; in development generated once into ``var/secret_key`` and kept."""
        if self.secret_key:
            return self.secret_key.encode()
        path = self.var_dir / "secret_key"
        if path.exists():
            return path.read_text().strip().encode()
        path.parent.mkdir(parents=True, exist_ok=True)
        key = secrets.token_urlsafe(48)
        path.write_text(key)
        path.chmod(0o600)
        return key.encode()

    def stun_list(self) -> list[str]:
        return _split(self.stun_urls)

    def turn_list(self) -> list[str]:
        return _split(self.turn_urls)


def _split(value: str | None) -> list[str]:
    return [part.strip() for part in (value or "").split(",") if part.strip()]


# Settings that hold secrets; in production none may keep a value of the shipped examples.
SECRETS = ("secret_key", "smtp_password", "turn_secret", "stripe_secret_key",
           "stripe_webhook_secret", "hybrid_mail_client_secret", "hybrid_mail_webhook_secret",
           "oidc_client_secret")
def _is_network_path(url: str) -> bool:
    path = url.split(":///", 1)[-1]
    return path.startswith("//") or path.startswith("\\\\") or path.startswith("/mnt/")
