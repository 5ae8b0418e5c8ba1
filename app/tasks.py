"""The shapes of background work as the worker runs it: a job handler and a periodic task.

Kept apart from ``app.worker`` so that the modules providing handlers (mails, the jobs after
the call) can name these types without importing the worker that imports them.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from core.jobs import Job

if TYPE_CHECKING:
    from app.context import AppContext

JobHandler = Callable[["AppContext", Job], Awaitable[None]]
PeriodicFn = Callable[["AppContext"], Awaitable[None]]


@dataclass
class PeriodicTask:
    name: str
    interval: float  # seconds
    run: PeriodicFn
    next_at: float = 0.0  # time.monotonic() when due
