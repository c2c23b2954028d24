"""Who may use the admin API: a valid token is not enough, it must carry the operators' claim.

API Gateway's JWT authorizer checks the issuer, audience and expiry; it checks scopes only. The
group (default: Cognito group ``siyu-admin``, which the stack creates) or any other claim is checked
here, from the claims the authorizer passes on. HTTP APIs pass an array claim flattened into one
string (``"[siyu-admin other]"``); a JWT library passes a list; an OIDC ``scope`` is one
space-separated string. All three are read the same way. Pure: no I/O.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

CLAIM_NAME = "ADMIN_CLAIM_NAME"
CLAIM_VALUE = "ADMIN_CLAIM_VALUE"
DEFAULT_CLAIM = ("cognito:groups", "siyu-admin")


def required_claim() -> tuple[str, str]:
    """(claim name, value it must hold): the template's AdminClaimName and AdminClaimValue."""
    name = os.environ.get(CLAIM_NAME) or DEFAULT_CLAIM[0]
    return name, os.environ.get(CLAIM_VALUE) or DEFAULT_CLAIM[1]


def claim_values(raw: Any) -> set[str]:
    """The values one claim holds, whatever form it arrived in."""
    if isinstance(raw, list | tuple):
        return {str(v) for v in raw}
    if not isinstance(raw, str):
        return set()
    text = raw.strip()
    if text.startswith("[") and text.endswith("]"):
        text = text[1:-1]
    return {part.strip("\"'") for part in text.replace(",", " ").split()} - {""}


def admin_refusal(event: Mapping[str, Any], claim: tuple[str, str]) -> str | None:
    """Why this request may not use the admin API (the answer is 403), or None."""
    name, value = claim
    context = event.get("requestContext") or {}
    jwt = (context.get("authorizer") or {}).get("jwt") or {}
    claims = jwt.get("claims") or {}
    held = claim_values(claims.get(name))
    if name in ("scope", "scp"):
        held |= claim_values(jwt.get("scopes"))
    if value in held:
        return None
    return (
        f"this token is valid but does not make its user an operator of this stack: it needs {value!r} in "
        f"its {name!r} claim (with the stack's user pool: add the user to the group {value!r})"
    )
