"""The WeCom client: one token shared through the table, refreshed by exactly one caller, dropped
and fetched again on 40014/42001, busy answers retried with backoff, secrets never logged."""

from __future__ import annotations

import json
import logging
import threading
import urllib.parse
import urllib.request
from datetime import UTC, datetime, timedelta

import pytest

from siyu.core.errors import Unavailable
from siyu.wecom.client import WecomApiError, WecomClient
from tests.fakes.wecom import FakeWecomTable

NOW = datetime(2026, 12, 5, 8, 0, tzinfo=UTC)


class FakeWecom:
    """WeCom's token endpoint and one API path, answering from a script."""

    def __init__(self, script: list[dict] | None = None, secret_ok: bool = True):
        self.token_calls = 0
        self.calls: list[str] = []
        self.script = list(script or [])
        self.secret_ok = secret_ok
        self.valid: set[str] = set()
        self._lock = threading.Lock()

    def __call__(self, request: urllib.request.Request, timeout: float) -> bytes:
        url = urllib.parse.urlsplit(request.full_url)
        query = dict(urllib.parse.parse_qsl(url.query))
        with self._lock:
            self.calls.append(url.path)
            if url.path == "/cgi-bin/gettoken":
                if not self.secret_ok:
                    return json.dumps({"errcode": 40001, "errmsg": "invalid credential"}).encode()
                self.token_calls += 1
                token = f"token-{self.token_calls}"
                self.valid.add(token)
                return json.dumps({"errcode": 0, "errmsg": "ok", "access_token": token, "expires_in": 7200}).encode()
            if query.get("access_token") not in self.valid:
                return json.dumps({"errcode": 42001, "errmsg": "access_token expired"}).encode()
            answer = self.script.pop(0) if self.script else {"errcode": 0, "errmsg": "ok"}
            return json.dumps(answer).encode()


def client(http, table=None, clock=lambda: NOW, sleeps=None):
    return WecomClient(
        corp_id="ww1234567890abcdef",
        secret="the-app-secret-value",
        tokens=table or FakeWecomTable(),
        base="https://qyapi.example",
        http=http,
        clock=clock,
        sleep=(sleeps.append if sleeps is not None else lambda s: None),
    )


def test_the_token_is_fetched_once_and_shared_through_the_table():
    wecom, table = FakeWecom(), FakeWecomTable()
    client(wecom, table).get("/cgi-bin/agent/get")
    client(wecom, table).get("/cgi-bin/agent/get")  # another container: reads the table's token
    assert wecom.token_calls == 1
    assert table.token is not None and table.token[1] == NOW + timedelta(seconds=7200)


def test_a_token_near_its_expiry_is_refreshed():
    wecom, table = FakeWecom(), FakeWecomTable()
    client(wecom, table).get("/cgi-bin/agent/get")
    later = NOW + timedelta(seconds=7200 - 60)
    client(wecom, table, clock=lambda: later).get("/cgi-bin/agent/get")
    assert wecom.token_calls == 2


@pytest.mark.parametrize("errcode", [40014, 42001])
def test_an_invalid_or_expired_token_is_dropped_and_the_call_made_again(errcode):
    wecom, table = FakeWecom(), FakeWecomTable()
    api = client(wecom, table)
    api.get("/cgi-bin/agent/get")
    wecom.valid.clear()  # WeCom no longer accepts it (expired early, or reset)
    assert api.get("/cgi-bin/agent/get")["errcode"] == 0
    assert wecom.token_calls == 2
    assert table.token is not None and table.token[0] == "token-2"


def test_a_token_refused_twice_is_an_error_not_a_loop():
    class AlwaysExpired(FakeWecom):
        def __call__(self, request, timeout):
            if "gettoken" in request.full_url:
                return super().__call__(request, timeout)
            return json.dumps({"errcode": 42001, "errmsg": "expired"}).encode()

    wecom = AlwaysExpired()
    with pytest.raises(WecomApiError) as raised:
        client(wecom).get("/cgi-bin/agent/get")
    assert raised.value.errcode == 42001 and wecom.token_calls == 2


