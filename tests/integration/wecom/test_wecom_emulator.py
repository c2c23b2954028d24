"""The local WeCom emulator, driven over real HTTP as the stack drives it: tokens, 「联系我」 and
加入群聊 QR codes, customers scanning them, the encrypted and signed callbacks (decrypted here with
a few lines of our own, neither the emulator's helper nor the product's), welcome codes, tags,
the calls log and injected faults."""

from __future__ import annotations

import base64
import hashlib
import io
import json
import re
import struct
import urllib.parse
import urllib.request
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field

import pytest
import zxingcpp
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from PIL import Image
from werkzeug.wrappers import Request, Response

from local_stack.background import BackgroundServer
from local_stack.wecom import CallbackConfig, WecomEmulator, crypto

CORP = "ww-test-corp"
JOIN_CORP = "ww-join-corp"  # the join way test's own groups
SILENT_CORP = "ww-silent-corp"  # no callback configured
TOKEN = "QDG6eK"
AES_KEY = "jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C"
EXTERNAL = "/cgi-bin/externalcontact"


def decrypt(encrypted: str, encoding_aes_key: str = AES_KEY) -> tuple[bytes, str, str]:
    """(16-byte prefix, message, receiver id): WXBizMsgCrypt's decryption, written apart from the emulator's."""
    key = base64.b64decode(encoding_aes_key + "=")
    decryptor = Cipher(algorithms.AES(key), modes.CBC(key[:16])).decryptor()
    plain = decryptor.update(base64.b64decode(encrypted)) + decryptor.finalize()
    plain = plain[: -plain[-1]]
    (length,) = struct.unpack(">I", plain[16:20])
    return plain[:16], plain[20 : 20 + length].decode(), plain[20 + length :].decode()


def sha1_signature(*parts: str) -> str:
    return hashlib.sha1("".join(sorted(parts)).encode()).hexdigest()


@dataclass
class Receiver:
    """The stack's side of the callbacks: checks and decrypts each, answers as told."""

    fail_first: int = 0
    posts: list[dict] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    def app(self, environ, start_response):
        request = Request(environ)
        args = request.args
        if request.method == "GET":  # URL verification
            echostr = args["echostr"]
            if sha1_signature(TOKEN, args["timestamp"], args["nonce"], echostr) != args["msg_signature"]:
                self.problems.append("bad verification signature")
            return Response(decrypt(echostr)[1])(environ, start_response)
        outer = ET.fromstring(request.get_data())
        encrypted = outer.findtext("Encrypt") or ""
        if sha1_signature(TOKEN, args["timestamp"], args["nonce"], encrypted) != args["msg_signature"]:
            self.problems.append("bad signature")
        _, message, receiver_id = decrypt(encrypted)
        event = ET.fromstring(message)
        self.posts.append({"outer": outer, "event": event, "receiver_id": receiver_id, "xml": message})
        failing = len(self.posts) <= self.fail_first
        return Response("error" if failing else "success", 500 if failing else 200)(environ, start_response)

    def events(self) -> list[dict]:
        return [fields(post["event"]) for post in self.posts]


def fields(event: ET.Element) -> dict:
    found = {}
    for child in event:
        items = [item.text for item in child.findall("Item")]
        found[child.tag] = items if child.tag == "MemChangeList" else child.text
    return found


class Clock:
    def __init__(self) -> None:
        self.now = 1_700_000_000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture(scope="module")
def clock():
    return Clock()


@pytest.fixture(scope="module")
def shared_receiver():
    receiver = Receiver()
    server = BackgroundServer(receiver.app, "127.0.0.1", 0, "wecom-receiver")
    server.start()
    receiver.url = f"{server.url}/wecom/callback"
    yield receiver
    server.stop()


@pytest.fixture(scope="module")
def emulator(shared_receiver, clock):
    """One emulator for the module (a server's shutdown takes half a second): each test uses ids of its own."""
    config = CallbackConfig(shared_receiver.url, TOKEN, AES_KEY)
    emulator = WecomEmulator(lambda corp_id: None if corp_id == SILENT_CORP else config, clock=clock).start()
    yield emulator
    emulator.stop()


@pytest.fixture
def receiver(shared_receiver):
    shared_receiver.fail_first, shared_receiver.posts, shared_receiver.problems = 0, [], []
    yield shared_receiver
    assert not shared_receiver.problems


