"""Cost benchmark (a report, not a test): what a million scans cost at list prices.

It replays a mixed day through the real scan service (several containers, each with its own cache,
statistics buffer and signing key reader) against the in-process emulator on a simulated clock:
first-time and returning scanners (browsers that keep their cookies), channels, a group code, a
staff code, a grouped code (choices, then a pick) and referral shares. It counts every AWS call by
kind (DynamoDB by operation and item, SSM, SQS), the DynamoDB capacity units they consume (from
item sizes), and prices them per million scans for us-east-1 and cn-north-1 (arm64), broken down
into API, Lambda requests, duration, writes, reads, logs and the rest. Every price below is a named
constant with its source and the date it was taken. Goal: <= $2.00 per million in us-east-1.

It also measures the statistics loss bound: at the end of the replay the containers are dropped
without a last flush, and the scans buffered but never written are counted.

Run: make bench   (or .venv/bin/python bench/cost_bench.py; BENCH_SCANS=5000 for a quick look)
"""

from __future__ import annotations

import collections
import json
import math
import os
import random
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "layers" / "siyu")]
os.environ.update(AWS_DEFAULT_REGION="us-east-1", AWS_ACCESS_KEY_ID="bench", AWS_SECRET_ACCESS_KEY="bench")

import boto3  # noqa: E402
from moto import mock_aws  # noqa: E402

from local_stack.template import Template  # noqa: E402
from siyu.campaigns.referrals import ReferralQueue  # noqa: E402
from siyu.live_codes.client_limit import ClientLimit  # noqa: E402
from siyu.live_codes.counters_repository import ClientCounts  # noqa: E402
from siyu.live_codes.model import ACTIVE, GROUP, GROUPED, IN_ORDER, STAFF, Channel, LiveCode, Option, Target  # noqa: E402
from siyu.live_codes.repository import CodesTable  # noqa: E402
from siyu.live_codes.scan import ScanService, Visit  # noqa: E402
from siyu.statistics.buffer import FLUSH_SCANS, FLUSH_SECONDS, StatsBuffer  # noqa: E402
from siyu.statistics.repository import StatsTable  # noqa: E402
from siyu.statistics.visitors_repository import VisitorsTable  # noqa: E402
from siyu.storage import aws  # noqa: E402
from siyu.storage.signing_key import SigningKey  # noqa: E402

# -- prices (list, on demand) -------------------------------------------------------------
# us-east-1, USD. Taken 2026-12-05 from the public pricing pages:
#   https://aws.amazon.com/api-gateway/pricing/  (HTTP APIs, first 300 million a month)
#   https://aws.amazon.com/lambda/pricing/       (Arm, first 7.5 billion GB-s a month)
#   https://aws.amazon.com/dynamodb/pricing/on-demand/ (after the November 2024 price cut)
#   https://aws.amazon.com/cloudwatch/pricing/   (Logs: standard ingestion)
#   https://aws.amazon.com/sqs/pricing/, https://aws.amazon.com/systems-manager/pricing/ (standard
#   parameters, standard throughput: no charge), https://aws.amazon.com/kms/pricing/
US_EAST_1 = {
    "currency": "USD",
    "HTTP_API_PER_MILLION": 1.00,
    "LAMBDA_REQUESTS_PER_MILLION": 0.20,
    "LAMBDA_ARM_PER_GB_SECOND": 0.0000133334,
    "DYNAMODB_WRITE_UNITS_PER_MILLION": 0.625,
    "DYNAMODB_READ_UNITS_PER_MILLION": 0.125,
    "LOGS_INGESTED_PER_GB": 0.50,
    "SQS_PER_MILLION": 0.40,
    "SSM_GET_PARAMETER_PER_10K": 0.0,
    "KMS_REQUESTS_PER_10K": 0.03,
}
# cn-north-1 (Beijing, operated by Sinnet), CNY. From https://www.amazonaws.cn/en/<service>/pricing/
# (api-gateway, lambda, dynamodb, cloudwatch, sqs, kms), as last read for this project; NOT
# re-checked on 2026-12-05 (no access to the China pages from this machine): verify before quoting.
CN_NORTH_1 = {
    "currency": "CNY",
    "HTTP_API_PER_MILLION": 8.37,
    "LAMBDA_REQUESTS_PER_MILLION": 1.36,
    "LAMBDA_ARM_PER_GB_SECOND": 0.0000907816,
    "DYNAMODB_WRITE_UNITS_PER_MILLION": 5.83,
    "DYNAMODB_READ_UNITS_PER_MILLION": 1.17,
    "LOGS_INGESTED_PER_GB": 3.84,
    "SQS_PER_MILLION": 3.33,
    "SSM_GET_PARAMETER_PER_10K": 0.0,
    "KMS_REQUESTS_PER_10K": 0.20,
}
CNY_PER_USD = 7.1  # for a side-by-side figure only

