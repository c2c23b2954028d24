"""Only operators use the admin API: the claim is read in every form API Gateway and issuers use."""

from __future__ import annotations

import copy

import pytest

from siyu.web.admin_claims import admin_refusal, claim_values
from tests.helpers import admin_event

GROUPS = ("cognito:groups", "siyu-admin")


def _with_claims(claims: dict, scopes=None) -> dict:
    event = copy.deepcopy(admin_event("GET", "/admin/codes"))
    event["requestContext"]["authorizer"] = {"jwt": {"claims": claims, "scopes": scopes}}
    return event


@pytest.mark.parametrize(
    "raw",
    ["[siyu-admin]", "[other siyu-admin]", ["siyu-admin"], ["a", "siyu-admin"], "siyu-admin", '["a","siyu-admin"]'],
)
def test_the_group_is_found_in_every_form_it_arrives_in(raw):
    assert admin_refusal(_with_claims({"sub": "u", "cognito:groups": raw}), GROUPS) is None


@pytest.mark.parametrize("raw", [None, "", "[]", "[siyu-admins]", "[other]", ["siyu"], 7, {"siyu-admin": 1}])
def test_a_valid_token_without_the_group_is_refused_with_the_reason(raw):
    claims = {"sub": "u"} if raw is None else {"sub": "u", "cognito:groups": raw}
    refusal = admin_refusal(_with_claims(claims), GROUPS)
    assert refusal is not None and "'siyu-admin'" in refusal and "'cognito:groups'" in refusal


def test_no_authorizer_context_is_no_operator():
    event = copy.deepcopy(admin_event("GET", "/admin/codes"))
    del event["requestContext"]["authorizer"]
    assert admin_refusal(event, GROUPS) is not None


def test_an_own_issuer_can_name_another_claim_or_a_scope():
    assert admin_refusal(_with_claims({"roles": "[ops siyu]"}), ("roles", "siyu")) is None
    assert admin_refusal(_with_claims({"scope": "openid siyu/admin"}), ("scope", "siyu/admin")) is None
    assert admin_refusal(_with_claims({}, scopes=["siyu/admin"]), ("scope", "siyu/admin")) is None
    assert admin_refusal(_with_claims({"scope": "openid"}), ("scope", "siyu/admin")) is not None


def test_claim_values_never_match_by_substring():
    assert claim_values("[siyu-admin-not]") == {"siyu-admin-not"}
    assert claim_values("a, b") == {"a", "b"}
