"""Rotation-job benchmark (a report, not a test): what one run reads when 10 of 10,000 codes
are due, against what a table scan (the naive job) would read in the same run.

Run: make bench   (or .venv/bin/python bench/rotation_bench.py)
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "layers" / "siyu")]

import boto3  # noqa: E402

from local_stack.stack import LocalStack  # noqa: E402
from siyu.alerts.repository import AlertsTable, AlertTopic  # noqa: E402
from siyu.alerts.rotation import RotationJob  # noqa: E402
from siyu.alerts.watch_repository import WatchTable  # noqa: E402
from siyu.core.clock import to_iso  # noqa: E402
from siyu.live_codes.model import ACTIVE, LiveCode, Target  # noqa: E402
from siyu.live_codes.repository import DUE, code_to_item  # noqa: E402

CODES = int(os.environ.get("BENCH_CODES", "10000"))
DUE_CODES = 10


def seed(client, table: str, now: datetime) -> None:
    """10,000 codes with two targets and one scan counter each; 10 are due now, the rest later."""
    template = LiveCode("x", "bench", "t", "g", 180, "f", ACTIVE, now, now, 1, ())
    requests = []
    for n in range(CODES):
        code_id = f"bench{n:06d}"
        targets = tuple(
            Target(
                f"t{n}{k}",
                f"https://weixin.qq.com/g/bench{n}x{k}",
                "wechat_group",
                "k",
                now + timedelta(days=6 + k),
                now,
                b"png",
            )
            for k in range(2)
        )
        item = code_to_item(replace(template, id=code_id, targets=targets))
        due_at = now - timedelta(minutes=1) if n % (CODES // DUE_CODES) == 0 else now + timedelta(hours=5)
        item.update(due_pk={"S": DUE}, due_at={"S": to_iso(due_at)})
        counter = {"pk": item["pk"], "sk": {"S": f"SCANS#{targets[0].id}"}, "scans": {"N": "42"}}
        requests += [{"PutRequest": {"Item": item}}, {"PutRequest": {"Item": counter}}]
    for start in range(0, len(requests), 25):
        client.batch_write_item(RequestItems={table: requests[start : start + 25]})


def main() -> None:
    print("siyu rotation-job benchmark\n")
    with tempfile.TemporaryDirectory() as data_dir:
        stack = LocalStack(ROOT, Path(data_dir), port=0, persist=False, demo=False, schedules=False)
        stack.start()
        try:
            table = os.environ["TABLE_NAME"]
            client = boto3.client("dynamodb")
            now = datetime.now(UTC)
            started = time.perf_counter()
            seed(client, table, now)
            print(f"seeded {CODES} codes ({DUE_CODES} due) in {time.perf_counter() - started:.1f} s")

            # wired as functions/rotate/app.py wires it, on a fixed clock
            job = RotationJob(
                WatchTable.from_environment(),
                AlertsTable.from_environment(),
                AlertTopic.from_environment(),
                clock=lambda: now,
            )
            reads: list[tuple[str, int]] = []
            spent: dict[str, float] = {}
            began: list[float] = []

            def start(**_):
                began.append(time.perf_counter())

            def count(model, parsed, **_):
                reads.append((model.name, len(parsed.get("Items", [])) + (1 if "Item" in parsed else 0)))
                spent[model.name] = spent.get(model.name, 0) + time.perf_counter() - began.pop()

            job.watch._client.meta.events.register("before-call.dynamodb", start)
            job.watch._client.meta.events.register("after-call.dynamodb", count)
            started = time.perf_counter()
            report = job.run()
            elapsed = time.perf_counter() - started
            items = sum(n for _, n in reads)

            naive = 0
            for page in client.get_paginator("scan").paginate(TableName=table, Select="COUNT"):
                naive += page["ScannedCount"]
        finally:
            stack.stop()

    print(f"one run: {report.due} due, {report.claimed} claimed, {elapsed * 1000:.0f} ms")
    calls = {}
    for name, n in reads:
        calls.setdefault(name, [0, 0])
        calls[name][0] += 1
        calls[name][1] += n
    print("  calls: " + ", ".join(f"{name} x{c} -> {n} items" for name, (c, n) in sorted(calls.items())))
    print("  emulator time by call: " + ", ".join(f"{k} {v:.1f} s" for k, v in sorted(spent.items())))
    print("  (moto answers an index Query or a transaction by walking the whole table, so the run's")
    print("   wall time here grows with the table; DynamoDB's grows with the items returned)")
    goal = 2 * DUE_CODES
    verdict = "[ok]" if items <= goal else "[MISSED]"
    print(f"items read per run: {items}  goal <= {goal} (2 x due)  {verdict}")
    print(f"baseline: a table scan reads {naive} items = {naive / max(items, 1):.0f}x more than the due-index run")


if __name__ == "__main__":
    main()
