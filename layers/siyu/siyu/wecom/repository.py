"""The WeCom connection's own items in the table, and the event queue.

    pk = WECOM              sk = CONNECTION   the connected corp and app (nothing secret)
    pk = WECOM              sk = TOKEN        the cached access token, its expiry, the refresh lease
    pk = WECOM#SEEN#<hash>  sk = SEEN         a callback's (signature, nonce), remembered for a day
    pk = WECOM#STATE#<st>   sk = STATE        which code, target and channel a way's state stands for
                                              (kind "referral": which campaign and participant)
    pk = WECOM#EVENT#<key>  sk = EVENT        one callback event: being processed (leased) or done

Remembered items carry ``expires_at`` (epoch seconds): the table's TTL removes them.
"""

from __future__ import annotations

import os
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from botocore.exceptions import ClientError

from siyu.core.clock import from_iso, to_precise_iso
from siyu.storage import aws
from siyu.storage.codec import Item, condition_failed, n, number, s, text
from siyu.wecom.records import Connection, ReferralState, WayState

if TYPE_CHECKING:  # the stubs are a development dependency, not in the layer
    from siyu.storage.client_types import DynamoDBClient, SQSClient

WECOM_PK = "WECOM"
SEEN_FOR = timedelta(days=1)
EVENTS_KEPT_FOR = timedelta(days=30)
REFERRAL_KIND = "referral"