# -- what the replay cannot measure: named assumptions -------------------------------------
IN_REGION_CALL_MS = 6.0  # one DynamoDB/SQS/SSM call from Lambda in the same region, median
# Lambda's own START/END/REPORT lines per invocation, plain text: what CloudWatch ingests per scan
# unless ScanFunction's LoggingConfig sets SystemLogLevel WARN (read from template.yaml below).
PLATFORM_LOG_BYTES = 350
# CloudWatch Logs bills ingestion per byte of the event (message and timestamp) plus 26 bytes of overhead.
LOG_EVENT_OVERHEAD_BYTES = 26

SCANS = int(os.environ.get("BENCH_SCANS", "30000"))
RATE = 20.0  # scans a second over all codes: a busy afternoon
CONTAINERS = 2  # Lambda runs rate x duration at once: 20/s x ~10 ms is under one; two, to show the per-container flush
RETURNING_SHARE = 0.3
REFERRAL_SHARE = 0.02
START = datetime(2026, 11, 25, 4, 0, tzinfo=UTC)


class Calls:
    """Every AWS call (botocore before/after-call events), by kind, with the time spent in them."""

    def __init__(self) -> None:
        self.kinds: collections.Counter[str] = collections.Counter()
        self.write_keys: collections.Counter[tuple[str, str]] = collections.Counter()
        self.read_units = 0.0
        self.seconds = 0.0
        self._started = 0.0

    def before(self, model, params, **_):
        self._started = time.perf_counter()
        service = model.service_model.service_name
        kind = f"{service}:{model.name}"
        if model.name == "UpdateItem":
            pk = params["Key"]["pk"]["S"]
            kind += " (" + pk.split("#", 1)[0].lower() + ")"
            self.write_keys[(pk, params["Key"]["sk"]["S"])] += 1
        self.kinds[kind] += 1

    def after(self, model, parsed, **_):
        self.seconds += time.perf_counter() - self._started
        if model.name in ("Query", "GetItem"):
            items = parsed.get("Items") or ([parsed["Item"]] if parsed.get("Item") else [])
            size = len(json.dumps(items, default=lambda b: "x" * len(b)))
            self.read_units += max(1, math.ceil(size / 4096)) * 0.5  # eventually consistent

    def watch(self, client) -> None:
        client.meta.events.register("before-parameter-build", self.before)
        client.meta.events.register("after-call", self.after)


def target(i: int, now: datetime, **settings) -> Target:
    png = b"\x89PNG" + bytes(600)
    url, expires = f"https://u.wechat.com/b{i}", now + timedelta(days=90)
    return Target(f"t{i}", url, "wechat_personal", f"k/{i}", expires, now, png, **settings)


