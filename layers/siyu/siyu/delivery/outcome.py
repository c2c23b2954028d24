"""What became of one delivery attempt, as the things that deliver record it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True)
class SendOutcome:
    """A send attempt's `status` at `at`: the `error` it failed with, when it is due again
    (`retry_at`, None for a final outcome), and `reason` when it was not sent at all."""

    status: str
    at: datetime
    error: str | None = None
    retry_at: datetime | None = None
    reason: str | None = None
