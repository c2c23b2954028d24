"""Scan-path benchmark (a report, not a test): every figure is a ratio against a baseline
measured in the same run, so it means the same on a laptop and on a CI box.

1. DynamoDB writes per scan on the steady path of a busy code (issue 17):
   a first-time scanner                                                         goal <= 1.2
   (the counter shard's conditional UpdateItem; the statistics go out as one ADD every few
   seconds per container; no visitor record: the browser keeps a signed memory cookie)
   a returning scanner (the browser sends back its cookies)                     goal <= 1.1
2. cold import of the scan function / (import boto3 + one DynamoDB client)     goal <= 1.3
3. warm scan handler (first-time scanner) / the one bare UpdateItem it makes   goal <= 1.3

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
from tests.helpers import admin_event, b64, browser_cookies, new_group_screenshot, scan_event  # noqa: E402

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
RETURNING_SCANS = 1000
FLUSH_WAIT = 6.0  # seconds: the scan container's flusher writes buffered statistics within 5 s


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


def phone_address(n: int) -> str:
    """A scanner's own network address: the scan path holds one address to its hourly per-client limit."""
    return f"10.{n // 65536 % 256}.{n // 256 % 256}.{n % 256}"


def steady_calls(admin, scan, service) -> dict:
    code_id = create_code(admin, "bench steady", THRESHOLD, STEADY_TARGETS)
    event = scan_event(code_id)
    with CallCounter(service.table._client) as counter:
        first = scan.invoke(event)  # this container has never seen the code
        scan_ok(first)
        service.stats.flush()  # its statistics, so the steady figures count only their own
        cold = counter.take()
        phones = [scan_event(code_id, source_ip=phone_address(n)) for n in range(STEADY_SCANS)]  # a scanner each
        started = time.perf_counter()
        for phone in phones:
            scan_ok(scan.invoke(phone))
        elapsed = time.perf_counter() - started
        time.sleep(FLUSH_WAIT)  # no further traffic: the flusher writes what the scans buffered
        steady = counter.take()
        # the first scanner comes back RETURNING_SCANS times, sending the cookies it was given
        back = scan_event(code_id, cookies=browser_cookies(first))
        started = time.perf_counter()
        for _ in range(RETURNING_SCANS):
            answer = scan.invoke(back)
            scan_ok(answer)
            if answer.get("cookies"):
                raise RuntimeError(f"a returning scanner was given new cookies: {answer['cookies']}")
        returning_elapsed = time.perf_counter() - started
        time.sleep(FLUSH_WAIT)
        returning = counter.take()
    code, counters = service.table.load(code_id)
    per_target = [counters.total(t.id) for t in code.targets]  # in the code's order
    return {
        "cold": cold,
        "steady": steady,
        "elapsed": elapsed + FLUSH_WAIT,
        "per_target": per_target,
        "returning": returning,
        "returning_elapsed": returning_elapsed + FLUSH_WAIT,
    }


