"""/admin/codes/{id}/stats: daily scan statistics per code, channel, option and target (JSON, CSV)."""

from typing import Annotated

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.params import Query
from pydantic import BaseModel, Field

from routers.contract import file_response
from services import stats_admin, visitors_table
from siyu.core.errors import NotFound
from siyu.statistics.api import VisitorCodeView, VisitorView
from siyu.statistics.rules import METRICS, to_csv
from siyu.web.visitors import is_visitor_id

router = Router()


# YYYY-MM-DD in the years 2000-2999 (pydantic's date alone would read 0 as 1970-01-01, and year 1 or 9999
# would overflow the default range). An impossible day (2026-02-30) is a 422 like the cross-field rules below.
ISO_DAY = r"^2[0-9]{3}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])$"
Day = Annotated[
    str | None,
    Query(
        pattern=ISO_DAY,
        description="YYYY-MM-DD (years 2000-2999) in the code's time zone; `to` defaults to today, `from` to 6 days "
        "before `to`. An impossible day, `from` after `to`, or more days than the report holds gets 422.",
    ),
]
From = Annotated[str | None, Query(alias="from", pattern=ISO_DAY, description="YYYY-MM-DD; see `to`.")]


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
    rows: list[dict] = Field(description="One per day and dimension (code, channel, option, target) with activity.")
    totals: list[dict] = Field(description="Per dimension over the range: the metrics that add up across days.")


@router.get("/admin/codes/<code_id>/stats", tags=["stats"], summary="Daily statistics (JSON)")
def code_stats(code_id: str, from_: From = None, to: Day = None) -> StatsView:
    report = stats_admin().report(code_id, from_, to)
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


@router.get(
    "/admin/codes/<code_id>/stats.csv",
    tags=["stats"],
    summary="Daily statistics (CSV for spreadsheets)",
    responses=file_response("text/csv", "One line per day and dimension, with a header line (UTF-8)."),
)
def code_stats_csv(code_id: str, from_: From = None, to: Day = None):
    report = stats_admin().report(code_id, from_, to)
    filename = f"{report.code.id}-{report.first_day}-{report.last_day}.csv"
    return Response(
        status_code=200,
        content_type="text/csv; charset=utf-8",
        body=to_csv(report.rows),
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


@router.get("/admin/visitors/<visitor_id>", tags=["stats"], summary="A scanner's visitor record: codes, tags")
def visitor(visitor_id: str) -> VisitorView:
    records = visitors_table().of_visitor(visitor_id) if is_visitor_id(visitor_id) else []
    if not records:
        raise NotFound(f"no visitor {visitor_id[:40]!r}: the id is the siyu_vid cookie of a scanner")
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
