"""Import every table so ``SQLModel.metadata`` is complete (Alembic and tests use this)."""

from sqlmodel import SQLModel

import app.models
import booking.audit
import booking.jobs
import booking.models  # noqa: F401

metadata = SQLModel.metadata