def test_exactly_one_of_many_concurrent_callers_refreshes_the_token():
    wecom, table = FakeWecom(), FakeWecomTable()
    clients = [client(wecom, table) for _ in range(8)]
    errors = []

    def call(api):
        try:
            api.get("/cgi-bin/agent/get")
        except Exception as error:  # pragma: no cover - reported below
            errors.append(error)

    threads = [threading.Thread(target=call, args=(api,)) for api in clients]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == [] and wecom.token_calls == 1


@pytest.mark.parametrize("errcode", [45009, -1, 45033])
def test_busy_answers_are_retried_with_growing_backoff(errcode):
    busy = {"errcode": errcode, "errmsg": "api freq out of limit"}
    sleeps: list[float] = []
    wecom = FakeWecom([busy, busy, {"errcode": 0, "errmsg": "ok", "x": 1}])
    assert client(wecom, sleeps=sleeps).get("/cgi-bin/agent/get")["x"] == 1
    assert sleeps == [0.5, 1.0]


def test_a_refusal_keeps_its_errcode_in_the_log_and_never_the_token_or_secret(caplog):
    wecom = FakeWecom([{"errcode": 60111, "errmsg": "userid not found"}])
    caplog.set_level(logging.DEBUG)
    with pytest.raises(WecomApiError) as raised:
        client(wecom).post("/cgi-bin/externalcontact/add_contact_way", {"user": ["nobody"]})
    assert raised.value.errcode == 60111
    assert "60111" in caplog.text
    assert "token-1" not in caplog.text and "the-app-secret-value" not in caplog.text


def test_refused_credentials_are_an_api_error_with_40001():
    with pytest.raises(WecomApiError) as raised:
        client(FakeWecom(secret_ok=False)).check_credentials()
    assert raised.value.errcode == 40001


def test_wecom_out_of_reach_is_unavailable_after_retries():
    attempts = []

    def down(request, timeout):
        attempts.append(1)
        raise OSError("connection refused")

    with pytest.raises(Unavailable):
        client(down).get("/cgi-bin/agent/get")
    assert len(attempts) == 4


def test_an_answer_that_is_not_json_is_unavailable_not_a_crash():
    with pytest.raises(Unavailable):
        client(lambda request, timeout: b"<html>bad gateway</html>").get("/cgi-bin/agent/get")


def test_a_caller_that_saw_no_token_before_another_stored_one_does_not_refresh_again():
    """The race: B reads the table (no token), A refreshes and stores, B then asks for the lease."""
    wecom, table = FakeWecom(), FakeWecomTable()
    late = client(wecom, table)
    real_cached = table.cached_token
    first = [True]

    def cached_then_someone_refreshes():
        if first[0]:
            first[0] = False
            seen = real_cached()  # nothing yet...
            client(wecom, table).get("/cgi-bin/agent/get")  # ...and meanwhile another container refreshes
            return seen
        return real_cached()

    table.cached_token = cached_then_someone_refreshes
    late.get("/cgi-bin/agent/get")
    assert wecom.token_calls == 1


def test_a_failed_refresh_frees_the_lease_for_the_next_caller():
    table = FakeWecomTable()
    with pytest.raises(WecomApiError):
        client(FakeWecom(secret_ok=False), table).get("/cgi-bin/agent/get")
    assert table.lease is None
    client(FakeWecom(), table).get("/cgi-bin/agent/get")


@pytest.mark.parametrize(
    ("path", "error", "tries"),
    [
        ("/cgi-bin/externalcontact/add_msg_template", TimeoutError("read timed out"), 1),
        ("/cgi-bin/externalcontact/add_contact_way", OSError("connection reset"), 1),
        ("/cgi-bin/message/send", TimeoutError("read timed out"), 1),
        ("/cgi-bin/externalcontact/add_msg_template", ConnectionRefusedError(), 4),  # never reached WeCom
        ("/cgi-bin/externalcontact/groupchat/get", TimeoutError("read timed out"), 4),  # a read: repeatable
    ],
)
def test_a_call_that_makes_something_is_not_repeated_after_it_may_have_reached_wecom(path, error, tries):
    wecom, attempts = FakeWecom(), []

    def flaky(request, timeout):
        if "gettoken" in request.full_url:
            return wecom(request, timeout)
        attempts.append(1)
        raise error

    with pytest.raises(Unavailable):
        client(flaky).post(path, {"x": 1})
    assert len(attempts) == tries
