"""/admin/wecom: connect the corp's WeCom app, see what works, and read the contacts and group
members that came through a code's ways."""

from typing import Annotated

from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.params import Body, Query

from routers.contract import Cursor, error_response
from services import code_admin, public_base, wecom_connections, wecom_contacts
from siyu.core.errors import NotFound
from siyu.wecom.api import (
    FollowList,
    MemberList,
    WecomConnect,
    WecomConnectionView,
    connection_view,
    follow_view,
    member_view,
)

router = Router()
CALLBACK_PATH = "/wecom/callback"
UNAVAILABLE = {503: error_response(503)}


def _callback_url() -> str:
    return public_base(router.current_event) + CALLBACK_PATH


@router.put(
    "/admin/wecom",
    tags=["wecom"],
    summary="Connect the corp's self-built app (checked with gettoken; secrets go to the secret store)",
    responses=UNAVAILABLE,
)
def connect(body: Annotated[WecomConnect, Body()]) -> WecomConnectionView:
    """A secret WeCom refuses gets 422 and nothing is stored. The answer lists what else works:
    `contacts` needs the app to have 客户联系 permission (客户与上下游 → 客户联系 → API → 可调用接口的应用)."""
    wecom_connections().connect(body.corp_id, body.agent(), body.credentials())
    return connection_view(wecom_connections().current(), _callback_url())


@router.get("/admin/wecom", tags=["wecom"], summary="The WeCom connection (secrets masked)")
def connection() -> WecomConnectionView:
    return connection_view(wecom_connections().current(), _callback_url())


@router.delete("/admin/wecom", status_code=204, tags=["wecom"], summary="Disconnect WeCom (the secrets are wiped)")
def disconnect() -> None:
    wecom_connections().disconnect()


@router.get(
    "/admin/codes/<code_id>/wecom/contacts",
    tags=["wecom"],
    summary="Customers who added a guide through this code's contact ways, newest first",
)
def contacts_of_code(
    code_id: str,
    channel_id: Annotated[str | None, Query(max_length=40)] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    cursor: Cursor = None,
) -> FollowList:
    code_admin().get(code_id)  # 404 for a code that does not exist
    found, next_cursor = wecom_contacts().added_through(code_id, limit, cursor)
    items = [follow_view(user, f) for user, f in found if channel_id is None or f.channel_id == channel_id]
    return FollowList(items=items, next_cursor=next_cursor)


@router.get(
    "/admin/codes/<code_id>/wecom/members",
    tags=["wecom"],
    summary="Customers who joined a group through this code's join ways, newest first",
)
def members_of_code(
    code_id: str,
    channel_id: Annotated[str | None, Query(max_length=40)] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    cursor: Cursor = None,
) -> MemberList:
    code_admin().get(code_id)
    found, next_cursor = wecom_contacts().joined_through(code_id, limit, cursor)
    items = [member_view(m) for m in found if channel_id is None or m.channel_id == channel_id]
    return MemberList(items=items, next_cursor=next_cursor)


@router.get(
    "/admin/wecom/contacts/<external_userid>",
    tags=["wecom"],
    summary="One customer: every guide they added, how and when",
)
def contact(external_userid: str) -> FollowList:
    follows = wecom_contacts().follows(external_userid)
    if not follows:
        raise NotFound(f"no customer {external_userid[:64]!r} has added a guide through WeCom since it was connected")
    return FollowList(items=[follow_view(external_userid, f) for f in follows], next_cursor=None)
