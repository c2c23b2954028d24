"""The emulated WeCom's /cgi-bin/ endpoints: their request and answer shapes as WeCom's server API
pages give them (developer.work.weixin.qq.com/document/path/91039 gettoken, 92228 联系我, 92229
加入群聊, 92122 / 92120 客户群, 92137 欢迎语, 92117 / 92118 企业标签, 92114 客户详情, 90253 上传临时素材,
90236 发送应用消息, 92135 / 93338 / 97610 / 97611 企业群发 (see groupmsg.py)). Every answer is
HTTP 200 with errcode and errmsg, errors included.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from local_stack.wecom import activity, groupmsg
from local_stack.wecom.errors import (
    ATTACHMENT_TYPE_INVALID,
    CORPID_MISSING,
    EXTERNAL_USERID_MISSING,
    INVALID_CREDENTIAL,
    INVALID_MEDIA_TYPE,
    MEDIA_EMPTY,
    RECEIVERS_EMPTY,
    SECRET_MISSING,
    TEXT_CONTENT_EMPTY,
    ApiError,
)
from local_stack.wecom.model import TOKEN_SECONDS, Chat, ContactWay, JoinWay, TagGroup, World, parameter_error

ATTACHMENT_TYPES = {"image", "link", "miniprogram", "video", "file"}
MEDIA_TYPES = {"image", "voice", "video", "file"}


@dataclass
class Call:
    world: World
    corp_id: str
    now: float
    base_url: str
    query: dict[str, str]
    body: dict[str, Any] = field(default_factory=dict)
    files: dict[str, bytes] = field(default_factory=dict)


def ok(**fields: Any) -> dict[str, Any]:
    return {"errcode": 0, "errmsg": "ok", **fields}


def gettoken(world: World, query: dict[str, str], now: float) -> dict[str, Any]:
    if not query.get("corpid"):
        raise ApiError(CORPID_MISSING)
    secret = query.get("corpsecret")
    if not secret:
        raise ApiError(SECRET_MISSING)
    if secret.startswith("bad"):
        raise ApiError(INVALID_CREDENTIAL)
    return ok(access_token=world.issue_token(query["corpid"], now), expires_in=TOKEN_SECONDS)


def qr_image_url(base_url: str, config_id: str) -> str:
    return f"{base_url}/_emulator/qr/{config_id}.png"


# 联系我


def _contact_way_json(call: Call, way: ContactWay) -> dict[str, Any]:
    shown = {k: getattr(way, k) for k in ("config_id", "type", "scene", "style", "remark", "skip_verify", "state")}
    qr = qr_image_url(call.base_url, way.config_id) if way.qr_content else ""
    return {**shown, "qr_code": qr, "user": list(way.user), "party": list(way.party)}


def add_contact_way(call: Call) -> dict[str, Any]:
    way = call.world.add_contact_way(call.corp_id, call.body)
    answer = ok(config_id=way.config_id)
    if way.qr_content:
        answer["qr_code"] = qr_image_url(call.base_url, way.config_id)
    return answer


def get_contact_way(call: Call) -> dict[str, Any]:
    return ok(contact_way=_contact_way_json(call, call.world.contact_way(call.corp_id, call.body.get("config_id"))))


def update_contact_way(call: Call) -> dict[str, Any]:
    call.world.update_contact_way(call.corp_id, call.body)
    return ok()


def del_contact_way(call: Call) -> dict[str, Any]:
    call.world.del_contact_way(call.corp_id, call.body.get("config_id"))
    return ok()


# 加入群聊


def _join_way_json(call: Call, way: JoinWay) -> dict[str, Any]:
    names = ("config_id", "scene", "remark", "auto_create_room", "room_base_name", "room_base_id", "state")
    shown = {k: getattr(way, k) for k in names}
    return {**shown, "chat_id_list": list(way.chat_id_list), "qr_code": qr_image_url(call.base_url, way.config_id)}


def add_join_way(call: Call) -> dict[str, Any]:
    return ok(config_id=call.world.add_join_way(call.corp_id, call.body).config_id)


def get_join_way(call: Call) -> dict[str, Any]:
    return ok(join_way=_join_way_json(call, call.world.join_way(call.corp_id, call.body.get("config_id"))))


def update_join_way(call: Call) -> dict[str, Any]:
    call.world.update_join_way(call.corp_id, call.body)
    return ok()


def del_join_way(call: Call) -> dict[str, Any]:
    call.world.del_join_way(call.corp_id, call.body.get("config_id"))
    return ok()


# 客户群


def _chat_json(chat: Chat, need_name: bool) -> dict[str, Any]:
    members = []
    for m in chat.members.values():
        member: dict[str, Any] = {"userid": m.userid, "type": m.type, "join_time": m.join_time}
        member |= {"join_scene": m.join_scene, "invitor": {"userid": m.invitor}, "group_nickname": ""}
        if need_name:
            member["name"] = m.name
        if m.state:
            member["state"] = m.state
        members.append(member)
    head = {"chat_id": chat.chat_id, "name": chat.name, "owner": chat.owner, "create_time": chat.create_time}
    admins: list[dict[str, str]] = []
    return {**head, "notice": chat.notice, "member_list": members, "admin_list": admins,
            "member_version": chat.member_version}  # fmt: skip


def groupchat_get(call: Call) -> dict[str, Any]:
    chat_id = call.body.get("chat_id")
    if not isinstance(chat_id, str) or not chat_id:
        raise parameter_error("chat_id missing")
    chat = call.world.chat(call.corp_id, chat_id, call.now)
    return ok(group_chat=_chat_json(chat, bool(call.body.get("need_name"))))


def groupchat_list(call: Call) -> dict[str, Any]:
    limit = call.body.get("limit")
    if not isinstance(limit, int) or not 1 <= limit <= 1000:
        raise parameter_error("limit must be 1 to 1000")
    owners = (call.body.get("owner_filter") or {}).get("userid_list") or []
    chats = [c for (corp, _), c in call.world.chats.items() if corp == call.corp_id]
    chats = [c for c in chats if not owners or c.owner in owners]
    start = int(call.body.get("cursor") or 0)
    page = chats[start : start + limit]
    more = start + limit < len(chats)
    return ok(group_chat_list=[{"chat_id": c.chat_id, "status": 0} for c in page],
              next_cursor=str(start + limit) if more else "")  # fmt: skip


# 欢迎语


def send_welcome_msg(call: Call) -> dict[str, Any]:
    attachments = call.body.get("attachments") or []
    if not isinstance(attachments, list) or len(attachments) > 9:
        raise parameter_error("at most 9 attachments")
    for attachment in attachments:
        if not isinstance(attachment, dict) or attachment.get("msgtype") not in ATTACHMENT_TYPES:
            raise ApiError(ATTACHMENT_TYPE_INVALID)
    call.world.use_welcome_code(call.corp_id, call.body.get("welcome_code"), call.now)
    return ok()


# 企业标签


def _group_json(group: TagGroup, tags: list[Any], deleted: bool = True) -> dict[str, Any]:
    shown = [{"id": t.id, "name": t.name, "create_time": t.create_time, "order": t.order} for t in tags]
    if deleted:
        shown = [{**t, "deleted": False} for t in shown]
    head = {"group_id": group.group_id, "group_name": group.group_name, "create_time": group.create_time}
    return {**head, "order": group.order, **({"deleted": False} if deleted else {}), "tag": shown}


def get_corp_tag_list(call: Call) -> dict[str, Any]:
    tag_ids, group_ids = call.body.get("tag_id") or [], call.body.get("group_id") or []
    groups = []
    for group in call.world.groups(call.corp_id).values():
        if group_ids and group.group_id not in group_ids:
            continue
        tags = [t for t in group.tags.values() if not tag_ids or t.id in tag_ids]
        if tag_ids and not tags:
            continue
        groups.append(_group_json(group, tags))
    return ok(tag_group=groups)


def add_corp_tag(call: Call) -> dict[str, Any]:
    group, added = call.world.add_corp_tag(call.corp_id, call.body, call.now)
    return ok(tag_group=_group_json(group, added, deleted=False))


def del_corp_tag(call: Call) -> dict[str, Any]:
    tag_ids, group_ids = call.body.get("tag_id") or [], call.body.get("group_id") or []
    if not tag_ids and not group_ids:
        raise parameter_error("tag_id or group_id is needed")
    call.world.del_corp_tag(call.corp_id, tag_ids, group_ids)
    return ok()


def mark_tag(call: Call) -> dict[str, Any]:
    call.world.mark_tag(call.corp_id, call.body)
    return ok()


# 客户详情


def get_external_contact(call: Call) -> dict[str, Any]:
    external_userid = call.query.get("external_userid")
    if not external_userid:
        raise ApiError(EXTERNAL_USERID_MISSING)
    contact = call.world.contact(call.corp_id, external_userid)
    person = {"external_userid": contact.external_userid, "name": contact.name, "type": 1, "gender": 0}
    person["avatar"] = f"http://wx.qlogo.cn/mmhead/{contact.external_userid}/0"
    follows = []
    for f in contact.follows.values():
        tags = [{"group_name": g.group_name, "tag_name": t.name, "tag_id": t.id, "type": 1}
                for g, t in call.world.live_tags(call.corp_id, f.tags)]  # fmt: skip
        follows.append({"userid": f.userid, "remark": f.remark, "description": f.description,
                        "createtime": f.createtime, "tags": tags, "state": f.state, "add_way": f.add_way})  # fmt: skip
    return ok(external_contact=person, follow_user=follows)


# 素材与应用消息


def media_upload(call: Call) -> dict[str, Any]:
    kind = call.query.get("type", "")
    if kind not in MEDIA_TYPES:
        raise ApiError(INVALID_MEDIA_TYPE, "type is image, voice, video or file")
    if not call.files.get("media"):
        raise ApiError(MEDIA_EMPTY, "the multipart field 'media' is missing or empty")
    return ok(type=kind, media_id=f"3{secrets.token_urlsafe(48)}", created_at=str(int(call.now)))


def message_send(call: Call) -> dict[str, Any]:
    """An app message (90236), kept with its msgid for GET /_emulator/messages."""
    body = call.body
    kind = body.get("msgtype")
    if not kind or "agentid" not in body:
        raise parameter_error("msgtype and agentid are needed")
    if not any(body.get(name) for name in ("touser", "toparty", "totag")):
        raise ApiError(RECEIVERS_EMPTY)
    if not isinstance(body.get(kind), dict):
        raise parameter_error(f"a {kind} message needs its {kind} object")
    if kind in ("text", "markdown") and not body[kind].get("content"):
        raise ApiError(TEXT_CONTENT_EMPTY)
    msgid = secrets.token_urlsafe(32)
    call.world.app_messages.append({"corp_id": call.corp_id, "msgid": msgid, "time": int(call.now), "body": body})
    return ok(invaliduser="", invalidparty="", invalidtag="", msgid=msgid)


# 企业群发


def add_msg_template(call: Call) -> dict[str, Any]:
    task = groupmsg.add_msg_template(call.world, call.corp_id, call.body, call.now)
    return ok(fail_list=task.fail_list, msgid=task.msgid)


def get_groupmsg_list_v2(call: Call) -> dict[str, Any]:
    found, cursor = groupmsg.list_v2(call.world, call.corp_id, call.body)
    return ok(next_cursor=cursor, group_msg_list=found)


def get_groupmsg_task(call: Call) -> dict[str, Any]:
    task = groupmsg.task_of(call.world, call.corp_id, call.body.get("msgid"))
    tasks = []
    for userid, sent_at in task.senders.items():
        shown: dict[str, Any] = {"userid": userid, "status": task.task_status(userid)}
        if sent_at:
            shown["send_time"] = sent_at
        tasks.append(shown)
    shown_page, cursor = groupmsg.page(tasks, call.body, 500, 1000)
    return ok(next_cursor=cursor, task_list=shown_page)


def get_groupmsg_send_result(call: Call) -> dict[str, Any]:
    """A sender's recipients; for a group task only those sent (93338: the owner has not chosen yet)."""
    task = groupmsg.task_of(call.world, call.corp_id, call.body.get("msgid"))
    userid = call.body.get("userid")
    if not isinstance(userid, str) or not userid:
        raise parameter_error("userid is needed")
    mine = [r for r in task.recipients if r.userid == userid]
    if task.chat_type == groupmsg.GROUP:
        mine = [r for r in mine if r.status != groupmsg.UNSENT]
    shown_page, cursor = groupmsg.page([r.json() for r in mine], call.body, 500, 1000)
    return ok(next_cursor=cursor, send_list=shown_page)


