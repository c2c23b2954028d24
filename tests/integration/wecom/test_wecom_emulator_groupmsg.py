"""The WeCom emulator's 企业群发 and app messages over real HTTP: tasks made, listed, confirmed by
their senders (one per customer / group per day), reminded, cancelled; message/send recorded."""

from __future__ import annotations

import pytest

from local_stack.wecom import WecomEmulator
from tests.integration.wecom.test_wecom_emulator import EXTERNAL, Clock, api, control, qr_content

DAY = 86400


@pytest.fixture(scope="module")
def clock():
    return Clock()  # 2023-11-15 06:13 in China


@pytest.fixture(scope="module")
def emulator(clock):
    emulator = WecomEmulator(lambda corp_id: None, clock=clock).start()  # no callbacks: kept, not sent
    yield emulator
    emulator.stop()


def add(emulator, body: dict) -> dict:
    return api(emulator, f"{EXTERNAL}/add_msg_template", body)


def post(emulator, name: str, body: dict) -> dict:
    return api(emulator, f"{EXTERNAL}/{name}", body)


def guide(emulator, user: str) -> str:
    """A single-user 联系我 way of that member (which makes them a member the corp knows): its QR."""
    answer = api(emulator, f"{EXTERNAL}/add_contact_way", {"type": 1, "scene": 2, "user": [user]})
    return qr_content(emulator, answer["qr_code"])


def follow(emulator, qr: str, external_userid: str) -> None:
    assert control(emulator, "/scan", {"url": qr, "external_userid": external_userid})[0] == 200


def confirm(emulator, msgid: str, sender: str) -> tuple[int, dict]:
    return control(emulator, f"/groupmsg/{msgid}/confirm", {"sender": sender})


def shown(emulator, msgid: str) -> dict:
    status, tasks = control(emulator, "/groupmsg", method="GET")
    assert status == 200
    (task,) = [t for t in tasks if t["msgid"] == msgid]
    return task


TEXT = {"text": {"content": "周末活动"}}


def test_a_group_task_is_sent_when_its_owner_confirms_once_a_day_per_group(emulator, clock):
    guide(emulator, "gina")
    assert post(emulator, "groupchat/get", {"chat_id": "wrTheirs"})["group_chat"]["owner"] == "owner"
    body = {"chat_type": "group", "sender": "gina", "chat_id_list": ["wrG1", "wrG2", "wrTheirs"], **TEXT}
    created = add(emulator, body)
    assert created["errcode"] == 0 and created["fail_list"] == ["wrTheirs"] and created["msgid"]
    msgid = created["msgid"]
    assert post(emulator, "groupchat/get", {"chat_id": "wrG1"})["group_chat"]["owner"] == "gina"

    tasks = post(emulator, "get_groupmsg_task", {"msgid": msgid})
    assert tasks["task_list"] == [{"userid": "gina", "status": 0}] and tasks["next_cursor"] == ""
    # 93338: a group task's results list only what was sent (the owner has not chosen yet)
    assert post(emulator, "get_groupmsg_send_result", {"msgid": msgid, "userid": "gina"})["send_list"] == []
    task = shown(emulator, msgid)
    assert task["chat_type"] == "group" and task["text"] == {"content": "周末活动"}
    assert [(r["chat_id"], r["status"]) for r in task["recipients"]] == [("wrG1", 0), ("wrG2", 0)]
    listed = post(emulator, "get_groupmsg_list_v2", {"chat_type": "group", "start_time": int(clock.now) - 60,
                                                     "end_time": int(clock.now) + 60})  # fmt: skip
    assert [m["msgid"] for m in listed["group_msg_list"]] == [msgid]
    assert listed["group_msg_list"][0]["create_type"] == 0 and listed["next_cursor"] == ""

    status, answer = confirm(emulator, msgid, "gina")
    assert status == 200 and answer["msgid"] == msgid and answer["sender"] == "gina"
    assert answer["results"] == [
        {"chat_id": "wrG1", "status": 1, "send_time": int(clock.now)},
        {"chat_id": "wrG2", "status": 1, "send_time": int(clock.now)},
    ]
    tasks = post(emulator, "get_groupmsg_task", {"msgid": msgid})["task_list"]
    assert tasks == [{"userid": "gina", "status": 2, "send_time": int(clock.now)}]
    sent = post(emulator, "get_groupmsg_send_result", {"msgid": msgid, "userid": "gina"})["send_list"]
    assert [(r["chat_id"], r["userid"], r["status"], r["send_time"]) for r in sent] == [
        ("wrG1", "gina", 1, int(clock.now)),
        ("wrG2", "gina", 1, int(clock.now)),
    ]
    assert confirm(emulator, msgid, "gina")[0] == 409
    assert confirm(emulator, msgid, "nobody")[0] == 404
    assert confirm(emulator, "msg-unknown", "gina")[0] == 404

    clock.now += 3600  # the same day in China: wrG1 has had its one
    again = add(emulator, {**body, "chat_id_list": ["wrG1"]})["msgid"]
    assert confirm(emulator, again, "gina")[1]["results"] == [{"chat_id": "wrG1", "status": 3}]
    assert post(emulator, "get_groupmsg_send_result", {"msgid": again, "userid": "gina"})["send_list"] == [
        {"chat_id": "wrG1", "userid": "gina", "status": 3}
    ]
    clock.now += DAY
    tomorrow = add(emulator, {**body, "chat_id_list": ["wrG1"]})["msgid"]
    assert confirm(emulator, tomorrow, "gina")[1]["results"][0]["status"] == 1


