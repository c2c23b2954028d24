"""Refusals (why an invite or a join was refused, kept 400 days) and the hourly counters."""

from __future__ import annotations

from dataclasses import asdict
from datetime import datetime, timedelta

from siyu.campaigns.ports import RefusalDetails
from siyu.campaigns.records import Refusal
from siyu.campaigns.repository.base import TableBase
from siyu.core.clock import to_precise_iso
from siyu.core.ids import new_id
from siyu.storage.codec import Item, n, s, text
from siyu.storage.hourly_counters import add_within_limit

REFUSAL_RETENTION = timedelta(days=400)
RATE_RETENTION = timedelta(hours=2)
DETAILS = ("referrer_id", "visitor_id", "address_hash")


class RefusalRecords(TableBase):
    def record_refusal(self, campaign_id: str, reason: str, at: datetime, details: RefusalDetails) -> None:
        item = {
            **self._key(campaign_id, f"REFUSAL#{to_precise_iso(at)}#{new_id(8)}"),
            "reason": s(reason),
            "at": s(to_precise_iso(at)),
            "expires_at": n(int((at + REFUSAL_RETENTION).timestamp())),
        }
        item.update({name: s(value) for name, value in asdict(details).items() if value})
        self._client.put_item(TableName=self._table, Item=item)

    def refusals(self, campaign_id: str, limit: int, cursor: str | None) -> tuple[list[Refusal], str | None]:
        return self._page(campaign_id, "REFUSAL#", limit, cursor, refusal_of, newest_first=True)

    def within_limit(
        self, campaign_id: str, kind: str, key: str, hour: str, limit: int, now: datetime, until: datetime | None = None
    ) -> bool:
        """Count one more of `kind` for `key` in `hour` (or a longer period, kept `until` its end),
        unless it already reached `limit`."""
        pk = f"RATE#{campaign_id}#{kind}#{key}#{hour}"
        expires = max(now + RATE_RETENTION, (until or now) + RATE_RETENTION)
        return add_within_limit(self._client, self._table, pk, 1, limit, expires)


def refusal_of(item: Item) -> Refusal:
    return Refusal(
        id=item["sk"]["S"].removeprefix("REFUSAL#"),
        reason=item["reason"]["S"],
        at=item["at"]["S"],
        **{name: text(item, name) for name in DETAILS},
    )