def http(emulator, method: str, path: str, body=None, raw: bytes | None = None, headers=None, **query):
    url = f"{emulator.base_url}{path}" + (f"?{urllib.parse.urlencode(query)}" if query else "")
    data = raw if raw is not None else (json.dumps(body).encode() if body is not None else None)
    request = urllib.request.Request(url, data, headers or {"Content-Type": "application/json"}, method=method)
    try:
        with urllib.request.urlopen(request, timeout=10) as answer:
            content = answer.read()
            status, kind = answer.status, answer.headers.get_content_type()
    except urllib.error.HTTPError as error:
        content, status, kind = error.read(), error.code, error.headers.get_content_type()
    return status, json.loads(content) if kind == "application/json" else content


def api(emulator, path: str, body=None, corp: str = CORP, method: str = "POST", **query) -> dict:
    token = query.pop("access_token", None) or get_token(emulator, corp)
    status, answer = http(emulator, method, path, body, access_token=token, **query)
    assert status == 200
    return answer


def get_token(emulator, corp: str = CORP) -> str:
    status, answer = http(emulator, "GET", "/cgi-bin/gettoken", corpid=corp, corpsecret="secret")
    assert status == 200 and answer["errcode"] == 0
    return answer["access_token"]


def control(emulator, path: str, body=None, method: str = "POST"):
    return http(emulator, method, f"/_emulator{path}", body)


def qr_content(emulator, qr_code_url: str) -> str:
    assert qr_code_url.startswith(f"{emulator.base_url}/_emulator/qr/")
    status, png = http(emulator, "GET", qr_code_url.removeprefix(emulator.base_url))
    assert status == 200 and png.startswith(b"\x89PNG")
    (found,) = zxingcpp.read_barcodes(Image.open(io.BytesIO(png)))
    return found.text


def contact_way(emulator, **extra) -> dict:
    body = {"type": 2, "scene": 2, "user": ["alice", "bob"], "state": "live-1", **extra}
    answer = api(emulator, f"{EXTERNAL}/add_contact_way", body)
    assert answer["errcode"] == 0, answer
    return answer


def test_crypto_matches_wecom_published_sample():
    echostr = "P9nAzCzyDtyTWESHep1vC5X9xho/qYX3Zpb4yKa9SKld1DsH3Iyt3tP3zNdtp+4RPcs8TgAE7OaBO+FZXvnaqQ=="
    prefix, message, corp = decrypt(echostr)
    assert (message, corp) == ("1616140317555161061", "wx5823bf96d3bd56c7")
    assert crypto.decrypt(AES_KEY, echostr) == (message, corp)
    assert crypto.encrypt(AES_KEY, message, corp, prefix=prefix) == echostr
    assert crypto.signature(TOKEN, "1409659589", "263014780", echostr) == "5c45ff5e21c57e6ad56bac8758b79b1d9ac89fd3"


def test_tokens(emulator, clock):
    status, answer = http(emulator, "GET", "/cgi-bin/gettoken", corpid=CORP, corpsecret="s3cret")
    assert status == 200 and answer["errcode"] == 0 and answer["errmsg"] == "ok" and answer["expires_in"] == 7200
    token = answer["access_token"]
    assert http(emulator, "GET", "/cgi-bin/gettoken", corpid=CORP, corpsecret="bad-one")[1]["errcode"] == 40001
    assert http(emulator, "GET", "/cgi-bin/gettoken", corpsecret="x")[1]["errcode"] == 41002
    assert http(emulator, "POST", f"{EXTERNAL}/groupchat/get", {"chat_id": "c"})[1]["errcode"] == 41001
    assert api(emulator, f"{EXTERNAL}/groupchat/get", {"chat_id": "c"}, access_token="nope")["errcode"] == 40014
    assert api(emulator, f"{EXTERNAL}/groupchat/get", {"chat_id": "c"}, access_token=token)["errcode"] == 0
    clock.now += 7200
    assert api(emulator, f"{EXTERNAL}/groupchat/get", {"chat_id": "c"}, access_token=token)["errcode"] == 42001
    fresh = get_token(emulator)
    assert control(emulator, "/tokens/expire")[0] == 200
    assert api(emulator, f"{EXTERNAL}/groupchat/get", {"chat_id": "c"}, access_token=fresh)["errcode"] == 42001


