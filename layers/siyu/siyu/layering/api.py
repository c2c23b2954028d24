"""Customer layering's API contract: questionnaires, segments, the tag library and a visitor's
tags (pydantic request and response models, and the views built from records)."""

from __future__ import annotations

from dataclasses import asdict
from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, Field, StrictBool

from siyu.api.types import CalendarDay, Text, _Input, view_of
from siyu.layering.admin import VisitorTags
from siyu.layering.flash import RATES, FlashReport
from siyu.layering.model import FlashGroup, Option, Question, Questionnaire, Rule, Segment, TrackedLink
from siyu.layering.rules import rule_document

TagName = Annotated[
    str, Field(pattern=r"^[^\s,;]{1,30}$", description="A tag: 1-30 characters, no spaces, commas or ';'.")
]
HttpUrl = Annotated[
    str,
    Field(
        pattern=r"^https?://[A-Za-z0-9][A-Za-z0-9.-]*(:[0-9]{1,5})?([/?#]\S*)?$",
        max_length=2000,
        description="A full http(s) URL.",
    ),
]
Ids = Annotated[list[Annotated[str, Field(pattern=r"^[A-Za-z0-9_-]{1,64}$")]], Field(max_length=50)]


class OptionInput(_Input):
    label: str = Field(min_length=1, max_length=60, description="What the respondent taps (the form's value).")
    tag: TagName | None = Field(None, description="The codebook's tag this answer gives (密码本), e.g. `3` or `D`.")


class QuestionInput(_Input):
    text: str = Field(min_length=1, max_length=200)
    kind: Literal["single", "multi", "text", "phone"] = Field(
        description="single / multi choice (options), short text, or a phone number (with a consent checkbox)."
    )
    options: list[OptionInput] = Field(default_factory=list, max_length=30)
    required: StrictBool = True


class QuestionnaireCreate(_Input):
    title: Text
    questions: list[QuestionInput] = Field(min_length=1, max_length=30)
    intro: str | None = Field(None, max_length=1000)
    thanks: str | None = Field(None, max_length=1000, description="The thank-you text after submitting.")
    thanks_link: HttpUrl | None = Field(None, description="An optional link under the thank-you text.")
    signup: StrictBool = Field(False, description="An activity sign-up (报名): its respondents count in 兴趣率.")

    def questions_records(self) -> list[Question]:
        return [
            Question(q.text, q.kind, tuple(Option(o.label, o.tag) for o in q.options), q.required)
            for q in self.questions
        ]


class QuestionnaireCreated(BaseModel):
    id: str
    url: str = Field(description="The public page (GET shows the form, POST answers it with fields q0, q1, …).")


class OptionCount(BaseModel):
    label: str
    tag: str | None
    count: int


class QuestionView(BaseModel):
    text: str
    kind: str
    required: bool
    answered: int
    options: list[OptionCount]


class QuestionnaireView(BaseModel):
    id: str
    url: str
    title: str
    signup: bool
    created_at: datetime
    responses: int
    questions: list[QuestionView]


class QuestionnaireList(BaseModel):
    items: list[QuestionnaireView]
    next_cursor: str | None


class ContactLinkCreate(_Input):
    external_userid: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_-]+$")
    userid: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.@-]+$")
    days: int = Field(30, ge=1, le=90, description="How long the link stays valid.")


class ContactLink(BaseModel):
    url: str
    expires_in_days: int


class RuleInput(_Input):
    all: list[TagName] = Field(default_factory=list, max_length=50)
    any: list[TagName] = Field(default_factory=list, max_length=50)
    none: list[TagName] = Field(default_factory=list, max_length=50)
    codes: Ids = Field(default_factory=list, description="Came by one of these live codes.")
    channels: Ids = Field(default_factory=list, description="Came by one of these channels.")
    questionnaires: Ids = Field(default_factory=list, description="Answered one of these questionnaires.")
    added_within_days: int | None = Field(None, ge=1, le=3650)
    joined_within_days: int | None = Field(None, ge=1, le=3650)
    stayed: StrictBool | None = Field(None, description="Still a WeCom contact who never left (true), or not (false).")
    left: StrictBool | None = Field(None, description="Deleted the guide or left (true).")

    def record(self) -> Rule:
        return Rule(
            all=tuple(self.all),
            any=tuple(self.any),
            none=tuple(self.none),
            codes=tuple(self.codes),
            channels=tuple(self.channels),
            questionnaires=tuple(self.questionnaires),
            added_within_days=self.added_within_days,
            joined_within_days=self.joined_within_days,
            stayed=self.stayed,
            left=self.left,
        )


