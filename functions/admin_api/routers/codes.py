"""/admin/codes: create, list, read, update, archive and restore live codes; grouped codes' options."""

from typing import Annotated

from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.params import Body, Query

from routers.contract import Cursor
from services import api_base, code_admin, scan_url
from siyu.core.clock import utcnow
from siyu.live_codes.api import (
    CodeCreate,
    CodeList,
    CodeUpdate,
    CodeView,
    OptionCreate,
    OptionUpdate,
    OptionView,
    code_summary,
    code_view,
    option_view,
)
from siyu.live_codes.model import ACTIVE, ARCHIVED

router = Router()


def view(code_id: str) -> CodeView:
    code, counters = code_admin().get_code(code_id)
    event = router.current_event
    return code_view(code, counters, scan_url(event, code.id), utcnow(), api_base(event))


@router.post(
    "/admin/codes",
    status_code=201,
    tags=["codes"],
    summary="Create a group, staff or grouped live code",
    description="Not idempotent: every call creates a new code with its own id and scan URL (201 each time).",
)
def create_code(body: Annotated[CodeCreate, Body()]) -> CodeView:
    fields = body.model_dump(exclude={"options"})
    code = code_admin().create_code(**fields, options=[o.spec() for o in body.options])
    return view(code.id)


@router.get("/admin/codes", tags=["codes"], summary="List codes, newest first")
def list_codes(
    status: Annotated[str | None, Query(pattern="^(active|archived)$")] = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 50,
    cursor: Cursor = None,
) -> CodeList:
    codes, next_cursor = code_admin().list_codes(status, limit, cursor)
    now = utcnow()
    items = [code_summary(c, scan_url(router.current_event, c.id), now) for c in codes]
    return CodeList(items=items, next_cursor=next_cursor)


@router.get("/admin/codes/<code_id>", tags=["codes"], summary="A code with per-target scan counts")
def get_code(code_id: str) -> CodeView:
    return view(code_id)


@router.patch("/admin/codes/<code_id>", tags=["codes"], summary="Change a code's settings")
def update_code(code_id: str, body: Annotated[CodeUpdate, Body()]) -> CodeView:
    code_admin().update_code(code_id, **body.model_dump(exclude={"tags", "welcome"}), **body.messaging())
    return view(code_id)


@router.post(
    "/admin/codes/<code_id>/archive",
    tags=["codes"],
    summary="End a code: its scan URL shows an 'ended' page",
    description="Idempotent: archiving an archived code answers 200 with the code as it is.",
)
def archive_code(code_id: str) -> CodeView:
    code_admin().set_status(code_id, ARCHIVED)
    return view(code_id)


@router.post(
    "/admin/codes/<code_id>/restore",
    tags=["codes"],
    summary="Bring an archived code back",
    description="Idempotent: restoring an active code answers 200 with the code as it is.",
)
def restore_code(code_id: str) -> CodeView:
    code_admin().set_status(code_id, ACTIVE)
    return view(code_id)


@router.post(
    "/admin/codes/<code_id>/options", status_code=201, tags=["codes"], summary="Add an option to a grouped code"
)
def add_option(code_id: str, body: Annotated[OptionCreate, Body()]) -> OptionView:
    option = code_admin().add_option(code_id, body.spec())
    return option_view(option, scan_url(router.current_event, code_id))


@router.patch("/admin/codes/<code_id>/options/<option_id>", tags=["codes"], summary="Change an option")
def update_option(code_id: str, option_id: str, body: Annotated[OptionUpdate, Body()]) -> OptionView:
    option = code_admin().update_option(code_id, option_id, **body.model_dump())
    return option_view(option, scan_url(router.current_event, code_id))
