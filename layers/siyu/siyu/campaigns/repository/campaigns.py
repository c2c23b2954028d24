"""Campaigns (one JSON document each, read and written whole) and their tiers' stock."""

from __future__ import annotations

import json
from dataclasses import asdict, replace
from typing import Any

from botocore.exceptions import ClientError

from siyu.campaigns.repository.base import CAMPAIGN_SK, TableBase
from siyu.campaigns.rules import Campaign, Rules, Tier
from siyu.core.clock import from_iso, to_precise_iso
from siyu.core.errors import StaleVersion
from siyu.storage.codec import TRANSACTION_CANCELED, cancellation_reasons, error_code, n, number, s
from siyu.storage.paging import query_page
from siyu.storage.table import newest_first


class StockBelowGranted(Exception):
    """A tier's new stock is below what it has already granted."""

    def __init__(self, level: int):
        super().__init__(level)
        self.level = level


def campaign_to_json(campaign: Campaign) -> str:
    raw = asdict(campaign)
    for name in ("starts_at", "ends_at", "created_at"):
        raw[name] = to_precise_iso(raw[name])
    return json.dumps(raw, ensure_ascii=False, sort_keys=True)


def campaign_from_json(text: str) -> Campaign:
    raw = json.loads(text)
    return Campaign(
        **{
            **raw,
            "starts_at": from_iso(raw["starts_at"]),
            "ends_at": from_iso(raw["ends_at"]),
            "created_at": from_iso(raw["created_at"]),
            "tiers": tuple(Tier(**t) for t in raw["tiers"]),
            "rules": Rules(**raw["rules"]),
            "wecom_users": tuple(raw.get("wecom_users", ())),
        }
    )


class CampaignRecords(TableBase):
    def create_campaign(self, campaign: Campaign) -> None:
        """The campaign and its tiers' stock items, all or nothing."""
        pk = s(f"CAMPAIGN#{campaign.id}")
        item = {
            "pk": pk,
            "sk": s(CAMPAIGN_SK),
            "list_pk": s("CAMPAIGN"),
            "list_sk": s(f"{to_precise_iso(campaign.created_at)}#{campaign.id}"),
            "campaign_json": s(campaign_to_json(campaign)),
            "version": n(campaign.version),
        }
        writes: list[Any] = [
            {"Put": {"TableName": self._table, "Item": item, "ConditionExpression": "attribute_not_exists(pk)"}}
        ]
        for tier in campaign.tiers:
            tier_item = {"pk": pk, "sk": s(f"TIER#{tier.level}"), "stock": n(tier.stock), "granted": n(0)}
            writes.append({"Put": {"TableName": self._table, "Item": tier_item}})
        self._client.transact_write_items(TransactItems=writes)

    def campaign(self, campaign_id: str) -> Campaign | None:
        item = self._get(campaign_id, CAMPAIGN_SK)
        return campaign_from_json(item["campaign_json"]["S"]) if item else None

    def save_campaign(self, campaign: Campaign, stock_changes: dict[int, int]) -> Campaign:
        """Write a changed campaign if nobody else did since it was read (StaleVersion if they
        did); `stock_changes` (level -> new stock) apply in the same transaction, and a tier's
        stock cannot go below what it has already granted (StockBelowGranted)."""
        saved = replace(campaign, version=campaign.version + 1)
        pk = s(f"CAMPAIGN#{campaign.id}")
        writes: list[Any] = [
            {
                "Update": {
                    "TableName": self._table,
                    "Key": {"pk": pk, "sk": s(CAMPAIGN_SK)},
                    "UpdateExpression": "SET campaign_json = :json, version = :new",
                    "ConditionExpression": "version = :old",
                    "ExpressionAttributeValues": {
                        ":json": s(campaign_to_json(saved)),
                        ":new": n(saved.version),
                        ":old": n(campaign.version),
                    },
                }
            }
        ]
        for level, stock in stock_changes.items():
            writes.append(
                {
                    "Update": {
                        "TableName": self._table,
                        "Key": {"pk": pk, "sk": s(f"TIER#{level}")},
                        "UpdateExpression": "SET stock = :stock, granted = if_not_exists(granted, :zero)",
                        "ConditionExpression": "attribute_not_exists(granted) OR granted <= :stock",
                        "ExpressionAttributeValues": {":stock": n(stock), ":zero": n(0)},
                    }
                }
            )
        levels = list(stock_changes)
        try:
            self._client.transact_write_items(TransactItems=writes)
        except ClientError as error:
            if error_code(error) != TRANSACTION_CANCELED:
                raise
            reasons = cancellation_reasons(error)
            below = [levels[i - 1] for i, code in enumerate(reasons) if i and code == "ConditionalCheckFailed"]
            if below:
                raise StockBelowGranted(below[0]) from error
            raise StaleVersion(campaign.id) from error
        return saved

    def list_campaigns(self, limit: int, cursor: str | None) -> tuple[list[Campaign], str | None]:
        items, next_cursor = query_page(self._client, newest_first(self._table, "CAMPAIGN", limit), cursor)
        return [campaign_from_json(i["campaign_json"]["S"]) for i in items], next_cursor

    def stock(self, campaign_id: str) -> dict[int, tuple[int, int]]:
        """level -> (stock, granted)."""
        page = self._all_with_prefix(campaign_id, "TIER#")
        return {int(i["sk"]["S"][5:]): (number(i, "stock"), number(i, "granted")) for i in page}
