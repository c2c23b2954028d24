"""Fission (裂变) campaign rules, pure: who may join, which invites count, which tiers a count
reaches, the leaderboard order, and the keys that make "once" hold in storage.

An invite is a visitor who arrives through a participant's referral URL (the campaign's live
code with ``?r=<campaign>.<participant>``). It is registered once per invitee per campaign (the
storage key is the invitee's visitor id), then credited to the referrer at once or after the
campaign's stay time. Refusals carry a reason an operator can read.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from siyu.core.clock import to_precise_iso

REFERRAL_PATTERN = re.compile(r"^([a-z0-9]{6,32})\.([a-z0-9]{6,32})$")
MAX_NICKNAME_CHARS = 64  # code points after cleaning; the poster shortens what does not fit
MAX_TIERS = 10
RANK_CEILING = 10**9

# Why an invite or a join was refused (recorded with every refusal).
NOT_RUNNING = "campaign_not_running"
UNKNOWN_REFERRER = "unknown_referrer"
REFERRER_BLOCKED = "referrer_blocked"
SELF_INVITE = "self_invite"
NOT_NEW = "not_new_to_brand"
ALREADY_INVITED = "already_invited"
REFERRER_RATE = "referrer_rate_limited"
ADDRESS_RATE = "address_rate_limited"
ALREADY_PARTICIPANT = "invitee_already_participant"
WECOM_ADD_REQUIRED = "wecom_add_required"  # a cookie scan of a campaign whose proof is the WeCom add
LEFT_BEFORE_STAY = "left_before_stay"  # the invitee deleted the guide before the stay time
CAMPAIGN_NOT_ON_CODE = "campaign_not_on_code"  # the referral names a campaign of another live code
NOT_A_PAGE_VIEW = "not_a_page_view"  # an <img>, <iframe>, fetch or prefetch, not a top-level navigation
NOT_WECHAT = "not_wechat_browser"  # another browser: the scanner cannot add the group or guide from it
NO_USABLE_TARGET = "no_usable_target"  # the scan showed the fallback ("groups full") or choices page
ADDRESS_CAP = "address_limit_reached"  # the campaign's per-address limit (see address_limit)

CLIENT_LIMITED = "client_over_scan_limit"  # the scan path did not count the scan: its client is over its limit

# What a referral scan showed (the scan path says it in the campaign queue's message); uncounted: the
# client was over the scan path's per-client hourly limit, so its scan moved no counter.
PAGE_TARGET, PAGE_FALLBACK, PAGE_CHOICES, PAGE_UNCOUNTED = "target", "fallback", "choices", "uncounted"
# The default per-address limit per campaign, for cookie proof: at most this many invites from one
# address, and always fewer than the lowest tier needs (see address_limit).
DEFAULT_INVITES_PER_ADDRESS = 3

# What proves an invite: the WeCom add (contact way per participant) or, without WeCom, the cookie.
PROOF_WECOM, PROOF_COOKIE = "wecom_add", "cookie"
WECOM_INVITEE_PREFIX = "wx-"  # an invitee proven by a WeCom add is keyed by their external_userid
# WeCom lets a corp make at most 500,000 contact ways through the API (add_contact_way, 注意:
# "每个企业可通过API最多配置50万个「联系我」"); siyu's referral ways may take a configured share.
CONTACT_WAY_QUOTA = 500_000

PENDING, CREDITED, REVOKED = "pending", "credited", "revoked"
ZWJ, VS16 = "\u200d", "\ufe0f"  # zero-width joiner and emoji presentation selector: parts of an emoji
GRANTED, OUT_OF_STOCK = "granted", "out_of_stock"

# A poster not ready yet (its queue message may have failed): the page asks again once per interval.
WAIT, REQUEST_AGAIN, GAVE_UP = "wait", "request_again", "gave_up"
POSTER_REQUEST_AFTER = timedelta(seconds=30)  # the poster function renders one in a few seconds
MAX_POSTER_REQUESTS = 3  # then the page stops refreshing and says so
POSTER_SLOW_REQUEST_AFTER = timedelta(minutes=10)  # after that, a reload asks again at most this often


@dataclass(frozen=True)
class Tier:
    level: int  # 1, 2, ... in order of invites
    invites: int
    reward: str
    stock: int


@dataclass(frozen=True)
class Rules:
    new_to_brand_only: bool = True
    stay_minutes: int = 0  # credit only after the invitee stayed this long (0: on registering)
    invites_per_referrer_per_hour: int = 30
    invites_per_address_per_hour: int = 10
    joins_per_address_per_hour: int = 20
    # Invites credited from one address over the whole campaign (None: the default, see address_limit).
    invites_per_address: int | None = None


@dataclass(frozen=True)
class Campaign:
    id: str
    name: str
    code_id: str
    starts_at: datetime
    ends_at: datetime
    tiers: tuple[Tier, ...]
    rules: Rules
    created_at: datetime
    poster: dict[str, Any] = field(default_factory=dict)  # PosterLayout fields (see posters.layout_from)
    background_key: str | None = None
    poster_version: int = 1  # bumped when the template changes: posters re-render
    reward_webhook_url: str | None = None
    reward_webhook_secret: str | None = None
    scan_base_url: str = ""  # where the code's scan URL lives (custom domain or the API's)
    wecom_users: tuple[str, ...] = ()  # WeCom members who receive the new contacts (empty: cookie proof)
    privacy_notice: str | None = None  # shown beside the join button (None: privacy.DEFAULT_NOTICE)
    version: int = 1

    @property
    def proof(self) -> str:
        return PROOF_WECOM if self.wecom_users else PROOF_COOKIE

    def running(self, now: datetime) -> bool:
        return self.starts_at <= now < self.ends_at

    def tier(self, level: int) -> Tier | None:
        return next((t for t in self.tiers if t.level == level), None)


@dataclass(frozen=True)
class Participant:
    id: str
    campaign_id: str
    visitor_id: str
    nickname: str
    joined_at: datetime
    invites: int = 0
    referred_by: str | None = None  # the participant whose poster brought them
    avatar_key: str | None = None
    blocked: bool = False
    blocked_reason: str | None = None
    poster_key: str | None = None
    poster_version: int = 0
    rank_key: str = ""  # the leaderboard key as stored (see rank_key())
    way_config_id: str | None = None  # WeCom campaigns: the participant's own contact way
    way_url: str | None = None  # its QR content (what the poster's QR encodes)
    way_state: str | None = None
    external_user_id: str | None = None  # the participant's own WeCom external_userid, once known
    privacy_notice_version: str | None = None  # the notice agreed to by joining (privacy.notice_version)
    poster_requests: int = 0  # poster re-requests by the page (a poster whose queue message was lost)
    poster_requested_at: datetime | None = None


@dataclass(frozen=True)
class ReferralVisit:
    """A scan through a referral URL, as the scan function hands it over. What the request was
    and what it showed decide whether it can be an invite: only a top-level navigation
    (``Sec-Fetch-Dest: document``, ``Sec-Fetch-Mode: navigate`` when the browser sends them) in
    WeChat's browser that showed a usable target. A field the message lacks counts against it."""

    campaign_id: str
    referrer_id: str
    visitor_id: str
    first_visit: bool  # the scan minted the visitor id: no earlier visit to any of the brand's codes
    address_hash: str
    at: datetime
    code_id: str = ""  # the live code scanned
    page: str = ""  # what the scan showed: PAGE_TARGET, PAGE_FALLBACK, PAGE_CHOICES ("": not said)
    in_wechat: bool = False  # WeChat's in-app browser (by its user agent)
    sec_fetch_dest: str | None = None  # the request's Sec-Fetch-Dest (None: the browser sent none)
    sec_fetch_mode: str | None = None  # its Sec-Fetch-Mode


