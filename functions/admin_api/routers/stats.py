"""/admin/codes/{id}/stats: daily scan and WeCom funnel statistics per code, channel, option and target (JSON, CSV)."""

from typing import Annotated

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.params import Query

from routers.contract import file_response
from services import stats_admin
from siyu.statistics.api import StatsView, stats_view
from siyu.statistics.rules import to_csv

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


@router.get("/admin/codes/<code_id>/stats", tags=["stats"], summary="Daily statistics (JSON)")
def code_stats(code_id: str, from_: From = None, to: Day = None) -> StatsView:
    return stats_view(stats_admin().report(code_id, from_, to))


@router.get(
    "/admin/codes/<code_id>/stats.csv",
    tags=["stats"],
    summary="Daily statistics (CSV for spreadsheets)",
    responses=file_response(
        "text/csv",
        "One line per day and dimension, with a header line (UTF-8): the JSON rows' columns in their order, "
        "empty cells for nulls.",
    ),
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
