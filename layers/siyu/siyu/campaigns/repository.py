"""All access to fission campaigns in the DynamoDB table.

pk = CAMPAIGN#<id>  sk = CAMPAIGN            the campaign (campaign_json, version);
                                             list_pk=CAMPAIGN (ListIndex: newest first)
pk = CAMPAIGN#<id>  sk = TIER#<level>        stock, granted: a reward is granted only with
                                             `granted < stock`, in one transaction with it
pk = CAMPAIGN#<id>  sk = PART#<participant>  a participant; list_pk=RANK#<campaign>,
                                             list_sk=rank key (the leaderboard; none if blocked)
pk = CAMPAIGN#<id>  sk = VISITOR#<visitor>   which participant a visitor is (one each)
pk = CAMPAIGN#<id>  sk = INVITE#<visitor>    the one invite an invitee can be: referrer,
                                             status pending|credited|revoked; due_pk=INVITE
                                             while it waits for its stay time
pk = CAMPAIGN#<id>  sk = REWARD#<part>#<lvl> a reward, created once; notify status and
                                             attempts; due_pk=REWARD while not notified
pk = CAMPAIGN#<id>  sk = REFUSAL#<at>#<rnd>  an invite or join that was refused, and why
pk = RATE#<campaign>#<kind>#<key>#<hour>     an hourly counter (expires on its own)
"""

from __future__ import annotations

import json
import os
import secrets
from collections.abc import Iterator
from dataclasses import asdict, replace
from datetime import datetime, timedelta

from botocore.exceptions import ClientError

from siyu.campaigns.rules import (
    GRANTED,
    OUT_OF_STOCK,
    PENDING,
    Campaign,
    Participant,
    Rules,
    Tier,
    rank_key,
)
from siyu.core.clock import from_iso, to_precise_iso
from siyu.live_codes.repository import DUE_INDEX, LIST_INDEX
from siyu.storage import aws
from siyu.storage.paging import TABLE_KEYS, query_all, query_page

CAMPAIGN_SK = "CAMPAIGN"
INVITE_DUE = "INVITE"
REWARD_DUE = "REWARD"
REFUSAL_RETENTION = timedelta(days=400)


class Stale(Exception):
    """The item changed since it was read; read it again and retry."""


class StockBelowGranted(Exception):
    """A tier's new stock is below what it has already granted."""

    def __init__(self, level: int):
        super().__init__(level)
        self.level = level


def _s(value: str) -> dict:
    return {"S": value}


def _n(value: int) -> dict:
    return {"N": str(value)}


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
        }
    )