class SegmentCreate(_Input):
    name: Text
    rule: RuleInput


class SegmentRouteCreate(_Input):
    segment_id: str = Field(pattern=r"^[a-z0-9]{4,32}$", description="The segment whose members get this pool.")
    label: str | None = Field(None, min_length=1, max_length=40, description="Defaults to the segment's name.")


class SegmentPreview(BaseModel):
    count: int = Field(description="Visitors the rule holds now.")
    looked_at: int = Field(description="Profiles looked at.")
    complete: bool = Field(description="Every profile was looked at (false: more than 20,000; count is of those).")


class SegmentView(BaseModel):
    id: str
    name: str
    rule: dict[str, list[str] | int | bool]
    count: int = Field(description="Members now (kept up to date as profiles change).")
    backfilled: bool = Field(description="The one-time pass over existing visitors is done.")
    wecom_tag: str = Field(
        description="The corp tag members who are WeCom contacts carry: an SOP plan reaches the segment through "
        '企业群发 with target {"kind": "wecom_tags", "tags": [this]}.'
    )
    created_at: datetime


class SegmentList(BaseModel):
    items: list[SegmentView]


class MemberView(BaseModel):
    visitor_id: str
    external_userid: str | None
    tags: list[str]
    updated_at: datetime | None


class MemberList(BaseModel):
    items: list[MemberView]
    next_cursor: str | None


class TagView(BaseModel):
    tag: str
    sources: list[str] = Field(description="questionnaire:<id>, pick:<code>, code, channel, wecom")


class TagList(BaseModel):
    items: list[TagView]


class TagSource(BaseModel):
    tag: str
    source: str


class VisitorCodeView(BaseModel):
    code_id: str
    first_seen: datetime
    last_seen: datetime
    tags: list[str]
    assigned: dict[str, str] = Field(description="pool (main or option id) -> target id")


class VisitorContactView(BaseModel):
    external_userid: str
    userid: str


class VisitorView(BaseModel):
    visitor_id: str
    tags: list[str] = Field(description="Every tag of the visitor (picks, questionnaires, channels, codes).")
    tag_sources: list[TagSource]
    segments: list[str]
    questionnaires: list[str]
    contact: VisitorContactView | None
    codes: list[VisitorCodeView] = Field(description="Codes the scan ledger remembers, with their picks.")


def questionnaire_view(questionnaire: Questionnaire, counts: dict[str, int], url: str) -> QuestionnaireView:
    questions = [
        QuestionView(
            text=q.text,
            kind=q.kind,
            required=q.required,
            answered=counts.get(f"{i}:answered", 0),
            options=[
                OptionCount(label=o.label, tag=o.tag, count=counts.get(f"{i}:{j}", 0)) for j, o in enumerate(q.options)
            ],
        )
        for i, q in enumerate(questionnaire.questions)
    ]
    return QuestionnaireView(
        id=questionnaire.id,
        url=url,
        title=questionnaire.title,
        signup=questionnaire.signup,
        created_at=questionnaire.created_at,
        responses=counts.get("responses", 0),
        questions=questions,
    )


def segment_view(segment: Segment) -> SegmentView:
    return SegmentView(
        id=segment.id,
        name=segment.name,
        rule=rule_document(segment.rule),
        count=max(segment.count, 0),
        backfilled=segment.backfilled,
        wecom_tag=segment.wecom_tag,
        created_at=segment.created_at,
    )


def visitor_view(found: VisitorTags) -> VisitorView:
    profile = found.profile
    contact = profile.contact if profile else None
    return VisitorView(
        visitor_id=found.visitor_id,
        tags=sorted(found.tags),
        tag_sources=[TagSource(tag=t, source=s) for t, s in sorted(found.tags.items())],
        segments=sorted(profile.segments) if profile else [],
        questionnaires=sorted(profile.questionnaires) if profile else [],
        contact=VisitorContactView(external_userid=contact.external_user_id, userid=contact.user_id)
        if contact
        else None,
        codes=[
            VisitorCodeView(
                code_id=r.code_id,
                first_seen=r.first_seen,
                last_seen=r.last_seen,
                tags=sorted(r.tags),
                assigned={pool: target_id for pool, (target_id, _) in r.assignments.items()},
            )
            for r in found.codes
        ],
    )


