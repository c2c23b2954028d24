"""Scan-path benchmark (a report, not a test): every figure is a ratio against a baseline
measured in the same run, so it means the same on a laptop and on a CI box.

1. storage calls per first-time scan on the steady path                        goal 3
   (a counter shard, the visitor record, a statistics shard: one UpdateItem each)
2. cold import of the scan function / (import boto3 + one DynamoDB client)     goal <= 1.3
3. warm scan handler / the three bare UpdateItems it makes                     goal <= 1.5

The handlers run in this process against the local stack's emulator (local_stack.LocalStack),
exactly as `make run` serves them. Always exits 0.

Run: make bench   (or .venv/bin/python bench/scan_bench.py)
"""

from __future__ import annotations

import collections
import json
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "layers" / "siyu")]

import boto3  # noqa: E402
import moto  # noqa: E402

from bench.fresh_imports import isolated_environment, self_times, timed  # noqa: E402
from local_stack.stack import LocalStack  # noqa: E402
from local_stack.template import Template  # noqa: E402
from tests.helpers import admin_event, b64, new_group_screenshot, scan_event  # noqa: E402

SCAN_FUNCTION = "ScanFunction"
THRESHOLD = 180  # switch to the next target every 180 scans: several switches happen during the run
STEADY_SCANS = 1000
STEADY_TARGETS = -(-(STEADY_SCANS + 1) // THRESHOLD)  # enough for the cold scan + the steady ones
WARM_CALLS = 2000
WARM_THRESHOLD = 10_000  # the timing code never runs out of targets
IMPORT_RUNS = 7
BARE_PK = "CODE#benchbarecounter"  # a counter item of its own, no code behind it
COUNTER, VISITOR, STATS = "UpdateItem (counter shard)", "UpdateItem (visitor record)", "UpdateItem (statistics shard)"
WAKE = "UpdateItem (wake rotation)"
PER_SCAN = (COUNTER, VISITOR, STATS)


def verdict(ok: bool) -> str:
    return "[ok]" if ok else "[MISSED]"


def median_ms(seconds: list[float]) -> float:
    return statistics.median(seconds) * 1000


# -- 2. cold import, in fresh interpreters ------------------------------------------------


def cold_imports(template: Template) -> tuple[list[float], list[float], list[tuple[str, int]]]:
    spec = template.functions()[SCAN_FUNCTION]
    scan_path = [str(spec.code_dir), *map(str, template.layer_dirs())]
    scan_code = f"import {spec.handler.rsplit('.', 1)[0]}"
    baseline_code = "import boto3; boto3.client('dynamodb')"
    env = isolated_environment(template, SCAN_FUNCTION, "us-east-1")
    timed(scan_code, scan_path, env)  # not counted: brings __pycache__ up to date after edits
    scan, baseline = [], []
    for _ in range(IMPORT_RUNS):  # interleaved, so both see the same machine conditions
        baseline.append(timed(baseline_code, [], env))
        scan.append(timed(scan_code, scan_path, env))
    base_modules = self_times(baseline_code, [], env)
    extra = self_times(scan_code, scan_path, env)
    module = spec.handler.rsplit(".", 1)[0]
    heaviest = sorted(
        ((m, us) for m, us in extra.items() if m not in base_modules and m != module), key=lambda x: -x[1]
    )
    return scan, baseline, heaviest


# -- 1 and 3: the handler against the emulator -------------------------------------------


def create_code(admin, name: str, threshold: int, targets: int) -> str:
    answer = admin.invoke(admin_event("POST", "/admin/codes", {"name": name, "switch_threshold": threshold}))
    if answer["statusCode"] != 201:
        raise RuntimeError(f"creating a code failed: {answer}")
    code_id = json.loads(answer["body"])["id"]
    for i in range(targets):
        png = new_group_screenshot(f"{name} group {i + 1}")[1]
        upload = admin.invoke(admin_event("POST", f"/admin/codes/{code_id}/targets", {"image_base64": b64(png)}))
        if upload["statusCode"] != 201:
            raise RuntimeError(f"uploading a target failed: {upload}")
    return code_id


def scan_ok(answer: dict) -> None:
    if answer.get("statusCode") != 200:
        raise RuntimeError(f"a scan did not answer 200: {str(answer)[:300]}")


class CallCounter:
    """Every DynamoDB API call a boto3 client makes (botocore's before-call event), by operation."""

    def __init__(self, client):
        self.client, self.calls = client, collections.Counter()

    def __call__(self, model, params=None, **_):
        # Writes are told apart by the item they touch; the one write per filled group that
        # wakes the rotation job is its own line in the report.
        if model.name != "UpdateItem":
            self.calls[model.name] += 1
            return
        body = (params or {}).get("body", b"")  # the serialized request
        text = body.decode() if isinstance(body, bytes) else body
        key = json.loads(text)["Key"]
        pk, sk = key["pk"]["S"], key["sk"]["S"]
        if "due_at" in text:
            kind = WAKE
        elif pk.startswith("VISITOR#"):
            kind = VISITOR
        elif pk.startswith("STATS#"):
            kind = STATS
        else:
            kind = COUNTER if sk.startswith("SCANS#") else "UpdateItem (other)"
        self.calls[kind] += 1

    def __enter__(self) -> CallCounter:
        self.client.meta.events.register("before-call.dynamodb", self)
        return self

    def __exit__(self, *_) -> None:
        self.client.meta.events.unregister("before-call.dynamodb", self)

    def take(self) -> collections.Counter:
        calls, self.calls = self.calls, collections.Counter()
        return calls


def steady_calls(admin, scan, service) -> dict:
    code_id = create_code(admin, "bench steady", THRESHOLD, STEADY_TARGETS)
    event = scan_event(code_id)
    with CallCounter(service.table._client) as counter:
        scan_ok(scan.invoke(event))  # this container has never seen the code
        cold = counter.take()
        started = time.perf_counter()
        for _ in range(STEADY_SCANS):
            scan_ok(scan.invoke(event))
        elapsed = time.perf_counter() - started
        steady = counter.take()
    code, counters = service.table.load(code_id)
    per_target = [counters.total(t.id) for t in code.targets]  # in the code's order
    return {"cold": cold, "steady": steady, "elapsed": elapsed, "per_target": per_target}


def warm_times(admin, scan, service) -> tuple[list[float], list[float]]:
    """The warm handler and the bare UpdateItem it makes, interleaved, one sample each per round."""
    code_id = create_code(admin, "bench warm", WARM_THRESHOLD, 1)
    event = scan_event(code_id)
    client, table = service.table._client, service.table._table
    bare_calls = [  # the three writes a first-time scan makes, each on items of their own
        {
            "Key": {"pk": {"S": BARE_PK}, "sk": {"S": "SCANS#bare#0"}},
            "UpdateExpression": "ADD scans :one, #day :one",
            "ConditionExpression": "(attribute_not_exists(scans) OR scans < :total_quota)",
            "ExpressionAttributeNames": {"#day": "day:2026-11-25"},
            "ExpressionAttributeValues": {":one": {"N": "1"}, ":total_quota": {"N": str(10**12)}},
            "ReturnValues": "ALL_NEW",
        },
        {
            "Key": {"pk": {"S": "VISITOR#benchbare"}, "sk": {"S": BARE_PK}},
            "UpdateExpression": "SET last_seen = :now, first_seen = if_not_exists(first_seen, :now) "
            "ADD dims :dims, #seen :dims",
            "ExpressionAttributeNames": {"#seen": "seen:2026-11-25"},
            "ExpressionAttributeValues": {":now": {"S": "2026-11-25T12:00:00Z"}, ":dims": {"SS": ["code", "ch:-"]}},
            "ReturnValues": "ALL_OLD",
        },
        {
            "Key": {"pk": {"S": "STATS#benchbare#0"}, "sk": {"S": "2026-11-25"}},
            "UpdateExpression": "ADD " + ", ".join(f"#a{i} :one" for i in range(9)),
            "ExpressionAttributeNames": {
                f"#a{i}": f"{m}|{d}"
                for i, (m, d) in enumerate((m, d) for m in "vwa" for d in ("code", "ch:-", "t:bare"))
            },
            "ExpressionAttributeValues": {":one": {"N": "1"}},
        },
    ]

    def bare_scan():
        for call in bare_calls:
            client.update_item(TableName=table, **call)

    handler, bare = [], []
    for i in range(WARM_CALLS):
        for which in (0, 1) if i % 2 else (1, 0):  # alternate who goes first
            started = time.perf_counter()
            if which:
                answer = scan.invoke(event)
            else:
                bare_scan()
            (handler if which else bare).append(time.perf_counter() - started)
            if which:
                scan_ok(answer)
    return handler, bare


# -- report ---------------------------------------------------------------------------


def main() -> None:
    template = Template(ROOT / "template.yaml")
    cache_seconds = float(template.functions()[SCAN_FUNCTION].environment.get("SCAN_CACHE_SECONDS", "3"))
    print(
        f"siyu scan-path benchmark  (python {platform.python_version()}, boto3 {boto3.__version__}, "
        f"emulator moto {moto.__version__}, SCAN_CACHE_SECONDS={cache_seconds:g})\n"
    )
    scan_cold, boto_cold, heaviest = cold_imports(template)

    with tempfile.TemporaryDirectory() as data_dir:
        stack = LocalStack(ROOT, Path(data_dir), port=0, persist=False, demo=False, schedules=False)
        stack.start()
        try:
            for name in ("lambda_ScanFunction", "lambda_AdminApiFunction"):
                module_logger = getattr(sys.modules[name], "logger", None)
                if module_logger is not None:
                    module_logger.setLevel("WARNING")
            admin, scan = stack.functions["AdminApiFunction"], stack.functions[SCAN_FUNCTION]
            service = sys.modules["lambda_ScanFunction"].service
            steady = steady_calls(admin, scan, service)
            handler, bare = warm_times(admin, scan, service)
        finally:
            stack.stop()

    # 1. storage calls per scan
    calls = steady["steady"]
    per_scan = sum(calls.values()) / STEADY_SCANS
    refreshes = calls.get("Query", 0)
    expected_refreshes = int(steady["elapsed"] // cache_seconds) + 1
    wakes = calls.get("UpdateItem (wake rotation)", 0)
    explained = all(calls.get(kind, 0) == STEADY_SCANS for kind in PER_SCAN)
    explained = explained and set(calls) <= {*PER_SCAN, WAKE, "Query"}
    explained = explained and wakes <= len(steady["per_target"])  # at most one per group that filled
    explained = explained and refreshes <= expected_refreshes
    counts = "/".join(map(str, steady["per_target"]))
    writes = " + ".join(f"{calls.get(kind, 0)} {kind}" for kind in PER_SCAN)
    print(
        f"storage calls per first-time scan (steady, {STEADY_SCANS} scans): {per_scan:.3f}  goal 3  "
        f"{verdict(explained)}\n"
        f"  = {writes} + {refreshes} Query (the config cache refresh, one per {cache_seconds:g} s per container; "
        f"the scans took {steady['elapsed']:.1f} s here)"
        + (
            f" + {wakes} UpdateItem marking the code due for the rotation job (one per group that filled)"
            if wakes
            else ""
        )
        + "".join(f" + {n} {op}" for op, n in sorted(calls.items()) if op not in (*PER_SCAN, WAKE, "Query"))
        + f"\n  {len(steady['per_target'])} targets filled in order, threshold {THRESHOLD}: scans per target {counts}"
        + "\n  a returning scanner (cookie) costs one GetItem more and no counter write (bench/hot_code_bench.py)"
    )
    cold = steady["cold"]
    print(
        f"  cold first scan of the code: {sum(cold.values())} calls ("
        + " + ".join(f"{n} {op}" for op, n in sorted(cold.items()))
        + ")"
    )

    # 2. cold import
    scan_s, boto_s = statistics.median(scan_cold), statistics.median(boto_cold)
    ratio = scan_s / boto_s
    print(
        f"cold import: scan function {scan_s:.3f} s vs import boto3 + one client {boto_s:.3f} s = {ratio:.2f}x"
        f"  goal <= 1.3  {verdict(ratio <= 1.3)}   (medians of {IMPORT_RUNS} fresh interpreters)"
    )
    extra_ms = sum(us for _, us in heaviest) / 1000
    top = ", ".join(f"{m} {us / 1000:.1f}" for m, us in heaviest[:6])
    print(f"  modules beyond boto3's: {len(heaviest)}, {extra_ms:.0f} ms of own import time; heaviest (ms): {top}")

    # 3. warm handler
    handler_ms, bare_ms = median_ms(handler), median_ms(bare)
    ratio = handler_ms / bare_ms
    print(
        f"warm scan handler {handler_ms:.2f} ms vs its three bare UpdateItems {bare_ms:.2f} ms = {ratio:.2f}x  "
        f"goal <= 1.5  {verdict(ratio <= 1.5)}   (medians of {WARM_CALLS}, interleaved, same client and emulator)"
    )
    own_ms = median_ms([h - b for h, b in zip(handler, bare, strict=True)])
    p90 = [statistics.quantiles(xs, n=10)[-1] * 1000 for xs in (handler, bare)]
    print(
        f"  the handler's own work (median of handler - bare, round by round): {own_ms:.2f} ms; "
        f"p90 handler {p90[0]:.2f} ms, bare {p90[1]:.2f} ms"
    )


if __name__ == "__main__":
    main()
