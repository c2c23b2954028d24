"""企业群发 on the WeCom client: the requests WeCom documents (add_msg_template with its
attachments, tag_filter by tag id, the paged results) and its refusals as GroupMessageRefused."""

from __future__ import annotations

import json
import urllib.parse
import urllib.request
from datetime import UTC, datetime

import pytest

from siyu.sop.ports import GroupMessageRefused, GroupTask
from siyu.sop.rules import Content
from siyu.wecom.client import WecomClient
from siyu.wecom.group_messages import WecomGroupMessages
from tests.fakes.wecom import FakeWecomTable

NOW = datetime(2026, 12, 5, 8, 0, tzinfo=UTC)
PNG = b"\x89PNG\r\n\x1a\n" + b"\0" * 16


class FakeWecom:
    """Answers per path (a list is answered in turn); records each call's path and body."""

    def __init__(self, answers: dict[str, object]):
        self.answers = answers
        self.calls: list[tuple[str, object]] = []

    def __call__(self, request: urllib.request.Request, timeout: float) -> bytes:
        path = urllib.parse.urlsplit(request.full_url).path
        if path == "/cgi-bin/gettoken":
            return json.dumps({"errcode": 0, "access_token": "t", "expires_in": 7200}).encode()
        data = request.data or b""
        body = json.loads(data) if request.get_header("Content-type", "").startswith("application/json") else data
        self.calls.append((path, body))
        answer = self.answers.get(path, {"errcode": 0})
        if isinstance(answer, list):
            answer = answer.pop(0)
        return json.dumps(answer).encode()

    def bodies(self, path: str) -> list:
        return [body for p, body in self.calls if p == path]


class Connections:
    def __init__(self, http: FakeWecom):
        self._client = WecomClient("ww1", "secret-value", FakeWecomTable(), "https://q.example", http, lambda: NOW)

    def current(self) -> object:
        return object()

    def client(self) -> WecomClient:
        return self._client


def messenger(answers: dict[str, object]) -> tuple[WecomGroupMessages, FakeWecom]:
    http = FakeWecom(answers)
    return WecomGroupMessages(Connections(http)), http


def test_a_group_task_carries_the_owner_the_chats_the_text_and_the_uploaded_image():
    wecom, http = messenger(
        {
            "/cgi-bin/media/upload": {"errcode": 0, "media_id": "MEDIA1"},
            "/cgi-bin/externalcontact/add_msg_template": {"errcode": 0, "msgid": "msgA", "fail_list": ["wrB"]},
        }
    )
    content = Content("image", text="今晚 8 点秒杀", image_key="sop/p/x.png")
    msgid, refused = wecom.create_task(GroupTask("group", "zhangsan", ("wrA", "wrB"), (), content, PNG))

    assert (msgid, refused) == ("msgA", ["wrB"])
    (body,) = http.bodies("/cgi-bin/externalcontact/add_msg_template")
    assert body == {
        "chat_type": "group",
        "sender": "zhangsan",
        "chat_id_list": ["wrA", "wrB"],
        "text": {"content": "今晚 8 点秒杀"},
        "attachments": [{"msgtype": "image", "image": {"media_id": "MEDIA1"}}],
    }


def test_a_tags_task_filters_by_corp_tag_ids_and_an_unknown_tag_is_refused():
    tags = {"errcode": 0, "tag_group": [{"tag": [{"id": "et1", "name": "VIP"}, {"id": "et2", "name": "新客"}]}]}
    wecom, http = messenger(
        {
            "/cgi-bin/externalcontact/get_corp_tag_list": tags,
            "/cgi-bin/externalcontact/add_msg_template": {"errcode": 0, "msgid": "msgT"},
        }
    )
    link = Content("link", title="新品", url="https://shop.example/new", description="看看")
    wecom.create_task(GroupTask("single", None, (), ("VIP",), link, picture_url="https://p.example/a.png"))
    (body,) = http.bodies("/cgi-bin/externalcontact/add_msg_template")
    assert body["chat_type"] == "single" and "sender" not in body and "chat_id_list" not in body
    assert body["tag_filter"] == {"group_list": [{"tag_list": ["et1"]}]}
    assert body["attachments"][0]["link"]["picurl"] == "https://p.example/a.png"
    with pytest.raises(GroupMessageRefused, match="no corp tag named 老客"):
        wecom.create_task(GroupTask("single", None, (), ("老客",), link))


def test_wecom_refusing_a_task_is_group_message_refused():
    wecom, _ = messenger({"/cgi-bin/externalcontact/add_msg_template": {"errcode": 41048, "errmsg": "no perm"}})
    with pytest.raises(GroupMessageRefused, match="41048"):
        wecom.create_task(GroupTask("group", "zhangsan", ("wrA",), (), Content("text", text="hi")))


def test_owners_are_read_per_group_and_groups_wecom_refuses_are_left_out():
    wecom, _ = messenger(
        {
            "/cgi-bin/externalcontact/groupchat/get": [
                {"errcode": 0, "group_chat": {"chat_id": "wrA", "owner": "zhangsan"}},
                {"errcode": 49008, "errmsg": "not a group of the corp"},
            ]
        }
    )
    assert wecom.group_owners(["wrA", "wrGone"]) == {"wrA": "zhangsan"}


def test_results_are_read_per_sender_through_every_page():
    wecom, http = messenger(
        {
            "/cgi-bin/externalcontact/get_groupmsg_task": {
                "errcode": 0,
                "task_list": [{"userid": "zhangsan", "status": 2}, {"userid": "lisi", "status": 0}],
            },
            "/cgi-bin/externalcontact/get_groupmsg_send_result": [
                {
                    "errcode": 0,
                    "send_list": [{"chat_id": "wrA", "userid": "zhangsan", "status": 1, "send_time": 1764900000}],
                    "next_cursor": "c2",
                },
                {"errcode": 0, "send_list": [{"chat_id": "wrB", "userid": "zhangsan", "status": 3}]},
                {"errcode": 0, "send_list": [{"chat_id": "wrC", "userid": "lisi", "status": 0}]},
            ],
        }
    )
    results = wecom.task_results("msgA")
    assert [(r.recipient, r.status, r.sender) for r in results] == [
        ("wrA", "sent", "zhangsan"),
        ("wrB", "not_sent", "zhangsan"),
        ("wrC", "pending", "lisi"),
    ]
    assert results[0].sent_at == datetime.fromtimestamp(1764900000, UTC)
    assert results[1].reason == "already received a 企业群发 message today"
    pages = http.bodies("/cgi-bin/externalcontact/get_groupmsg_send_result")
    assert pages[1] == {"msgid": "msgA", "userid": "zhangsan", "limit": 1000, "cursor": "c2"}
