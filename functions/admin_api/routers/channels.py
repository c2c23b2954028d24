"""/admin/codes/{id}/channels: where a code is printed, and the print-ready QR files."""

from typing import Annotated

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.params import Body, Query

from routers.contract import file_response
from services import api_base, code_admin, scan_url
from siyu.live_codes.api import (
    CodeChannelCreate,
    CodeChannelList,
    CodeChannelUpdate,
    CodeChannelView,
    channel_scan_url,
    code_channel_view,
)
from siyu.live_codes.qr_image import PRINT_SIZES, print_png, print_svg

router = Router()
PNG = file_response("image/png", "The QR as a PNG, about `size` pixels wide.")
SVG = file_response("image/svg+xml", "The QR as an SVG (vector, for print).")
Size = Annotated[int, Query(ge=PRINT_SIZES[0], le=PRINT_SIZES[1], description="Pixels, about (PNG only).")]


def _view(code, channel) -> CodeChannelView:
    event = router.current_event
    return code_channel_view(code, channel, scan_url(event, code.id), api_base(event))


@router.post(
    "/admin/codes/<code_id>/channels",
    status_code=201,
    tags=["channels"],
    summary="Add a channel (one print source)",
    description="A channel's name is unique within its code: repeating a name is a conflict (409), nothing is added. "
    "On a code with WeCom targets, WeCom makes each of them a way for the channel first.",
)
def add_channel(code_id: str, body: Annotated[CodeChannelCreate, Body()]) -> CodeChannelView:
    messaging = body.messaging()
    channel = code_admin().add_channel(code_id, body.name, messaging["tags"] or (), messaging["welcome"])
    return _view(*code_admin().channel(code_id, channel.id))


@router.get("/admin/codes/<code_id>/channels", tags=["channels"], summary="A code's channels")
def list_channels(code_id: str) -> CodeChannelList:
    code, _ = code_admin().get_code(code_id)
    return CodeChannelList(items=[_view(code, c) for c in code.channels])


@router.patch(
    "/admin/codes/<code_id>/channels/<channel_id>",
    tags=["channels"],
    summary="Rename a channel; change its tags or welcome message",
)
def update_channel(code_id: str, channel_id: str, body: Annotated[CodeChannelUpdate, Body()]) -> CodeChannelView:
    code_admin().update_channel(code_id, channel_id, body.name, **body.messaging())
    return _view(*code_admin().channel(code_id, channel_id))


@router.get(
    "/admin/codes/<code_id>/qr.png", tags=["channels"], summary="The code's print-ready QR (PNG)", responses=PNG
)
def code_qr_png(code_id: str, size: Size = 1024):
    code, _ = code_admin().get_code(code_id)
    return _file(print_png(scan_url(router.current_event, code.id), size), "image/png", f"{code.id}.png")


@router.get(
    "/admin/codes/<code_id>/qr.svg", tags=["channels"], summary="The code's print-ready QR (SVG)", responses=SVG
)
def code_qr_svg(code_id: str):
    code, _ = code_admin().get_code(code_id)
    return _file(print_svg(scan_url(router.current_event, code.id)), "image/svg+xml", f"{code.id}.svg")


@router.get(
    "/admin/codes/<code_id>/channels/<channel_id>/qr.png",
    tags=["channels"],
    summary="A channel's QR (PNG)",
    responses=PNG,
)
def channel_qr_png(code_id: str, channel_id: str, size: Size = 1024):
    code, channel = code_admin().channel(code_id, channel_id)
    url = channel_scan_url(scan_url(router.current_event, code.id), channel)
    return _file(print_png(url, size), "image/png", f"{code.id}-{channel.id}.png")


@router.get(
    "/admin/codes/<code_id>/channels/<channel_id>/qr.svg",
    tags=["channels"],
    summary="A channel's QR (SVG)",
    responses=SVG,
)
def channel_qr_svg(code_id: str, channel_id: str):
    code, channel = code_admin().channel(code_id, channel_id)
    url = channel_scan_url(scan_url(router.current_event, code.id), channel)
    return _file(print_svg(url), "image/svg+xml", f"{code.id}-{channel.id}.svg")


def _file(body: bytes, content_type: str, filename: str) -> Response:
    headers = {"Content-Disposition": f'attachment; filename="{filename}"', "Cache-Control": "no-store"}
    return Response(status_code=200, content_type=content_type, body=body, headers=headers)
