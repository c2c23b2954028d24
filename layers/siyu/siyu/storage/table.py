"""Facts of the one table that more than one feature needs: its secondary indexes' names, and
the query of one page of ListIndex.

``ListIndex`` (list_pk, list_sk) lists a kind of record newest first; ``DueIndex`` (due_pk,
due_at) is the due queue (``siyu.storage.due_queue``). Both are declared in ``template.yaml``.
"""

from __future__ import annotations

from typing import Any

from siyu.storage.codec import s

DUE_INDEX = "DueIndex"
LIST_INDEX = "ListIndex"

__all__ = ["DUE_INDEX", "LIST_INDEX", "newest_first"]


def newest_first(table_name: str, kind: str, limit: int) -> dict[str, Any]:
    """The query of one page of ListIndex: the records of `kind` (their list_pk), newest first.
    Its key condition's value is ``:kind``."""
    return {
        "TableName": table_name,
        "IndexName": LIST_INDEX,
        "KeyConditionExpression": "list_pk = :kind",
        "ExpressionAttributeValues": {":kind": s(kind)},
        "ScanIndexForward": False,
        "Limit": limit,
    }
