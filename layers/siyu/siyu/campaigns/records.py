"""What the campaign repository hands the services, and the services the pages and the admin
API: frozen records, never items. Instants that are stored as text stay text here (they are shown
as stored); `to_json()` gives the admin API's payload, with the fields the item has."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any


def _present(fields: dict[str, Any]) -> dict[str, Any]:
    """The fields that hold a value (the attributes the stored item has)."""
    return {name: value for name, value in fields.items() if value is not None}


@dataclass(frozen=True)
class Invite:
    """An invitee's one invite in a campaign (keyed by their visitor id)."""

    invitee_visitor_id: str
    referrer_id: str
    status: str  # pending | credited | revoked
    registered_at: str | None = None
    credit_at: str | None = None
    address_hash: str | None = None
    changed_at: str | None = None
    reason: str | None = None

    def to_json(self) -> dict[str, Any]:
        return _present(asdict(self))


@dataclass(frozen=True)
class Reward:
    """A participant's reward for one tier (id ``<participant>#<level>``) and its notification."""

    id: str
    participant_id: str
    nickname: str
    level: int
    reward: str
    invites: int
    status: str  # granted | out_of_stock
    created_at: str
    notify_status: str  # none | pending | retry | delivered | failed
    attempts: int = 0
    notified_at: str | None = None
    last_error: str | None = None

    def to_json(self) -> dict[str, Any]:
        return _present(asdict(self))


@dataclass(frozen=True)
class Refusal:
    """An invite or join that was refused, and why (the details that were known)."""

    id: str
    reason: str
    at: str
    referrer_id: str | None = None
    visitor_id: str | None = None
    address_hash: str | None = None

    def to_json(self) -> dict[str, Any]:
        return _present(asdict(self))


@dataclass(frozen=True)
class PosterJob:
    """One poster to render (a message on the poster queue)."""

    campaign_id: str
    participant_id: str


@dataclass(frozen=True)
class TierLine:
    level: int
    invites: int
    reward: str


@dataclass(frozen=True)
class NextTier(TierLine):
    """The next tier a participant can reach, and how many more invites it takes."""

    invites_to_go: int


@dataclass(frozen=True)
class RewardLine:
    level: int
    reward: str
    status: str
    granted_at: str


@dataclass(frozen=True)
class LeaderboardEntry:
    rank: int
    nickname: str
    invites: int


@dataclass(frozen=True)
class Progress:
    """What a participant sees: invites, the next tier, rewards, rank, the leaderboard."""

    campaign_id: str
    campaign_name: str
    participant_id: str
    nickname: str
    invites: int
    next_tier: NextTier | None
    tiers: tuple[TierLine, ...]
    rewards: tuple[RewardLine, ...]
    rank: int | None  # within the top `ranked_within` only (None: further down, or blocked)
    ranked_within: int
    blocked: bool
    poster_ready: bool
    referral_url: str | None  # the poster QR's content (None while a WeCom campaign's way is being made)
    leaderboard: tuple[LeaderboardEntry, ...]

    def to_json(self) -> dict[str, Any]:
        """The page's JSON answer (every field, None included)."""
        raw = asdict(self)
        for name in ("tiers", "rewards", "leaderboard"):
            raw[name] = list(raw[name])
        return raw
