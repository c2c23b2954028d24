"""The statistics' and visitors' API contract, and the views built from their records."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field

from siyu.statistics.admin import StatsReport
from siyu.statistics.rules import METRICS
from siyu.statistics.visitors_repository import VisitorRecord


class StatsView(BaseModel):
    code_id: str
    time_zone: str
    from_: str = Field(alias="from")
    to: str
    metrics: list[str] = Field(
        description="views, unique_visitors (per day), new_visitors (first visit ever; add "
        "up over days), wechat / other_browsers (where the page was opened), assigned (new scanners handed to a "
        "target), fallback (pages with nobody available)"
    )
    # Report rows are JSON tables: one column per metric (see siyu.statistics.rules).
    rows: list[dict[str, Any]] = Field(
        description="One per day and dimension (code, channel, option, target) with activity."
    )
    totals: list[dict[str, Any]] = Field(
        description="Per dimension over the range: the metrics that add up across days."
    )


class VisitorCodeView(BaseModel):
    code_id: str
    first_seen: datetime
    last_seen: datetime
    tags: list[str]
    assigned: dict[str, str] = Field(description="pool (main or option id) -> target id")


class VisitorView(BaseModel):
    visitor_id: str
    codes: list[VisitorCodeView]


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


def visitor_view(visitor_id: str, records: Sequence[VisitorRecord]) -> VisitorView:
    return VisitorView(
        visitor_id=visitor_id,
        codes=[
            VisitorCodeView(
                code_id=r.code_id,
                first_seen=r.first_seen,
                last_seen=r.last_seen,
                tags=sorted(r.tags),
                assigned={pool: target_id for pool, (target_id, _) in r.assignments.items()},
            )
            for r in records
        ],
    )
