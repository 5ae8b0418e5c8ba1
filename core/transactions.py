"""What a domain service needs of the database when it runs its own short transactions (jobs,
letters, payment steps around a provider call): ``app.db.Database`` fits."""

from __future__ import annotations

from contextlib import AbstractAsyncContextManager
from typing import Protocol

from sqlalchemy.ext.asyncio import AsyncSession


class Transactions(Protocol):
    def transaction(self, *, write: bool = False) -> AbstractAsyncContextManager[AsyncSession]:
        ...
