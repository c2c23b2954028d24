"""When a failed delivery is tried again: a policy per purpose, each with its own setting."""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import datetime, timedelta

DEFAULT_ATTEMPTS = 5
DEFAULT_BASE_SECONDS = 60.0

# The environment variable of each purpose's base delay (template parameters of the same names).
ALERT_RETRY = "ALERT_RETRY_BASE_SECONDS"  # operator alerts (rotation job)
SOP_PUSH_RETRY = "SOP_RETRY_BASE_SECONDS"  # SOP pushes (SOP sender)
REWARD_WEBHOOK_RETRY = "REWARD_RETRY_BASE_SECONDS"  # reward webhooks (campaign worker)


@dataclass(frozen=True)
class RetryPolicy:
    """`attempts` tries in all; after the n-th failure the next try waits base × 2^(n-1)."""

    attempts: int = DEFAULT_ATTEMPTS
    base_seconds: float = DEFAULT_BASE_SECONDS

    @classmethod
    def from_environment(cls, variable: str, attempts: int = DEFAULT_ATTEMPTS) -> RetryPolicy:
        """The base delay from `variable` (seconds); when it is empty, the alerts' setting (which
        drove every purpose before each had its own, so a stack that tuned it keeps its timing);
        DEFAULT_BASE_SECONDS when neither is set."""
        chosen = os.environ.get(variable) or os.environ.get(ALERT_RETRY) or DEFAULT_BASE_SECONDS
        return cls(attempts, float(chosen))

    def delay(self, failed_attempts: int) -> timedelta:
        """Backoff before the next attempt after `failed_attempts` failed ones: base, 2×, 4×, …"""
        return timedelta(seconds=self.base_seconds * 2 ** max(failed_attempts - 1, 0))

    def next_attempt(self, failed_attempts: int, now: datetime) -> datetime | None:
        """When to try again after `failed_attempts` failures, or None: give up, it failed."""
        if failed_attempts >= self.attempts:
            return None
        return now + self.delay(failed_attempts)