def test_single_tasks_go_to_followers_and_strangers_fail(emulator, clock):
    carol, dave = guide(emulator, "carol"), guide(emulator, "dave")
    follow(emulator, carol, "wm-s1")
    follow(emulator, dave, "wm-s2")
    created = add(emulator, {"external_userid": ["wm-s1", "wm-s2", "wm-nobody"], "sender": "carol", **TEXT})
    assert created["errcode"] == 0 and created["fail_list"] == ["wm-nobody"]
    results = post(emulator, "get_groupmsg_send_result", {"msgid": created["msgid"], "userid": "carol"})
    assert [(r["external_userid"], r["status"]) for r in results["send_list"]] == [("wm-s1", 0), ("wm-s2", 0)]
    assert confirm(emulator, created["msgid"], "carol")[1]["results"][0] == {
        "external_userid": "wm-s1", "status": 1, "send_time": int(clock.now)}  # fmt: skip
    statuses = [(r["external_userid"], r["status"]) for r in shown(emulator, created["msgid"])["recipients"]]
    assert statuses == [("wm-s1", 1), ("wm-s2", 2)]  # dave's customer is no friend of carol

    # no sender: each customer goes to the member who added them; one customer, one 企业群发 a day
    spread = add(emulator, {"external_userid": ["wm-s1", "wm-s2"], **TEXT})["msgid"]
    tasks = post(emulator, "get_groupmsg_task", {"msgid": spread, "limit": 1})
    assert tasks["task_list"] == [{"userid": "carol", "status": 0}] and tasks["next_cursor"]
    rest = post(emulator, "get_groupmsg_task", {"msgid": spread, "cursor": tasks["next_cursor"]})
    assert rest["task_list"] == [{"userid": "dave", "status": 0}] and rest["next_cursor"] == ""
    assert confirm(emulator, spread, "carol")[1]["results"] == [{"external_userid": "wm-s1", "status": 3}]
    assert confirm(emulator, spread, "dave")[1]["results"][0]["status"] == 1

    follow(emulator, carol, "wm-s3")
    everyone = add(emulator, {"sender": "carol", **TEXT})["msgid"]  # only a sender: all of their customers
    assert [r["external_userid"] for r in shown(emulator, everyone)["recipients"]] == ["wm-s1", "wm-s3"]


def test_remind_three_times_a_day_and_cancel(emulator, clock):
    guide(emulator, "rita")
    msgid = add(emulator, {"chat_type": "group", "sender": "rita", "chat_id_list": ["wrR"], **TEXT})["msgid"]
    assert [post(emulator, "remind_groupmsg_send", {"msgid": msgid})["errcode"] for _ in range(4)] == [0, 0, 0, 45009]
    clock.now += DAY
    assert post(emulator, "remind_groupmsg_send", {"msgid": msgid})["errcode"] == 0
    assert post(emulator, "remind_groupmsg_send", {})["errcode"] == 41046
    assert post(emulator, "remind_groupmsg_send", {"msgid": "msg-unknown"})["errcode"] == 41047

    assert post(emulator, "cancel_groupmsg_send", {"msgid": msgid})["errcode"] == 0
    assert shown(emulator, msgid)["cancelled"] is True
    assert confirm(emulator, msgid, "rita")[0] == 409
    assert post(emulator, "remind_groupmsg_send", {"msgid": msgid})["errcode"] == 41047
    assert post(emulator, "cancel_groupmsg_send", {"msgid": "msg-unknown"})["errcode"] == 41047