class CampaignsTable:
    def __init__(self, client, table_name: str):
        self._client = client
        self._table = table_name

    @classmethod
    def from_environment(cls) -> CampaignsTable:
        return cls(aws.dynamodb(), os.environ["TABLE_NAME"])

    # -- campaigns ---------------------------------------------------------------------

    def create_campaign(self, campaign: Campaign) -> None:
        """The campaign and its tiers' stock items, all or nothing."""
        pk = _s(f"CAMPAIGN#{campaign.id}")
        item = {
            "pk": pk,
            "sk": _s(CAMPAIGN_SK),
            "list_pk": _s("CAMPAIGN"),
            "list_sk": _s(f"{to_precise_iso(campaign.created_at)}#{campaign.id}"),
            "campaign_json": _s(campaign_to_json(campaign)),
            "version": _n(campaign.version),
        }
        writes = [{"Put": {"TableName": self._table, "Item": item, "ConditionExpression": "attribute_not_exists(pk)"}}]
        for tier in campaign.tiers:
            tier_item = {"pk": pk, "sk": _s(f"TIER#{tier.level}"), "stock": _n(tier.stock), "granted": _n(0)}
            writes.append({"Put": {"TableName": self._table, "Item": tier_item}})
        self._client.transact_write_items(TransactItems=writes)

    def campaign(self, campaign_id: str) -> Campaign | None:
        item = self._get(campaign_id, CAMPAIGN_SK)
        return campaign_from_json(item["campaign_json"]["S"]) if item else None

    def save_campaign(self, campaign: Campaign, stock_changes: dict[int, int]) -> Campaign:
        """Write a changed campaign if nobody else did since it was read (Stale if they did);
        `stock_changes` (level -> new stock) apply in the same transaction, and a tier's stock
        cannot go below what it has already granted (StockBelowGranted)."""
        saved = replace(campaign, version=campaign.version + 1)
        pk = _s(f"CAMPAIGN#{campaign.id}")
        writes = [
            {
                "Update": {
                    "TableName": self._table,
                    "Key": {"pk": pk, "sk": _s(CAMPAIGN_SK)},
                    "UpdateExpression": "SET campaign_json = :json, version = :new",
                    "ConditionExpression": "version = :old",
                    "ExpressionAttributeValues": {
                        ":json": _s(campaign_to_json(saved)),
                        ":new": _n(saved.version),
                        ":old": _n(campaign.version),
                    },
                }
            }
        ]
        for level, stock in stock_changes.items():
            writes.append(
                {
                    "Update": {
                        "TableName": self._table,
                        "Key": {"pk": pk, "sk": _s(f"TIER#{level}")},
                        "UpdateExpression": "SET stock = :stock, granted = if_not_exists(granted, :zero)",
                        "ConditionExpression": "attribute_not_exists(granted) OR granted <= :stock",
                        "ExpressionAttributeValues": {":stock": _n(stock), ":zero": _n(0)},
                    }
                }
            )
        levels = list(stock_changes)
        try:
            self._client.transact_write_items(TransactItems=writes)
        except ClientError as error:
            if _code(error) != "TransactionCanceledException":
                raise
            reasons = [r.get("Code") for r in error.response.get("CancellationReasons", [])]
            below = [levels[i - 1] for i, code in enumerate(reasons) if i and code == "ConditionalCheckFailed"]
            if below:
                raise StockBelowGranted(below[0]) from error
            raise Stale(campaign.id) from error
        return saved

    def list_campaigns(self, limit: int, cursor: str | None) -> tuple[list[Campaign], str | None]:
        query = {
            "TableName": self._table,
            "IndexName": LIST_INDEX,
            "KeyConditionExpression": "list_pk = :pk",
            "ExpressionAttributeValues": {":pk": _s("CAMPAIGN")},
            "ScanIndexForward": False,
            "Limit": limit,
        }
        items, next_cursor = query_page(self._client, query, cursor)
        return [campaign_from_json(i["campaign_json"]["S"]) for i in items], next_cursor

    def stock(self, campaign_id: str) -> dict[int, tuple[int, int]]:
        """level -> (stock, granted)."""
        page = self._all_with_prefix(campaign_id, "TIER#")
        return {int(i["sk"]["S"][5:]): (int(i["stock"]["N"]), int(i["granted"]["N"])) for i in page}

    # -- participants ------------------------------------------------------------------

    def join(self, participant: Participant) -> Participant:
        """Add a participant, one per visitor: a visitor who already joined gets their
        existing participant back (whatever they typed this time)."""
        pk = _s(f"CAMPAIGN#{participant.campaign_id}")
        writes = [
            {
                "Put": {
                    "TableName": self._table,
                    "Item": {
                        "pk": pk,
                        "sk": _s(f"VISITOR#{participant.visitor_id}"),
                        "participant_id": _s(participant.id),
                    },
                    "ConditionExpression": "attribute_not_exists(pk)",
                }
            },
            {
                "Put": {
                    "TableName": self._table,
                    "Item": _participant_item(participant),
                    "ConditionExpression": "attribute_not_exists(pk)",
                }
            },
        ]
        try:
            self._client.transact_write_items(TransactItems=writes)
            return replace(participant, rank_key=writes[1]["Put"]["Item"]["list_sk"]["S"])
        except ClientError as error:
            if _code(error) != "TransactionCanceledException":
                raise
        existing = self.participant_of_visitor(participant.campaign_id, participant.visitor_id)
        if existing is None:
            raise Stale(participant.id)
        return existing

    def participant(self, campaign_id: str, participant_id: str) -> Participant | None:
        item = self._get(campaign_id, f"PART#{participant_id}")
        return _participant(item) if item else None

    def participant_of_visitor(self, campaign_id: str, visitor_id: str) -> Participant | None:
        link = self._get(campaign_id, f"VISITOR#{visitor_id}")
        return self.participant(campaign_id, link["participant_id"]["S"]) if link else None

    def participants(self, campaign_id: str, limit: int, cursor: str | None) -> tuple[list[Participant], str | None]:
        """Every participant, blocked ones included, in the order of their ids."""
        return self._page(campaign_id, "PART#", limit, cursor, _participant)

    def leaderboard(self, campaign_id: str, limit: int) -> list[Participant]:
        page = self._client.query(
            TableName=self._table,
            IndexName=LIST_INDEX,
            KeyConditionExpression="list_pk = :pk",
            ExpressionAttributeValues={":pk": _s(f"RANK#{campaign_id}")},
            Limit=limit,
        )
        return [_participant(i) for i in page["Items"]]

    def rank(self, campaign_id: str, participant: Participant) -> int:
        """1 + how many participants are ahead (more invites, or as many but sooner)."""
        query = {
            "TableName": self._table,
            "IndexName": LIST_INDEX,
            "KeyConditionExpression": "list_pk = :pk AND list_sk < :mine",
            "ExpressionAttributeValues": {":pk": _s(f"RANK#{campaign_id}"), ":mine": _s(participant.rank_key)},
            "Select": "COUNT",
        }
        ahead = 0
        while True:
            page = self._client.query(**query)
            ahead += page["Count"]
            if "LastEvaluatedKey" not in page:
                return ahead + 1
            query["ExclusiveStartKey"] = page["LastEvaluatedKey"]

    def set_invites(self, participant: Participant, invites: int, at: datetime, extra_writes=()) -> None:
        """Set a participant's credited invites (and leaderboard key) if the count is still
        what was read; `extra_writes` (e.g. the invite's status) go in the same transaction."""
        names = {"#invites": "invites"}
        values = {":new": _n(invites), ":old": _n(participant.invites), ":rank": _s(rank_key(invites, at))}
        update = "SET #invites = :new, list_sk = :rank"  # off the leaderboard while blocked (no list_pk)
        write = {
            "Update": {
                "TableName": self._table,
                "Key": self._key(participant.campaign_id, f"PART#{participant.id}"),
                "UpdateExpression": update,
                "ConditionExpression": "#invites = :old",
                "ExpressionAttributeNames": names,
                "ExpressionAttributeValues": values,
            }
        }
        self._transact([write, *extra_writes], participant.id)

    def set_blocked(self, participant: Participant, blocked: bool, reason: str | None) -> None:
        """Block (off the leaderboard, no invites, no rewards) or unblock a participant."""
        key = self._key(participant.campaign_id, f"PART#{participant.id}")
        if blocked:
            self._client.update_item(
                TableName=self._table,
                Key=key,
                UpdateExpression="SET blocked = :yes, blocked_reason = :reason REMOVE list_pk",
                ExpressionAttributeValues={":yes": {"BOOL": True}, ":reason": _s(reason or "")},
            )
        else:
            self._client.update_item(
                TableName=self._table,
                Key=key,
                UpdateExpression="SET list_pk = :rank_pk REMOVE blocked, blocked_reason",
                ExpressionAttributeValues={":rank_pk": _s(f"RANK#{participant.campaign_id}")},
            )

    def set_poster(self, participant: Participant, key: str, version: int) -> None:
        self._client.update_item(
            TableName=self._table,
            Key=self._key(participant.campaign_id, f"PART#{participant.id}"),
            UpdateExpression="SET poster_key = :key, poster_version = :version",
            ConditionExpression="attribute_exists(pk)",
            ExpressionAttributeValues={":key": _s(key), ":version": _n(version)},
        )

    # -- invites -----------------------------------------------------------------------

    def register_invite(
        self, campaign_id: str, visitor_id: str, referrer_id: str, at: datetime, credit_at: datetime, address: str
    ) -> bool:
        """The invitee's one invite in this campaign; False if they already are one."""
        item = {
            **self._key(campaign_id, f"INVITE#{visitor_id}"),
            "referrer_id": _s(referrer_id),
            "status": _s(PENDING),
            "registered_at": _s(to_precise_iso(at)),
            "credit_at": _s(to_precise_iso(credit_at)),
            "address_hash": _s(address),
            "due_pk": _s(INVITE_DUE),
            "due_at": _s(f"{to_precise_iso(credit_at)}#{campaign_id}#{visitor_id}"),
        }
        try:
            self._client.put_item(TableName=self._table, Item=item, ConditionExpression="attribute_not_exists(pk)")
            return True
        except ClientError as error:
            if _code(error) == "ConditionalCheckFailedException":
                return False
            raise

    def invite(self, campaign_id: str, visitor_id: str) -> dict | None:
        item = self._get(campaign_id, f"INVITE#{visitor_id}")
        return _invite(item) if item else None

    def invites(self, campaign_id: str, limit: int, cursor: str | None) -> tuple[list[dict], str | None]:
        return self._page(campaign_id, "INVITE#", limit, cursor, _invite)

    def invite_status_write(self, campaign_id: str, visitor_id: str, old: str, new: str, at: datetime, reason=None):
        """The transaction part that moves an invite from `old` to `new` status."""
        values = {":old": _s(old), ":new": _s(new), ":at": _s(to_precise_iso(at))}
        update = "SET #status = :new, changed_at = :at REMOVE due_pk, due_at"
        if reason:
            values[":reason"] = _s(reason)
            update = "SET #status = :new, changed_at = :at, reason = :reason REMOVE due_pk, due_at"
        return {
            "Update": {
                "TableName": self._table,
                "Key": self._key(campaign_id, f"INVITE#{visitor_id}"),
                "UpdateExpression": update,
                "ConditionExpression": "#status = :old",
                "ExpressionAttributeNames": {"#status": "status"},
                "ExpressionAttributeValues": values,
            }
        }

    def set_invite_status(self, campaign_id: str, visitor_id: str, old: str, new: str, at: datetime, reason=None):
        write = self.invite_status_write(campaign_id, visitor_id, old, new, at, reason)["Update"]
        try:
            self._client.update_item(**write)
            return True
        except ClientError as error:
            if _code(error) == "ConditionalCheckFailedException":
                return False
            raise

    def due_invites(self, now: datetime) -> Iterator[tuple[str, str]]:
        """(campaign, invitee visitor) of pending invites whose stay time has passed."""
        for due_at in self._due(INVITE_DUE, now):
            _, campaign_id, visitor_id = due_at.split("#")
            yield campaign_id, visitor_id

    # -- rewards -----------------------------------------------------------------------

    def grant_reward(self, campaign: Campaign, participant: Participant, tier: Tier, now: datetime) -> str | None:
        """Create the participant's reward for `tier` once, taking one from its stock in the
        same transaction: GRANTED, OUT_OF_STOCK (recorded too), or None if it existed."""
        reward_id = f"{participant.id}#{tier.level}"
        pk = _s(f"CAMPAIGN#{campaign.id}")
        item = {
            "pk": pk,
            "sk": _s(f"REWARD#{reward_id}"),
            "participant_id": _s(participant.id),
            "nickname": _s(participant.nickname),
            "level": _n(tier.level),
            "reward": _s(tier.reward),
            "invites": _n(tier.invites),
            "status": _s(GRANTED),
            "created_at": _s(to_precise_iso(now)),
            "notify_status": _s("pending" if campaign.reward_webhook_url else "none"),
            "attempts": _n(0),
        }
        if campaign.reward_webhook_url:
            item["due_pk"] = _s(REWARD_DUE)
            item["due_at"] = _s(f"{to_precise_iso(now + timedelta(minutes=2))}#{campaign.id}#{reward_id}")
        put = {"Put": {"TableName": self._table, "Item": item, "ConditionExpression": "attribute_not_exists(pk)"}}
        take = {
            "Update": {
                "TableName": self._table,
                "Key": {"pk": pk, "sk": _s(f"TIER#{tier.level}")},
                "UpdateExpression": "SET granted = granted + :one",
                "ConditionExpression": "granted < stock",
                "ExpressionAttributeValues": {":one": _n(1)},
            }
        }
        try:
            self._client.transact_write_items(TransactItems=[put, take])
            return GRANTED
        except ClientError as error:
            if _code(error) != "TransactionCanceledException":
                raise
            reasons = [r.get("Code") for r in error.response.get("CancellationReasons", [])]
            if reasons and reasons[0] == "ConditionalCheckFailed":
                return None
            if len(reasons) < 2 or reasons[1] != "ConditionalCheckFailed":
                raise
        sold_out = {k: v for k, v in item.items() if k not in ("due_pk", "due_at")}
        sold_out.update(status=_s(OUT_OF_STOCK), notify_status=_s("none"))
        try:
            self._client.put_item(TableName=self._table, Item=sold_out, ConditionExpression="attribute_not_exists(pk)")
            return OUT_OF_STOCK
        except ClientError as error:
            if _code(error) == "ConditionalCheckFailedException":
                return None
            raise

    def reward(self, campaign_id: str, reward_id: str) -> dict | None:
        item = self._get(campaign_id, f"REWARD#{reward_id}")
        return _reward(item) if item else None

    def rewards(self, campaign_id: str, limit: int, cursor: str | None) -> tuple[list[dict], str | None]:
        return self._page(campaign_id, "REWARD#", limit, cursor, _reward)

    def rewards_of(self, campaign_id: str, participant_id: str) -> list[dict]:
        return [_reward(i) for i in self._all_with_prefix(campaign_id, f"REWARD#{participant_id}#")]

    def record_notify(
        self, campaign_id: str, reward_id: str, status: str, at: datetime, error: str | None, retry_at=None
    ) -> None:
        """One notification attempt: delivered, retry (due again at retry_at) or failed."""
        values = {":status": _s(status), ":at": _s(to_precise_iso(at)), ":one": _n(1)}
        sets, removes = ["notify_status = :status", "notified_at = :at"], ["lease_until"]
        if error:
            values[":error"] = _s(error[:500])
            sets.append("last_error = :error")
        if retry_at is not None:
            values[":due_pk"] = _s(REWARD_DUE)
            values[":due_at"] = _s(f"{to_precise_iso(retry_at)}#{campaign_id}#{reward_id}")
            sets += ["due_pk = :due_pk", "due_at = :due_at"]
        else:
            removes += ["due_pk", "due_at"]
        self._client.update_item(
            TableName=self._table,
            Key=self._key(campaign_id, f"REWARD#{reward_id}"),
            UpdateExpression=f"SET {', '.join(sets)} ADD attempts :one REMOVE {', '.join(removes)}",
            ExpressionAttributeValues=values,
        )

    def claim_notify(self, campaign_id: str, reward_id: str, now: datetime, lease: timedelta) -> dict | None:
        """Take a pending notification for `lease` (one sender at a time), or None if it is
        delivered, failed, or another sender holds it."""
        try:
            answer = self._client.update_item(
                TableName=self._table,
                Key=self._key(campaign_id, f"REWARD#{reward_id}"),
                UpdateExpression="SET lease_until = :until",
                ConditionExpression="notify_status IN (:pending, :retry) AND "
                "(attribute_not_exists(lease_until) OR lease_until < :now)",
                ExpressionAttributeValues={
                    ":pending": _s("pending"),
                    ":retry": _s("retry"),
                    ":now": _s(to_precise_iso(now)),
                    ":until": _s(to_precise_iso(now + lease)),
                },
                ReturnValues="ALL_NEW",
            )
            return _reward(answer["Attributes"])
        except ClientError as error:
            if _code(error) == "ConditionalCheckFailedException":
                return None
            raise

    def requeue_notify(self, campaign_id: str, reward_id: str, now: datetime) -> bool:
        """Make a failed notification due again (an operator's resend)."""
        try:
            self._client.update_item(
                TableName=self._table,
                Key=self._key(campaign_id, f"REWARD#{reward_id}"),
                UpdateExpression="SET notify_status = :pending, attempts = :zero, due_pk = :due_pk, due_at = :due_at",
                ConditionExpression="#status = :granted AND notify_status IN (:failed, :delivered)",
                ExpressionAttributeNames={"#status": "status"},
                ExpressionAttributeValues={
                    ":pending": _s("pending"),
                    ":granted": _s(GRANTED),
                    ":zero": _n(0),
                    ":failed": _s("failed"),
                    ":delivered": _s("delivered"),
                    ":due_pk": _s(REWARD_DUE),
                    ":due_at": _s(f"{to_precise_iso(now)}#{campaign_id}#{reward_id}"),
                },
            )
            return True
        except ClientError as error:
            if _code(error) == "ConditionalCheckFailedException":
                return False
            raise

    def due_notifications(self, now: datetime) -> Iterator[tuple[str, str]]:
        for due_at in self._due(REWARD_DUE, now):
            _, campaign_id, reward_id = due_at.split("#", 2)
            yield campaign_id, reward_id

    # -- refusals and hourly limits ----------------------------------------------------

    def record_refusal(self, campaign_id: str, reason: str, at: datetime, **details: str | None) -> None:
        item = {
            **self._key(campaign_id, f"REFUSAL#{to_precise_iso(at)}#{secrets.token_hex(4)}"),
            "reason": _s(reason),
            "at": _s(to_precise_iso(at)),
            "expires_at": _n(int((at + REFUSAL_RETENTION).timestamp())),
        }
        item.update({name: _s(value) for name, value in details.items() if value})
        self._client.put_item(TableName=self._table, Item=item)

    def refusals(self, campaign_id: str, limit: int, cursor: str | None) -> tuple[list[dict], str | None]:
        return self._page(campaign_id, "REFUSAL#", limit, cursor, _refusal, newest_first=True)

    def within_limit(self, campaign_id: str, kind: str, key: str, hour: str, limit: int, now: datetime) -> bool:
        """Count one more of `kind` for `key` this hour, unless it already reached `limit`."""
        try:
            self._client.update_item(
                TableName=self._table,
                Key={"pk": _s(f"RATE#{campaign_id}#{kind}#{key}#{hour}"), "sk": _s("RATE")},
                UpdateExpression="ADD n :one SET expires_at = :expires",
                ConditionExpression="attribute_not_exists(n) OR n < :limit",
                ExpressionAttributeValues={
                    ":one": _n(1),
                    ":limit": _n(limit),
                    ":expires": _n(int((now + timedelta(hours=2)).timestamp())),
                },
            )
            return True
        except ClientError as error:
            if _code(error) == "ConditionalCheckFailedException":
                return False
            raise

    # -- plumbing ----------------------------------------------------------------------

    def _transact(self, writes: list[dict], what: str) -> None:
        try:
            self._client.transact_write_items(TransactItems=writes)
        except ClientError as error:
            if _code(error) == "TransactionCanceledException":
                raise Stale(what) from error
            raise

    def _due(self, partition: str, now: datetime) -> Iterator[str]:
        query = {
            "TableName": self._table,
            "IndexName": DUE_INDEX,
            "KeyConditionExpression": "due_pk = :pk AND due_at <= :now",
            "ExpressionAttributeValues": {":pk": _s(partition), ":now": _s(to_precise_iso(now) + "~")},
            "ProjectionExpression": "due_at",
        }
        return (item["due_at"]["S"] for item in query_all(self._client, query))

    def _get(self, campaign_id: str, sk: str) -> dict | None:
        key = self._key(campaign_id, sk)
        return self._client.get_item(TableName=self._table, Key=key, ConsistentRead=True).get("Item")

    def _prefix_query(self, campaign_id: str, prefix: str) -> dict:
        return {
            "TableName": self._table,
            "KeyConditionExpression": "pk = :pk AND begins_with(sk, :prefix)",
            "ExpressionAttributeValues": {":pk": _s(f"CAMPAIGN#{campaign_id}"), ":prefix": _s(prefix)},
        }

    def _all_with_prefix(self, campaign_id: str, prefix: str) -> list[dict]:
        return list(query_all(self._client, {**self._prefix_query(campaign_id, prefix), "ConsistentRead": True}))

    def _page(self, campaign_id: str, prefix: str, limit: int, cursor: str | None, convert, newest_first=False):
        query = {**self._prefix_query(campaign_id, prefix), "Limit": limit, "ScanIndexForward": not newest_first}
        items, next_cursor = query_page(self._client, query, cursor, TABLE_KEYS)
        return [convert(i) for i in items], next_cursor

    @staticmethod
    def _key(campaign_id: str, sk: str) -> dict:
        return {"pk": _s(f"CAMPAIGN#{campaign_id}"), "sk": _s(sk)}


