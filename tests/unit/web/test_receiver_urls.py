"""Receiver URLs are judged when an operator registers them, not only when a send is tried: every
contract that takes one refuses a non-https URL and a private, loopback or link-local address (422)."""

from __future__ import annotations

import pytest
from pydantic import TypeAdapter, ValidationError

from siyu.alerts.api import WebhookChannelCreate
from siyu.api.types import ReceiverUrl
from siyu.campaigns.api import WebhookIn
from siyu.live_codes.api import StaffFields
from siyu.sop.api import DestinationIn

RECEIVER = TypeAdapter(ReceiverUrl)


@pytest.fixture
def deployed(monkeypatch):
    monkeypatch.delenv("SIYU_RUNS_LOCALLY", raising=False)


@pytest.mark.parametrize(
    "url, reason",
    [
        ("http://hooks.example.com/x", "https"),
        ("https://127.0.0.1:9001/2018-06-01/runtime/invocation/next", "loopback"),
        ("https://169.254.169.254/latest/meta-data/", "link-local"),
        ("https://10.1.2.3/hook", "private"),
        ("https://100.64.0.1/hook", "carrier-grade"),
        ("https://localhost/hook", "localhost"),
    ],
)
def test_a_url_no_send_could_reach_is_refused_with_the_reason(deployed, url, reason):
    with pytest.raises(ValidationError) as refused:
        RECEIVER.validate_python(url)
    assert reason in str(refused.value)


def test_public_https_receivers_pass(deployed):
    assert RECEIVER.validate_python("https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=k")
    assert RECEIVER.validate_python("https://hooks.brand.cn:8443/siyu")


def test_on_a_local_stack_http_to_loopback_passes_and_private_addresses_still_do_not():
    assert RECEIVER.validate_python("http://127.0.0.1:8080/hook")  # SIYU_RUNS_LOCALLY=1 (tests/conftest.py)
    with pytest.raises(ValidationError):
        RECEIVER.validate_python("http://192.168.1.10/hook")


def test_every_contract_that_takes_a_receiver_checks_it(deployed):
    bad = "https://169.254.169.254/latest"
    attempts = [
        lambda: WebhookChannelCreate(name="n", kind="webhook", url=bad),
        lambda: WebhookIn(url=bad, secret="s" * 16),
        lambda: DestinationIn(name="n", channel="webhook", url=bad),
        lambda: StaffFields(robot_url=bad),
    ]
    for attempt in attempts:
        with pytest.raises(ValidationError, match="link-local"):
            attempt()
