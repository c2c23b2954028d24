"""Records written before the alerts package was typed still read, and write back byte for byte:
the watch state (watch_json), an alert record's message and deliveries, and the log's view."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from siyu.alerts.api import log_entry
from siyu.alerts.records import FAILED, SENT
from siyu.alerts.repository import AlertsTable
from siyu.alerts.watch_repository import watch_from_json, watch_to_json

# As the job wrote them before (json.dumps(..., sort_keys=True) of plain dicts).
OLD_WATCH = json.dumps(
    {
        "open": {"on_fallback": {"opened_at": "2026-11-23T12:00:00Z", "severity": "critical"}},
        "current_target_id": "g1",
        "scans_per_hour": 12.5,
        "scans_total": 42,
        "scans_at": "2026-11-23T11:55:00Z",
        "pending": {"2026-11-23T12:00:00.250000Z#0123456789abcdef": "2026-11-23T12:01:00Z"},
    },
    ensure_ascii=False,
    sort_keys=True,
)
MESSAGE = {
    "id": "0123456789abcdef",
    "event": "raised",
    "condition": "on_fallback",
    "severity": "critical",
    "code_id": "c1",
    "code_name": "会员群",
    "message": "没有可用的群二维码：扫码用户正在看到兜底文案。",
    "occurred_at": "2026-11-23T12:00:00.250000Z",
}
DELIVERIES = {
    "ab12cd34": {
        "status": "pending",
        "attempts": 1,
        "next_attempt_at": "2026-11-23T12:01:00Z",
        "last_error": "HTTP 500",
    },
    "ef56gh78": {"status": "sent", "attempts": 2, "last_error": "HTTP 502", "sent_at": "2026-11-23T12:02:00Z"},
    "jk90mn12": {"status": "failed", "attempts": 5, "next_attempt_at": "2026-11-23T13:00:00Z", "last_error": "x"},
}
OLD_RECORD = {
    "pk": {"S": "ALERT#c1"},
    "sk": {"S": "2026-11-23T12:00:00.250000Z#0123456789abcdef"},
    "message_json": {"S": json.dumps(MESSAGE, ensure_ascii=False)},
    "deliveries_json": {"S": json.dumps(DELIVERIES, sort_keys=True)},
    "status": {"S": "pending"},
}


class OneItemClient:
    """Answers get_item with one stored item and keeps what update_item was asked to write."""

    def __init__(self, item: dict[str, Any]) -> None:
        self.item = item
        self.updates: list[dict[str, Any]] = []

    def get_item(self, **request: Any) -> dict[str, Any]:
        key = request["Key"]
        found = key == {"pk": self.item["pk"], "sk": self.item["sk"]}
        return {"Item": self.item} if found else {}

    def update_item(self, **request: Any) -> dict[str, Any]:
        self.updates.append(request)
        return {}


def test_an_old_watch_state_reads_typed_and_writes_back_unchanged():
    watch = watch_from_json(OLD_WATCH)
    assert watch.open["on_fallback"].severity == "critical" and watch.scans_total == 42
    assert list(watch.pending.values()) == [datetime(2026, 11, 23, 12, 1, tzinfo=UTC)]
    assert watch_to_json(watch) == OLD_WATCH


def test_a_code_never_watched_has_an_empty_state():
    watch = watch_from_json(None)
    assert (watch.open, watch.pending, watch.scans_total, watch.current_target_id) == ({}, {}, None, None)


def test_an_old_alert_record_reads_typed_and_its_deliveries_write_back_unchanged():
    client = OneItemClient(OLD_RECORD)
    table = AlertsTable(client, "table")  # a stand-in for the DynamoDB client
    record = table.record("c1", OLD_RECORD["sk"]["S"])
    assert record is not None and record.message.ref == OLD_RECORD["sk"]["S"]
    assert record.deliveries["ef56gh78"].status == SENT and record.deliveries["jk90mn12"].status == FAILED
    assert record.deliveries["ab12cd34"].next_attempt_at is not None
    table.update_deliveries(record)
    (update,) = client.updates
    assert update["Key"] == {"pk": OLD_RECORD["pk"], "sk": OLD_RECORD["sk"]}
    assert update["ExpressionAttributeValues"][":d"] == OLD_RECORD["deliveries_json"]
    assert update["ExpressionAttributeValues"][":status"] == OLD_RECORD["status"]
    assert table.record("c1", "2026-01-01T00:00:00.000000Z#other") is None


def test_the_log_shows_an_old_record_as_it_did():
    record = AlertsTable(OneItemClient(OLD_RECORD), "table").record("c1", OLD_RECORD["sk"]["S"])
    assert record is not None
    before = {**MESSAGE, "status": "pending", "deliveries": json.loads(OLD_RECORD["deliveries_json"]["S"])}
    assert json.dumps(log_entry(record), ensure_ascii=False) == json.dumps(before, ensure_ascii=False)
