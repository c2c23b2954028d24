"""The due queue against the emulated table from template.yaml: only what is due is read, one
worker holds an item at a time, a dead worker's lease runs out, and a finish that lost its lease
(or whose item was made due anew) writes nothing."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import boto3
import pytest

from siyu.core.clock import to_precise_iso
from siyu.storage.codec import s
from siyu.storage.due_queue import DueQueue

T0 = datetime(2030, 1, 1, 9, 0, tzinfo=UTC)
LEASE = timedelta(minutes=2)


@pytest.fixture
def queue(stack, request):
    table = next(iter(stack.template.tables()))
    client = boto3.client("dynamodb")
    partition = f"TESTQ#{request.node.name}"[:60]
    return DueQueue(client, table, partition), client, table


def put(queue_parts, name: str, due: datetime) -> dict:
    queue, client, table = queue_parts
    key = {"pk": s(f"TESTITEM#{queue.partition}#{name}"), "sk": s("ITEM")}
    client.put_item(TableName=table, Item={**key, **queue.schedule(due), "payload": s(name)})
    return key


def item(queue_parts, key):
    _, client, table = queue_parts
    return client.get_item(TableName=table, Key=key, ConsistentRead=True).get("Item")


def test_only_items_due_by_now_are_read_earliest_first(queue):
    put(queue, "later", T0 + timedelta(minutes=5))
    put(queue, "second", T0 - timedelta(minutes=1))
    put(queue, "first", T0 - timedelta(minutes=2))
    due = [i["pk"]["S"].rsplit("#", 1)[1] for i in queue[0].due(T0)]
    assert due == ["first", "second"]


def test_one_worker_holds_an_item_until_its_lease_runs_out(queue):
    key = put(queue, "job", T0)
    seen = item(queue, key)["due_at"]["S"]
    q = queue[0]
    assert q.claim(key, T0, LEASE, owner="run-a", seen_due_at=seen) == {}
    assert q.claim(key, T0 + timedelta(minutes=1), LEASE, owner="run-b", seen_due_at=seen) is None
    # run-a died: after its lease another run takes the item
    assert q.claim(key, T0 + LEASE + timedelta(seconds=1), LEASE, owner="run-b", seen_due_at=seen) == {}
    assert item(queue, key)["lease_owner"]["S"] == "run-b"


def test_an_item_made_due_anew_is_not_claimed_with_the_old_due_time(queue):
    key = put(queue, "job", T0)
    seen = item(queue, key)["due_at"]["S"]
    put(queue, "job", T0 + timedelta(seconds=1))  # an edit made it due again
    assert queue[0].claim(key, T0 + timedelta(minutes=1), LEASE, owner="run-a", seen_due_at=seen) is None


def test_finish_stores_the_result_requeues_and_drops_the_lease(queue):
    key = put(queue, "job", T0)
    q = queue[0]
    q.claim(key, T0, LEASE, owner="run-a")
    assert q.finish(key, "run-a", T0 + timedelta(hours=1), sets={"result": s("done")})
    stored = item(queue, key)
    assert stored["result"]["S"] == "done"
    assert stored["due_at"]["S"] == to_precise_iso(T0 + timedelta(hours=1))
    assert "lease_owner" not in stored and "lease_until" not in stored


def test_finish_without_a_next_time_takes_the_item_out_of_the_queue(queue):
    key = put(queue, "job", T0)
    q = queue[0]
    q.claim(key, T0, LEASE, owner="run-a")
    assert q.finish(key, "run-a", None)
    assert "due_pk" not in item(queue, key) and list(q.due(T0 + timedelta(days=1))) == []


def test_a_finish_that_lost_its_lease_writes_nothing(queue):
    key = put(queue, "job", T0)
    q = queue[0]
    q.claim(key, T0, LEASE, owner="run-a")
    q.claim(key, T0 + LEASE + timedelta(seconds=1), LEASE, owner="run-b")
    assert not q.finish(key, "run-a", None, sets={"result": s("stale")})
    stored = item(queue, key)
    assert "result" not in stored and stored["lease_owner"]["S"] == "run-b" and "due_pk" in stored


def test_a_finish_whose_item_was_made_due_anew_writes_nothing_and_release_gives_it_back(queue):
    key = put(queue, "job", T0)
    q = queue[0]
    seen = item(queue, key)["due_at"]["S"]
    q.claim(key, T0, LEASE, owner="run-a", seen_due_at=seen)
    _, client, table = queue
    client.update_item(
        TableName=table,
        Key=key,
        UpdateExpression="SET due_at = :now",
        ExpressionAttributeValues={":now": s(to_precise_iso(T0 + timedelta(seconds=5)))},
    )
    assert not q.finish(key, "run-a", T0 + timedelta(hours=1), sets={"result": s("x")}, seen_due_at=seen)
    q.release(key, "run-a")
    stored = item(queue, key)
    assert stored["due_at"]["S"] == to_precise_iso(T0 + timedelta(seconds=5)) and "lease_owner" not in stored
    assert "result" not in stored


def test_a_conditional_claim_returns_the_item_as_it_is_now(queue):
    key = put(queue, "job", T0)
    q = queue[0]
    taken = q.claim(key, T0, LEASE, condition="payload = :job", values={":job": s("job")}, return_item=True)
    assert taken is not None and taken["payload"]["S"] == "job" and "lease_until" in taken
    later = T0 + LEASE + timedelta(seconds=1)  # the lease has run out: only the condition can refuse now
    assert q.claim(key, later, LEASE, condition="payload = :other", values={":other": s("other")}) is None
    assert q.claim(key, later, LEASE, condition="payload = :job", values={":job": s("job")}) == {}
