"""Invites: registered once per invitee, credited to the referrer (the count and the invite's
status in one transaction), revoked; the due queue of invites waiting for their stay time."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import Any

from botocore.exceptions import ClientError

from siyu.campaigns.records import Invite
from siyu.campaigns.repository.base import TableBase
from siyu.campaigns.rules import CREDITED, PENDING, REVOKED, Participant, rank_key
from siyu.core.clock import to_precise_iso
from siyu.core.errors import StaleVersion
from siyu.storage.codec import TRANSACTION_CANCELED, Item, condition_failed, error_code, n, s, text


class InviteRecords(TableBase):
    def register_invite(
        self, campaign_id: str, visitor_id: str, referrer_id: str, at: datetime, credit_at: datetime, address: str
    ) -> bool:
        """The invitee's one invite in this campaign; False if they already are one."""
        item = {
            **self._key(campaign_id, f"INVITE#{visitor_id}"),
            "referrer_id": s(referrer_id),
            "status": s(PENDING),
            "registered_at": s(to_precise_iso(at)),
            "credit_at": s(to_precise_iso(credit_at)),
            "address_hash": s(address),
            **self._invite_queue.schedule(credit_at, f"{to_precise_iso(credit_at)}#{campaign_id}#{visitor_id}"),
        }
        try:
            self._client.put_item(TableName=self._table, Item=item, ConditionExpression="attribute_not_exists(pk)")
            return True
        except ClientError as error:
            if condition_failed(error):
                return False
            raise

    def invite(self, campaign_id: str, visitor_id: str) -> Invite | None:
        item = self._get(campaign_id, f"INVITE#{visitor_id}")
        return invite_of(item) if item else None

    def invites(self, campaign_id: str, limit: int, cursor: str | None) -> tuple[list[Invite], str | None]:
        return self._page(campaign_id, "INVITE#", limit, cursor, invite_of)

    def revoke_pending_invite(self, campaign_id: str, visitor_id: str, at: datetime, reason: str) -> bool:
        """A pending invite no longer counts; False if it is no longer pending."""
        write = self._status_update(campaign_id, visitor_id, PENDING, REVOKED, at, reason)
        try:
            self._client.update_item(**write)
            return True
        except ClientError as error:
            if condition_failed(error):
                return False
            raise

    def credit_invite(self, invite: Invite, referrer: Participant, at: datetime) -> None:
        """Count a pending invite for its referrer: one more invite (and a new leaderboard key)
        and the invite credited, together; StaleVersion if either changed since it was read."""
        self._settle(invite, referrer, referrer.invites + 1, PENDING, CREDITED, at, None)

    def revoke_credited_invite(self, invite: Invite, referrer: Participant, at: datetime, reason: str) -> None:
        """A credited invite no longer counts: one invite fewer for its referrer, the invite
        revoked, together; StaleVersion if either changed since it was read."""
        self._settle(invite, referrer, max(0, referrer.invites - 1), CREDITED, REVOKED, at, reason)

    def due_invites(self, now: datetime) -> Iterator[tuple[str, str]]:
        """(campaign, invitee visitor) of pending invites whose stay time has passed."""
        for item in self._invite_queue.due(now, projection="due_at", upper="~"):
            _, campaign_id, visitor_id = item["due_at"]["S"].split("#")
            yield campaign_id, visitor_id

    def _settle(
        self,
        invite: Invite,
        referrer: Participant,
        invites: int,
        old: str,
        new: str,
        at: datetime,
        reason: str | None,
    ) -> None:
        count = {
            "TableName": self._table,
            "Key": self._key(referrer.campaign_id, f"PART#{referrer.id}"),
            # a blocked participant has no list_pk: the new key keeps them off the leaderboard
            "UpdateExpression": "SET #invites = :new, list_sk = :rank",
            "ConditionExpression": "#invites = :old",
            "ExpressionAttributeNames": {"#invites": "invites"},
            "ExpressionAttributeValues": {
                ":new": n(invites),
                ":old": n(referrer.invites),
                ":rank": s(rank_key(invites, at)),
            },
        }
        status = self._status_update(referrer.campaign_id, invite.invitee_visitor_id, old, new, at, reason)
        try:
            writes: list[Any] = [{"Update": count}, {"Update": status}]
            self._client.transact_write_items(TransactItems=writes)
        except ClientError as error:
            if error_code(error) == TRANSACTION_CANCELED:
                raise StaleVersion(referrer.id) from error
            raise

    def _status_update(
        self, campaign_id: str, visitor_id: str, old: str, new: str, at: datetime, reason: str | None
    ) -> dict[str, Any]:
        """Moves an invite from `old` to `new` status (out of the due queue)."""
        values = {":old": s(old), ":new": s(new), ":at": s(to_precise_iso(at))}
        update = "SET #status = :new, changed_at = :at REMOVE due_pk, due_at"
        if reason:
            values[":reason"] = s(reason)
            update = "SET #status = :new, changed_at = :at, reason = :reason REMOVE due_pk, due_at"
        return {
            "TableName": self._table,
            "Key": self._key(campaign_id, f"INVITE#{visitor_id}"),
            "UpdateExpression": update,
            "ConditionExpression": "#status = :old",
            "ExpressionAttributeNames": {"#status": "status"},
            "ExpressionAttributeValues": values,
        }


def invite_of(item: Item) -> Invite:
    return Invite(
        invitee_visitor_id=item["sk"]["S"].removeprefix("INVITE#"),
        referrer_id=item["referrer_id"]["S"],
        status=item["status"]["S"],
        registered_at=text(item, "registered_at"),
        credit_at=text(item, "credit_at"),
        address_hash=text(item, "address_hash"),
        changed_at=text(item, "changed_at"),
        reason=text(item, "reason"),
    )
