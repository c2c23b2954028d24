"""Participants (one per visitor), their leaderboard keys, blocks and posters."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from datetime import datetime
from typing import Any

from botocore.exceptions import ClientError

from siyu.campaigns.repository.base import TableBase
from siyu.campaigns.rules import Participant, rank_key
from siyu.core.clock import from_iso, to_precise_iso
from siyu.core.errors import StaleVersion
from siyu.storage.codec import TRANSACTION_CANCELED, Item, condition_failed, error_code, n, number, s, text
from siyu.storage.paging import query_all
from siyu.storage.table import LIST_INDEX


class ParticipantRecords(TableBase):
    def join(self, participant: Participant) -> Participant:
        """Add a participant, one per visitor: a visitor who already joined gets their
        existing participant back (whatever they typed this time)."""
        item = participant_item(participant)
        writes: list[Any] = [
            {
                "Put": {
                    "TableName": self._table,
                    "Item": {
                        "pk": item["pk"],
                        "sk": s(f"VISITOR#{participant.visitor_id}"),
                        "participant_id": s(participant.id),
                    },
                    "ConditionExpression": "attribute_not_exists(pk)",
                }
            },
            {"Put": {"TableName": self._table, "Item": item, "ConditionExpression": "attribute_not_exists(pk)"}},
        ]
        try:
            self._client.transact_write_items(TransactItems=writes)
            return replace(participant, rank_key=item["list_sk"]["S"])
        except ClientError as error:
            if error_code(error) != TRANSACTION_CANCELED:
                raise
        existing = self.participant_of_visitor(participant.campaign_id, participant.visitor_id)
        if existing is None:
            raise StaleVersion(participant.id)
        return existing

    def participant(self, campaign_id: str, participant_id: str) -> Participant | None:
        item = self._get(campaign_id, f"PART#{participant_id}")
        return participant_of(item) if item else None

    def participant_of_visitor(self, campaign_id: str, visitor_id: str) -> Participant | None:
        link = self._get(campaign_id, f"VISITOR#{visitor_id}")
        return self.participant(campaign_id, link["participant_id"]["S"]) if link else None

    def participants(self, campaign_id: str, limit: int, cursor: str | None) -> tuple[list[Participant], str | None]:
        """Every participant, blocked ones included, in the order of their ids."""
        return self._page(campaign_id, "PART#", limit, cursor, participant_of)

    def all_participants(self, campaign_id: str) -> Iterator[Participant]:
        """Every participant, page after page (the bulk pre-render)."""
        return (participant_of(i) for i in query_all(self._client, self._prefix_query(campaign_id, "PART#")))

    def leaderboard(self, campaign_id: str, limit: int) -> list[Participant]:
        page = self._client.query(
            TableName=self._table,
            IndexName=LIST_INDEX,
            KeyConditionExpression="list_pk = :pk",
            ExpressionAttributeValues={":pk": s(f"RANK#{campaign_id}")},
            Limit=limit,
        )
        return [participant_of(dict(i)) for i in page["Items"]]

    def set_blocked(self, participant: Participant, blocked: bool, reason: str | None) -> None:
        """Block (off the leaderboard, no invites, no rewards) or unblock a participant."""
        key = self._key(participant.campaign_id, f"PART#{participant.id}")
        if blocked:
            self._client.update_item(
                TableName=self._table,
                Key=key,
                UpdateExpression="SET blocked = :yes, blocked_reason = :reason REMOVE list_pk",
                ExpressionAttributeValues={":yes": {"BOOL": True}, ":reason": s(reason or "")},
            )
        else:
            self._client.update_item(
                TableName=self._table,
                Key=key,
                UpdateExpression="SET list_pk = :rank_pk REMOVE blocked, blocked_reason",
                ExpressionAttributeValues={":rank_pk": s(f"RANK#{participant.campaign_id}")},
            )

    def set_poster(self, participant: Participant, key: str, version: int) -> None:
        self._client.update_item(
            TableName=self._table,
            Key=self._key(participant.campaign_id, f"PART#{participant.id}"),
            UpdateExpression="SET poster_key = :key, poster_version = :version",
            ConditionExpression="attribute_exists(pk)",
            ExpressionAttributeValues={":key": s(key), ":version": n(version)},
        )

    def note_poster_request(self, participant: Participant, at: datetime) -> bool:
        """One more poster request, counted once however many pages ask at the same time."""
        try:
            self._client.update_item(
                TableName=self._table,
                Key=self._key(participant.campaign_id, f"PART#{participant.id}"),
                UpdateExpression="SET poster_requests = :next, poster_requested_at = :at",
                ConditionExpression="attribute_exists(pk) AND "
                + (
                    "poster_requests = :seen"
                    if participant.poster_requests
                    else "attribute_not_exists(poster_requests)"
                ),
                ExpressionAttributeValues={
                    ":next": n(participant.poster_requests + 1),
                    ":at": s(to_precise_iso(at)),
                    **({":seen": n(participant.poster_requests)} if participant.poster_requests else {}),
                },
            )
            return True
        except ClientError as error:
            if condition_failed(error):
                return False
            raise


def participant_item(p: Participant) -> Item:
    item = {
        "pk": s(f"CAMPAIGN#{p.campaign_id}"),
        "sk": s(f"PART#{p.id}"),
        "visitor_id": s(p.visitor_id),
        "nickname": s(p.nickname),
        "joined_at": s(to_precise_iso(p.joined_at)),
        "invites": n(p.invites),
        "poster_version": n(p.poster_version),
        "list_pk": s(f"RANK#{p.campaign_id}"),
        "list_sk": s(rank_key(p.invites, p.joined_at)),
    }
    optional = (
        ("referred_by", p.referred_by),
        ("avatar_key", p.avatar_key),
        ("poster_key", p.poster_key),
        ("way_config_id", p.way_config_id),
        ("way_url", p.way_url),
        ("way_state", p.way_state),
        ("external_user_id", p.external_user_id),
        ("privacy_notice_version", p.privacy_notice_version),
    )
    for name, value in optional:
        if value:
            item[name] = s(value)
    return item


def participant_of(item: Item) -> Participant:
    return Participant(
        id=item["sk"]["S"].removeprefix("PART#"),
        campaign_id=item["pk"]["S"].removeprefix("CAMPAIGN#"),
        visitor_id=item["visitor_id"]["S"],
        nickname=item["nickname"]["S"],
        joined_at=from_iso(item["joined_at"]["S"]),
        invites=number(item, "invites"),
        referred_by=text(item, "referred_by"),
        avatar_key=text(item, "avatar_key"),
        blocked=bool(item.get("blocked", {}).get("BOOL", False)),
        blocked_reason=text(item, "blocked_reason"),
        poster_key=text(item, "poster_key"),
        poster_version=number(item, "poster_version"),
        rank_key=text(item, "list_sk") or "",
        way_config_id=text(item, "way_config_id"),
        way_url=text(item, "way_url"),
        way_state=text(item, "way_state"),
        external_user_id=text(item, "external_user_id"),
        privacy_notice_version=text(item, "privacy_notice_version"),
        poster_requests=number(item, "poster_requests"),
        poster_requested_at=from_iso(requested) if (requested := text(item, "poster_requested_at")) else None,
    )
