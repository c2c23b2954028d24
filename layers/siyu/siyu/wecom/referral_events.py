"""Adds and deletes through a campaign participant's own contact way (state ``sc...``): the follow is
recorded like any other, and the campaign worker is told (its queue), with whether the customer is
new to the brand. That is decided here, before this add is recorded: a follow siyu recorded earlier
(of any guide, deleted ones included), or an entry of WeCom's follow list (``externalcontact/get``)
for another guide with an earlier ``createtime``, means the customer was the brand's already."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Protocol

from siyu.core.clock import utcnow
from siyu.wecom.client import WecomClient
from siyu.wecom.events import ContactChange
from siyu.wecom.records import REFERRAL_PREFIX, Follow, ReferralState


class ReferralSink(Protocol):
    """The campaign worker's queue (``siyu.campaigns.referrals.ReferralQueue``, wired by the function)."""

    def hand_over_add(
        self, campaign_id: str, participant_id: str, external_user_id: str, user_id: str, at: datetime, new: bool
    ) -> None: ...

    def hand_over_delete(
        self, campaign_id: str, participant_id: str, external_user_id: str, user_id: str, at: datetime
    ) -> None: ...


class ReferralStateBook(Protocol):
    def referral_state(self, state: str) -> ReferralState | None: ...


class FollowBook(Protocol):
    def add_follow(self, external_user_id: str, follow: Follow) -> bool: ...

    def follows(self, external_user_id: str) -> list[Follow]: ...


def is_referral(state: str | None) -> bool:
    return bool(state) and str(state).startswith(REFERRAL_PREFIX)


@dataclass
class ReferralEvents:
    states: ReferralStateBook
    contacts: FollowBook
    sink: ReferralSink
    client: Callable[[], WecomClient]

    def added(self, event: ContactChange) -> str:
        at = _instant(event.at)
        referral = self.states.referral_state(event.state or "")
        new = self.new_to_brand(event, at) if referral is not None else False
        self.contacts.add_follow(event.external_user_id, Follow(user_id=event.user_id, added_at=at, state=event.state))
        if referral is None:
            return "contact added (a campaign state siyu does not know)"
        self.sink.hand_over_add(
            referral.campaign_id, referral.participant_id, event.external_user_id, event.user_id, at, new
        )
        return f"contact added through a poster of {referral.campaign_id}" + ("" if new else " (not new to the brand)")

    def deleted(self, event: ContactChange, follow: Follow) -> str:
        referral = self.states.referral_state(follow.state or "")
        if referral is None:
            return "contact deleted (a campaign state siyu does not know)"
        at = _instant(event.at)
        self.sink.hand_over_delete(
            referral.campaign_id, referral.participant_id, event.external_user_id, follow.user_id, at
        )
        return f"contact deleted: told campaign {referral.campaign_id}"

    def new_to_brand(self, event: ContactChange, at: datetime) -> bool:
        for follow in self.contacts.follows(event.external_user_id):
            this_add = follow.user_id == event.user_id and follow.added_at == at  # recorded by a failed try
            if not this_add and follow.added_at < at:
                return False
        answer = self.client().get("/cgi-bin/externalcontact/get", {"external_userid": event.external_user_id})
        for entry in answer.get("follow_user", []) or []:
            if not isinstance(entry, dict) or str(entry.get("userid", "")) == event.user_id:
                continue  # this very add (WeCom keeps one follow per guide)
            if int(entry.get("createtime", 0) or 0) < int(at.timestamp()):
                return False
        return True


def _instant(epoch: int) -> datetime:
    return datetime.fromtimestamp(epoch, UTC) if epoch > 0 else utcnow()