def codes(now: datetime) -> list[LiveCode]:
    channels = (Channel("parcel", "包裹卡", now), Channel("live", "直播间", now))
    staff = tuple(target(i, now, staff_name=f"guide {i}") for i in range(5))
    groups = tuple(target(10 + i, now) for i in range(60))
    options = (Option("sh", "上海", "", "city:sh"), Option("bj", "北京", "", "city:bj", strategy="round_robin"))
    picks = (target(80, now, option_id="sh"), target(81, now, option_id="bj", staff_name="老周"))
    return [
        LiveCode("coststaff", "staff", "t", "g", 180, "f", ACTIVE, now, now, 1, staff, kind=STAFF, strategy="round_robin", channels=channels),  # noqa: E501
        LiveCode("costgroup", "group", "t", "g", 200, "f", ACTIVE, now, now, 1, groups, kind=GROUP, strategy=IN_ORDER, channels=channels),  # noqa: E501
        LiveCode("costpick", "grouped", "t", "g", 200, "f", ACTIVE, now, now, 1, picks, kind=GROUPED, options=options),
    ]  # fmt: skip


def scan_function_settings(template: Template) -> tuple[int, bool, str]:
    """ScanFunction's memory, whether Lambda's own INFO lines are dropped, its application log level."""
    spec = template.resources["ScanFunction"]["Properties"]
    logging_config = spec.get("LoggingConfig") or {}
    json_logs = logging_config.get("LogFormat") == "JSON"
    system_dropped = json_logs and logging_config.get("SystemLogLevel") == "WARN"
    return int(spec["MemorySize"]), system_dropped, logging_config.get("ApplicationLogLevel", "INFO")


def app_log_bytes(result, code_id: str, channel_id: str | None) -> int:
    """Bytes CloudWatch ingests for the handler's own line on this scan (functions/scan/app.py): a
    routine page logs at DEBUG (nothing at ApplicationLogLevel INFO); the rest one INFO line, in
    Lambda's JSON log format."""
    if result.routine:
        return 0
    record = {
        "message": "scan",
        "code_id": code_id,
        "outcome": result.outcome,
        "target_id": result.target_id,
        "counted": result.counted,
        "channel_id": channel_id,
        "request_id": "8f5a2c1e-0b7d-4c59-9d3e-2f6b8a1c4e70",
    }
    line = {
        "timestamp": "2026-11-25T04:00:00.000Z",
        "level": "INFO",
        "message": json.dumps(record),
        "logger": "app",
        "requestId": record["request_id"],
    }
    return len(json.dumps(line)) + LOG_EVENT_OVERHEAD_BYTES


class Browser:
    def __init__(self) -> None:
        self.visitor_id: str | None = None
        self.memory: dict[str, str] = {}
        self.address = f"10.{random.randrange(256)}.{random.randrange(256)}.{random.randrange(1, 255)}"

    def scan(self, service: ScanService, code_id: str, **visit):
        memory = self.memory.get(code_id)
        result = service.visit(Visit(code_id, visitor_id=self.visitor_id, memory=memory, address=self.address, **visit))
        self.visitor_id = result.visitor_id or self.visitor_id
        if result.memory_cookie:
            self.memory[code_id] = result.memory_cookie[1]
        return result