def warm_times(admin, scan, service) -> tuple[list[float], list[float]]:
    """The warm handler (a first-time scanner each time) and the bare UpdateItem it makes (the counter
    shard's conditional write; the statistics are one ADD per container every few seconds, the visitor
    record is not written), interleaved, one sample each per round."""
    code_id = create_code(admin, "bench warm", WARM_THRESHOLD, 1)
    client, table = service.table._client, service.table._table
    bare_calls = [  # the one write a first-time scan makes, on an item of its own
        {
            "Key": {"pk": {"S": BARE_PK}, "sk": {"S": "SCANS#bare#0"}},
            "UpdateExpression": "ADD scans :one, #day :one",
            "ConditionExpression": "(attribute_not_exists(scans) OR scans < :total_quota)",
            "ExpressionAttributeNames": {"#day": "day:2026-11-25"},
            "ExpressionAttributeValues": {":one": {"N": "1"}, ":total_quota": {"N": str(10**12)}},
            "ReturnValues": "ALL_NEW",
        },
    ]

    def bare_scan():
        for call in bare_calls:
            client.update_item(TableName=table, **call)

    phones = [scan_event(code_id, source_ip=phone_address(n)) for n in range(WARM_CALLS)]  # a scanner each
    handler, bare = [], []
    for i in range(WARM_CALLS):
        for which in (0, 1) if i % 2 else (1, 0):  # alternate who goes first
            started = time.perf_counter()
            if which:
                answer = scan.invoke(phones[i])
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

    # 1. writes per scan: first-time, then returning
    def writes(calls: collections.Counter) -> int:
        return sum(n for op, n in calls.items() if op.startswith("UpdateItem"))

    calls = steady["steady"]
    per_scan = writes(calls) / STEADY_SCANS
    refreshes = calls.get("Query", 0)
    expected_refreshes = int(steady["elapsed"] // cache_seconds) + 1
    wakes = calls.get(WAKE, 0)
    flushes_allowed = int(steady["elapsed"] // 5) + 2  # one ADD per 5 s per container, and the last one
    explained = calls.get(COUNTER, 0) == STEADY_SCANS and calls.get(VISITOR, 0) == 0
    explained = explained and calls.get(STATS, 0) <= flushes_allowed
    explained = explained and set(calls) <= {*PER_SCAN, WAKE, "Query"}
    explained = explained and wakes <= len(steady["per_target"])  # at most one per group that filled
    explained = explained and refreshes <= expected_refreshes
    counts = "/".join(map(str, steady["per_target"]))
    parts = " + ".join(f"{calls.get(kind, 0)} {kind}" for kind in PER_SCAN)
    print(
        f"DynamoDB writes per first-time scan (steady, {STEADY_SCANS} scans, then {FLUSH_WAIT:g} s with no traffic): "
        f"{per_scan:.3f}  goal <= 1.2  {verdict(explained and per_scan <= 1.2)}\n"
        f"  = {parts}"
        + (f" + {wakes} {WAKE} (one per group that filled)" if wakes else "")
        + f"; and {refreshes} Query (the config cache refresh, one per {cache_seconds:g} s per container; "
        f"the scans took {steady['elapsed'] - FLUSH_WAIT:.1f} s here)"
        + "".join(f" + {n} {op}" for op, n in sorted(calls.items()) if op not in (*PER_SCAN, WAKE, "Query"))
        + f"\n  {len(steady['per_target'])} targets filled in order, threshold {THRESHOLD}: scans per target {counts}"
    )
    back = steady["returning"]
    back_writes = writes(back) / RETURNING_SCANS
    reads = sum(n for op, n in back.items() if op in ("GetItem", "Query"))
    back_ok = back.get(COUNTER, 0) == 0 and back.get(VISITOR, 0) == 0 and back.get("GetItem", 0) == 0
    print(
        f"DynamoDB writes per returning scan ({RETURNING_SCANS} scans with the cookies of the first): "
        f"{back_writes:.3f}  goal <= 1.1  {verdict(back_ok and back_writes <= 1.1)}\n"
        f"  = "
        + (" + ".join(f"{n} {op}" for op, n in sorted(back.items())) or "nothing")
        + f" ({reads} reads: config cache refreshes only; no GetItem of the visitor record)"
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
        f"warm scan handler {handler_ms:.2f} ms vs the bare UpdateItem it makes {bare_ms:.2f} ms = {ratio:.2f}x  "
        f"goal <= 1.3  {verdict(ratio <= 1.3)}   (medians of {WARM_CALLS}, interleaved, same client and emulator)"
    )
    own_ms = median_ms([h - b for h, b in zip(handler, bare, strict=True)])
    p90 = [statistics.quantiles(xs, n=10)[-1] * 1000 for xs in (handler, bare)]
    print(
        f"  the handler's own work (median of handler - bare, round by round): {own_ms:.2f} ms; "
        f"p90 handler {p90[0]:.2f} ms, bare {p90[1]:.2f} ms"
    )


if __name__ == "__main__":
    main()
