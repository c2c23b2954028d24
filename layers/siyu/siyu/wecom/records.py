"""The WeCom connection and what WeCom tells us about customers: records, no I/O.

A brand connects one self-built app (自建应用) of its corp. Its app secret, callback token and
EncodingAESKey are ``Credentials``: they live in the secret store only and print as masks.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

# A siyu contact/join way's state: "sy" and 16 id characters (WeCom allows 30).
STATE_PREFIX = "sy"
# A campaign participant's own contact way: "sc" and 16 id characters.
REFERRAL_PREFIX = "sc"


@dataclass(frozen=True)
class Credentials:
    secret: str = field(repr=False)
    token: str = field(repr=False)
    encoding_aes_key: str = field(repr=False)

    def __repr__(self) -> str:  # never the values, wherever a record ends up printed
        return "Credentials(secret=***, token=***, encoding_aes_key=***)"


@dataclass(frozen=True)
class Connection:
    """The connected corp and app (nothing secret), and what the last check found."""

    corp_id: str
    agent_id: str
    connected_at: datetime
    checks: tuple[tuple[str, str], ...] = ()  # (capability, "ok" or what WeCom answered)
    version: int = 1


@dataclass(frozen=True)
class WayState:
    """Where a way's customers come from: the code, its target and the channel (None: direct)."""

    state: str
    code_id: str
    target_id: str
    channel_id: str | None
    kind: str  # "contact" or "join"


@dataclass(frozen=True)
class ReferralState:
    """Whose poster a campaign contact way's state stands for: the campaign and the participant."""

    state: str
    campaign_id: str
    participant_id: str


@dataclass(frozen=True)
class Follow:
    """One guide (member) an external contact added, and how."""

    user_id: str
    added_at: datetime
    state: str | None = None
    code_id: str | None = None
    channel_id: str | None = None
    target_id: str | None = None
    deleted_at: datetime | None = None
    deleted_by: str | None = None  # "customer" (del_follow_user) or "staff" (del_external_contact)


@dataclass(frozen=True)
class Contact:
    external_user_id: str
    follows: tuple[Follow, ...] = ()
    name: str | None = None

    def follow(self, user_id: str) -> Follow | None:
        return next((f for f in self.follows if f.user_id == user_id), None)


@dataclass(frozen=True)
class Member:
    """One customer (external contact) in one customer group."""

    chat_id: str
    external_user_id: str
    joined_at: datetime
    join_scene: int | None = None
    state: str | None = None
    code_id: str | None = None
    channel_id: str | None = None
    target_id: str | None = None
    left_at: datetime | None = None
    quit_scene: int | None = None


@dataclass(frozen=True)
class Chat:
    """A customer group as the last groupchat/get showed it."""

    chat_id: str
    name: str
    owner: str
    member_count: int
    updated_at: datetime
    dismissed: bool = False


# WeCom lets at most 200 people into a customer group by QR (a join way); siyu warns from 180.
JOIN_GROUP_CAP = 200
GROUP_FILLING_AT = 180


@dataclass(frozen=True)
class GroupFact:
    """A customer group a code's join way sent customers into, as the worker last saw it: its size,
    the target whose state they joined through, and whether WeCom made it (not one of the target's
    listed chat ids). `seen_at`: when siyu first saw a customer join it through the code."""

    chat_id: str
    name: str
    member_count: int
    target_id: str
    auto_created: bool
    seen_at: datetime | None = None
    dismissed: bool = False