def test_a_scan_of_a_contact_way_sends_an_encrypted_signed_callback(emulator, receiver):
    way = contact_way(emulator)
    assert re.fullmatch(
        r"https://work\.weixin\.qq\.com/ca/cawcde[0-9a-f]{16}", qr := qr_content(emulator, way["qr_code"])
    )
    shown = api(emulator, f"{EXTERNAL}/get_contact_way", {"config_id": way["config_id"]})["contact_way"]
    assert shown["user"] == ["alice", "bob"] and shown["state"] == "live-1" and shown["qr_code"] == way["qr_code"]

    status, answer = control(emulator, "/scan", {"url": qr, "external_userid": "wm-1", "name": "Ann"})
    assert status == 200 and answer["kind"] == "contact" and answer["user_id"] == "alice"
    assert [c["status"] for c in answer["callbacks"]] == [200] and answer["callbacks"][0]["body"] == "success"
    (post,) = receiver.posts
    assert post["outer"].findtext("ToUserName") == CORP and post["receiver_id"] == CORP
    event = receiver.events()[0]
    assert event["Event"] == "change_external_contact" and event["ChangeType"] == "add_external_contact"
    assert (event["ToUserName"], event["FromUserName"], event["MsgType"]) == (CORP, "sys", "event")
    assert (event["UserID"], event["ExternalUserID"], event["State"]) == ("alice", "wm-1", "live-1")
    assert event["WelcomeCode"] and int(event["CreateTime"]) > 0

    assert control(emulator, "/scan", {"url": qr, "external_userid": "wm-2"})[1]["user_id"] == "bob"
    again = control(emulator, "/scan", {"url": qr, "external_userid": "wm-1"})[1]  # alice's turn: already followed
    assert again["user_id"] == "alice" and again["callbacks"] == [] and len(receiver.posts) == 2

    contact = api(emulator, f"{EXTERNAL}/get", method="GET", external_userid="wm-1")
    assert contact["external_contact"]["name"] == "Ann" and contact["external_contact"]["type"] == 1
    (follow,) = contact["follow_user"]
    assert (follow["userid"], follow["state"], follow["add_way"], follow["tags"]) == ("alice", "live-1", 1, [])


def test_a_welcome_code_is_single_use_and_lives_20_seconds(emulator, receiver, clock):
    qr = qr_content(emulator, contact_way(emulator)["qr_code"])
    control(emulator, "/scan", {"url": qr, "external_userid": "wm-w1"})
    code = receiver.events()[0]["WelcomeCode"]
    send = f"{EXTERNAL}/send_welcome_msg"
    ten = [{"msgtype": "image", "image": {"media_id": "m"}}] * 10
    assert api(emulator, send, {"welcome_code": code, "attachments": ten})["errcode"] == 40058
    assert api(emulator, send, {"welcome_code": code, "attachments": [{"msgtype": "voice"}]})["errcode"] == 41065
    assert api(emulator, send, {"welcome_code": code, "text": {"content": "hi"}})["errcode"] == 0
    assert api(emulator, send, {"welcome_code": code, "text": {"content": "hi"}})["errcode"] == 41051
    assert api(emulator, send, {"text": {"content": "hi"}})["errcode"] == 41049
    control(emulator, "/scan", {"url": qr, "external_userid": "wm-w2"})
    clock.now += 21
    assert api(emulator, send, {"welcome_code": receiver.events()[1]["WelcomeCode"]})["errcode"] == 41050


def test_contact_way_errors_update_and_delete(emulator):
    add = f"{EXTERNAL}/add_contact_way"
    assert api(emulator, add, {"type": 2, "scene": 2, "user": ["a"], "state": "x" * 31})["errcode"] == 40058
    assert api(emulator, add, {"type": 2, "scene": 2, "user": []})["errcode"] == 40058
    assert api(emulator, add, {"type": 3, "scene": 2, "user": ["a"]})["errcode"] == 41039
    assert api(emulator, f"{EXTERNAL}/get_contact_way", {"config_id": "nope"})["errcode"] == 41044
    config_id = contact_way(emulator)["config_id"]
    assert api(emulator, f"{EXTERNAL}/update_contact_way", {"config_id": config_id, "user": ["carol"]})["errcode"] == 0
    assert api(emulator, f"{EXTERNAL}/get_contact_way", {"config_id": config_id})["contact_way"]["user"] == ["carol"]
    assert api(emulator, f"{EXTERNAL}/update_contact_way", {"config_id": config_id, "user": []})["errcode"] == 40058
    assert api(emulator, f"{EXTERNAL}/del_contact_way", {"config_id": config_id})["errcode"] == 0
    assert api(emulator, f"{EXTERNAL}/del_contact_way", {"config_id": config_id})["errcode"] == 41044
    assert api(emulator, f"{EXTERNAL}/get_contact_way", {"config_id": config_id}, corp=SILENT_CORP)["errcode"] == 41044