@dataclass(frozen=True)
class WecomAdd:
    """A customer added a guide through a participant's contact way, as the WeCom worker saw it."""

    campaign_id: str
    referrer_id: str
    external_user_id: str
    user_id: str
    at: datetime
    new_to_brand: bool  # no earlier follow of any guide (WeCom's follow list, siyu's records)


def wecom_invitee(external_user_id: str) -> str:
    """The invite key of a customer proven by a WeCom add (one invite per customer per campaign)."""
    return WECOM_INVITEE_PREFIX + external_user_id


def numbered_tiers(tiers: list[tuple[int, str, int]]) -> tuple[Tier, ...]:
    """(invites, reward, stock) in any order -> tiers numbered by invites; duplicates refused."""
    ordered = sorted(tiers, key=lambda t: t[0])
    counts = [t[0] for t in ordered]
    if len(set(counts)) != len(counts):
        raise ValueError("two tiers need the same number of invites; give each tier its own count")
    if not 1 <= len(ordered) <= MAX_TIERS:
        raise ValueError(f"a campaign has 1 to {MAX_TIERS} tiers")
    return tuple(Tier(i + 1, n, reward, stock) for i, (n, reward, stock) in enumerate(ordered))


def invite_refusal(
    campaign: Campaign,
    referrer: Participant | None,
    visit: ReferralVisit,
    invitee: Participant | None,
    invited_before: bool = False,
) -> str | None:
    """Why this referral visit cannot become an invite, or None. (The conditional write of the
    invite still decides a race between two first scans, and the hourly limits are counters.)"""
    if not campaign.running(visit.at):
        return NOT_RUNNING
    if visit.code_id != campaign.code_id:
        return CAMPAIGN_NOT_ON_CODE
    if referrer is None:
        return UNKNOWN_REFERRER
    if referrer.blocked:
        return REFERRER_BLOCKED
    if referrer.visitor_id == visit.visitor_id:
        return SELF_INVITE
    if invitee is not None and invitee.joined_at <= visit.at:
        return ALREADY_PARTICIPANT
    if invited_before:
        return ALREADY_INVITED
    return page_view_refusal(visit) or (NOT_NEW if campaign.rules.new_to_brand_only and not visit.first_visit else None)


