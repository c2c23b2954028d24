"""企业群发 deliveries on the table: the task's fields round-trip, the task is recorded only while
the delivery is being sent, results only while it awaits staff (then it leaves the due index), the
one-a-day limit per group, exactly one claim among concurrent senders; the admin API's refusals."""

from __future__ import annotations

import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

import pytest
from botocore.exceptions import ClientError

from siyu.sop.group_rules import refused_results
from siyu.sop.job import SEND_LEASE
from siyu.sop.repository import SopTable
from siyu.sop.rules import QUEUED, Delivery, RecipientCounts, RecipientResult

T0 = (datetime.now(UTC) + timedelta(days=400)).replace(microsecond=0)  # clear of the other tests' deliveries


@pytest.fixture
def table(stack) -> SopTable:
    return SopTable.from_environment()


def group_delivery(plan_id: str) -> Delivery:
    return Delivery(
        id="20261125T020000Z.s1.s-zhangsan",
        plan_id=plan_id,
        step_id="s1",
        step_name="早安",
        destination_key="s:zhangsan",
        destination_name="zhangsan",
        channel="wecom_groupmsg",
        scheduled_for=T0,
        send_at=T0,
        status=QUEUED,
        created_at=T0,
        sender="zhangsan",
        chat_ids=("wrA", "wrB", "wrC"),
    )


def test_a_group_delivery_is_claimed_once_its_task_recorded_once_and_its_results_settle_it(table):
    plan_id = uuid.uuid4().hex[:12]
    delivery = group_delivery(plan_id)
    with ThreadPoolExecutor(4) as pool:
        created = list(pool.map(lambda _: table.create_delivery(delivery, T0), range(4)))
        claims = list(pool.map(lambda _: table.claim_delivery(plan_id, delivery.id, T0, SEND_LEASE), range(4)))
    assert created.count(True) == 1 and sum(c is not None for c in claims) == 1

    table.limit_chats(plan_id, delivery.id, ("wrA", "wrB"), ("wrC",))
    refused = refused_results(["wrB"], "zhangsan")
    table.task_created(plan_id, delivery.id, "msgA", refused, T0, T0 + timedelta(minutes=15))
    with pytest.raises(ClientError):  # a second sender's late record: no longer sending
        table.task_created(plan_id, delivery.id, "msgB", (), T0, T0 + timedelta(minutes=15))

    stored = table.delivery(plan_id, delivery.id)
    assert (stored.status, stored.msgid, stored.sender) == ("awaiting_staff", "msgA", "zhangsan")
    assert stored.chat_ids == ("wrA", "wrB") and stored.limited == ("wrC",) and stored.cap_counted
    assert stored.results == refused and stored.task_created_at == T0 and stored.lease_until is None
    due = [d for p, d, _ in table.due_deliveries(T0 + timedelta(minutes=15)) if p == plan_id]
    assert due == [delivery.id]  # its results are read when it comes due

    sent = RecipientResult("wrA", "sent", "zhangsan", None, T0 + timedelta(minutes=5))
    results = [sent, *refused, RecipientResult("wrC", "not_sent", "zhangsan", "over the limit")]
    counts = RecipientCounts(sent=1, not_sent=2)
    assert table.record_results(plan_id, delivery.id, "sent", results, counts, T0 + timedelta(minutes=15), None, 0)
    assert not table.record_results(plan_id, delivery.id, "not_sent", [], RecipientCounts(), T0, None, 0)

    settled = table.delivery(plan_id, delivery.id)
    assert settled.status == "sent" and settled.counts == counts and settled.results == tuple(results)
    assert settled.sent_at == T0 + timedelta(minutes=15) and settled.due_at is None
    assert plan_id not in {p for p, _, _ in table.due_deliveries(T0 + timedelta(days=1))}


def test_a_group_receives_one_push_a_day_whichever_plan_counts_it(table):
    chat = f"wr{uuid.uuid4().hex[:16]}"
    assert table.count_push(chat, "2026-11-25", 1)
    assert not table.count_push(chat, "2026-11-25", 1)
    assert table.count_push(chat, "2026-11-26", 1)


def test_a_wecom_target_is_checked_before_wecom_is_needed_and_refused_while_it_is_not_connected(admin):
    step = {
        "name": "hi",
        "schedule": {"kind": "once", "on": "2099-01-01T20:00"},
        "content": {"kind": "text", "text": "hi"},
    }
    status, body = admin(
        "POST", "/admin/sop/plans", {"target": {"kind": "wecom_chats", "chat_ids": []}, "steps": [step]}
    )
    assert status == 422 and "chat_ids" in str(body)
    status, body = admin(
        "POST", "/admin/sop/plans", {"target": {"kind": "wecom_chats", "chat_ids": ["wrA"]}, "steps": [step]}
    )
    assert status == 409 and "WeCom is not connected" in str(body)
    status, body = admin(
        "POST", "/admin/sop/plans", {"target": {"kind": "wecom_tags", "tags": ["VIP"]}, "steps": [step]}
    )
    assert status == 409