def test_a_join_way_fills_its_group_at_200_then_creates_one(emulator, receiver):
    """In a corp of its own, whose groups are only this test's."""
    add = f"{EXTERNAL}/groupchat/add_join_way"
    assert api(emulator, add, {"scene": 2, "chat_id_list": []}, corp=JOIN_CORP)["errcode"] == 40058
    assert api(emulator, add, {"scene": 2, "chat_id_list": list("abcdef")})["errcode"] == 40058
    body = {"scene": 2, "auto_create_room": 1, "room_base_name": "VIP ", "room_base_id": 7, "chat_id_list": ["wrA"]}
    config_id = api(emulator, add, {**body, "state": "g-1"}, corp=JOIN_CORP)["config_id"]
    way = api(emulator, f"{EXTERNAL}/groupchat/get_join_way", {"config_id": config_id}, corp=JOIN_CORP)["join_way"]
    assert way["chat_id_list"] == ["wrA"] and way["state"] == "g-1" and way["auto_create_room"] == 1
    qr = qr_content(emulator, way["qr_code"])
    assert re.fullmatch(r"https://work\.weixin\.qq\.com/gm/[0-9a-f]{32}", qr)

    for n in range(199):  # the owner and 199 customers: 200
        assert control(emulator, "/scan", {"url": qr, "external_userid": f"wm-{n}"})[1]["chat_id"] == "wrA"
    first = receiver.events()[0]
    assert (first["Event"], first["ChangeType"], first["ChatId"]) == ("change_external_chat", "update", "wrA")
    assert (first["UpdateDetail"], first["JoinScene"], first["MemChangeCnt"]) == ("add_member", "3", "1")
    assert first["MemChangeList"] == ["wm-0"] and first["LastMemVer"] != first["CurMemVer"]
    assert receiver.events()[1]["LastMemVer"] == first["CurMemVer"]

    status, answer = control(emulator, "/scan", {"url": qr, "external_userid": "wm-199"})
    new_chat = answer["chat_id"]
    events = [c["event"] for c in answer["callbacks"]]
    assert status == 200 and new_chat != "wrA"
    assert events == ["change_external_chat/create", "change_external_chat/update"]
    assert receiver.events()[-2]["ChatId"] == new_chat
    way = api(emulator, f"{EXTERNAL}/groupchat/get_join_way", {"config_id": config_id}, corp=JOIN_CORP)["join_way"]
    assert way["chat_id_list"] == ["wrA", new_chat] and way["room_base_id"] == 8

    full = api(emulator, f"{EXTERNAL}/groupchat/get", {"chat_id": "wrA", "need_name": 1}, corp=JOIN_CORP)["group_chat"]
    assert len(full["member_list"]) == 200 and full["owner"] == "owner"
    customer = next(m for m in full["member_list"] if m["userid"] == "wm-5")
    assert (customer["type"], customer["join_scene"], customer["state"], customer["name"]) == (2, 3, "g-1", "wm-5")
    created = api(emulator, f"{EXTERNAL}/groupchat/get", {"chat_id": new_chat}, corp=JOIN_CORP)["group_chat"]
    assert created["name"] == "VIP 7" and [m["userid"] for m in created["member_list"]] == ["owner", "wm-199"]

    listed = api(emulator, f"{EXTERNAL}/groupchat/list", {"status_filter": 0, "limit": 1}, corp=JOIN_CORP)
    assert listed["group_chat_list"] == [{"chat_id": "wrA", "status": 0}] and listed["next_cursor"]
    rest = api(emulator, f"{EXTERNAL}/groupchat/list", {"limit": 1000, "cursor": listed["next_cursor"]}, corp=JOIN_CORP)
    assert rest["group_chat_list"] == [{"chat_id": new_chat, "status": 0}] and rest["next_cursor"] == ""


def test_a_full_join_way_without_auto_create_refuses(emulator):
    body = {"scene": 2, "auto_create_room": 0, "chat_id_list": ["wrB"]}
    config_id = api(emulator, f"{EXTERNAL}/groupchat/add_join_way", body, corp=SILENT_CORP)["config_id"]
    way = api(emulator, f"{EXTERNAL}/groupchat/get_join_way", {"config_id": config_id}, corp=SILENT_CORP)
    qr = qr_content(emulator, way["join_way"]["qr_code"])
    for n in range(199):
        answer = control(emulator, "/scan", {"url": qr, "external_userid": f"wm-{n}"})[1]
        assert answer["callbacks"] == []  # no callback configured: kept, not sent
    assert control(emulator, "/scan", {"url": qr, "external_userid": "wm-late"})[0] == 409
    assert control(emulator, "/scan", {"url": "https://work.weixin.qq.com/gm/unknown"})[0] == 404