def test_add_msg_template_validation(emulator, clock):
    guide(emulator, "vic")
    group = {"chat_type": "group", "sender": "vic", "chat_id_list": ["wrV"]}
    assert add(emulator, group)["errcode"] == 40063  # neither text nor attachments
    assert add(emulator, {**group, "text": {"content": ""}})["errcode"] == 40063
    image = {"msgtype": "image", "image": {"media_id": "m"}}
    assert add(emulator, {**group, "attachments": [image] * 10})["errcode"] == 40058
    assert add(emulator, {**group, "attachments": [image] * 9})["errcode"] == 0
    assert add(emulator, {**group, "attachments": [{"msgtype": "voice", "voice": {}}]})["errcode"] == 41065
    link = {"msgtype": "link", "link": {"title": "t"}}
    assert add(emulator, {**group, "attachments": [link]})["errcode"] == 40058
    assert add(emulator, {**group, "attachments": [{"msgtype": "image", "image": {}}]})["errcode"] == 40058
    assert add(emulator, {**group, "text": {"content": "x" * 4001}})["errcode"] == 40058
    assert add(emulator, {**group, "sender": "ghost", **TEXT})["errcode"] == 60111
    assert add(emulator, {**group, "sender": "", **TEXT})["errcode"] == 40058
    assert add(emulator, {**group, "chat_type": "moments", **TEXT})["errcode"] == 40058
    post(emulator, "groupchat/get", {"chat_id": "wrTheirs2"})  # a group of another owner
    assert add(emulator, {**group, "chat_id_list": ["wrTheirs2"], **TEXT})["errcode"] == 41048  # all failed
    assert add(emulator, {"external_userid": ["wm-none"], **TEXT})["errcode"] == 41048
    assert add(emulator, TEXT)["errcode"] == 40058  # neither external_userid nor sender
    assert add(emulator, {"external_userid": ["wm"] * 10001, **TEXT})["errcode"] == 40058

    assert post(emulator, "get_groupmsg_task", {})["errcode"] == 41046
    assert post(emulator, "get_groupmsg_task", {"msgid": "msg-unknown"})["errcode"] == 41047
    assert post(emulator, "get_groupmsg_send_result", {"msgid": "msg-unknown", "userid": "vic"})["errcode"] == 41047
    now = int(clock.now)
    span = {"chat_type": "single", "start_time": now - 32 * DAY, "end_time": now}
    assert post(emulator, "get_groupmsg_list_v2", span)["errcode"] == 40058
    assert post(emulator, "get_groupmsg_list_v2", {"chat_type": "single"})["errcode"] == 40058


def test_app_messages_are_recorded(emulator):
    send = "/cgi-bin/message/send"
    text = {"touser": "alice|bob", "msgtype": "text", "agentid": 1000002, "text": {"content": "新客户"}}
    card = {"touser": "alice", "msgtype": "textcard", "agentid": 1000002,
            "textcard": {"title": "SOP", "description": "今日待办", "url": "https://example.com/sop"}}  # fmt: skip
    mark = {"touser": "bob", "msgtype": "markdown", "agentid": 1000002, "markdown": {"content": "**今日**"}}
    answers = [api(emulator, send, body) for body in (text, card, mark)]
    assert [a["errcode"] for a in answers] == [0, 0, 0] and all(a["msgid"] for a in answers)
    assert api(emulator, send, {**text, "touser": ""})["errcode"] == 82001
    assert api(emulator, send, {**text, "text": {"content": ""}})["errcode"] == 44004
    assert api(emulator, send, {**card, "textcard": None})["errcode"] == 40058

    status, messages = control(emulator, "/messages", method="GET")
    assert status == 200
    assert [m["body"] for m in messages] == [text, card, mark]
    assert [m["msgid"] for m in messages] == [a["msgid"] for a in answers]
    status, calls = control(emulator, "/calls", method="GET")
    assert any(c["path"] == f"{EXTERNAL}/add_msg_template" and c["response"].get("msgid") for c in calls)
