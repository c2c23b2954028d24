"""The rotation job's view of the code items: which codes are due, the lease, the watch state.

The code item (pk = CODE#<code_id>, sk = CODE, see ``siyu.live_codes.repository``) carries the
job's state next to the code's config: ``watch_json`` (the watch state, one document the job
reads and writes whole), the lease (``lease_owner``, ``lease_until``: whole seconds, as codes
have always stored them) and the next check (``due_pk`` = DUE, ``due_at``, in the due index).
Admin writes never touch the first two and make the code due again; the job's writes hold only
while its lease does and nobody made the code due anew, so an edit is never overwritten.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator, Mapping, Sequence
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from siyu.alerts.records import AlertRecord, DueCode, OpenAlert, WatchState
from siyu.alerts.repository import new_record_put
from siyu.core.clock import from_iso, to_iso
from siyu.live_codes.repository import CODE_SK, DUE, CodesTable, code_from_item
from siyu.storage import aws
from siyu.storage.codec import Item, condition_failed, s, text
from siyu.storage.due_queue import DueQueue

if TYPE_CHECKING:  # the stubs are a development dependency, not in the layer
    from siyu.storage.client_types import DynamoDBClient

PAGE_SIZE = 100


class WatchTable:
    def __init__(self, client: DynamoDBClient, table_name: str):
        self._client = client
        self._table = table_name
        self._queue = DueQueue(client, table_name, DUE, lease_instant=to_iso)
        self._codes = CodesTable(client, table_name)

    @classmethod
    def from_environment(cls) -> WatchTable:
        return cls(aws.dynamodb(), os.environ["TABLE_NAME"])

    def due(self, now: datetime) -> Iterator[DueCode]:
        """Codes whose next check is due, from the due index (never a table scan)."""
        for item in self._queue.due(now, projection=None, page_size=PAGE_SIZE):
            yield DueCode(code_from_item(item), watch_from_json(text(item, "watch_json")), item["due_at"]["S"])

    def claim(self, code_id: str, seen_due_at: str, run_id: str, now: datetime, lease: timedelta) -> bool:
        return self._queue.claim(_key(code_id), now, lease, owner=run_id, seen_due_at=seen_due_at) is not None

    def counters(self, code_id: str) -> Mapping[str, int]:
        totals: Mapping[str, int] = self._codes.counters(code_id)
        return totals

    def store_transition(
        self, code_id: str, run_id: str, seen_due_at: str, watch: WatchState, new_records: Sequence[AlertRecord]
    ) -> bool:
        update = self._queue.held_update(_key(code_id), run_id, _watch_sets(watch), seen_due_at)
        items: list[Any] = [{"Update": update}, *({"Put": new_record_put(self._table, r)} for r in new_records)]
        try:
            self._client.transact_write_items(TransactItems=items)
        except ClientError as error:
            if condition_failed(error):
                return False
            raise
        return True

    def finish(self, code_id: str, run_id: str, watch: WatchState, seen_due_at: str, next_due: datetime | None) -> None:
        if not self._queue.finish(_key(code_id), run_id, next_due, _watch_sets(watch), seen_due_at):
            self._queue.release(_key(code_id), run_id)  # made due anew: that due time stands

    def release(self, code_id: str, run_id: str) -> None:
        self._queue.release(_key(code_id), run_id)


def _key(code_id: str) -> Item:
    return {"pk": s(f"CODE#{code_id}"), "sk": s(CODE_SK)}


def _watch_sets(watch: WatchState) -> dict[str, Any]:
    return {"watch_json": s(watch_to_json(watch))}


def watch_to_json(watch: WatchState) -> str:
    """The ``watch_json`` document: keys sorted, instants in whole seconds (the stored format)."""
    document = {
        "open": {k: {"opened_at": to_iso(v.opened_at), "severity": v.severity} for k, v in watch.open.items()},
        "current_target_id": watch.current_target_id,
        "scans_per_hour": watch.scans_per_hour,
        "scans_total": watch.scans_total,
        "scans_at": to_iso(watch.scans_at) if watch.scans_at else None,
        "pending": {ref: to_iso(at) for ref, at in watch.pending.items()},
    }
    return json.dumps(document, ensure_ascii=False, sort_keys=True)


def watch_from_json(document: str | None) -> WatchState:
    """The watch state a ``watch_json`` holds; a code the job never looked at has none."""
    data = json.loads(document or "{}")
    rate, scans_at = data.get("scans_per_hour"), data.get("scans_at")
    return WatchState(
        open={k: OpenAlert(from_iso(v["opened_at"]), v["severity"]) for k, v in data.get("open", {}).items()},
        current_target_id=data.get("current_target_id"),
        scans_per_hour=float(rate) if rate is not None else None,
        scans_total=data.get("scans_total"),
        scans_at=from_iso(scans_at) if scans_at else None,
        pending={ref: from_iso(at) for ref, at in data.get("pending", {}).items()},
    )
