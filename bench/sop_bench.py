"""SOP-job benchmark (a report, not a test), against the emulator in this process.

1. items one job run reads with 10,000 plans of which 10 are due, against a table scan of the
   same table (the naive job)                                          goal: on the order of the due items
2. deliveries per second one job run sustains (10 due plans x 100 destinations = 1,000
   deliveries expanded, created with conditional puts and queued), against the same number of
   bare conditional PutItems in the same emulator
3. sends per second of the sender draining that queue to a local receiver, against bare HTTP
   posts to the same receiver

Run: make bench   (or .venv/bin/python bench/sop_bench.py; BENCH_PLANS=2000 for a quick look)
"""

from __future__ import annotations

import json
import os
import sys
import time
from datetime import UTC, date, datetime, timedelta
from datetime import time as clock
from pathlib import Path
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "layers" / "siyu")]
os.environ.update(AWS_DEFAULT_REGION="us-east-1", AWS_ACCESS_KEY_ID="bench", AWS_SECRET_ACCESS_KEY="bench")

import boto3  # noqa: E402
from moto import mock_aws  # noqa: E402

from local_stack.template import Template  # noqa: E402
from siyu.core.clock import to_precise_iso  # noqa: E402
from siyu.delivery.sender import post  # noqa: E402
from siyu.live_codes.repository import CodesTable  # noqa: E402
from siyu.sop.job import SopJob  # noqa: E402
from siyu.sop.repository import DeliveryQueue, SopTable, plan_to_json  # noqa: E402
from siyu.sop.rules import ONCE, TEXT, Content, Destination, Guards, Plan, Schedule, Step  # noqa: E402
from siyu.sop.sender import SopSender  # noqa: E402
from siyu.storage.uploads_bucket import UploadsBucket  # noqa: E402
from tests.receiver import Receiver  # noqa: E402

PLANS = int(os.environ.get("BENCH_PLANS", "10000"))
DUE = 10
FAN_OUT = 100
NOW = datetime(2026, 11, 25, 4, 0, tzinfo=UTC)  # 12:00 in Shanghai
SHANGHAI = ZoneInfo("Asia/Shanghai")
QUIET_NEVER = Guards(quiet_start=clock(0, 0), quiet_end=clock(0, 0), daily_cap=50)


def bench_plan(n: int, due: bool, destinations: int, receiver_url: str) -> tuple[Plan, datetime]:
    """A plan with one `once` step (a minute ago if due, in three days if not), and its due time."""
    at = NOW - timedelta(minutes=1) if due else NOW + timedelta(days=3)
    local = at.astimezone(SHANGHAI)
    step = Step("s1", "push", Schedule(ONCE, local.time(), on=local.date()), Content(TEXT, text="早安"))
    plan = Plan(
        id=f"bench{n:06d}",
        name="bench",
        time_zone="Asia/Shanghai",
        audience={"kind": "destinations"},
        steps=(step,),
        guards=QUIET_NEVER,
        status="active",
        start=date(2026, 11, 1),
        created_at=NOW - timedelta(days=1),
        destinations=tuple(
            Destination(f"d:{k}", f"d{k}", "webhook", f"{receiver_url}/{n}/{k}", "s" * 16) for k in range(destinations)
        ),
    )
    return plan, (NOW if due else at)


def seed(client, table: str, plans: list[tuple[Plan, datetime]]) -> None:
    """Plan items as SopTable.create_plan writes them, in batches (seeding is not measured)."""
    requests = [
        {
            "PutRequest": {
                "Item": {
                    "pk": {"S": f"PLAN#{p.id}"},
                    "sk": {"S": "PLAN"},
                    "plan_json": {"S": plan_to_json(p)},
                    "status": {"S": "active"},
                    "version": {"N": "1"},
                    "scanned_until": {"S": to_precise_iso(p.created_at)},
                    "due_pk": {"S": "SOP"},
                    "due_at": {"S": to_precise_iso(due_at)},
                }
            }
        }
        for p, due_at in plans
    ]
    for start in range(0, len(requests), 25):
        client.batch_write_item(RequestItems={table: requests[start : start + 25]})


class CallTimer:
    """Seconds spent inside each AWS service's calls (botocore before/after-call events), to
    tell the emulator's share of a run from our code's."""

    def __init__(self, *clients):
        self.seconds: dict[str, float] = {}
        self._started: dict[str, float] = {}
        for client in clients:
            client.meta.events.register("before-call", self._before)
            client.meta.events.register("after-call", self._after)

    def _before(self, model, **_):
        self._started[model.service_model.service_name] = time.perf_counter()

    def _after(self, model, **_):
        service = model.service_model.service_name
        self.seconds[service] = self.seconds.get(service, 0.0) + time.perf_counter() - self._started.pop(service)

    def take(self) -> dict[str, float]:
        seconds, self.seconds = self.seconds, {}
        return seconds


