"""Resuming a paused SOP plan: every push held while it was paused is queued again (the job
decides whether it is still in time). The delivery log is read page after page: a plan with
years of deliveries has its held ones past the first page too."""

from __future__ import annotations

from datetime import datetime

from siyu.sop import rules
from siyu.sop.ports import SopStore

RESUME_PAGE = 500  # deliveries read per query while resuming


def requeue_held(sop: SopStore, plan_id: str, now: datetime, page: int = RESUME_PAGE) -> int:
    """Queue every held delivery of the plan again; how many were."""
    requeued, cursor = 0, None
    while True:
        deliveries, cursor = sop.deliveries(plan_id, page, cursor)
        for delivery in deliveries:
            if delivery.status == rules.HELD and sop.requeue(plan_id, delivery.id, now, (rules.HELD,)):
                requeued += 1
        if cursor is None:
            return requeued
