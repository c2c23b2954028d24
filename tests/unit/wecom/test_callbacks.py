"""Receiving WeCom callbacks: a valid event is queued once; a replay, a forgery, a wrong corp or an
old timestamp (when the age check is on) changes nothing; a queue failure lets WeCom's retry in."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest

from siyu.wecom.callbacks import CallbackReceiver
from siyu.wecom.crypto import CallbackCrypto, CallbackRefused
from tests.fakes.wecom import FakeEventQueue, FakeWecomTable

KEY = "jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C"
CORP = "ww5823bf96d3bd56c7"
NOW = datetime(2026, 12, 5, 8, 0, tzinfo=UTC)
EVENT = b"<xml><ToUserName><![CDATA[ww5823bf96d3bd56c7]]></ToUserName><CreateTime>1764921600</CreateTime></xml>"


def signed(crypto: CallbackCrypto, plaintext: bytes = EVENT, timestamp: str | None = None, nonce: str = "n1"):
    timestamp = timestamp or str(int(NOW.timestamp()))
    envelope = crypto.encrypt_message(plaintext, timestamp, nonce)
    signature = re.search(r"<MsgSignature><!\[CDATA\[(\w+)\]\]>", envelope)
    encrypted = re.search(r"<Encrypt><!\[CDATA\[([^\]]+)\]\]>", envelope)
    assert signature and encrypted
    body = f"<xml><ToUserName><![CDATA[{CORP}]]></ToUserName><Encrypt><![CDATA[{encrypted[1]}]]></Encrypt></xml>"
    query = {"msg_signature": signature[1], "timestamp": timestamp, "nonce": nonce}
    return query, body.encode()


@pytest.fixture
def setup():
    crypto = CallbackCrypto("QDG6eK", KEY, CORP)
    table, queue = FakeWecomTable(), FakeEventQueue()
    receiver = CallbackReceiver(crypto=lambda: crypto, memory=table, queue=queue, clock=lambda: NOW)
    return crypto, receiver, queue


def test_a_valid_event_is_queued_as_its_plaintext(setup):
    crypto, receiver, queue = setup
    receiver.receive(*signed(crypto))
    assert queue.sent == [EVENT]


def test_the_same_callback_again_is_refused_and_queues_nothing(setup):
    crypto, receiver, queue = setup
    query, body = signed(crypto)
    receiver.receive(query, body)
    with pytest.raises(CallbackRefused):
        receiver.receive(query, body)
    assert queue.sent == [EVENT]


def test_a_forged_signature_is_refused(setup):
    crypto, receiver, queue = setup
    query, body = signed(crypto)
    with pytest.raises(CallbackRefused):
        receiver.receive({**query, "msg_signature": "0" * 40}, body)
    assert queue.sent == []


def test_an_event_encrypted_for_another_corp_is_refused(setup):
    _, receiver, queue = setup
    other = CallbackCrypto("QDG6eK", KEY, "wwsomeoneelse0000")
    with pytest.raises(CallbackRefused):
        receiver.receive(*signed(other))
    assert queue.sent == []


def test_nothing_is_accepted_while_no_corp_is_connected():
    receiver = CallbackReceiver(crypto=lambda: None, memory=FakeWecomTable(), queue=FakeEventQueue())
    with pytest.raises(CallbackRefused):
        receiver.receive(*signed(CallbackCrypto("QDG6eK", KEY, CORP)))
    with pytest.raises(CallbackRefused):
        receiver.verify_url({"msg_signature": "x", "timestamp": "1", "nonce": "2", "echostr": "e"})


def test_a_queue_failure_forgets_the_callback_so_wecoms_retry_gets_in(setup):
    crypto, _, _ = setup
    table, down = FakeWecomTable(), FakeEventQueue(fail=True)
    receiver = CallbackReceiver(crypto=lambda: crypto, memory=table, queue=down, clock=lambda: NOW)
    query, body = signed(crypto)
    with pytest.raises(ConnectionError):
        receiver.receive(query, body)
    down.fail = False
    receiver.receive(query, body)
    assert down.sent == [EVENT]


def test_the_age_check_refuses_old_timestamps_only_when_set(setup):
    crypto, _, _ = setup
    old = str(int(NOW.timestamp()) - 3600)
    strict = CallbackReceiver(
        lambda: crypto, FakeWecomTable(), FakeEventQueue(), max_age_seconds=300, clock=lambda: NOW
    )
    with pytest.raises(CallbackRefused):
        strict.receive(*signed(crypto, timestamp=old))
    lenient_queue = FakeEventQueue()
    lenient = CallbackReceiver(lambda: crypto, FakeWecomTable(), lenient_queue, clock=lambda: NOW)
    lenient.receive(*signed(crypto, timestamp=old))
    assert lenient_queue.sent == [EVENT]


def test_url_verification_answers_the_decrypted_echostr(setup):
    crypto, receiver, _ = setup
    echostr = crypto.encrypt(b"1616140317555161061")
    query = {"timestamp": "1409659589", "nonce": "263014780", "echostr": echostr}
    query["msg_signature"] = crypto.signature(query["timestamp"], query["nonce"], echostr)
    assert receiver.verify_url(query) == "1616140317555161061"
    with pytest.raises(CallbackRefused):
        receiver.verify_url({**query, "nonce": "1"})


@pytest.mark.parametrize(
    "query",
    [{}, {"msg_signature": "a", "timestamp": "1"}, {"msg_signature": "a" * 500, "timestamp": "1", "nonce": "2"}],
)
def test_missing_or_oversized_parameters_are_refused(setup, query):
    _, receiver, _ = setup
    with pytest.raises(CallbackRefused):
        receiver.receive(query, b"<xml/>")
