"""Tracked links, the order webhook and the flash-group metrics through the real handlers: unique
clicks per visitor and day with bots left out and an immediate 302; an order signed with the
webhook's secret counted once (a repurchase told apart); the metrics say their sources and are
null with a reason where a source is missing."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime, timedelta

import pytest

from siyu.layering.orders import signature
from tests.integration.layering.test_layering import QUESTIONNAIRE, public_event

BOT_UA = "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)"
CHAT = "wrFlashGroupAAAAAAAAAAAAAAAAAAAA"


@pytest.fixture(scope="module")
def public(stack):
    return stack.functions["LayeringPagesFunction"].invoke


def click(public, link_id: str, visitor=None, ua=None, ip=None):
    event = public_event("GET", f"/l/{link_id}", "GET /l/{link_id}", {"link_id": link_id}, visitor=visitor, ua=ua)
    if ip:
        event["requestContext"]["http"]["sourceIp"] = ip
    return public(event)


def order(public, body: dict, secret: str, timestamp: int | None = None):
    raw = json.dumps(body)
    stamp = str(timestamp or int(time.time()))
    event = public_event("POST", "/hooks/orders", "POST /hooks/orders", {})
    event["body"] = raw
    event["headers"].update(
        {
            "content-type": "application/json",
            "x-siyu-timestamp": stamp,
            "x-siyu-signature": signature(secret, stamp, raw.encode()),
        }
    )
    answer = public(event)
    return answer["statusCode"], json.loads(answer["body"])


def test_a_tracked_link_counts_unique_clicks_and_redirects_at_once(admin, public):
    status, link = admin(
        "POST",
        "/admin/links",
        {"url": "https://example.com/lesson-1", "group": CHAT, "learning": True, "plan_id": "p1"},
    )
    assert status == 201 and link["short_url"].endswith(f"/l/{link['id']}")
    for visitor in ("c" * 20, "c" * 20, "d" * 20):
        answer = click(public, link["id"], visitor)
        assert answer["statusCode"] == 302 and answer["headers"]["Location"] == "https://example.com/lesson-1"
    click(public, link["id"], ip="198.51.100.7")  # no cookie: the address hash
    click(public, link["id"], ip="198.51.100.7")
    assert click(public, link["id"], "e" * 20, ua=BOT_UA)["statusCode"] == 302  # redirected, never counted
    status, stats = admin("GET", f"/admin/links/{link['id']}")
    assert status == 200 and [(d["clicks"], d["unique"]) for d in stats["days"]] == [(5, 3)]
    assert click(public, "nosuchlink")["statusCode"] == 404
    status, _ = admin("POST", "/admin/links", {"url": "https://example.com/x", "learning": True})
    assert status == 422


def test_orders_are_signed_and_idempotent(admin, public):
    secret = "brand-secret-0123456789"
    body = {"order_id": "T1001", "amount_fen": 9900, "paid_at": "2026-12-05T10:00:00+08:00", "external_userid": "wmB1"}
    assert order(public, body, secret)[0] == 404  # no secret set yet
    assert admin("PUT", "/admin/order-webhook", {"secret": secret})[0] == 204
    status, view = admin("GET", "/admin/order-webhook")
    assert view["configured"] and "secret" not in json.dumps(view)
    assert order(public, {**body, "chat_id": CHAT}, "wrong-secret-0000000")[0] == 401
    assert order(public, {**body, "chat_id": CHAT}, secret, int(time.time()) - 3600)[0] == 401  # a replay
    assert order(public, {**body, "chat_id": CHAT}, secret) == (200, {"result": "new"})
    assert order(public, {**body, "chat_id": CHAT}, secret) == (200, {"result": "duplicate"})
    again = {**body, "order_id": "T1002", "chat_id": CHAT}
    assert order(public, again, secret) == (200, {"result": "repurchase"})
    assert order(public, {**body, "order_id": "bad id!"}, secret)[0] == 422


def test_flash_metrics_carry_their_sources(admin, public):
    today = datetime.now(UTC).astimezone().date()
    _, signup = admin("POST", "/admin/questionnaires", {**QUESTIONNAIRE, "signup": True})
    body = {
        "name": "12 月快闪群",
        "chat_ids": [CHAT],
        "first_day": (today - timedelta(days=1)).isoformat(),
        "last_day": (today + timedelta(days=10)).isoformat(),
        "signup_questionnaire_id": signup["id"],
    }
    status, flash = admin("POST", "/admin/flash-groups", body)
    assert status == 201, flash
    status, metrics = admin("GET", f"/admin/flash-groups/{flash['id']}/metrics")
    assert status == 200
    flash_range = next(r for r in metrics["rows"] if r["scope"] == "flash" and r["date"] is None)
    assert flash_range["join_rate"]["value"] is None and "no code" in flash_range["join_rate"]["reason"]
    assert flash_range["activity_rate"]["value"] is None and flash_range["activity_rate"]["reason"]
    assert flash_range["members"] == 0 and flash_range["learning_rate"]["reason"]  # no members known
    assert "learning links" in flash_range["learning_rate"]["source"]
    assert flash_range["orders"] == 2 and flash_range["revenue_fen"] == 19800 and flash_range["repurchases"] == 1
    status, _ = admin(
        "POST", "/admin/flash-groups", {**body, "first_day": body["last_day"], "last_day": body["first_day"]}
    )
    assert status == 422
