"""Connecting WeCom through the admin function and receiving its callbacks through the callback
function, on the emulated AWS and the WeCom emulator. The tests run in order: connect, receive,
disconnect. The stack is shared: the module leaves WeCom disconnected."""

from __future__ import annotations

import base64
import copy
import json
import os
import re
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from dataclasses import replace
from datetime import UTC, datetime

import boto3
import pytest

from siyu.wecom.crypto import CallbackCrypto
from siyu.wecom.repository import WecomTable
from tests.helpers import sample_event

CORP = "ww" + uuid.uuid4().hex[:16]
AGENT = "1000002"
SECRET = "s3cret-" + uuid.uuid4().hex
TOKEN = "Tk" + uuid.uuid4().hex[:20]
AES_KEY = base64.b64encode(uuid.uuid4().bytes + uuid.uuid4().bytes).decode()[:43]
GOOD = {"corp_id": CORP, "agent_id": AGENT, "secret": SECRET, "token": TOKEN, "encoding_aes_key": AES_KEY}
CRYPTO = CallbackCrypto(TOKEN, AES_KEY, CORP)


@pytest.fixture(scope="module", autouse=True)
def leave_disconnected(admin):
    admin("DELETE", "/admin/wecom")
    yield
    admin("DELETE", "/admin/wecom")


@pytest.fixture(scope="module")
def callback(stack):
    function = stack.functions["WecomCallbackFunction"]

    def call(method: str, query: dict, body: bytes | str | None = None, base64_body: bool = False) -> dict:
        return function.invoke(callback_event(method, query, body, base64_body))

    return call


@pytest.fixture(scope="module")
def queue():
    return Queue(boto3.client("sqs"), os.environ["WECOM_QUEUE_URL"])


class Queue:
    def __init__(self, client, url: str):
        self.client, self.url = client, url

    def take(self) -> list[str]:
        """Every message now in the queue (deleted once read)."""
        bodies = []
        while True:
            answer = self.client.receive_message(QueueUrl=self.url, MaxNumberOfMessages=10, WaitTimeSeconds=0)
            messages = answer.get("Messages", [])
            if not messages:
                return bodies
            for message in messages:
                bodies.append(message["Body"])
                self.client.delete_message(QueueUrl=self.url, ReceiptHandle=message["ReceiptHandle"])


def callback_event(method: str, query: dict, body: bytes | str | None, base64_body: bool) -> dict:
    """What API Gateway (HTTP API, payload 2.0) hands the callback function."""
    event = copy.deepcopy(sample_event("scan_function_scan"))
    event["routeKey"] = event["requestContext"]["routeKey"] = f"{method} /wecom/callback"
    event["rawPath"] = event["requestContext"]["http"]["path"] = "/wecom/callback"
    event["requestContext"]["http"]["method"] = method
    event.pop("pathParameters", None)
    event["queryStringParameters"] = query
    event["rawQueryString"] = urllib.parse.urlencode(query)
    event["headers"]["content-type"] = "text/xml"
    if body is not None:
        if base64_body:
            event["body"] = base64.b64encode(body if isinstance(body, bytes) else body.encode()).decode()
        else:
            event["body"] = body if isinstance(body, str) else body.decode()
        event["isBase64Encoded"] = base64_body
    return event


def nonce() -> str:
    return uuid.uuid4().hex[:16]


def event_xml(kind: str = "add_external_contact") -> bytes:
    return (
        f"<xml><ToUserName><![CDATA[{CORP}]]></ToUserName><FromUserName><![CDATA[sys]]></FromUserName>"
        f"<CreateTime>{int(time.time())}</CreateTime><MsgType><![CDATA[event]]></MsgType>"
        "<Event><![CDATA[change_external_contact]]></Event>"
        f"<ChangeType><![CDATA[{kind}]]></ChangeType><UserID><![CDATA[guide]]></UserID>"
        f"<ExternalUserID><![CDATA[wm{uuid.uuid4().hex}]]></ExternalUserID></xml>"
    ).encode()


def signed_post(plaintext: bytes, crypto: CallbackCrypto = CRYPTO) -> tuple[dict, str]:
    """(query, body) of one callback as WeCom posts it."""
    timestamp, once = str(int(time.time())), nonce()
    reply = crypto.encrypt_message(plaintext, timestamp, once)
    encrypted = re.search(r"<Encrypt><!\[CDATA\[(.*?)\]\]></Encrypt>", reply).group(1)
    signature = re.search(r"<MsgSignature><!\[CDATA\[(.*?)\]\]></MsgSignature>", reply).group(1)
    body = (
        f"<xml><ToUserName><![CDATA[{CORP}]]></ToUserName><Encrypt><![CDATA[{encrypted}]]></Encrypt>"
        f"<AgentID><![CDATA[{AGENT}]]></AgentID></xml>"
    )
    return {"msg_signature": signature, "timestamp": timestamp, "nonce": once}, body


def assert_forbidden(answer: dict) -> None:
    assert answer["statusCode"] == 403, answer
    assert answer["body"] == "forbidden"


