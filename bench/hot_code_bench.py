"""Hot-code benchmark (a report, not a test): a replay of 100,000 scans at 10,000 a second on
one staff code, through the real scan service (many containers, each with its own cache)
against the emulator, on a simulated clock.

Each container has its own statistics buffer (one ADD per code every 5 s or 1,000 scans) and reads
the signing key of memory cookies once; scanners are browsers that keep their cookies (the visitor
id and the code's signed memory cookie), so a returning scanner costs no read and no write.

It prints the most writes any single DynamoDB item receives in one second (goal <= 1,000,
DynamoDB's per-item/partition limit) next to the same figure for the same writes without
shards (every shard of a counter folded into one item: the unsharded design), and the
writes per first-time and returning scan.

Run: make bench   (or .venv/bin/python bench/hot_code_bench.py; BENCH_SCANS=20000 for a quick look)
"""

from __future__ import annotations

import collections
import os
import random
import re
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
from siyu.live_codes.model import ACTIVE, STAFF, Channel, LiveCode, Target  # noqa: E402
from siyu.live_codes.repository import CodesTable  # noqa: E402
from siyu.live_codes.scan import ScanService, Visit  # noqa: E402
from siyu.statistics.buffer import StatsBuffer  # noqa: E402
from siyu.statistics.repository import StatsTable  # noqa: E402
from siyu.statistics.visitors_repository import VisitorsTable  # noqa: E402
from siyu.storage.signing_key import SigningKey  # noqa: E402

SCANS = int(os.environ.get("BENCH_SCANS", "100000"))
RATE = 10_000  # scans per second, all on one code
CONTAINERS = 60  # Lambda containers serving the burst (each ~170 scans/s)
STAFF_MEMBERS = 5
RETURNING_SHARE = 0.2  # scanners who come back (cookie) within the burst
LIMIT = 1_000
START = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
SHARD_SUFFIX = re.compile(r"^(SCANS#[^#]+|STATS#[^#]+)#\d+$")


class WriteLog:
    """Every DynamoDB call (botocore's before-parameter-build event), and per write the item
    and the simulated second it happened in."""

    def __init__(self, clock):
        self.clock = clock
        self.calls = collections.Counter()
        self.writes = collections.Counter()  # (second, pk, sk) -> writes
        self.write_count = 0

    def __call__(self, params, model, **_):
        self.calls[model.name] += 1
        if model.name in ("UpdateItem", "PutItem", "DeleteItem"):
            key = params.get("Key") or params.get("Item")
            second = int((self.clock() - START).total_seconds())
            self.writes[(second, key["pk"]["S"], key["sk"]["S"])] += 1
            self.write_count += 1

    def busiest(self, fold_shards: bool) -> tuple[int, str]:
        per_item = collections.Counter()
        for (second, pk, sk), n in self.writes.items():
            if fold_shards:
                pk, sk = SHARD_SUFFIX.sub(r"\1", pk), SHARD_SUFFIX.sub(r"\1", sk)
            per_item[(second, pk, sk)] += n
        (_, pk, sk), most = per_item.most_common(1)[0]
        return most, f"{pk} / {sk}"


def item_sizes(client, table_name: str) -> collections.Counter:
    """Approximate DynamoDB item size (names + values, in bytes) of each counter and
    statistics shard: what a write to it is billed and throttled by."""
    sizes = collections.Counter()
    for page in client.get_paginator("scan").paginate(TableName=table_name):
        for item in page["Items"]:
            if item["sk"]["S"].startswith("SCANS#") or item["pk"]["S"].startswith("STATS#"):
                size = sum(len(name.encode()) + len(str(value).encode()) for name, value in item.items())
                sizes[f"{item['pk']['S']} / {item['sk']['S']}"] = size
    return sizes


class Browser:
    """A scanner's phone: it keeps the visitor id and the code's memory cookie it was given."""

    def __init__(self) -> None:
        self.visitor_id: str | None = None
        self.memory: str | None = None

    def scan(self, service: ScanService, code_id: str, channel_id: str | None):
        result = service.visit(Visit(code_id, channel_id=channel_id, visitor_id=self.visitor_id, memory=self.memory))
        self.visitor_id = result.visitor_id or self.visitor_id
        if result.memory_cookie:
            self.memory = result.memory_cookie[1]
        return result


def staff_code(now: datetime) -> LiveCode:
    targets = tuple(
        Target(
            f"staff{i}",
            f"https://u.wechat.com/bench{i}",
            "wechat_personal",
            f"k/{i}",
            now + timedelta(days=3650),
            now,
            b"\x89PNG" + bytes(600),  # about the size of a stored QR re-render
            staff_name=f"guide {i}",
        )
        for i in range(STAFF_MEMBERS)
    )
    channels = (Channel("parcel", "包裹卡", now), Channel("live", "直播间", now))
    return LiveCode(
        "benchhot01", "bench", "t", "g", 180, "f", ACTIVE, now, now, 1, targets,
        kind=STAFF, strategy="round_robin", channels=channels,
    )  # fmt: skip


