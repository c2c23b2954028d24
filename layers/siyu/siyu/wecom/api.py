"""The WeCom connection's API contract: connecting a corp, its status (secrets masked), and the
contacts and group members that came through a code's ways."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, Field, Strict

from siyu.api.types import _Input, view_of
from siyu.wecom.connection import OK, mask
from siyu.wecom.records import Connection, Credentials, Follow, Member


class WecomConnect(_Input):
    """A self-built app (自建应用) of the corp, with its callback settings (接收消息 → API接收)."""

    corp_id: str = Field(pattern=r"^[A-Za-z0-9]{4,64}$", description="我的企业 → 企业信息 → 企业ID.")
    agent_id: (
        Annotated[str, Field(pattern=r"^[0-9]{1,12}$")] | Annotated[int, Strict(), Field(ge=0, le=999_999_999_999)]
    ) = Field(description="The app's AgentId: a number, as a JSON number or as text of digits.")
    secret: str = Field(
        pattern=r"^[\x21-\x7e]{8,128}$", description="The app's Secret. Stored in the secret store, never returned."
    )
    token: str = Field(pattern=r"^[A-Za-z0-9]{1,32}$", description="The callback Token (API接收).")
    encoding_aes_key: str = Field(
        pattern=r"^[A-Za-z0-9+/]{43}$", description="The callback EncodingAESKey: 43 characters (API接收)."
    )

    def agent(self) -> str:
        return str(self.agent_id)

    def credentials(self) -> Credentials:
        return Credentials(secret=self.secret, token=self.token, encoding_aes_key=self.encoding_aes_key)


class WecomCheck(BaseModel):
    name: str = Field(description="access_token (the secret works), contacts (客户联系 permission), app (agent/get).")
    ok: bool
    result: str = Field(description="ok, or WeCom's errcode and errmsg.")


class WecomConnectionView(BaseModel):
    connected: bool
    corp_id: str | None = None
    agent_id: str | None = None
    secret: str | None = Field(None, description="Masked: the last 3 characters only.")
    token: str | None = Field(None, description="Masked: the last 3 characters only.")
    encoding_aes_key: str | None = Field(None, description="Masked: the last 3 characters only.")
    callback_url: str = Field(description="Set this as the app's callback URL (接收消息 → 设置API接收).")
    connected_at: datetime | None = None
    checks: list[WecomCheck] = []


def connection_view(current: tuple[Connection, Credentials] | None, callback_url: str) -> WecomConnectionView:
    if current is None:
        return WecomConnectionView(connected=False, callback_url=callback_url)
    connection, credentials = current
    return WecomConnectionView(
        connected=True,
        corp_id=connection.corp_id,
        agent_id=connection.agent_id,
        secret=mask(credentials.secret),
        token=mask(credentials.token),
        encoding_aes_key=mask(credentials.encoding_aes_key),
        callback_url=callback_url,
        connected_at=connection.connected_at,
        checks=[WecomCheck(name=name, ok=result == OK, result=result) for name, result in connection.checks],
    )


class FollowView(BaseModel):
    external_userid: str
    userid: str = Field(description="The guide (member) the customer added.")
    added_at: datetime
    state: str | None
    code_id: str | None
    channel_id: str | None
    target_id: str | None
    deleted_at: datetime | None
    deleted_by: str | None = Field(description="customer (they deleted the guide) or staff.")


def follow_view(external_user_id: str, follow: Follow) -> FollowView:
    return view_of(FollowView, follow, external_userid=external_user_id, userid=follow.user_id)


class FollowList(BaseModel):
    items: list[FollowView]
    next_cursor: str | None


class MemberView(BaseModel):
    chat_id: str
    external_userid: str
    joined_at: datetime
    join_scene: int | None = Field(description="1 invited directly, 2 by link, 3 by QR.")
    state: str | None
    code_id: str | None
    channel_id: str | None
    target_id: str | None
    left_at: datetime | None
    quit_scene: int | None = Field(description="0 left by themselves, 1 removed by the owner.")


def member_view(member: Member) -> MemberView:
    return view_of(MemberView, member, external_userid=member.external_user_id)


class MemberList(BaseModel):
    items: list[MemberView]
    next_cursor: str | None
