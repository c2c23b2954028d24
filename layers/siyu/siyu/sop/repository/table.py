"""What the SOP record families share: one table, its two due-index queues, the keys."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from siyu.storage.codec import Item, condition_failed, s
from siyu.storage.due_queue import DueQueue

if TYPE_CHECKING:  # the stubs are a development dependency, not in the layer
    from siyu.storage.client_types import DynamoDBClient

PLAN_DUE = "SOP"  # the due-index partition of plans the job must expand
SEND_DUE = "SOPSEND"  # the partition of deliveries waiting to be handed to the send queue
PLAN_SK = "PLAN"
DELIVERY_PREFIX = "DELIVERY#"


class SopTableBase:
    def __init__(self, client: DynamoDBClient, table_name: str) -> None:
        self._client = client
        self._table = table_name
        self._plans_due = DueQueue(client, table_name, PLAN_DUE)
        self._sends_due = DueQueue(client, table_name, SEND_DUE)
        self.items_read = 0  # what this instance's queries and reads returned (the benchmark's figure)

    def _conditional_update(self, key: Item, **request: Any) -> bool:
        """One conditional update of the item at `key`; False when its condition does not hold."""
        try:
            self._client.update_item(TableName=self._table, Key=key, **request)
        except ClientError as error:
            if condition_failed(error):
                return False
            raise
        return True


def plan_pk(plan_id: str) -> str:
    return f"PLAN#{plan_id}"


def plan_key(plan_id: str) -> Item:
    return {"pk": s(plan_pk(plan_id)), "sk": s(PLAN_SK)}


def delivery_key(plan_id: str, delivery_id: str) -> Item:
    return {"pk": s(plan_pk(plan_id)), "sk": s(DELIVERY_PREFIX + delivery_id)}
