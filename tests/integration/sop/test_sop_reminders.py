"""Reminder deliveries on the table: reminded only while being sent (then awaiting staff, due again
at the link's expiry), marked sent once among concurrent POSTs (who and when), expired only while
still awaiting staff; a reminder plan's option round-trips; a forged task link is refused."""

from __future__ import annotations

import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from botocore.exceptions import ClientError

from siyu.core.clock import to_precise_iso
from siyu.sop.job import SEND_LEASE
from siyu.sop.reminders import NOT_CONFIRMED
from siyu.sop.repository import SopTable, plan_from_json, plan_to_json
from siyu.sop.rules import QUEUED, Delivery, Guards, Plan, Reminder

T0 = (datetime.now(UTC) + timedelta(days=500)).replace(microsecond=0)  # clear of the other tests' deliveries


@pytest.fixture
def table(stack) -> SopTable:
    return SopTable.from_environment()


def reminder_delivery(plan_id: str, group: str = "t1") -> Delivery:
    return Delivery(
        id=f"20261125T020000Z.s1.g-{group}",
        plan_id=plan_id,
        step_id="s1",
        step_name="秒杀",
        destination_key=f"g:{group}",
        destination_name="一群",
        channel="reminder",
        scheduled_for=T0,
        send_at=T0,
        status=QUEUED,
        created_at=T0,
    )


def test_a_reminder_is_recorded_while_sending_and_marked_sent_once_among_concurrent_posts(table):
    plan_id = uuid.uuid4().hex[:12]
    delivery = reminder_delivery(plan_id)
    table.create_delivery(delivery, T0)
    assert table.claim_delivery(plan_id, delivery.id, T0, SEND_LEASE) is not None
    expires = T0 + timedelta(hours=24)
    table.reminder_sent(plan_id, delivery.id, expires, T0)
    with pytest.raises(ClientError):  # a second sender's late record: no longer sending
        table.reminder_sent(plan_id, delivery.id, expires, T0)
    stored = table.delivery(plan_id, delivery.id)
    assert (stored.status, stored.task_expires_at, stored.due_at) == (
        "awaiting_staff",
        expires,
        to_precise_iso(expires),
    )
    assert (plan_id, delivery.id) not in {(p, d) for p, d, _ in table.due_deliveries(T0 + timedelta(hours=23))}
    assert (plan_id, delivery.id) in {(p, d) for p, d, _ in table.due_deliveries(expires)}

    at = T0 + timedelta(hours=1)
    with ThreadPoolExecutor(4) as pool:
        marked = list(pool.map(lambda who: table.confirm_reminder(plan_id, delivery.id, who, at), ["a", "b", "c", "d"]))
    assert marked.count(True) == 1
    stored = table.delivery(plan_id, delivery.id)
    assert stored.status == "sent" and stored.confirmed_by in "abcd" and stored.sent_at == at and stored.due_at is None
    assert not table.reminder_expired(plan_id, delivery.id, expires, NOT_CONFIRMED)  # a sent one stays sent


def test_an_unconfirmed_reminder_expires_to_not_sent_once(table):
    plan_id = uuid.uuid4().hex[:12]
    delivery = reminder_delivery(plan_id, "t2")
    table.create_delivery(delivery, T0)
    table.claim_delivery(plan_id, delivery.id, T0, SEND_LEASE)
    table.reminder_sent(plan_id, delivery.id, T0 + timedelta(hours=1), T0)
    assert table.reminder_expired(plan_id, delivery.id, T0 + timedelta(hours=1), NOT_CONFIRMED)
    assert not table.reminder_expired(plan_id, delivery.id, T0 + timedelta(hours=1), NOT_CONFIRMED)
    assert not table.confirm_reminder(plan_id, delivery.id, "late", T0 + timedelta(hours=2))
    stored = table.delivery(plan_id, delivery.id)
    assert (stored.status, stored.reason, stored.due_at) == ("not_sent", NOT_CONFIRMED, None)


def test_a_plan_in_reminder_mode_round_trips_and_older_plans_read_as_direct():
    plan = Plan(
        "p1", "n", "Asia/Shanghai", {"kind": "code_groups", "code_id": "c"}, (), Guards(), "active", T0.date(), T0
    )
    reminded = replace(plan, reminder=Reminder(("zhangsan",), "", 12))
    assert plan_from_json(plan_to_json(reminded)) == reminded
    assert plan_from_json(plan_to_json(plan)).reminder is None
