"""SOP plans at their limits (issue 16): resuming requeues every held delivery, not only the first
page; a plan too large for one DynamoDB item is refused with the limit, before anything is written."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest

from siyu.core.errors import InvalidInput
from siyu.sop.api import PlanUpdate
from siyu.sop.repository.plans import MAX_PLAN_BYTES, PlanTooLarge, stored_document
from siyu.sop.resume import RESUME_PAGE
from siyu.sop.rules import ACTIVE, PAUSED, QUEUED
from siyu.web.http_status import http_status
from tests.unit.sop.test_sop_services import T0, Sop, once


def test_resuming_requeues_every_held_delivery_past_the_first_page():
    """The attack: resuming a plan requeued only the first 500 held deliveries."""
    sop = Sop()
    plan = sop.plan([once("hello", T0 + timedelta(minutes=30))])
    sop.run(T0 + timedelta(minutes=31))
    ((plan_id, delivery_id),) = sop.queue.take()
    sop.admin.set_status(plan.id, PAUSED)
    assert sop.sender.send(plan_id, delivery_id) == "held"
    (held,) = sop.store.held(plan.id)
    total = RESUME_PAGE * 2 + 200
    for n in range(total - 1):
        sop.store._put(replace(held, id=f"{held.id}-{n:05d}"))
    assert len(sop.store.held(plan.id)) == total
    sop.admin.set_status(plan.id, ACTIVE)
    assert sop.store.held(plan.id) == []
    assert sum(d.status == QUEUED for d in sop.store.of_plan(plan.id)) == total


def long_steps(count: int, chars: int) -> list[dict]:
    return [once(f"step {n}", T0 + timedelta(days=n + 1), "字" * chars) for n in range(count)]


def test_a_plan_too_large_for_one_item_is_refused_with_the_limit_and_nothing_is_written():
    """The attack: a valid plan (100 steps x 5,000 Chinese characters) exceeded 400 KB and returned a 500."""
    sop = Sop()
    with pytest.raises(PlanTooLarge) as refused:
        sop.plan(long_steps(100, 5000))
    assert http_status(refused.value) == 422 and isinstance(refused.value, InvalidInput)
    assert f"at most {MAX_PLAN_BYTES:,} bytes" in refused.value.message and "400 KB" in refused.value.message
    assert sop.store.plans == {}


def test_an_edit_that_makes_a_plan_too_large_is_refused_and_the_plan_stays_as_it_was():
    sop = Sop()
    plan = sop.plan(long_steps(10, 5000))
    assert len(stored_document(plan).encode()) < MAX_PLAN_BYTES
    with pytest.raises(PlanTooLarge):
        sop.admin.update(plan.id, PlanUpdate.model_validate({"steps": long_steps(100, 5000)}))
    assert len(sop.admin.get(plan.id).steps) == 10