def assert_no_secrets(value) -> None:
    text = json.dumps(value, ensure_ascii=False)
    for secret in (SECRET, TOKEN, AES_KEY):
        assert secret not in text


# -- connecting --------------------------------------------------------------------------


def test_wecom_out_of_reach_is_503_with_a_message(admin, monkeypatch):
    monkeypatch.setenv("WECOM_API_BASE_URL", "http://127.0.0.1:9")  # nothing listens there
    status, body = admin("PUT", "/admin/wecom", GOOD)
    assert status == 503, body
    assert "WeCom" in body["message"] and "try again" in body["message"]
    monkeypatch.undo()
    assert os.environ["WECOM_API_BASE_URL"] != "http://127.0.0.1:9"
    status, view = admin("GET", "/admin/wecom")
    assert (status, view["connected"]) == (200, False)


def test_a_secret_wecom_refuses_is_422_and_nothing_is_stored(admin):
    status, body = admin("PUT", "/admin/wecom", {**GOOD, "secret": "bad-secret-value"})
    assert status == 422, body
    assert "40001" in body["message"] and "secret" in body["message"]
    assert_no_secrets(body)

    status, view = admin("GET", "/admin/wecom")
    assert status == 200
    assert view["connected"] is False
    assert view["callback_url"].endswith("/wecom/callback")


def test_agent_id_may_be_a_json_number_or_digits(admin):
    status, body = admin("PUT", "/admin/wecom", {**GOOD, "agent_id": int(AGENT)})
    admin("DELETE", "/admin/wecom")  # the tests below start from no connection
    assert status == 200 and body["agent_id"] == str(AGENT), body


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"agent_id": "abc"}, "agent_id"),
        ({"agent_id": -1}, "agent_id"),
        ({"agent_id": True}, "agent_id"),
        ({"agent_id": 1.5}, "agent_id"),
        ({"encoding_aes_key": AES_KEY[:42]}, "encoding_aes_key"),
        ({"token": "tok-en!"}, "token"),
        ({"corp_id": "ww corp"}, "corp_id"),
        ({"secret": "short"}, "secret"),
        ({"webhook": "https://example.com"}, "webhook"),
    ],
)
def test_a_value_of_the_wrong_shape_is_422_naming_its_field(admin, change, field):
    status, body = admin("PUT", "/admin/wecom", {**GOOD, **change})
    assert status == 422, body
    assert field in body["message"]
    assert_no_secrets(body)
    assert admin("GET", "/admin/wecom")[1]["connected"] is False


def test_connecting_checks_stores_the_secrets_and_never_shows_them(admin):
    status, view = admin("PUT", "/admin/wecom", GOOD)
    assert status == 200, view
    assert view["connected"] is True
    assert (view["corp_id"], view["agent_id"]) == (CORP, AGENT)
    assert [check["name"] for check in view["checks"]] == ["access_token", "contacts", "app"]
    assert all(check["ok"] for check in view["checks"]), view["checks"]
    assert view["secret"] == "******" + SECRET[-3:]
    assert view["token"] == "******" + TOKEN[-3:]
    assert view["encoding_aes_key"] == "******" + AES_KEY[-3:]
    assert_no_secrets(view)

    status, shown = admin("GET", "/admin/wecom")
    assert status == 200
    assert shown == view
    assert_no_secrets(shown)

    parameter = boto3.client("ssm").get_parameter(Name=os.environ["WECOM_CREDENTIALS_PARAMETER"], WithDecryption=True)
    assert parameter["Parameter"]["Type"] == "SecureString"
    assert json.loads(parameter["Parameter"]["Value"]) == {
        "secret": SECRET,
        "token": TOKEN,
        "encoding_aes_key": AES_KEY,
    }


# -- receiving callbacks -----------------------------------------------------------------


def test_the_url_check_answers_the_plain_echostr(callback):
    echostr = CRYPTO.encrypt(b"1234567890123456789")
    timestamp, once = str(int(time.time())), nonce()
    query = {"msg_signature": CRYPTO.signature(timestamp, once, echostr), "timestamp": timestamp, "nonce": once}

    answer = callback("GET", {**query, "echostr": echostr})

    assert answer["statusCode"] == 200, answer
    assert answer["headers"]["content-type"].startswith("text/plain")
    assert answer["body"] == "1234567890123456789"


def test_a_url_check_with_a_wrong_signature_is_a_bare_403(callback):
    echostr = CRYPTO.encrypt(b"42")
    timestamp, once = str(int(time.time())), nonce()
    wrong = CallbackCrypto("OtherToken", AES_KEY, CORP).signature(timestamp, once, echostr)

    assert_forbidden(
        callback("GET", {"msg_signature": wrong, "timestamp": timestamp, "nonce": once, "echostr": echostr})
    )
    assert_forbidden(callback("GET", {"timestamp": timestamp, "nonce": once, "echostr": echostr}))


def test_an_event_is_queued_once_and_a_replay_is_refused(callback, queue):
    queue.take()
    plaintext = event_xml()
    query, body = signed_post(plaintext)

    answer = callback("POST", query, body)
    assert answer["statusCode"] == 200, answer
    assert answer["body"] == "success"
    assert queue.take() == [plaintext.decode()]

    assert_forbidden(callback("POST", query, body))
    assert queue.take() == []


