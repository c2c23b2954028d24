"""Facts of the one table that more than one feature needs: its secondary indexes' names.

``ListIndex`` (list_pk, list_sk) lists a kind of record newest first; ``DueIndex`` (due_pk,
due_at) is the due queue (``siyu.storage.due_queue``). Both are declared in ``template.yaml``.
"""

from __future__ import annotations

from siyu.storage.due_queue import DUE_INDEX

LIST_INDEX = "ListIndex"

__all__ = ["DUE_INDEX", "LIST_INDEX"]