def main() -> None:
    template = Template(ROOT / "template.yaml")
    memory_mb, system_logs_dropped, app_level = scan_function_settings(template)
    if app_level not in ("INFO", "WARN", "ERROR", "FATAL"):
        raise SystemExit(f"ScanFunction's ApplicationLogLevel {app_level}: this model assumes INFO or above")
    print(
        f"siyu cost benchmark: {SCANS:,} scans at {RATE:g}/s over 3 codes, {CONTAINERS} containers, "
        f"{RETURNING_SHARE:.0%} returning, {REFERRAL_SHARE:.0%} through a referral poster; "
        f"statistics flushed every {FLUSH_SECONDS:g} s or {FLUSH_SCANS} scans\n"
    )
    now = [START]
    calls = Calls()
    with mock_aws():
        client = boto3.client("dynamodb")
        for arguments in template.tables().values():
            client.create_table(**arguments)
        table = next(iter(template.tables()))
        queue_url = boto3.client("sqs").create_queue(QueueName="cost-campaign")["QueueUrl"]
        store = CodesTable(client, table)
        for code in codes(START):
            store.create(code)
        ssm = boto3.client("ssm")
        for watched in (client, ssm, aws.sqs_for_scans()):
            calls.watch(watched)
        monotonic = lambda: (now[0] - START).total_seconds()  # noqa: E731
        containers = [
            ScanService(
                store,
                3.0,
                VisitorsTable(client, table),
                StatsBuffer(StatsTable(client, table), monotonic=monotonic),
                ReferralQueue(queue_url),
                clock=lambda: now[0],
                monotonic=monotonic,
                signing_key=SigningKey("/siyu/cost/signing-key", lambda: ssm, monotonic),
                client_limit=ClientLimit(ClientCounts(client, table)),  # the per-client limit, as deployed
            )
            for _ in range(CONTAINERS)
        ]
        rng = random.Random(11)
        browsers: dict[str, list[Browser]] = collections.defaultdict(list)
        kinds: collections.Counter[str] = collections.Counter()
        writes_by_kind: collections.Counter[str] = collections.Counter()
        own_seconds = 0.0
        log_bytes = 0
        last_scans: list[list[datetime]] = [[] for _ in containers]
        for n in range(SCANS):
            now[0] = START + timedelta(seconds=n / RATE)
            code_id = rng.choices(["coststaff", "costgroup", "costpick"], weights=[5, 4, 1])[0]
            returning = browsers[code_id] and rng.random() < RETURNING_SHARE
            browser = rng.choice(browsers[code_id]) if returning else Browser()
            visit: dict = {"channel_id": rng.choice(("parcel", "live", None))}
            if rng.random() < REFERRAL_SHARE:
                visit["referral"] = "spring26.guide01"  # a well-formed ?r= (campaign.participant), as posters carry
            service = rng.choice(containers)
            writes_before = sum(v for k, v in calls.kinds.items() if "UpdateItem" in k)
            aws_before, started = calls.seconds, time.perf_counter()
            results = [browser.scan(service, code_id, **visit)]
            if code_id == "costpick":  # the pick: same scan
                results.append(browser.scan(service, code_id, option_id=rng.choice(("sh", "bj")), **visit))
            log_bytes += sum(app_log_bytes(r, code_id, visit["channel_id"]) for r in results)
            own_seconds += (time.perf_counter() - started) - (calls.seconds - aws_before)
            kind = ("returning" if returning else "first-time") + (
                " (grouped: choices + pick)" if code_id == "costpick" else ""
            )
            last_scans[containers.index(service)].append(now[0])
            kinds[kind] += 1
            writes_by_kind[kind] += sum(v for k, v in calls.kinds.items() if "UpdateItem" in k) - writes_before
            if not returning:
                browsers[code_id].append(browser)
        unflushed = [c.stats.pending_scans for c in containers]  # the containers are dropped here
        sizes = {}
        for page in client.get_paginator("scan").paginate(TableName=table):
            for item in page["Items"]:
                sizes[(item["pk"]["S"], item["sk"]["S"])] = len(json.dumps(item, default=lambda b: "x" * len(b)))

    write_units = sum(n * max(1, math.ceil(sizes.get(key, 0) / 1024)) for key, n in calls.write_keys.items())
    total_calls = sum(calls.kinds.values())
    print("AWS calls per scan, by kind (a scan of the grouped code is its choices page and its pick):")
    for kind, n in sorted(calls.kinds.items()):
        print(f"  {kind:42} {n / SCANS:.4f}")
    print(f"  {'(all)':42} {total_calls / SCANS:.4f}   + 1 HTTP API request and 1 Lambda invocation a page")
    for kind in sorted(kinds):
        goal = 1.2 if kind.startswith("first-time") else 1.1
        per = writes_by_kind[kind] / max(kinds[kind], 1)
        verdict = (
            ("[ok]" if per <= goal else "[MISSED]") if "grouped" not in kind else "(2 pages; the pick keeps its tag)"
        )
        print(f"DynamoDB writes per {kind} scan: {per:.3f}  goal <= {goal}  {verdict}")
    print(f"  write units per scan {write_units / SCANS:.3f} (items over 1 KB cost more than one)")
    limit_writes = sum(c.client_limit.shared_writes for c in containers if c.client_limit)
    print(
        f"per-client limit: {limit_writes} writes of a shared client counter in the replay (each browser its own "
        f"address, returning ones too): ordinary scanners cost it no round trip"
    )
    lost = sum(unflushed)
    window = [sum(1 for t in times if (times[-1] - t).total_seconds() < FLUSH_SECONDS) for times in last_scans]
    print(
        f"statistics loss bound: {lost} scans buffered and never written when the {CONTAINERS} containers were "
        f"dropped at the end: {unflushed} per container, each within its last {FLUSH_SECONDS:g} s of scans "
        f"({window}) {'[ok]' if all(u <= w for u, w in zip(unflushed, window, strict=True)) else '[MISSED]'}; "
        f"{lost / SCANS:.3%} of the replay"
    )

    own_ms = own_seconds / SCANS * 1000
    aws_per_scan = total_calls / SCANS
    duration_ms = own_ms + aws_per_scan * IN_REGION_CALL_MS
    print(
        f"Lambda duration per scan (modelled): {duration_ms:.1f} ms = own work {own_ms:.1f} ms (measured here) + "
        f"{aws_per_scan:.2f} calls x {IN_REGION_CALL_MS:g} ms; {memory_mb} MB, arm64"
    )
    invocations = SCANS + kinds_pages(kinds)
    platform_bytes = 0 if system_logs_dropped else PLATFORM_LOG_BYTES * invocations
    log_bytes_per_scan = (log_bytes + platform_bytes) / SCANS
    print(
        f"logs per scan: {log_bytes_per_scan:.0f} bytes = the handler's INFO lines (not-routine pages only) "
        f"{log_bytes / SCANS:.0f} + Lambda's START/END/REPORT "
        f"{'0 (SystemLogLevel WARN in template.yaml)' if system_logs_dropped else f'{platform_bytes / SCANS:.0f}'}"
    )
    sqs = sum(n for k, n in calls.kinds.items() if k.startswith("sqs:"))
    ssm_calls = sum(n for k, n in calls.kinds.items() if k.startswith("ssm:"))
    for region, price in (("us-east-1", US_EAST_1), ("cn-north-1", CN_NORTH_1)):
        per_scan = {
            "API (HTTP API)": invocations / SCANS * price["HTTP_API_PER_MILLION"] / 1e6,
            "Lambda requests": invocations / SCANS * price["LAMBDA_REQUESTS_PER_MILLION"] / 1e6,
            "Lambda duration": memory_mb / 1024 * duration_ms / 1000 * price["LAMBDA_ARM_PER_GB_SECOND"],
            "DynamoDB writes": write_units / SCANS * price["DYNAMODB_WRITE_UNITS_PER_MILLION"] / 1e6,
            "DynamoDB reads": calls.read_units / SCANS * price["DYNAMODB_READ_UNITS_PER_MILLION"] / 1e6,
            "logs": log_bytes_per_scan / 1e9 * price["LOGS_INGESTED_PER_GB"],
            "SQS (referrals)": sqs / SCANS * price["SQS_PER_MILLION"] / 1e6,
            "SSM + KMS (key)": ssm_calls
            / SCANS
            * (price["SSM_GET_PARAMETER_PER_10K"] + price["KMS_REQUESTS_PER_10K"])
            / 1e4,  # noqa: E501
        }
        total = sum(per_scan.values()) * 1e6
        currency = price["currency"]
        extra = f" (= ${total / CNY_PER_USD:.2f} at {CNY_PER_USD} CNY/USD)" if currency == "CNY" else ""
        goal = f"  goal <= $2.00  {'[ok]' if total <= 2.0 else '[MISSED]'}" if region == "us-east-1" else ""
        print(f"\ncost per million scans, {region} ({currency}): {total:.2f}{extra}{goal}")
        for item, cost in per_scan.items():
            print(f"  {item:18} {cost * 1e6:8.3f}")


def kinds_pages(kinds: collections.Counter[str]) -> int:
    """Invocations beyond one per scan: a grouped code's scan is two pages (choices, then the pick)."""
    return sum(n for kind, n in kinds.items() if "grouped" in kind)


if __name__ == "__main__":
    main()
