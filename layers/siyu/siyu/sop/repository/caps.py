"""The daily push counts that enforce a plan's daily cap, per receiving destination.

    pk = SOPCAP#<destination identity>   sk = <local day>   pushes

The identity is the destination's URL hashed (the sender's ``audience_identity``), so the cap
holds for a group whichever plan pushes to it.
"""

from __future__ import annotations

from siyu.sop.repository.table import SopTableBase
from siyu.storage.codec import n, s


class PushCountRecords(SopTableBase):
    def count_push(self, destination: str, day: str, cap: int) -> bool:
        """Count one push to `destination` on `day`, if it is under `cap`."""
        return self._conditional_update(
            {"pk": s(f"SOPCAP#{destination}"), "sk": s(day)},
            UpdateExpression="ADD pushes :one",
            ConditionExpression="attribute_not_exists(pushes) OR pushes < :cap",
            ExpressionAttributeValues={":one": n(1), ":cap": n(cap)},
        )
