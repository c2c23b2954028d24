"""Customer layering's records: questionnaires (问卷) and their responses, a visitor's profile (tags
with their sources, and facts), segments (a rule over tags and facts) and tracked links. Frozen
dataclasses, no I/O."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

SINGLE, MULTI, TEXT, PHONE = "single", "multi", "text", "phone"
KINDS = (SINGLE, MULTI, TEXT, PHONE)

# Where a tag came from (the tag library lists each tag with its sources).
SOURCE_QUESTIONNAIRE = "questionnaire"
SOURCE_PICK = "pick"  # a grouped code's option, picked on the scan page
SOURCE_CODE = "code"
SOURCE_CHANNEL = "channel"
SOURCE_WECOM = "wecom"  # a corp tag in WeCom


@dataclass(frozen=True)
class Option:
    label: str
    tag: str | None = None  # the codebook's short tag (密码本); None: the option tags nothing


@dataclass(frozen=True)
class Question:
    text: str
    kind: str
    options: tuple[Option, ...] = ()
    required: bool = True


@dataclass(frozen=True)
class Questionnaire:
    id: str
    title: str
    questions: tuple[Question, ...]
    created_at: datetime
    intro: str | None = None
    thanks: str = "提交成功，谢谢您的填写！"
    thanks_link: str | None = None
    signup: bool = False  # an activity sign-up (报名): its respondents count in 兴趣率


@dataclass(frozen=True)
class Answer:
    """One question's answer: the picked labels (single: one; multi: any) or the text."""

    question: int
    labels: tuple[str, ...] = ()
    text: str | None = None


@dataclass(frozen=True)
class Response:
    questionnaire_id: str
    visitor_id: str
    answers: tuple[Answer, ...]
    tags: frozenset[str]
    answered_at: datetime
    phone: str | None = None
    contact: str | None = None  # the WeCom external_userid, when the link carried a contact token
    group: str | None = None  # the customer group (chat id) a tracked link brought them from


@dataclass(frozen=True)
class Contact:
    """The WeCom contact a visitor is known to be (from a signed contact token)."""

    external_user_id: str
    user_id: str  # the guide (follow user) the token was made for


@dataclass(frozen=True)
class Profile:
    """What siyu knows of one visitor for segments: tags with their sources, and facts."""

    visitor_id: str
    tags: dict[str, str] = field(default_factory=dict)  # tag -> source ("questionnaire:<id>", "pick:<code>")
    codes: frozenset[str] = frozenset()
    channels: frozenset[str] = frozenset()
    questionnaires: frozenset[str] = frozenset()
    contact: Contact | None = None
    added_at: datetime | None = None  # added a guide (WeCom)
    joined_at: datetime | None = None  # joined a customer group (WeCom)
    left_at: datetime | None = None  # left every group or deleted the guide
    segments: frozenset[str] = frozenset()  # the segments this visitor is a member of
    updated_at: datetime | None = None
    version: int = 0


@dataclass(frozen=True)
class Rule:
    """A segment's rule. Every given condition must hold: all of `all`, at least one of `any`, none
    of `none`; came by one of `codes` / `channels`; answered one of `questionnaires`; added a guide or
    joined a group within the last N days; `stayed` (still a contact and in a group: True) or `left`."""

    all: tuple[str, ...] = ()
    any: tuple[str, ...] = ()
    none: tuple[str, ...] = ()
    codes: tuple[str, ...] = ()
    channels: tuple[str, ...] = ()
    questionnaires: tuple[str, ...] = ()
    added_within_days: int | None = None
    joined_within_days: int | None = None
    stayed: bool | None = None
    left: bool | None = None

    @property
    def time_bound(self) -> bool:
        """Whether membership can change by time passing alone (re-checked daily)."""
        return self.added_within_days is not None or self.joined_within_days is not None


@dataclass(frozen=True)
class Segment:
    id: str
    name: str
    rule: Rule
    created_at: datetime
    count: int = 0
    backfilled: bool = False  # the one-time pass over existing profiles is done

    @property
    def wecom_tag(self) -> str:
        """The corp tag its WeCom contacts carry while they are members (at most 30 characters, unique
        by the id's start): what an SOP plan's 企业群发 ``wecom_tags`` audience targets the segment by."""
        return f"分群·{self.name}"[:23] + f"#{self.id[:6]}"


@dataclass(frozen=True)
class TrackedLink:
    """A short link (/l/<id>) that counts unique clicks, then redirects at once."""

    id: str
    url: str
    created_at: datetime
    plan_id: str | None = None
    step: str | None = None
    group: str | None = None  # customer group (chat id) the link is posted in
    learning: bool = False  # a learning link: its openers count in the group's 学习率


@dataclass(frozen=True)
class Click:
    """One click as the link saw it (never stored: the dedupe key is a visitor id or a hash)."""

    link_id: str
    day: str
    who: str  # "v:<visitor id>" or "a:<address hash>"
    visitor_id: str | None


@dataclass(frozen=True)
class FlashGroup:
    """A flash group (快闪群) campaign: its customer groups, the group code that fills them, and the
    date range its four rates are read over."""

    id: str
    name: str
    chat_ids: tuple[str, ...]
    first_day: str
    last_day: str
    created_at: datetime
    code_id: str | None = None
    signup_questionnaire_id: str | None = None


@dataclass(frozen=True)
class OwnerActivity:
    """One group owner's day as WeCom's ``groupchat/statistic`` reported it."""

    owner: str
    day: str
    chat_total: int
    member_total: int
    member_has_msg: int
    msg_total: int
    read_at: datetime


@dataclass(frozen=True)
class Order:
    """One order from the brand's signed webhook (idempotent by its id)."""

    order_id: str
    amount_fen: int
    paid_at: datetime
    buyer: str  # external_userid, or "v:<visitor id>", or "p:<phone hash>"
    chat_id: str | None
