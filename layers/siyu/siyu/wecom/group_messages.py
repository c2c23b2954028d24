"""企业群发 on WeCom: the SOP feature's ``GroupMessenger`` on ``WecomClient``.

- ``groupchat/get``: a customer group's owner (who must send its tasks);
- ``add_msg_template``: a task — ``chat_type=group`` with the owner as ``sender`` and the chat ids,
  or ``single`` with a ``tag_filter`` (corp tag ids, read by name from ``get_corp_tag_list``); text
  and one attachment: an image or a mini-program picture uploaded (``media/upload``), or a link;
- ``get_groupmsg_task`` then ``get_groupmsg_send_result`` per sender: the results (paged);
- ``remind_groupmsg_send`` and ``cancel_groupmsg_send``.

WeCom's refusals become ``GroupMessageRefused``; WeCom out of reach stays ``Unavailable``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol

from siyu.sop import rules
from siyu.sop.group_rules import recipient_result
from siyu.sop.ports import GroupMessageRefused, GroupTask
from siyu.sop.rules import RecipientResult
from siyu.wecom.client import WecomApiError, WecomClient

PAGE = 1000


class ConnectedClient(Protocol):
    """``WecomConnections``: whether a corp is connected, and its client."""

    def current(self) -> object | None: ...

    def client(self) -> WecomClient: ...


@dataclass
class WecomGroupMessages:
    connections: ConnectedClient
    _tag_ids: dict[str, str] = field(default_factory=dict, repr=False)  # corp tag name -> id, per container

    def connected(self) -> bool:
        return self.connections.current() is not None

    def group_owners(self, chat_ids: Sequence[str]) -> dict[str, str]:
        client = self.connections.client()
        owners = {}
        for chat_id in chat_ids:
            try:
                answer = client.post("/cgi-bin/externalcontact/groupchat/get", {"chat_id": chat_id, "need_name": 0})
            except WecomApiError:
                continue  # not a group of this corp (or dismissed): left out, the job records it
            owner = answer.get("group_chat", {}).get("owner")
            if owner:
                owners[chat_id] = str(owner)
        return owners

    def create_task(self, task: GroupTask) -> tuple[str, list[str]]:
        client = self.connections.client()
        body: dict[str, Any] = {"chat_type": task.chat_type}
        if task.sender:
            body["sender"] = task.sender
        if task.chat_type == "group":
            body["chat_id_list"] = list(task.chat_ids)
        if task.tags:
            body["tag_filter"] = {"group_list": [{"tag_list": self._tags(client, task.tags)}]}
        if task.content.text:
            body["text"] = {"content": task.content.text}
        attachment = self._attachment(client, task)
        if attachment:
            body["attachments"] = [attachment]
        answer = _refused(lambda: client.post("/cgi-bin/externalcontact/add_msg_template", body))
        return str(answer.get("msgid", "")), [str(f) for f in answer.get("fail_list", [])]

    def task_results(self, msgid: str) -> list[RecipientResult]:
        client = self.connections.client()
        results: list[RecipientResult] = []
        for task in _pages(client, "/cgi-bin/externalcontact/get_groupmsg_task", {"msgid": msgid}, "task_list"):
            sender = str(task.get("userid", ""))
            query = {"msgid": msgid, "userid": sender}
            for sent in _pages(client, "/cgi-bin/externalcontact/get_groupmsg_send_result", query, "send_list"):
                recipient = sent.get("chat_id") or sent.get("external_userid")
                if not recipient:
                    continue
                at = datetime.fromtimestamp(int(sent["send_time"]), UTC) if sent.get("send_time") else None
                results.append(recipient_result(str(recipient), int(sent.get("status", 0)), sender, at))
        return results

    def remind(self, msgid: str) -> None:
        client = self.connections.client()
        _refused(lambda: client.post("/cgi-bin/externalcontact/remind_groupmsg_send", {"msgid": msgid}))

    def cancel(self, msgid: str) -> None:
        client = self.connections.client()
        _refused(lambda: client.post("/cgi-bin/externalcontact/cancel_groupmsg_send", {"msgid": msgid}))

    def _attachment(self, client: WecomClient, task: GroupTask) -> dict[str, Any] | None:
        content = task.content
        if content.kind == rules.IMAGE and task.image:
            media = _refused(lambda: client.upload_media("image", _filename(task.image or b""), task.image or b""))
            return {"msgtype": "image", "image": {"media_id": media}}
        if content.kind == rules.LINK:
            link = {"title": content.title, "url": content.url, "desc": content.description}
            if task.picture_url:
                link["picurl"] = task.picture_url
            return {"msgtype": "link", "link": link}
        if content.kind == rules.MINIPROGRAM and task.image:
            media = _refused(lambda: client.upload_media("image", _filename(task.image or b""), task.image or b""))
            card = {"title": content.title, "pic_media_id": media, "appid": content.appid, "page": content.page}
            return {"msgtype": "miniprogram", "miniprogram": card}
        return None

    def _tags(self, client: WecomClient, names: Sequence[str]) -> list[str]:
        if any(name not in self._tag_ids for name in names):
            answer = _refused(lambda: client.post("/cgi-bin/externalcontact/get_corp_tag_list", {}))
            self._tag_ids = {
                str(tag["name"]): str(tag["id"])
                for group in answer.get("tag_group", [])
                for tag in group.get("tag", [])
            }
        missing = [name for name in names if name not in self._tag_ids]
        if missing:
            raise GroupMessageRefused(f"WeCom has no corp tag named {', '.join(missing)[:200]}")
        return [self._tag_ids[name] for name in names]


def _refused[T](call: Callable[[], T]) -> T:
    try:
        result = call()
    except WecomApiError as error:
        raise GroupMessageRefused(str(error)) from None
    return result


def _pages(client: WecomClient, path: str, body: dict[str, Any], key: str) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    cursor = ""
    while True:
        page = {**body, "limit": PAGE, **({"cursor": cursor} if cursor else {})}
        answer = _refused(lambda page=page: client.post(path, page))  # type: ignore[misc]
        found += answer.get(key, [])
        cursor = str(answer.get("next_cursor") or "")
        if not cursor:
            return found


def _filename(data: bytes) -> str:
    return "sop.png" if data.startswith(b"\x89PNG") else "sop.jpg"
