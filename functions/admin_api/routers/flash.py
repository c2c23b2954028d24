"""/admin/links, /admin/flash-groups and /admin/order-webhook: tracked short links and their unique
clicks, flash groups (快闪群) and their four rates and conversion (JSON, CSV), and the secret the
brand's order webhook is signed with (write-only)."""

from typing import Annotated

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.params import Body, Query

from routers.contract import Cursor, file_response
from services import flash_metrics, link_admin, order_webhook_secret, public_base
from siyu.layering.api import (
    FlashCreate,
    FlashList,
    FlashMetricsView,
    FlashView,
    LinkCreate,
    LinkDay,
    LinkList,
    LinkStats,
    LinkView,
    OrderWebhookSecretSet,
    OrderWebhookView,
    flash_metrics_view,
    flash_view,
    link_view,
)
from siyu.layering.flash import report_csv

router = Router()
Limit = Annotated[int, Query(ge=1, le=200)]


def _base() -> str:
    return public_base(router.current_event)


@router.post(
    "/admin/links", status_code=201, tags=["layering"], summary="Wrap a link as a tracked short link (/l/{id})"
)
def create_link(body: Annotated[LinkCreate, Body()]) -> LinkView:
    """A `learning` link names the `group` it is posted in (422 otherwise)."""
    link = link_admin().create(body.url, body.plan_id, body.step, body.group, body.learning)
    return link_view(link, _base())


@router.get("/admin/links", tags=["layering"], summary="List tracked links, newest first")
def list_links(limit: Limit = 50, cursor: Cursor = None) -> LinkList:
    links, next_cursor = link_admin().links.page(limit, cursor)
    return LinkList(items=[link_view(link, _base()) for link in links], next_cursor=next_cursor)


@router.get("/admin/links/<link_id>", tags=["layering"], summary="A tracked link and its last 30 days of clicks")
def get_link(link_id: str) -> LinkStats:
    link, days = link_admin().daily(link_id)
    return LinkStats(link=link_view(link, _base()), days=[LinkDay(date=d, clicks=c, unique=u) for d, c, u in days])


@router.post("/admin/flash-groups", status_code=201, tags=["layering"], summary="Define a flash group (快闪群)")
def create_flash(body: Annotated[FlashCreate, Body()]) -> FlashView:
    """`first_day` is not after `last_day`, the range is at most 92 days, and each chat id is listed once
    (422 otherwise)."""
    flash = flash_metrics().create(
        body.name, body.chat_ids, body.first_day, body.last_day, body.code_id, body.signup_questionnaire_id
    )
    return flash_view(flash)


@router.get("/admin/flash-groups", tags=["layering"], summary="List flash groups, newest first")
def list_flash(limit: Limit = 50, cursor: Cursor = None) -> FlashList:
    flashes, next_cursor = flash_metrics().flashes.page(limit, cursor)
    return FlashList(items=[flash_view(f) for f in flashes], next_cursor=next_cursor)


@router.get(
    "/admin/flash-groups/<flash_id>/metrics",
    tags=["layering"],
    summary="入群率, 活跃率, 学习率, 兴趣率 and conversion per day and group, each with its source",
)
def flash_metrics_json(flash_id: str) -> FlashMetricsView:
    return flash_metrics_view(flash_metrics().report(flash_id))


@router.get(
    "/admin/flash-groups/<flash_id>/metrics.csv",
    tags=["layering"],
    summary="The flash group's metrics (CSV)",
    responses=file_response("text/csv", "One line per day and scope (and the range), each rate with a note."),
)
def flash_metrics_csv(flash_id: str):
    report = flash_metrics().report(flash_id)
    headers = {"Content-Disposition": f'attachment; filename="flash-{flash_id}.csv"'}
    return Response(status_code=200, content_type="text/csv; charset=utf-8", body=report_csv(report), headers=headers)


@router.put("/admin/order-webhook", status_code=204, tags=["layering"], summary="Set the order webhook's secret")
def set_order_secret(body: Annotated[OrderWebhookSecretSet, Body()]) -> None:
    """The brand signs each order with it (see the README); it is stored in the secret store, never returned."""
    order_webhook_secret().put(body.secret)


@router.get("/admin/order-webhook", tags=["layering"], summary="Whether the order webhook is set up, and its URL")
def get_order_webhook() -> OrderWebhookView:
    return OrderWebhookView(configured=order_webhook_secret().get() is not None, url=f"{_base()}/hooks/orders")