def test_leave_and_delete_send_their_callbacks(emulator, receiver):
    body = {"scene": 2, "auto_create_room": 1, "chat_id_list": ["wrC"]}
    config_id = api(emulator, f"{EXTERNAL}/groupchat/add_join_way", body)["config_id"]
    way = api(emulator, f"{EXTERNAL}/groupchat/get_join_way", {"config_id": config_id})["join_way"]
    control(emulator, "/scan", {"url": qr_content(emulator, way["qr_code"]), "external_userid": "wm-9"})
    status, answer = control(emulator, "/chats/wrC/leave", {"external_userid": "wm-9"})
    assert status == 200 and answer["callbacks"][0]["status"] == 200
    left = receiver.events()[-1]
    assert (left["ChangeType"], left["UpdateDetail"], left["QuitScene"]) == ("update", "del_member", "0")
    assert (left["MemChangeCnt"], left["MemChangeList"]) == ("1", ["wm-9"])
    assert control(emulator, "/chats/wrC/leave", {"external_userid": "wm-9"})[0] == 404

    qr = qr_content(emulator, contact_way(emulator)["qr_code"])
    control(emulator, "/scan", {"url": qr, "external_userid": "wm-9"})
    control(emulator, "/scan", {"url": qr, "external_userid": "wm-9"})  # now bob too
    assert control(emulator, "/contacts/wm-9/delete", {"userid": "alice"})[0] == 200
    assert receiver.events()[-1]["ChangeType"] == "del_follow_user"
    assert control(emulator, "/contacts/wm-9/delete", {"userid": "bob", "by": "staff"})[0] == 200
    gone = receiver.events()[-1]
    assert (gone["ChangeType"], gone["UserID"], gone["ExternalUserID"]) == ("del_external_contact", "bob", "wm-9")
    assert control(emulator, "/contacts/wm-9/delete", {"userid": "bob"})[0] == 404
    assert api(emulator, f"{EXTERNAL}/get", method="GET", external_userid="wm-9")["errcode"] == 84061


def test_corp_tags_and_marking(emulator):
    added = api(
        emulator, f"{EXTERNAL}/add_corp_tag", {"group_name": "Level", "tag": [{"name": "Gold"}, {"name": "Iron"}]}
    )
    group = added["tag_group"]
    gold, iron = (t["id"] for t in group["tag"])
    assert group["group_name"] == "Level" and [t["name"] for t in group["tag"]] == ["Gold", "Iron"]
    same = {"group_id": group["group_id"], "tag": [{"name": "Gold"}]}
    assert api(emulator, f"{EXTERNAL}/add_corp_tag", same)["errcode"] == 40071
    long_name = {"group_name": "Level", "tag": [{"name": "x" * 31}]}
    assert api(emulator, f"{EXTERNAL}/add_corp_tag", long_name)["errcode"] == 40058
    listed = api(emulator, f"{EXTERNAL}/get_corp_tag_list", {})["tag_group"]
    assert [(g["group_name"], g["deleted"], [t["name"] for t in g["tag"]]) for g in listed] == [
        ("Level", False, ["Gold", "Iron"])
    ]
    assert [
        t["id"] for t in api(emulator, f"{EXTERNAL}/get_corp_tag_list", {"tag_id": [iron]})["tag_group"][0]["tag"]
    ] == [iron]

    qr = qr_content(emulator, contact_way(emulator)["qr_code"])
    control(emulator, "/scan", {"url": qr, "external_userid": "wm-t"})
    mark = {"userid": "alice", "external_userid": "wm-t", "add_tag": [gold]}
    assert api(emulator, f"{EXTERNAL}/mark_tag", mark)["errcode"] == 0
    assert api(emulator, f"{EXTERNAL}/mark_tag", {**mark, "add_tag": ["nope"]})["errcode"] == 40068
    assert api(emulator, f"{EXTERNAL}/mark_tag", {**mark, "userid": "bob"})["errcode"] == 84061
    (follow,) = api(emulator, f"{EXTERNAL}/get", method="GET", external_userid="wm-t")["follow_user"]
    assert follow["tags"] == [{"group_name": "Level", "tag_name": "Gold", "tag_id": gold, "type": 1}]
    assert api(emulator, f"{EXTERNAL}/del_corp_tag", {"tag_id": [gold]})["errcode"] == 0
    assert api(emulator, f"{EXTERNAL}/del_corp_tag", {"tag_id": [gold]})["errcode"] == 40068
    assert api(emulator, f"{EXTERNAL}/get", method="GET", external_userid="wm-t")["follow_user"][0]["tags"] == []


