"""Import every table so ``SQLModel.metadata`` is complete (Alembic and tests use this)."""

from sqlmodel import SQLModel

import app.call_models
import app.models  # noqa: F401
import booking.audit
import booking.jobs
import booking.models  # noqa: F401
import postcall.dispatch_models
import postcall.milestones
import postcall.models
import postcall.payments.models  # noqa: F401

metadata = SQLModel.metadata
