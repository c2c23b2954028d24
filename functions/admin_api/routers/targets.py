"""/admin/codes/{id}/targets and the backup QR: upload, change, reorder, delete."""

from typing import Annotated

from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.params import Body

from routers.codes import view
from services import code_admin, target_admin
from siyu.api.types import ImageLink, ImageUpload
from siyu.core.clock import utcnow
from siyu.live_codes.api import (
    CodeView,
    ContactWayTarget,
    TargetCreate,
    TargetOrder,
    TargetUpdate,
    TargetUpload,
    TargetView,
    target_view,
)

router = Router()
LINK_SECONDS = 300


def _view(code_id: str, target_id: str) -> TargetView:
    code, counters = code_admin().get_code(code_id)
    return target_view(code, code.target(target_id), counters, utcnow())


@router.post(
    "/admin/codes/<code_id>/targets",
    status_code=201,
    tags=["targets"],
    summary="Upload a group or staff QR screenshot, or add a WeCom member or WeCom customer groups",
    description="A screenshot (image_base64); a WeCom member (wecom_user) on a staff pool, or WeCom customer "
    "groups (wecom_chat_ids) on a group pool: WeCom makes a contact way or join way for direct scans and for "
    "each channel (409 if WeCom is not connected, or the code would hold more than 200 ways).",
)
def add_target(code_id: str, body: Annotated[TargetCreate, Body()]) -> TargetView:
    admin = target_admin()
    if isinstance(body, TargetUpload):
        target = admin.add_target(code_id, body.image_base64, body.expires_at, body.staff(), body.option_id)
    elif isinstance(body, ContactWayTarget):
        target = admin.add_wecom_target(code_id, body.spec(), body.staff(), body.option_id)
    else:
        target = admin.add_wecom_target(code_id, body.spec(), option_id=body.option_id)
    return _view(code_id, target.id)


@router.patch(
    "/admin/codes/<code_id>/targets/<target_id>",
    tags=["targets"],
    summary="Enable, disable or re-date a target; change a staff member's weight, cap, hours or backup role",
)
def update_target(code_id: str, target_id: str, body: Annotated[TargetUpdate, Body()]) -> TargetView:
    target_admin().update_target(code_id, target_id, body.enabled, body.expires_at, body.staff())
    return _view(code_id, target_id)


@router.delete(
    "/admin/codes/<code_id>/targets/<target_id>", status_code=204, tags=["targets"], summary="Delete a target"
)
def delete_target(code_id: str, target_id: str) -> None:
    target_admin().delete_target(code_id, target_id)


@router.put("/admin/codes/<code_id>/targets/order", tags=["targets"], summary="Set the order targets are used in")
def reorder_targets(code_id: str, body: Annotated[TargetOrder, Body()]) -> CodeView:
    target_admin().reorder_targets(code_id, body.target_ids)
    return view(code_id)


@router.get("/admin/codes/<code_id>/targets/<target_id>/image", tags=["targets"], summary="Link to the original upload")
def target_image(code_id: str, target_id: str) -> ImageLink:
    return ImageLink(url=target_admin().target_image_url(code_id, target_id), expires_in=LINK_SECONDS)


@router.put("/admin/codes/<code_id>/backup-qr", tags=["codes"], summary="Upload the backup QR shown with the fallback")
def set_backup_qr(code_id: str, body: Annotated[ImageUpload, Body()]) -> CodeView:
    target_admin().set_backup_qr(code_id, body.image_base64)
    return view(code_id)


@router.delete("/admin/codes/<code_id>/backup-qr", tags=["codes"], summary="Remove the backup QR")
def remove_backup_qr(code_id: str) -> CodeView:
    target_admin().remove_backup_qr(code_id)
    return view(code_id)