# -- tracked links, flash groups and their metrics, the order webhook ---------------------------

ChatId = Annotated[str, Field(pattern=r"^[A-Za-z0-9_-]{1,64}$", description="A WeCom customer group's chat id.")]


class LinkCreate(_Input):
    url: HttpUrl = Field(description="Where the short link redirects to (at once, 302).")
    plan_id: str | None = Field(None, max_length=64, description="The SOP plan the link is sent in.")
    step: str | None = Field(None, max_length=64, description="The plan's step.")
    group: ChatId | None = Field(None, description="The customer group it is posted in.")
    learning: StrictBool = Field(False, description="A learning link: its openers count in the group's 学习率.")


class LinkView(BaseModel):
    id: str
    short_url: str
    url: str
    plan_id: str | None
    step: str | None
    group: str | None
    learning: bool
    created_at: datetime


class LinkDay(BaseModel):
    date: str
    clicks: int = Field(description="Every click that was not a bot's.")
    unique: int = Field(description="Distinct visitors (cookie, else address hash) that day.")


class LinkStats(BaseModel):
    link: LinkView
    days: list[LinkDay]


class LinkList(BaseModel):
    items: list[LinkView]
    next_cursor: str | None


class FlashCreate(_Input):
    name: Text
    chat_ids: list[ChatId] = Field(min_length=1, max_length=50)
    first_day: CalendarDay
    last_day: CalendarDay
    code_id: str | None = Field(None, max_length=40, description="The group code that fills the groups (入群率).")
    signup_questionnaire_id: str | None = Field(None, max_length=40, description="The sign-up (兴趣率).")


class FlashView(BaseModel):
    id: str
    name: str
    chat_ids: list[str]
    first_day: str
    last_day: str
    code_id: str | None
    signup_questionnaire_id: str | None
    created_at: datetime


class FlashList(BaseModel):
    items: list[FlashView]
    next_cursor: str | None


class FigureView(BaseModel):
    value: float | None = Field(description="numerator ÷ denominator (4 decimals); null when it cannot be known.")
    numerator: int | None
    denominator: int | None
    source: str = Field(description="Where the figure comes from.")
    reason: str | None = Field(description="Why the value is null.")


class FlashRow(BaseModel):
    date: str | None = Field(description="The day (China time); null: the whole range.")
    scope: Literal["flash", "group"]
    key: str = Field(description="The flash group's id, or the group's chat id.")
    members: int = Field(description="Customers in the group(s) at the end of the day (WeCom members).")
    join_rate: FigureView = Field(description="入群率")
    activity_rate: FigureView = Field(description="活跃率")
    learning_rate: FigureView = Field(description="学习率")
    interest_rate: FigureView = Field(description="兴趣率")
    conversion: FigureView
    orders: int
    revenue_fen: int
    repurchases: int


class FlashMetricsView(BaseModel):
    flash_id: str
    first_day: str
    last_day: str
    rows: list[FlashRow]


class OrderWebhookSecretSet(_Input):
    secret: str = Field(pattern=r"^[\x21-\x7e]{16,200}$", description="16-200 visible characters; never returned.")


class OrderWebhookView(BaseModel):
    configured: bool
    url: str = Field(description="Where the brand posts orders (signed: see the README).")


def link_view(link: TrackedLink, base: str) -> LinkView:
    return view_of(LinkView, link, short_url=f"{base}/l/{link.id}")


def flash_view(flash: FlashGroup) -> FlashView:
    return view_of(FlashView, flash, chat_ids=list(flash.chat_ids))


def flash_metrics_view(report: FlashReport) -> FlashMetricsView:
    rows = [{**row, **{name: FigureView(**asdict(row[name])) for name in RATES}} for row in report.rows]
    return FlashMetricsView.model_validate(
        {"flash_id": report.flash.id, "first_day": report.first_day, "last_day": report.last_day, "rows": rows}
    )