def main() -> None:
    print(
        f"siyu hot-code benchmark: {SCANS:,} scans at {RATE:,}/s on one staff code "
        f"({STAFF_MEMBERS} staff, round robin, no caps), {CONTAINERS} containers, "
        f"{RETURNING_SHARE:.0%} returning scanners\n"
    )
    now = [START]
    with mock_aws():
        client = boto3.client("dynamodb")
        for arguments in Template(ROOT / "template.yaml").tables().values():
            client.create_table(**arguments)
        table_name = next(iter(Template(ROOT / "template.yaml").tables()))
        codes = CodesTable(client, table_name)
        codes.create(staff_code(START))
        log = WriteLog(lambda: now[0])
        client.meta.events.register("before-parameter-build.dynamodb", log)
        ssm = boto3.client("ssm")
        monotonic = lambda: (now[0] - START).total_seconds()  # noqa: E731
        containers = [
            ScanService(
                codes,
                3.0,
                VisitorsTable(client, table_name),
                StatsBuffer(StatsTable(client, table_name), monotonic=monotonic),
                clock=lambda: now[0],
                monotonic=monotonic,
                signing_key=SigningKey("/siyu/bench/signing-key", lambda: ssm, monotonic),
            )
            for _ in range(CONTAINERS)
        ]
        rng = random.Random(7)
        browsers: list[Browser] = []
        outcomes = collections.Counter()
        scans = collections.Counter()  # first-time / returning
        writes = collections.Counter()  # DynamoDB writes made during those scans
        started = time.perf_counter()
        for n in range(SCANS):
            now[0] = START + timedelta(seconds=n / RATE)
            returning = bool(browsers) and rng.random() < RETURNING_SHARE
            browser = rng.choice(browsers) if returning else Browser()
            kind = "returning" if returning else "first-time"
            before = log.write_count
            result = browser.scan(rng.choice(containers), "benchhot01", rng.choice(("parcel", "live", None)))
            writes[kind] += log.write_count - before
            scans[kind] += 1
            outcomes[result.outcome] += 1
            if not returning:
                browsers.append(browser)
        before = log.write_count
        for container in containers:  # each container's next invocation (or its flusher) writes the rest
            container.stats.flush()
        last_flush = log.write_count - before
        wall = time.perf_counter() - started
        client.meta.events.unregister("before-parameter-build.dynamodb", log)
        code, counters = codes.load("benchhot01", consistent=True)
        sizes = item_sizes(client, table_name)

    most, item = log.busiest(fold_shards=False)
    unsharded, unsharded_item = log.busiest(fold_shards=True)
    calls = sum(log.calls.values())
    print(
        f"most writes to one item in one second: {most:,}  goal <= {LIMIT:,}  "
        f"{'[ok]' if most <= LIMIT else '[MISSED]'}   ({item})"
    )
    print(
        f"  the same writes without shards: {unsharded:,} to one item in one second ({unsharded_item}); "
        f"sharded / unsharded = {most / unsharded:.2f}"
    )
    print(
        f"storage calls per scan: {calls / SCANS:.2f}  ("
        + ", ".join(f"{op} {n / SCANS:.2f}" for op, n in log.calls.most_common())
        + ")"
    )
    for kind, goal in (("first-time", 1.2), ("returning", 1.1)):
        per = writes[kind] / max(scans[kind], 1)
        print(
            f"DynamoDB writes per {kind} scan: {per:.3f}  goal <= {goal}  {'[ok]' if per <= goal else '[MISSED]'}"
            f"   ({writes[kind]:,} writes in {scans[kind]:,} scans; statistics flushes fall on whichever scan finds "
            "them due)"
        )
    print(
        f"  + {last_flush} last statistics flushes (one per container) after the burst; "
        "a first-time scanner: the counter shard's conditional write; a returning one: nothing; the statistics: "
        "one ADD per container every 5 s; plus one Query per container per 3 s cache refresh"
    )
    ((size_item, size),) = sizes.most_common(1)
    units = -(-size // 1024)
    busiest_units = max(1, -(-sizes.get(item, 0) // 1024))
    print(
        f"largest item the scan path writes: {size:,} bytes ({size_item}) = {units} write unit(s) per write; "
        f"the busiest item is {sizes.get(item, 0):,} bytes: {most * busiest_units:,} write units/s "
        "(the partition limit is 1,000)"
    )
    assigned = {t.id: counters.total(t.id) for t in code.targets}
    print(f"outcomes: {dict(outcomes)}; new scanners per staff member: {assigned}")
    print(f"(emulator wall time {wall:.0f} s for {SCANS / RATE:g} simulated seconds)")


if __name__ == "__main__":
    main()