def _participant_item(p: Participant) -> dict:
    item = {
        "pk": _s(f"CAMPAIGN#{p.campaign_id}"),
        "sk": _s(f"PART#{p.id}"),
        "visitor_id": _s(p.visitor_id),
        "nickname": _s(p.nickname),
        "joined_at": _s(to_precise_iso(p.joined_at)),
        "invites": _n(p.invites),
        "poster_version": _n(p.poster_version),
        "list_pk": _s(f"RANK#{p.campaign_id}"),
        "list_sk": _s(rank_key(p.invites, p.joined_at)),
    }
    for name in ("referred_by", "avatar_key", "poster_key"):
        if getattr(p, name):
            item[name] = _s(getattr(p, name))
    return item


def _participant(item: dict) -> Participant:
    def text(name):
        return item[name]["S"] if name in item else None

    return Participant(
        id=item["sk"]["S"].removeprefix("PART#"),
        campaign_id=item["pk"]["S"].removeprefix("CAMPAIGN#"),
        visitor_id=item["visitor_id"]["S"],
        nickname=item["nickname"]["S"],
        joined_at=from_iso(item["joined_at"]["S"]),
        invites=int(item["invites"]["N"]),
        referred_by=text("referred_by"),
        avatar_key=text("avatar_key"),
        blocked=item.get("blocked", {}).get("BOOL", False),
        blocked_reason=text("blocked_reason"),
        poster_key=text("poster_key"),
        poster_version=int(item.get("poster_version", {"N": "0"})["N"]),
        rank_key=text("list_sk") or "",
    )


def _plain(item: dict, prefix: str) -> dict:
    out = {}
    for name, value in item.items():
        if name in ("pk", "due_pk", "due_at", "expires_at", "lease_until"):
            continue
        ((kind, raw),) = value.items()
        out[name] = int(raw) if kind == "N" else raw
    out["id"] = out.pop("sk").removeprefix(prefix)
    return out


def _invite(item: dict) -> dict:
    invite = _plain(item, "INVITE#")
    invite["invitee_visitor_id"] = invite.pop("id")
    return invite


def _reward(item: dict) -> dict:
    return _plain(item, "REWARD#")


def _refusal(item: dict) -> dict:
    return _plain(item, "REFUSAL#")


def _code(error: ClientError) -> str:
    return error.response.get("Error", {}).get("Code", "")
