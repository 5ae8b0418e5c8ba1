"""Import every table so ``SQLModel.metadata`` is complete (Alembic and tests use this)."""

from sqlmodel import SQLModel

import accessibility.models  # noqa: F401
import booking.models
import booking.party_models
import booking.waitlist  # noqa: F401
import idstatus.models  # noqa: F401
import online.models  # noqa: F401
import postcall.dispatch_models
import postcall.letter_models
import postcall.payments.models  # noqa: F401
import tenants.models  # noqa: F401

metadata = SQLModel.metadata