def remind_groupmsg_send(call: Call) -> dict[str, Any]:
    groupmsg.remind(call.world, call.corp_id, call.body.get("msgid"), call.now)
    return ok()


def cancel_groupmsg_send(call: Call) -> dict[str, Any]:
    groupmsg.cancel(call.world, call.corp_id, call.body.get("msgid"))
    return ok()


# 客户联系 permission and the app (what connecting checks)


def get_follow_user_list(call: Call) -> dict[str, Any]:
    """Members with 客户联系 enabled: the guides of the corp's contact ways, or one demo member."""
    return ok(follow_user=call.world.follow_users(call.corp_id))


def groupchat_statistic(call: Call) -> dict[str, Any]:
    return ok(**activity.groupchat_statistic(call.world, call.corp_id, call.body))


def agent_get(call: Call) -> dict[str, Any]:
    agent_id = call.query.get("agentid", "")
    if not agent_id.isdigit():
        raise parameter_error("agentid must be the app's AgentId")
    return ok(agentid=int(agent_id), name="siyu", square_logo_url="", description="", close=0)


POST = "POST"
GET = "GET"
EXTERNAL = "/cgi-bin/externalcontact"
ENDPOINTS: dict[str, tuple[str, Callable[[Call], dict[str, Any]]]] = {
    f"{EXTERNAL}/add_contact_way": (POST, add_contact_way),
    f"{EXTERNAL}/get_contact_way": (POST, get_contact_way),
    f"{EXTERNAL}/update_contact_way": (POST, update_contact_way),
    f"{EXTERNAL}/del_contact_way": (POST, del_contact_way),
    f"{EXTERNAL}/groupchat/add_join_way": (POST, add_join_way),
    f"{EXTERNAL}/groupchat/get_join_way": (POST, get_join_way),
    f"{EXTERNAL}/groupchat/update_join_way": (POST, update_join_way),
    f"{EXTERNAL}/groupchat/del_join_way": (POST, del_join_way),
    f"{EXTERNAL}/groupchat/get": (POST, groupchat_get),
    f"{EXTERNAL}/groupchat/list": (POST, groupchat_list),
    f"{EXTERNAL}/groupchat/statistic": (POST, groupchat_statistic),
    f"{EXTERNAL}/send_welcome_msg": (POST, send_welcome_msg),
    f"{EXTERNAL}/get_corp_tag_list": (POST, get_corp_tag_list),
    f"{EXTERNAL}/add_corp_tag": (POST, add_corp_tag),
    f"{EXTERNAL}/del_corp_tag": (POST, del_corp_tag),
    f"{EXTERNAL}/mark_tag": (POST, mark_tag),
    f"{EXTERNAL}/get": (GET, get_external_contact),
    f"{EXTERNAL}/get_follow_user_list": (GET, get_follow_user_list),
    f"{EXTERNAL}/add_msg_template": (POST, add_msg_template),
    f"{EXTERNAL}/get_groupmsg_list_v2": (POST, get_groupmsg_list_v2),
    f"{EXTERNAL}/get_groupmsg_task": (POST, get_groupmsg_task),
    f"{EXTERNAL}/get_groupmsg_send_result": (POST, get_groupmsg_send_result),
    f"{EXTERNAL}/remind_groupmsg_send": (POST, remind_groupmsg_send),
    f"{EXTERNAL}/cancel_groupmsg_send": (POST, cancel_groupmsg_send),
    "/cgi-bin/agent/get": (GET, agent_get),
    "/cgi-bin/media/upload": (POST, media_upload),
    "/cgi-bin/message/send": (POST, message_send),
}
