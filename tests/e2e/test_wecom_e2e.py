"""WeCom over HTTP against the running local stack and its WeCom emulator, as an operator and a
customer would go through it: a guide on a contact way, a scan, the add, the welcome message, the
tags, the funnel's `added`; then a forged, a replayed and a re-signed callback that change nothing."""

from __future__ import annotations

import re
import time
import urllib.error
import urllib.parse
import urllib.request

import pytest

from local_stack.demo import DEMO_CORP
from siyu.wecom.crypto import CallbackCrypto
from tests.e2e.http import get_json, post_json, wait_for
from tests.e2e.test_staff_codes_e2e import Phone
from tests.helpers import qr_data_uri


def post_raw(url: str, body: bytes) -> tuple[int, str]:
    request = urllib.request.Request(url, data=body, method="POST", headers={"Content-Type": "text/xml"})
    try:
        with urllib.request.urlopen(request, timeout=30) as answer:
            return answer.status, answer.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()


@pytest.fixture(scope="module")
def guide_code(api):
    """A staff code whose only guide is a WeCom member on a contact way, with a channel."""
    status, code = api("POST", "/admin/codes", {"name": "e2e 企微导购", "kind": "staff", "title": "添加顾问"})
    assert status == 201, code
    status, channel = api("POST", f"/admin/codes/{code['id']}/channels", {"name": "直播间", "tags": ["直播"]})
    assert status == 201, channel
    welcome = {"text": "欢迎来到直播间福利群～", "link": {"title": "福利", "url": "https://example.com/gift"}}
    status, _ = api("PATCH", f"/admin/codes/{code['id']}", {"tags": ["企微新客"], "welcome": welcome})
    assert status == 200
    status, target = api("POST", f"/admin/codes/{code['id']}/targets", {"wecom_user": "lisi", "staff_name": "李四"})
    assert status == 201, target
    return code, channel, target


def stats_row(api, code_id: str, dimension: str, key: str) -> dict | None:
    rows = api("GET", f"/admin/codes/{code_id}/stats")[1]["rows"]
    return next((r for r in rows if r["dimension"] == dimension and r["key"] == key and r["added"]), None)


def test_the_demo_is_wired_to_the_wecom_emulator(running_stack, api):
    info = running_stack.info
    assert info["wecom_emulator_url"].startswith("http://")
    assert api("GET", "/admin/wecom")[1]["connected"] is True
    assert info["wecom_demo"]["staff_contact_way_url"].startswith("https://work.weixin.qq.com/")


def test_a_scan_then_an_add_brings_the_welcome_the_tags_and_the_added_count(running_stack, api, guide_code):
    code, channel, target = guide_code
    emulator = running_stack.info["wecom_emulator_url"]
    way = next(w for w in target["ways"] if w["channel_id"] == channel["id"])
    assert target["wecom_config_id"] and target["url"] != way["url"]

    status, page = Phone().open(channel["scan_url"])
    assert status == 200 and qr_data_uri(way["url"]) in page  # the channel's own contact way

    status, scanned = post_json(
        f"{emulator}/_emulator/scan", {"url": way["url"], "external_userid": "wmE2eCustomer1", "name": "小红"}
    )
    assert status == 200 and scanned["callbacks"][0]["body"] == "success", scanned

    def welcomed():
        calls = get_json(f"{emulator}/_emulator/calls")
        sent = [c for c in calls if c["path"].endswith("send_welcome_msg") and c["response"]["errcode"] == 0]
        tagged = [
            c for c in calls if c["path"].endswith("mark_tag") and c["body"]["external_userid"] == "wmE2eCustomer1"
        ]
        return (sent, tagged) if sent and tagged else None

    sent, tagged = wait_for(welcomed)
    assert any(c["body"]["text"]["content"] == "欢迎来到直播间福利群～" for c in sent)
    assert tagged[-1]["body"]["userid"] == "lisi" and len(tagged[-1]["body"]["add_tag"]) == 2  # code's + channel's
    row = wait_for(lambda: stats_row(api, code["id"], "channel", channel["id"]))
    assert row["added"] == 1
    assert api("GET", "/admin/wecom/contacts/wmE2eCustomer1")[1]["items"][0]["channel_id"] == channel["id"]


def test_forged_replayed_and_resigned_callbacks_change_nothing(running_stack, api, guide_code):
    code, channel, target = guide_code
    callback = f"{running_stack.info['api_url']}/wecom/callback"
    state = next(w for w in target["ways"] if w["channel_id"] == channel["id"])["state"]
    plaintext = (
        "<xml><ToUserName><![CDATA[{corp}]]></ToUserName><FromUserName><![CDATA[sys]]></FromUserName>"
        "<CreateTime>{at}</CreateTime><MsgType><![CDATA[event]]></MsgType>"
        "<Event><![CDATA[change_external_contact]]></Event><ChangeType><![CDATA[add_external_contact]]></ChangeType>"
        "<UserID><![CDATA[lisi]]></UserID><ExternalUserID><![CDATA[wmE2eForged]]></ExternalUserID>"
        "<State><![CDATA[{state}]]></State></xml>"
    ).format(corp=DEMO_CORP["corp_id"], at=int(time.time()), state=state)
    crypto = CallbackCrypto(DEMO_CORP["token"], DEMO_CORP["encoding_aes_key"], DEMO_CORP["corp_id"])
    forger = CallbackCrypto("notTheToken", DEMO_CORP["encoding_aes_key"], DEMO_CORP["corp_id"])

    def signed(signer: CallbackCrypto, nonce: str) -> tuple[str, bytes]:
        timestamp = str(int(time.time()))
        envelope = signer.encrypt_message(plaintext.encode(), timestamp, nonce)
        encrypted = re.search(r"<Encrypt><!\[CDATA\[([^\]]+)\]\]>", envelope)[1]
        signature = re.search(r"<MsgSignature><!\[CDATA\[(\w+)\]\]>", envelope)[1]
        query = urllib.parse.urlencode({"msg_signature": signature, "timestamp": timestamp, "nonce": nonce})
        corp = DEMO_CORP["corp_id"]
        body = f"<xml><ToUserName><![CDATA[{corp}]]></ToUserName><Encrypt><![CDATA[{encrypted}]]></Encrypt></xml>"
        return f"{callback}?{query}", body.encode()

    def added() -> int:
        row = stats_row(api, code["id"], "channel", channel["id"])
        return row["added"] if row else 0

    before = added()
    assert post_raw(*signed(forger, "n1forged")) == (403, "forbidden")
    url, body = signed(crypto, "n2genuine")
    assert post_raw(url, body) == (200, "success")
    wait_for(lambda: added() == before + 1)
    assert post_raw(url, body)[0] == 403  # the very same callback again: a replay
    assert post_raw(*signed(crypto, "n3resigned")) == (200, "success")  # new signature, same event
    time.sleep(3)  # what the worker would have done by now
    assert added() == before + 1


def test_a_url_check_with_a_bad_signature_gets_a_bare_403(running_stack):
    query = urllib.parse.urlencode({"msg_signature": "0" * 40, "timestamp": "1", "nonce": "2", "echostr": "abc"})
    try:
        urllib.request.urlopen(f"{running_stack.info['api_url']}/wecom/callback?{query}", timeout=10)
        raise AssertionError("a bad signature was accepted")
    except urllib.error.HTTPError as error:
        assert error.code == 403 and error.read() == b"forbidden"
