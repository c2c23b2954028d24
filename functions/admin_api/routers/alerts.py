"""/admin/alert-channels and /admin/alerts: where operator alerts go (alert destinations, which
the API calls channels), and what was sent."""

from typing import Annotated

from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.params import Body, Query

from routers.contract import Cursor
from services import alert_admin
from siyu.alerts.api import AlertLog, ChannelCreate, ChannelList, ChannelTest, ChannelView, destination_view, log_entry

router = Router()


@router.post("/admin/alert-channels", status_code=201, tags=["alerts"], summary="Add an alert channel")
def add_channel(body: Annotated[ChannelCreate, Body()]) -> ChannelView:
    """Which fields a channel needs depends on `kind`: wecom_robot and webhook a `url`, email an `email`."""
    return destination_view(alert_admin().add_destination(**body.model_dump()), with_secret=True)


@router.get("/admin/alert-channels", tags=["alerts"], summary="List alert channels")
def list_channels() -> ChannelList:
    return ChannelList(items=[destination_view(d) for d in alert_admin().destinations()])


@router.delete("/admin/alert-channels/<channel_id>", status_code=204, tags=["alerts"], summary="Remove a channel")
def remove_channel(channel_id: str) -> None:
    alert_admin().remove_destination(channel_id)


@router.post("/admin/alert-channels/<channel_id>/test", tags=["alerts"], summary="Send a test message now")
def test_channel(channel_id: str) -> ChannelTest:
    error = alert_admin().test_destination(channel_id)
    return ChannelTest(delivered=error is None, error=error)


@router.get("/admin/alerts", tags=["alerts"], summary="The alert log, newest first, with delivery status")
def alert_log(
    code_id: Annotated[str | None, Query()] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    cursor: Cursor = None,
) -> AlertLog:
    records, next_cursor = alert_admin().log(code_id, limit, cursor)
    return AlertLog(items=[log_entry(r) for r in records], next_cursor=next_cursor)
