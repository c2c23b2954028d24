"""Firing the template's Schedule events locally: at their rate, and on demand through
POST /_local/schedules/{FunctionLogicalId} (a tooling-only route, never deployed)."""

from __future__ import annotations

import json
import logging
import threading
import time
import uuid
from datetime import UTC, datetime

from local_stack.functions import LocalFunction
from local_stack.template import Schedule

logger = logging.getLogger("local_stack.schedules")


def scheduled_event(schedule: Schedule) -> dict:
    """What EventBridge delivers for a schedule (or the schedule's own Input, if it sets one)."""
    if schedule.input:
        return json.loads(schedule.input)
    return {
        "version": "0",
        "id": str(uuid.uuid4()),
        "detail-type": "Scheduled Event",
        "source": "aws.events",
        "account": "123456789012",
        "time": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "region": "us-east-1",
        "resources": [f"arn:aws:events:us-east-1:123456789012:rule/{schedule.function_id}{schedule.name}"],
        "detail": {},
    }


class Scheduler:
    def __init__(self, schedules: list[Schedule], functions: dict[str, LocalFunction]):
        self.schedules = schedules
        self.functions = functions
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []

    def fire(self, function_id: str) -> list:
        """Run every schedule of `function_id` once, now; returns the handlers' answers."""
        mine = [s for s in self.schedules if s.function_id == function_id]
        if not mine:
            raise KeyError(function_id)
        return [self.functions[s.function_id].invoke(scheduled_event(s)) for s in mine]

    def start(self) -> None:
        for schedule in self.schedules:
            if not schedule.enabled:
                continue
            if schedule.rate_seconds is None:
                logger.warning(
                    "%s %s: only rate() schedules fire by themselves locally; use POST /_local/schedules/%s",
                    schedule.function_id,
                    schedule.expression,
                    schedule.function_id,
                )
                continue
            thread = threading.Thread(
                target=self._every, args=(schedule,), daemon=True, name=f"schedule-{schedule.function_id}"
            )
            thread.start()
            self._threads.append(thread)

    def stop(self) -> None:
        self._stop.set()

    def _every(self, schedule: Schedule) -> None:
        next_run = time.monotonic() + schedule.rate_seconds
        while not self._stop.wait(max(0.0, next_run - time.monotonic())):
            next_run += schedule.rate_seconds
            try:
                self.functions[schedule.function_id].invoke(scheduled_event(schedule))
                logger.info("fired %s (%s)", schedule.function_id, schedule.expression)
            except Exception:
                logger.exception("scheduled run of %s failed", schedule.function_id)
