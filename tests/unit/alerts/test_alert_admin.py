"""What operators do with alert destinations, on in-memory fakes: input rules, e-mail
subscriptions, ids old and new, test messages."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from siyu.alerts.admin import AlertAdmin
from siyu.alerts.destinations import AlertDestination
from siyu.core.errors import InvalidInput, NotFound
from siyu.core.ids import is_id
from siyu.live_codes.model import ACTIVE, LiveCode
from tests.fakes.alerts import FakeAlerts, FakeTopic

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)


class Codes:
    def __init__(self, *ids: str) -> None:
        self.codes = {i: LiveCode(i, "n", "t", "g", 100, "f", ACTIVE, NOW, NOW, 1, ()) for i in ids}

    def load(self, code_id: str, consistent: bool = False) -> tuple[LiveCode | None, Any]:
        return self.codes.get(code_id), None


def admin(topic: FakeTopic | None = None) -> AlertAdmin:
    return AlertAdmin(FakeAlerts(), Codes("c1"), topic or FakeTopic(), lambda: NOW)


def test_a_webhook_gets_a_secret_and_a_new_style_id():
    service = admin()
    hook = service.add_destination("ops", "webhook", url="https://example.com/hook")
    assert is_id(hook.id) and len(hook.id) == 8 and hook.secret and len(hook.secret) >= 32
    assert service.destinations() == [hook]


@pytest.mark.parametrize(
    ("kind", "fields", "fault"),
    [
        ("pager", {}, InvalidInput),
        ("webhook", {"url": "not a url"}, InvalidInput),
        ("wecom_robot", {"url": "ftp://example.com"}, InvalidInput),
        ("email", {"email": "nope"}, InvalidInput),
        ("webhook", {"url": "https://example.com", "code_id": "missing"}, NotFound),
    ],
)
def test_input_is_checked_before_anything_is_stored(kind, fields, fault):
    service = admin()
    with pytest.raises(fault):
        service.add_destination("x", kind, **fields)
    assert service.destinations() == []


def test_an_email_destination_subscribes_to_its_own_messages_and_unsubscribes_when_removed():
    topic = FakeTopic()
    service = admin(topic)
    mail = service.add_destination("ops", "email", email="ops@example.com", code_id="c1")
    assert mail.subscription_arn in topic.subscriptions
    assert topic.subscriptions[mail.subscription_arn] == (mail.id, "ops@example.com")
    assert service.test_destination(mail.id) is None and topic.published[0][0] == mail.id
    service.remove_destination(mail.id)
    assert topic.subscriptions == {} and service.destinations() == []


def test_email_needs_the_topic():
    with pytest.raises(InvalidInput):
        admin(FakeTopic(configured=False)).add_destination("ops", "email", email="ops@example.com")


def test_destinations_made_with_old_hex_ids_are_still_found():
    service = admin()
    old = AlertDestination("a1b2c3d4", "old", "email", NOW, email="ops@example.com", subscription_arn="pending")
    service.alerts.put_destination(old)
    assert service.test_destination("a1b2c3d4") is None
    service.remove_destination("a1b2c3d4")  # a pending confirmation has nothing to unsubscribe
    with pytest.raises(NotFound):
        service.remove_destination("a1b2c3d4")


def test_a_failed_test_message_says_why():
    topic = FakeTopic()
    topic.failures = 1
    service = admin(topic)
    mail = service.add_destination("ops", "email", email="ops@example.com")
    assert "SNS publish failed" in (service.test_destination(mail.id) or "")
