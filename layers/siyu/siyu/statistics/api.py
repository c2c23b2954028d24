"""The statistics' API contract, and the views built from its records (a visitor's view is in layering/api.py)."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, Field

from siyu.statistics.admin import StatsReport
from siyu.statistics.rules import METRICS

Count = Annotated[int, Field(ge=0)]
Dimension = Literal["code", "channel", "option", "target"]
_VIEWS = "Pages served to people (bots and HEAD requests are not counted)."
_NEW = "Visitors seen in this dimension for the first time ever (these add up over days)."
_WECHAT = "Views inside WeChat/WeCom."
_OTHER = "Views in other browsers (views - wechat)."
_ASSIGNED = "New scanners handed to a target (what caps and per-contact pay count)."
_FALLBACK = "Views that found no available target."
_ADDED = "New contacts through the code's WeCom contact ways (联系我), on the day they added."
_JOINED = "New customer group members through the code's join ways (加入群聊), on the day they joined."
_LEFT = "Group members who left, on the day they left."
_DELETED = "Contacts who deleted the guide or were deleted, on that day."
_RATIO = (
    " A ratio >= 0 rounded to 4 decimals, not capped at 1 (people can add or join through a shared QR "
    "without opening the page); null when the denominator is 0 or null."
)


class StatsRowView(BaseModel):
    """One day of one dimension: the scan figures, then the WeCom funnel after the scan (CSV: the same
    columns in the same order, empty cells for nulls). All from stored counters, never estimated."""

    date: str = Field(description="YYYY-MM-DD in the code's time zone.")
    dimension: Dimension
    key: str = Field(description="The code, channel (`-`: no channel), option or target id.")
    name: str
    views: Count = Field(description=_VIEWS)
    unique_visitors: Count = Field(description="Distinct visitors that day (first-party cookie).")
    new_visitors: Count = Field(description=_NEW)
    wechat: Count = Field(description=_WECHAT)
    other_browsers: Count = Field(description=_OTHER)
    assigned: Count = Field(description=_ASSIGNED)
    fallback: Count = Field(description=_FALLBACK)
    added: Count = Field(description=_ADDED)
    joined: Count = Field(description=_JOINED)
    left: Count = Field(description=_LEFT)
    deleted: Count = Field(description=_DELETED)
    stayed_7d: Count | None = Field(
        description="Of the members who joined this day, those who did not leave within 7 days (this day and the "
        "6 after it): joined minus those who left. Null until the day is at least 7 days before today in the "
        "code's time zone (the cohort is not complete)."
    )
    add_rate: float | None = Field(ge=0, description="added / unique_visitors." + _RATIO)
    join_rate: float | None = Field(ge=0, description="joined / unique_visitors (入群率)." + _RATIO)
    retention_7d: float | None = Field(
        ge=0, description="stayed_7d / joined; null while stayed_7d is null or nobody joined. Rounded to 4 decimals."
    )


class StatsTotalView(BaseModel):
    """One dimension over the whole range: the figures that add up across days, and rates from those sums."""

    dimension: Dimension
    key: str
    name: str
    views: Count = Field(description=_VIEWS)
    new_visitors: Count = Field(description=_NEW + " The range rates' denominator.")
    wechat: Count = Field(description=_WECHAT)
    other_browsers: Count = Field(description=_OTHER)
    assigned: Count = Field(description=_ASSIGNED)
    fallback: Count = Field(description=_FALLBACK)
    added: Count = Field(description=_ADDED)
    joined: Count = Field(description=_JOINED)
    left: Count = Field(description=_LEFT)
    deleted: Count = Field(description=_DELETED)
    stayed_7d: Count | None = Field(
        description="The days' stayed_7d summed; null while any day of the range with a row is not complete."
    )
    add_rate: float | None = Field(
        ge=0,
        description="added / new_visitors (daily unique visitors do not add up over days; someone who first "
        "came before the range is not in the denominator)." + _RATIO,
    )
    join_rate: float | None = Field(ge=0, description="joined / new_visitors (入群率)." + _RATIO)
    retention_7d: float | None = Field(
        ge=0, description="stayed_7d / joined; null while stayed_7d is null or nobody joined. Rounded to 4 decimals."
    )


class StatsView(BaseModel):
    code_id: str
    time_zone: str
    from_: str = Field(alias="from")
    to: str
    metrics: list[str] = Field(
        description="The rows' columns after date, dimension, key and name: views, unique_visitors (per day), "
        "new_visitors (first visit ever; add up over days), wechat / other_browsers (where the page was opened), "
        "assigned (new scanners handed to a target), fallback (pages with nobody available); then the WeCom "
        "funnel: added, joined, left, deleted, stayed_7d; and the rates add_rate, join_rate, retention_7d"
    )
    rows: list[StatsRowView] = Field(
        description="One per day and dimension (code, channel, option, target) with activity."
    )
    totals: list[StatsTotalView] = Field(
        description="Per dimension over the range: the metrics that add up across days, rates recomputed."
    )


def stats_view(report: StatsReport) -> StatsView:
    return StatsView.model_validate(
        {
            "code_id": report.code.id,
            "time_zone": report.code.time_zone,
            "from": report.first_day,
            "to": report.last_day,
            "metrics": list(METRICS),
            "rows": report.rows,
            "totals": report.totals(),
        }
    )