def page_view_refusal(visit: ReferralVisit) -> str | None:
    """Why this request cannot be an invitee's visit, or None: a sub-resource load (an ``<img>``
    of the referral URL on any web page makes every visitor's browser a scan), another browser,
    or a page that gave the scanner nothing to add (the fallback, the choices of a grouped code).
    The Sec-Fetch headers are judged only when present: older WebViews send none."""
    if visit.sec_fetch_dest is not None and visit.sec_fetch_dest != "document":
        return NOT_A_PAGE_VIEW
    if visit.sec_fetch_mode is not None and visit.sec_fetch_mode != "navigate":
        return NOT_A_PAGE_VIEW
    if not visit.in_wechat:
        return NOT_WECHAT
    if visit.page == PAGE_UNCOUNTED:
        return CLIENT_LIMITED
    if visit.page != PAGE_TARGET:
        return NO_USABLE_TARGET
    return None


def address_limit(campaign: Campaign) -> int:
    """How many invites one address may bring over the whole campaign: the configured limit, or
    DEFAULT_INVITES_PER_ADDRESS, and never as many as the lowest tier needs, so that one address
    alone never reaches a reward (a lowest tier of 1 invite leaves 0: every cookie invite refused,
    which is why such a campaign is refused at creation; see address_limit_refusal)."""
    lowest = min((t.invites for t in campaign.tiers), default=1)
    configured = campaign.rules.invites_per_address
    wanted = DEFAULT_INVITES_PER_ADDRESS if configured is None else configured
    return max(0, min(wanted, lowest - 1))


def address_limit_refusal(tiers: tuple[Tier, ...], configured: int | None, cookie_proof: bool) -> str | None:
    """Why these tiers and this per-address limit cannot go together, or None (the admin API's 422)."""
    if not cookie_proof or not tiers:
        return None
    lowest = min(t.invites for t in tiers)
    if lowest < 2:
        return (
            "the lowest tier needs 1 invite: with cookie proof one address alone could reach it; "
            "make it need at least 2, or prove invites by WeCom adds (wecom)"
        )
    if configured is not None and configured >= lowest:
        return (
            f"rules.invites_per_address is {configured} but the lowest tier needs {lowest} invites: "
            f"one address alone could reach it; set at most {lowest - 1}"
        )
    return None


def wecom_add_refusal(
    campaign: Campaign, referrer: Participant | None, add: WecomAdd, invited_before: bool
) -> str | None:
    """Why this WeCom add cannot become an invite, or None. First invite wins: a customer who
    came through another participant's poster before is `already_invited`."""
    if not campaign.running(add.at):
        return NOT_RUNNING
    if referrer is None:
        return UNKNOWN_REFERRER
    if referrer.blocked:
        return REFERRER_BLOCKED
    if referrer.external_user_id and referrer.external_user_id == add.external_user_id:
        return SELF_INVITE
    if invited_before:
        return ALREADY_INVITED
    if campaign.rules.new_to_brand_only and not add.new_to_brand:
        return NOT_NEW
    return None