def test_a_base64_encoded_event_is_received_too(callback, queue):
    queue.take()
    plaintext = event_xml("del_follow_user")
    query, body = signed_post(plaintext)

    assert callback("POST", query, body, base64_body=True)["statusCode"] == 200
    assert queue.take() == [plaintext.decode()]


def test_forged_and_garbled_callbacks_are_403_and_queue_nothing(stack, callback, queue):
    queue.take()
    query, body = signed_post(event_xml())
    other_key = base64.b64encode(bytes(range(32))).decode()[:43]
    forged_query, forged_body = signed_post(event_xml(), CallbackCrypto("OtherToken", other_key, CORP))
    other_corp_query, other_corp_body = signed_post(event_xml(), CallbackCrypto(TOKEN, AES_KEY, "wwsomeoneelse"))
    doctype = '<?xml version="1.0"?><!DOCTYPE xml [<!ENTITY x "y">]>' + body
    cases = [
        (forged_query, forged_body, False),  # signed and encrypted with another app's settings
        ({**query, "msg_signature": "0" * 40}, body, False),  # a signature that does not match
        ({**query, "timestamp": str(int(query["timestamp"]) + 1)}, body, False),  # a changed timestamp
        (other_corp_query, other_corp_body, False),  # right keys, another corp's receive id
        ({k: v for k, v in query.items() if k != "nonce"}, body, False),
        (query, os.urandom(2048), True),  # random bytes
        (query, "<xml>" + "A" * (70 * 1024) + "</xml>", False),  # larger than any callback
        (query, doctype, False),  # a DOCTYPE, however well signed the rest is
        (query, "not xml at all", False),
        (query, "", False),
    ]
    for case_query, case_body, as_base64 in cases:
        answer = callback("POST", case_query, case_body, base64_body=as_base64)
        assert_forbidden(answer)
    event = callback_event("POST", query, None, False)
    event["body"], event["isBase64Encoded"] = "%%% not base64 %%%", True
    assert_forbidden(stack.functions["WecomCallbackFunction"].invoke(event))  # undecodable base64

    assert queue.take() == []
    # none of them spent the real callback's (signature, nonce): it still goes through
    assert callback("POST", query, body)["statusCode"] == 200
    assert len(queue.take()) == 1


def test_wecom_verifies_the_callback_url_over_http(stack):
    try:
        urllib.request.urlopen(f"{stack.api.url}/wecom/callback", timeout=5)  # noqa: S310 (local)
    except urllib.error.HTTPError as answered:  # 403: the API is served
        assert answered.code == 403
    except (urllib.error.URLError, OSError, AttributeError):
        pytest.skip("the stack fixture does not serve its API over HTTP")

    request = urllib.request.Request(
        f"{stack.wecom.base_url}/_emulator/callbacks/verify",
        data=json.dumps({"corp_id": CORP}).encode(),
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=10) as answer:  # noqa: S310 (the local emulator)
        result = json.loads(answer.read())

    assert result["ok"] is True, result


def test_a_reconnect_made_in_another_container_reaches_the_callbacks_at_once(stack, callback, queue):
    """Another admin container connected new callback settings: what it wrote (the SecureString and
    the connection item) is all this container sees; its cached secrets must not outlive them."""
    queue.take()
    token, key = "Tk" + uuid.uuid4().hex[:20], base64.b64encode(os.urandom(32)).decode()[:43]
    credentials = {"secret": SECRET, "token": token, "encoding_aes_key": key}
    boto3.client("ssm").put_parameter(
        Name=os.environ["WECOM_CREDENTIALS_PARAMETER"],
        Value=json.dumps(credentials),
        Type="SecureString",
        Overwrite=True,
    )
    table = WecomTable(boto3.client("dynamodb"), os.environ["TABLE_NAME"])
    table.save_connection(replace(table.connection(), connected_at=datetime.now(UTC)))

    query, body = signed_post(event_xml(), CallbackCrypto(token, key, CORP))
    answer = callback("POST", query, body)

    assert answer["statusCode"] == 200, answer
    assert len(queue.take()) == 1
    assert_forbidden(callback("POST", *signed_post(event_xml())))  # the old settings no longer work


# -- disconnecting -----------------------------------------------------------------------


def test_disconnecting_wipes_the_secrets_and_refuses_callbacks(admin, callback, queue):
    queue.take()
    status, body = admin("DELETE", "/admin/wecom")
    assert status == 204, body

    status, view = admin("GET", "/admin/wecom")
    assert status == 200
    assert view["connected"] is False
    assert view["secret"] is None and view["token"] is None

    parameter = boto3.client("ssm").get_parameter(Name=os.environ["WECOM_CREDENTIALS_PARAMETER"], WithDecryption=True)
    assert json.loads(parameter["Parameter"]["Value"]) == {}

    query, body = signed_post(event_xml())
    assert_forbidden(callback("POST", query, body))
    assert queue.take() == []
