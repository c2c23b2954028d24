"""/admin/sop: SOP plans (timed push scripts), presets, the calendar ahead and the delivery log."""

from typing import Annotated

from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.params import Body, Query

from routers.contract import Cursor
from services import sop_admin
from siyu.sop.admin import presets
from siyu.sop.api import (
    Calendar,
    DeliveryLog,
    PlanCreate,
    PlanList,
    PlanUpdate,
    PlanView,
    WecomReport,
    calendar_entry,
    delivery_view,
    plan_view,
)
from siyu.sop.rules import ACTIVE, PAUSED, Plan

router = Router()


def view(plan: Plan, with_secrets: bool = False) -> PlanView:
    """The plan as operators see it; webhook secrets only in the answer that created them."""
    return plan_view(plan, sop_admin().warnings(plan), with_secrets)


@router.get("/admin/sop/presets", tags=["sop"], summary="Plans to start from (daily week, 15-day flash group, 5+6)")
def list_presets() -> list[dict]:
    return presets()


@router.post(
    "/admin/sop/plans",
    status_code=201,
    tags=["sop"],
    summary="Create a plan (from a preset or scratch)",
    description="Not idempotent: every call creates a new plan (201 each time).",
)
def create_plan(body: Annotated[PlanCreate, Body()]) -> PlanView:
    return view(sop_admin().create(body), with_secrets=True)


@router.get("/admin/sop/plans", tags=["sop"], summary="Plans, newest first")
def list_plans(limit: Annotated[int, Query(ge=1, le=100)] = 50, cursor: Cursor = None) -> PlanList:
    plans, next_cursor = sop_admin().list_plans(limit, cursor)
    return PlanList(items=[view(p) for p in plans], next_cursor=next_cursor)


@router.get("/admin/sop/plans/<plan_id>", tags=["sop"], summary="A plan")
def get_plan(plan_id: str) -> PlanView:
    return view(sop_admin().get(plan_id))


@router.patch("/admin/sop/plans/<plan_id>", tags=["sop"], summary="Rename, replace the steps, change the guards")
def update_plan(plan_id: str, body: Annotated[PlanUpdate, Body()]) -> PlanView:
    return view(sop_admin().update(plan_id, body))


@router.post("/admin/sop/plans/<plan_id>/pause", tags=["sop"], summary="Pause: nothing is sent until resumed")
def pause_plan(plan_id: str) -> PlanView:
    return view(sop_admin().set_status(plan_id, PAUSED))


@router.post("/admin/sop/plans/<plan_id>/resume", tags=["sop"], summary="Resume a paused plan")
def resume_plan(plan_id: str) -> PlanView:
    return view(sop_admin().set_status(plan_id, ACTIVE))


@router.get("/admin/sop/plans/<plan_id>/calendar", tags=["sop"], summary="The pushes of the next N days")
def plan_calendar(plan_id: str, days: Annotated[int, Query(ge=1, le=60)] = 7) -> Calendar:
    items = [calendar_entry(push) for push in sop_admin().calendar(plan_id, days)]
    return Calendar(plan_id=plan_id, days=days, items=items)


@router.get("/admin/sop/plans/<plan_id>/deliveries", tags=["sop"], summary="The delivery log, status per delivery")
def plan_deliveries(
    plan_id: str, limit: Annotated[int, Query(ge=1, le=200)] = 100, cursor: Cursor = None
) -> DeliveryLog:
    items, next_cursor = sop_admin().deliveries(plan_id, limit, cursor)
    return DeliveryLog(items=[delivery_view(d) for d in items], next_cursor=next_cursor)


@router.get(
    "/admin/sop/plans/<plan_id>/wecom-report",
    tags=["sop"],
    summary="企业群发: per occurrence, groups or customers sent / pending / not sent; confirmation rate per guide",
)
def plan_wecom_report(plan_id: str) -> WecomReport:
    return WecomReport(plan_id=plan_id, **sop_admin().wecom_report(plan_id))


@router.post(
    "/admin/sop/plans/<plan_id>/deliveries/<delivery_id>/resend", tags=["sop"], summary="Send a failed push again"
)
def resend_delivery(plan_id: str, delivery_id: str) -> dict:
    return delivery_view(sop_admin().resend(plan_id, delivery_id))