def poster_wait_state(participant: Participant, now: datetime) -> str:
    """Whether a participant whose poster is not ready should have it requested again (REQUEST_AGAIN)
    or wait: POSTER_REQUEST_AFTER since joining or the last request, POSTER_SLOW_REQUEST_AFTER once
    MAX_POSTER_REQUESTS were made."""
    since = participant.poster_requested_at or participant.joined_at
    slow = participant.poster_requests >= MAX_POSTER_REQUESTS
    return REQUEST_AGAIN if now - since >= (POSTER_SLOW_REQUEST_AFTER if slow else POSTER_REQUEST_AFTER) else WAIT


def left_within_stay(campaign: Campaign, registered_at: datetime, left_at: datetime) -> bool:
    """Whether a delete at `left_at` came before the invite's stay time was over."""
    return left_at < credit_at(campaign, registered_at)


def way_limit(share: float) -> int:
    """How many live referral ways siyu may keep: `share` of WeCom's per-corp quota."""
    return max(0, int(CONTACT_WAY_QUOTA * min(max(share, 0.0), 1.0)))


def credit_at(campaign: Campaign, registered_at: datetime) -> datetime:
    return registered_at + timedelta(minutes=campaign.rules.stay_minutes)


def tiers_reached(campaign: Campaign, invites: int) -> list[Tier]:
    return [t for t in campaign.tiers if invites >= t.invites]


def next_tier(campaign: Campaign, invites: int) -> Tier | None:
    return next((t for t in campaign.tiers if invites < t.invites), None)


def rank_key(invites: int, reached_at: datetime) -> str:
    """Leaderboard sort key: more invites first; at equal counts, who got there first."""
    return f"{RANK_CEILING - invites:010d}#{to_precise_iso(reached_at)}"


def hour_of(now: datetime) -> str:
    return f"{now:%Y%m%d%H}"


def referral_param(campaign_id: str, participant_id: str) -> str:
    return f"{campaign_id}.{participant_id}"


def parse_referral(value: str | None) -> tuple[str, str] | None:
    match = REFERRAL_PATTERN.match(value or "")
    return (match.group(1), match.group(2)) if match else None


def is_tag(char: str) -> bool:
    """A tag character: part of a subdivision flag sequence (🏴 England, Scotland, Wales)."""
    return 0xE0020 <= ord(char) <= 0xE007F


def clean_text(text: str) -> str:
    """Drop what must never reach a page or a poster: control and format characters (bidi
    overrides, zero-width spaces), except the joiners and selectors inside emoji; collapse
    whitespace."""
    kept = []
    for char in text:
        if char in (ZWJ, VS16) or is_tag(char):
            kept.append(char)
        elif unicodedata.category(char) in ("Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp"):
            kept.append(" " if char in "\t\n\r" else "")
        else:
            kept.append(char)
    return " ".join("".join(kept).split())


# Letters, symbols and spaces that draw nothing (Hangul fillers, the blank braille pattern, the
# Mongolian vowel separator, the combining grapheme joiner...): a nickname of only these is blank.
BLANK_CHARS = frozenset("\u115f\u1160\u3164\uffa0\u2800\u180e\u034f\u17b4\u17b5\u2062\u2063\u2064")


def is_visible(char: str) -> bool:
    """Whether `char` draws something by itself: a letter, number, punctuation or symbol that is
    not blank (spaces, joiners, selectors, tags and combining marks alone do not)."""
    if char in BLANK_CHARS or is_tag(char) or 0xFE00 <= ord(char) <= 0xFE0F or 0xE0100 <= ord(char) <= 0xE01EF:
        return False
    return unicodedata.category(char)[0] in "LNPS"


def clean_nickname(text: object) -> str:
    """A nickname fit to store and draw, or ValueError saying what to change: text (not a JSON
    object or list) with at least one visible character."""
    if not isinstance(text, str):
        raise ValueError("nickname must be text (a string)")
    cleaned = unicodedata.normalize("NFC", clean_text(text))
    if not any(is_visible(char) for char in cleaned):
        raise ValueError("nickname is empty or invisible; enter the name to print on your poster")
    if len(cleaned) > MAX_NICKNAME_CHARS:
        raise ValueError(f"nickname is {len(cleaned)} characters; at most {MAX_NICKNAME_CHARS}")
    return cleaned