def drain(sqs, queue_url: str, sender: SopSender) -> list[str]:
    outcomes = []
    while messages := sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10).get("Messages", []):
        for message in messages:
            body = json.loads(message["Body"])
            outcomes.append(sender.send(body["plan_id"], body["delivery"]))
        sqs.delete_message_batch(
            QueueUrl=queue_url,
            Entries=[{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(messages)],
        )
    return outcomes


def main() -> None:
    print(f"siyu SOP-job benchmark ({PLANS:,} plans, {DUE} due; then {DUE} due plans x {FAN_OUT} destinations)\n")
    template = Template(ROOT / "template.yaml")
    receiver = Receiver()
    with mock_aws():
        client, sqs = boto3.client("dynamodb"), boto3.client("sqs")
        for arguments in template.tables().values():
            client.create_table(**arguments)
        table = next(iter(template.tables()))
        boto3.client("s3").create_bucket(Bucket="bench")
        queue_url = sqs.create_queue(QueueName="bench")["QueueUrl"]
        timer = CallTimer(client, sqs)
        sop_table = SopTable(client, table)
        job = SopJob(sop_table, CodesTable(client, table), DeliveryQueue(sqs, queue_url), clock=lambda: NOW)
        sender = SopSender(
            sop_table, CodesTable(client, table), UploadsBucket(boto3.client("s3"), "bench"), clock=lambda: NOW
        )

        # 1. items read with 10,000 plans, 10 due
        seed(client, table, [bench_plan(n, n % (PLANS // DUE) == 0, 1, receiver.url) for n in range(PLANS)])
        report = job.run(NOW)
        scanned = sum(page["Count"] for page in client.get_paginator("scan").paginate(TableName=table, Select="COUNT"))
        drain(sqs, queue_url, sender)
        print(
            f"items read by one job run: {report.items_read} for {report.plans} due plans and "
            f"{report.handed_over} deliveries\n  a table scan reads {scanned:,}: "
            f"{scanned / report.items_read:,.0f}x more"
        )

        # 2. deliveries per second one job run sustains
        later = NOW + timedelta(hours=1)
        fan = [bench_plan(PLANS + n, True, FAN_OUT, receiver.url) for n in range(DUE)]
        fan = [(p, later) for p, _ in fan]
        seed(client, table, fan)
        job.clock = lambda: later
        timer.take()
        started = time.perf_counter()
        report = job.run(later)
        job_seconds = time.perf_counter() - started
        in_calls = timer.take()
        bare = {"pk": {"S": "BENCH"}, "sk": {"S": ""}, "status": {"S": "queued"}, "send_at": {"S": "x"}}
        started = time.perf_counter()
        for i in range(report.deliveries_created):
            client.put_item(
                TableName=table, Item={**bare, "sk": {"S": f"D#{i}"}}, ConditionExpression="attribute_not_exists(pk)"
            )
        bare_seconds = time.perf_counter() - started
        rate = report.deliveries_created / job_seconds
        created = report.deliveries_created
        print(
            f"one job run: {created:,} deliveries created and queued in {job_seconds:.2f} s = {rate:,.0f} deliveries/s"
            f"\n  {created:,} bare conditional PutItems: {bare_seconds:.2f} s; "
            f"job / bare = {job_seconds / bare_seconds:.2f}x"
            f"\n  of the run: DynamoDB calls {in_calls.get('dynamodb', 0):.2f} s (a put and a hand-over update per "
            f"delivery), SQS calls {in_calls.get('sqs', 0):.2f} s (moto's queue walks every message on each call), "
            f"our own code {job_seconds - sum(in_calls.values()):.2f} s"
        )

        # 3. the sender draining the queue to a local receiver
        sender.clock = lambda: later
        before = len(receiver.requests)
        timer.take()
        started = time.perf_counter()
        outcomes = drain(sqs, queue_url, sender)
        send_seconds = time.perf_counter() - started
        in_calls = timer.take()
        sent = outcomes.count("sent")
        started = time.perf_counter()
        for i in range(sent):
            post(f"{receiver.url}/bare/{i}", b"{}", {})
        post_seconds = time.perf_counter() - started
        arrived = len(receiver.requests) - before - sent
        print(
            f"sender: {sent:,} pushes sent in {send_seconds:.2f} s = {sent / send_seconds:,.0f}/s in one process "
            f"(receiver got {arrived:,}); bare HTTP posts to the same receiver: {post_seconds:.2f} s; "
            f"sender / bare = {send_seconds / post_seconds:.2f}x"
            f"\n  of it: DynamoDB {in_calls.get('dynamodb', 0):.2f} s (claim, plan read, cap count, record: 5 calls a "
            f"push), SQS {in_calls.get('sqs', 0):.2f} s, the rest (HTTP and our code) "
            f"{send_seconds - sum(in_calls.values()):.2f} s"
        )
    receiver.close()


if __name__ == "__main__":
    main()