def test_the_calls_log_masks_secrets_and_shows_bodies(emulator):
    control(emulator, "/calls", method="DELETE")
    token = get_token(emulator)
    api(emulator, f"{EXTERNAL}/groupchat/get", {"chat_id": "wrL"}, access_token=token)
    boundary = "emuboundary"
    raw = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="media"; filename="a.png"\r\n'
        f"Content-Type: image/png\r\n\r\nPNGDATA\r\n--{boundary}--\r\n"
    ).encode()
    headers = {"Content-Type": f"multipart/form-data; boundary={boundary}"}
    status, uploaded = http(
        emulator, "POST", "/cgi-bin/media/upload", raw=raw, headers=headers, access_token=token, type="image"
    )
    assert status == 200 and uploaded["errcode"] == 0 and uploaded["type"] == "image" and uploaded["media_id"]
    sent = api(
        emulator,
        "/cgi-bin/message/send",
        {"touser": "alice", "msgtype": "text", "agentid": 1, "text": {"content": "hi"}},
    )
    assert sent["errcode"] == 0 and sent["invaliduser"] == "" and sent["msgid"]
    assert http(emulator, "GET", "/cgi-bin/nowhere")[0] == 404

    status, calls = control(emulator, "/calls", method="GET")
    assert status == 200
    assert calls[0] == {
        "path": "/cgi-bin/gettoken",
        "query": {"corpid": CORP, "corpsecret": "***"},
        "body": None,
        "response": {"errcode": 0, "errmsg": "ok", "access_token": token, "expires_in": 7200},
    }
    assert calls[1]["query"] == {"access_token": "***"} and calls[1]["body"] == {"chat_id": "wrL"}
    assert calls[1]["response"]["group_chat"]["chat_id"] == "wrL"
    assert calls[2]["body"] == {"fields": ["media"]} and calls[2]["query"] == {"access_token": "***", "type": "image"}
    assert calls[-1]["path"] == "/cgi-bin/nowhere"
    assert control(emulator, "/calls", method="DELETE")[0] == 200
    assert control(emulator, "/calls", method="GET")[1] == []


def test_faults_answer_the_next_calls_with_an_errcode(emulator):
    token = get_token(emulator)
    path = f"{EXTERNAL}/groupchat/get"
    assert control(emulator, "/faults", {"path": path, "errcode": 45009, "times": 2})[0] == 200
    codes = [api(emulator, path, {"chat_id": "x"}, access_token=token)["errcode"] for _ in range(3)]
    assert codes == [45009, 45009, 0]
    control(emulator, "/faults", {"path": None, "errcode": -1, "times": 1})
    assert http(emulator, "GET", "/cgi-bin/gettoken", corpid=CORP, corpsecret="s")[1]["errcode"] == -1
    assert http(emulator, "GET", "/cgi-bin/gettoken", corpid=CORP, corpsecret="s")[1]["errcode"] == 0


def test_a_callback_not_answered_200_is_sent_again_three_times_at_most(emulator, receiver):
    receiver.fail_first = 2
    qr = qr_content(emulator, contact_way(emulator)["qr_code"])
    answer = control(emulator, "/scan", {"url": qr, "external_userid": "wm-r"})[1]
    assert [c["status"] for c in answer["callbacks"]] == [500, 500, 200]
    receiver.fail_first = 10
    answer = control(emulator, "/scan", {"url": qr, "external_userid": "wm-s"})[1]
    assert [c["status"] for c in answer["callbacks"]] == [500, 500, 500]
    (recorded,) = [c for c in control(emulator, "/callbacks", method="GET")[1] if "wm-s" in c["xml"]]
    assert len(recorded["attempts"]) == 3


def test_url_verification(emulator):
    status, answer = control(emulator, "/callbacks/verify", {"corp_id": CORP})
    assert status == 200 and answer["ok"] is True and answer["status"] == 200
    assert control(emulator, "/callbacks/verify", {"corp_id": SILENT_CORP})[0] == 404