class WecomTable:
    def __init__(self, client: DynamoDBClient, table_name: str):
        self._client = client
        self._table = table_name

    @classmethod
    def from_environment(cls) -> WecomTable:
        return cls(aws.dynamodb(), os.environ["TABLE_NAME"])

    # -- the connection ------------------------------------------------------------------

    def connection(self) -> Connection | None:
        item = self._get(WECOM_PK, "CONNECTION")
        if item is None or "corp_id" not in item:
            return None
        checks = tuple((c["M"]["name"]["S"], c["M"]["result"]["S"]) for c in item.get("checks", {}).get("L", []))
        return Connection(
            corp_id=item["corp_id"]["S"],
            agent_id=item["agent_id"]["S"],
            connected_at=from_iso(item["connected_at"]["S"]),
            checks=checks,
            version=number(item, "version", 1),
        )

    def save_connection(self, connection: Connection) -> None:
        checks = [{"M": {"name": s(name), "result": s(result)}} for name, result in connection.checks]
        self._client.put_item(
            TableName=self._table,
            Item={
                "pk": s(WECOM_PK),
                "sk": s("CONNECTION"),
                "corp_id": s(connection.corp_id),
                "agent_id": s(connection.agent_id),
                "connected_at": s(to_precise_iso(connection.connected_at)),
                "checks": {"L": checks},
                "version": n(connection.version),
            },
        )
        self.forget_token()  # a token belongs to one corp and secret

    def drop_connection(self) -> None:
        self._client.delete_item(TableName=self._table, Key=_key(WECOM_PK, "CONNECTION"))
        self.forget_token()

    # -- the access token (one refresh at a time, across containers) ---------------------

    def cached_token(self) -> tuple[str, datetime] | None:
        item = self._get(WECOM_PK, "TOKEN", consistent=True)
        token = text(item, "token") if item else None
        if item is None or token is None:
            return None
        return token, from_iso(item["token_expires_at"]["S"])

    def claim_refresh(self, owner: str, now: datetime, lease: timedelta, needed_until: datetime) -> bool:
        """Take the refresh lease: true for exactly one caller, and only while no stored token is
        good until `needed_until` (a caller that saw no token before another stored one is refused,
        and reads that one instead)."""
        try:
            self._client.update_item(
                TableName=self._table,
                Key=_key(WECOM_PK, "TOKEN"),
                UpdateExpression="SET lease_owner = :owner, lease_until = :until",
                ConditionExpression="(attribute_not_exists(lease_until) OR lease_until < :now) AND "
                "(attribute_not_exists(token_expires_at) OR token_expires_at < :needed)",
                ExpressionAttributeValues={
                    ":owner": s(owner),
                    ":until": s(to_precise_iso(now + lease)),
                    ":now": s(to_precise_iso(now)),
                    ":needed": s(to_precise_iso(needed_until)),
                },
            )
        except ClientError as error:
            if condition_failed(error):
                return False
            raise
        return True

    def release_refresh(self, owner: str) -> None:
        """The refresh failed: let the next caller try at once (if the lease is still ours)."""
        try:
            self._client.update_item(
                TableName=self._table,
                Key=_key(WECOM_PK, "TOKEN"),
                UpdateExpression="REMOVE lease_owner, lease_until",
                ConditionExpression="lease_owner = :owner",
                ExpressionAttributeValues={":owner": s(owner)},
            )
        except ClientError as error:
            if not condition_failed(error):
                raise

    def store_token(self, token: str, expires_at: datetime, owner: str) -> None:
        """Store the fresh token and drop the lease (if it is still ours; a late refresher's token is
        as valid as anyone's, so it is stored either way)."""
        self._client.put_item(
            TableName=self._table,
            Item={
                "pk": s(WECOM_PK),
                "sk": s("TOKEN"),
                "token": s(token),
                "token_expires_at": s(to_precise_iso(expires_at)),
                "refreshed_by": s(owner),
            },
        )

    def drop_token(self, token: str) -> None:
        """WeCom said `token` is invalid or expired: forget it, unless someone already replaced it."""
        try:
            self._client.delete_item(
                TableName=self._table,
                Key=_key(WECOM_PK, "TOKEN"),
                ConditionExpression="#t = :token AND attribute_not_exists(lease_until)",
                ExpressionAttributeNames={"#t": "token"},
                ExpressionAttributeValues={":token": s(token)},
            )
        except ClientError as error:
            if not condition_failed(error):
                raise

    def forget_token(self) -> None:
        self._client.delete_item(TableName=self._table, Key=_key(WECOM_PK, "TOKEN"))

    # -- callbacks: replay memory and event processing ------------------------------------

    def remember_callback(self, fingerprint: str, now: datetime) -> bool:
        """Remember a callback's (signature, nonce) for a day; false if it was seen already."""
        try:
            self._client.put_item(
                TableName=self._table,
                Item={
                    "pk": s(f"WECOM#SEEN#{fingerprint}"),
                    "sk": s("SEEN"),
                    "expires_at": n(int((now + SEEN_FOR).timestamp())),
                },
                ConditionExpression="attribute_not_exists(pk)",
            )
        except ClientError as error:
            if condition_failed(error):
                return False
            raise
        return True

    def forget_callback(self, fingerprint: str) -> None:
        """The callback could not be queued: let WeCom's retry through."""
        self._client.delete_item(TableName=self._table, Key=_key(f"WECOM#SEEN#{fingerprint}", "SEEN"))

    def claim_event(self, key: str, now: datetime, lease: timedelta) -> bool:
        """Start processing one event: false if it is done, or being processed under a live lease."""
        try:
            self._client.put_item(
                TableName=self._table,
                Item={
                    "pk": s(f"WECOM#EVENT#{key}"),
                    "sk": s("EVENT"),
                    "status": s("processing"),
                    "lease_until": s(to_precise_iso(now + lease)),
                    "expires_at": n(int((now + EVENTS_KEPT_FOR).timestamp())),
                },
                ConditionExpression="attribute_not_exists(pk) OR (#st = :processing AND lease_until < :now)",
                ExpressionAttributeNames={"#st": "status"},
                ExpressionAttributeValues={":processing": s("processing"), ":now": s(to_precise_iso(now))},
            )
        except ClientError as error:
            if condition_failed(error):
                return False
            raise
        return True

    def finish_event(self, key: str, summary: str) -> None:
        self._client.update_item(
            TableName=self._table,
            Key=_key(f"WECOM#EVENT#{key}", "EVENT"),
            UpdateExpression="SET #st = :done, summary = :summary REMOVE lease_until",
            ExpressionAttributeNames={"#st": "status"},
            ExpressionAttributeValues={":done": s("done"), ":summary": s(summary[:500])},
        )

    def release_event(self, key: str) -> None:
        """Processing failed: the event may be tried again at once (SQS redelivers it)."""
        self._client.delete_item(TableName=self._table, Key=_key(f"WECOM#EVENT#{key}", "EVENT"))

    # -- way states ----------------------------------------------------------------------

    def remember_state(self, way: WayState) -> None:
        self._client.put_item(
            TableName=self._table,
            Item={
                "pk": s(f"WECOM#STATE#{way.state}"),
                "sk": s("STATE"),
                "code_id": s(way.code_id),
                "target_id": s(way.target_id),
                "kind": s(way.kind),
                **({"channel_id": s(way.channel_id)} if way.channel_id else {}),
            },
        )

    def remember_referral_state(self, referral: ReferralState) -> None:
        self._client.put_item(
            TableName=self._table,
            Item={
                "pk": s(f"WECOM#STATE#{referral.state}"),
                "sk": s("STATE"),
                "kind": s(REFERRAL_KIND),
                "campaign_id": s(referral.campaign_id),
                "participant_id": s(referral.participant_id),
            },
        )

    def referral_state(self, state: str) -> ReferralState | None:
        item = self._get(f"WECOM#STATE#{state}", "STATE")
        if item is None or text(item, "kind") != REFERRAL_KIND:
            return None
        return ReferralState(state, item["campaign_id"]["S"], item["participant_id"]["S"])

    def state(self, state: str) -> WayState | None:
        item = self._get(f"WECOM#STATE#{state}", "STATE")
        if item is None or text(item, "kind") == REFERRAL_KIND:
            return None
        return WayState(
            state=state,
            code_id=item["code_id"]["S"],
            target_id=item["target_id"]["S"],
            channel_id=text(item, "channel_id"),
            kind=item["kind"]["S"],
        )

    def _get(self, pk: str, sk: str, consistent: bool = False) -> Item | None:
        answer = self._client.get_item(TableName=self._table, Key=_key(pk, sk), ConsistentRead=consistent)
        return answer.get("Item")


class EventQueue:
    """Verified callback events on their way to the worker (SQS)."""

    def __init__(self, client: SQSClient, queue_url: str):
        self._client = client
        self._url = queue_url

    @classmethod
    def from_environment(cls) -> EventQueue:
        return cls(aws.sqs(), os.environ["WECOM_QUEUE_URL"])

    def send(self, plaintext: bytes) -> None:
        self._client.send_message(QueueUrl=self._url, MessageBody=plaintext.decode("utf-8"))


def _key(pk: str, sk: str) -> Item:
    return {"pk": s(pk), "sk": s(sk)}
