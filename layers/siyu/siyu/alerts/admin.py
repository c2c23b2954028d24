"""What operators do with alert destinations and the alert log (the admin API's logic)."""

from __future__ import annotations

import re
import secrets
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime
from urllib.parse import urlsplit

from siyu.alerts.destinations import KINDS, AlertDestination, AlertMessage, deliver
from siyu.alerts.ports import AlertStore, CodeLookup, Topic
from siyu.alerts.records import AlertRecord
from siyu.alerts.wording import TEST_CODE_NAME, TEST_TEXT
from siyu.core.clock import utcnow
from siyu.core.errors import InvalidInput, NotFound
from siyu.core.ids import new_id
from siyu.delivery.sender import DeliveryFailed

_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
DESTINATION_ID_LENGTH = 8  # as long as the hex ids made before (they stay valid: ids are only looked up)


@dataclass
class AlertAdmin:
    alerts: AlertStore
    codes: CodeLookup
    topic: Topic
    clock: Callable[[], datetime] = utcnow

    def add_destination(
        self,
        name: str,
        kind: str,
        url: str | None = None,
        secret: str | None = None,
        email: str | None = None,
        code_id: str | None = None,
    ) -> AlertDestination:
        if kind not in KINDS:
            raise InvalidInput(f"kind must be one of {', '.join(KINDS)}")
        if kind in ("wecom_robot", "webhook"):
            parts = urlsplit(url or "")
            if parts.scheme not in ("https", "http") or not parts.hostname:
                raise InvalidInput(f"a {kind} channel needs the full http(s) url of the receiver")
            if kind == "webhook" and not secret:
                secret = secrets.token_urlsafe(32)  # shown once, in the creation answer
        elif not email or not _EMAIL.match(email):
            raise InvalidInput("an email channel needs a valid email address")
        if code_id and self.codes.load(code_id, consistent=True)[0] is None:
            raise NotFound(f"no live code with id {code_id!r}")
        destination = AlertDestination(
            id=new_id(DESTINATION_ID_LENGTH),
            name=name,
            kind=kind,
            created_at=self.clock(),
            url=url if kind != "email" else None,
            secret=secret if kind == "webhook" else None,
            email=email if kind == "email" else None,
            code_id=code_id,
        )
        if kind == "email":
            if not self.topic.configured:
                raise InvalidInput("e-mail alerts need the stack's alert topic (ALERT_TOPIC_ARN is not set)")
            # Only messages published for this destination reach this address (one copy each).
            arn = self.topic.subscribe(destination.id, email or "")
            destination = replace(destination, subscription_arn=arn)
        self.alerts.put_destination(destination)
        return destination

    def destinations(self) -> list[AlertDestination]:
        return self.alerts.destinations()

    def remove_destination(self, destination_id: str) -> None:
        destination = self._destination(destination_id)
        arn = destination.subscription_arn
        if arn and arn.startswith("arn:"):  # not "pending confirmation"
            self.topic.unsubscribe(arn)  # first: no orphan subscriber
        self.alerts.delete_destination(destination_id)

    def test_destination(self, destination_id: str) -> str | None:
        """Send a test message now; None when it arrived, else what went wrong."""
        destination = self._destination(destination_id)
        message = AlertMessage(
            id=new_id(16),
            code_id=destination.code_id or "-",
            code_name=TEST_CODE_NAME,
            event="test",
            condition="test",
            severity="info",
            text=TEST_TEXT.format(name=destination.name),
            occurred_at=self.clock(),
        )
        try:
            deliver(destination, message, self.topic)
        except DeliveryFailed as error:
            return str(error)
        return None

    def log(self, code_id: str | None, limit: int, cursor: str | None) -> tuple[list[AlertRecord], str | None]:
        return self.alerts.log(code_id, limit, cursor)

    def _destination(self, destination_id: str) -> AlertDestination:
        destination = next((d for d in self.alerts.destinations() if d.id == destination_id), None)
        if destination is None:
            raise NotFound(f"no alert channel with id {destination_id!r}")
        return destination
