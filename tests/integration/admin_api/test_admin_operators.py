"""A valid token is not an operator: the admin API needs the operators' group (AdminClaimValue),
through the local API exactly as deployed (the JWT authorizer, then the function's own check)."""

from __future__ import annotations

import json
import urllib.error
import urllib.request


def _get(stack, path: str, token: str) -> tuple[int, dict]:
    request = urllib.request.Request(stack.api.url + path, headers={"Authorization": f"Bearer {token}"})
    try:
        with urllib.request.urlopen(request, timeout=30) as answer:
            return answer.status, json.loads(answer.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def _authorizer(stack):
    name = next(r.authorizer for r in stack.template.routes() if r.authorizer)
    return stack.template.jwt_authorizer(name)


def test_a_token_of_the_issuer_without_the_operators_group_gets_403(stack):
    stranger = stack.issuer.mint(_authorizer(stack), subject="someone", operator_claim=None)
    for path in ("/admin/codes", "/admin/openapi.json", "/admin/campaigns"):
        status, body = _get(stack, path, stranger)
        assert status == 403, path
        assert "siyu-admin" in body["message"] and "cognito:groups" in body["message"]
    other_group = stack.issuer.mint(_authorizer(stack), subject="someone", operator_claim=("cognito:groups", "staff"))
    assert _get(stack, "/admin/codes", other_group)[0] == 403


def test_an_operator_token_gets_in(stack):
    operator = stack.issuer.mint(_authorizer(stack), operator_claim=stack.operator_claim())
    status, _ = _get(stack, "/admin/codes", operator)
    assert status == 200
