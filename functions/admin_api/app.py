"""Admin API function: everything under /admin, behind the JWT authorizer in template.yaml.

Routes live in routers/ (one per resource); errors become JSON answers here, in one place, all in the
shape of siyu.api_models.ErrorBody. routers/contract.py documents every route's answers and refuses bodies
that are not UTF-8 JSON before any route sees them.
"""

import json

from aws_lambda_powertools import Logger
from aws_lambda_powertools.event_handler import Response, content_types
from aws_lambda_powertools.event_handler.exceptions import NotFoundError
from aws_lambda_powertools.event_handler.openapi.exceptions import (
    RequestUnsupportedContentType,
    RequestValidationError,
)
from aws_lambda_powertools.event_handler.openapi.models import HTTPBearer
from aws_lambda_powertools.logging import correlation_paths

from routers import alerts, campaigns, channels, codes, flash, layering, sop, stats, targets, wecom
from routers.contract import AdminResolver, body_refusal
from siyu.core.errors import SiyuError
from siyu.web.admin_claims import admin_refusal, required_claim
from siyu.web.http_status import http_status
from siyu.web.request_bodies import MAX_JSON_DEPTH

logger = Logger(service="admin")
app = AdminResolver(enable_validation=True)
app.include_router(codes.router)
app.include_router(targets.router)
app.include_router(alerts.router)
app.include_router(channels.router)
app.include_router(stats.router)
app.include_router(sop.router)
app.include_router(campaigns.router)
app.include_router(wecom.router)
app.include_router(layering.router)
app.include_router(flash.router)


@app.get("/admin/openapi.json", include_in_schema=False)
def openapi_document():
    return Response(
        status_code=200,
        content_type=content_types.APPLICATION_JSON,
        body=app.get_openapi_json_schema(
            title="siyu admin API",
            version="1.0.0",
            description=(
                "Live codes (活码): group, staff and grouped codes, their targets, channels and statistics; "
                "SOP push plans; fission campaigns with personal posters. "
                "Every route needs `Authorization: Bearer <JWT>`. Request bodies are JSON "
                f"(`Content-Type: application/json`, UTF-8, nested at most {MAX_JSON_DEPTH} levels, at most 6 MB). "
                "Every error answer is an `ErrorBody`: `message` says what to change."
            ),
            security_schemes={"bearerAuth": HTTPBearer(bearerFormat="JWT")},
            security=[{"bearerAuth": []}],
        ),
    )


@app.exception_handler(SiyuError)
def domain_error(error: SiyuError):
    status = http_status(error)
    logger.info("refused", extra={"status": status, "reason": error.message})
    return _json_error(status, error.message)


# What a value refused by its pattern should look like, in words (the pattern itself helps nobody).
PATTERN_HINTS = {
    "from": "must be a date like 2026-11-25 (YYYY-MM-DD, years 2000-2999)",
    "to": "must be a date like 2026-11-25 (YYYY-MM-DD, years 2000-2999)",
    "cursor": "must be the next_cursor of the previous page, unchanged",
    "corp_id": "must be the corp's id (我的企业 → 企业信息 → 企业ID): 4 to 64 letters and digits",
    "agent_id": "must be the app's AgentId: digits only",
    "secret": "must be the app's Secret: 8 to 128 visible characters, no spaces",
    "token": "must be the callback Token (接收消息 → API接收): 1 to 32 letters and digits",
    "encoding_aes_key": "must be the callback EncodingAESKey: exactly 43 characters (letters, digits, + or /)",
    "wecom_user": "must be a WeCom member's userid: 1 to 64 letters, digits, '_', '-', '.' or '@'",
}


@app.exception_handler(RequestValidationError)
def invalid_request(error: RequestValidationError):
    problems = []
    for item in error.errors():
        if item.get("type") == "json_invalid":
            return _json_error(400, "the body is not valid JSON; send a JSON object")
        where = ".".join(str(part) for part in item.get("loc", ()) if part not in ("body",)) or "body"
        hint = None
        if item.get("type") == "string_pattern_mismatch":
            hint = PATTERN_HINTS.get(str(item.get("loc", ("",))[-1]))
        problems.append(f"{where}: {hint or item.get('msg', 'invalid')}")
    return _json_error(422, "; ".join(problems) or "the request is not valid", errors=problems)


@app.exception_handler(RequestUnsupportedContentType)
def unsupported_content_type(_error: RequestUnsupportedContentType):
    return _json_error(415, "send the body as JSON with Content-Type: application/json")


@app.not_found
def no_route(_error: NotFoundError):
    event = app.current_event
    allowed = sorted(app.allowed_methods(event.path))
    if event.http_method.upper() in allowed:  # the route exists; this id has characters no id has
        return _json_error(404, f"nothing at {event.path[:200]}: no id has these characters")
    if allowed:
        response = _json_error(
            405, f"{event.http_method[:20]} is not served here; use {', '.join(allowed)} (see /admin/openapi.json)"
        )
        response.headers["Allow"] = ", ".join(allowed)
        return response
    return _json_error(404, f"no route {event.http_method} {event.path[:200]}; the routes are in /admin/openapi.json")


def _json_error(status: int, message: str, **extra) -> Response:
    return Response(
        status_code=status,
        content_type=content_types.APPLICATION_JSON,
        body=json.dumps({"message": message, **extra}, ensure_ascii=False),
    )


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
def lambda_handler(event, context):
    if (not_operator := admin_refusal(event, required_claim())) is not None:
        logger.info("refused token", extra={"status": 403, "reason": "no operator claim"})
        return {
            "statusCode": 403,
            "headers": {"Content-Type": content_types.APPLICATION_JSON},
            "body": json.dumps({"message": not_operator}, ensure_ascii=False),
            "isBase64Encoded": False,
        }
    refusal = body_refusal(event)
    if refusal is not None:
        logger.info("refused body", extra={"status": http_status(refusal), "reason": refusal.message})
        return {
            "statusCode": http_status(refusal),
            "headers": {"Content-Type": content_types.APPLICATION_JSON},
            "body": json.dumps({"message": refusal.message}, ensure_ascii=False),
            "isBase64Encoded": False,
        }
    _lowercase_media_type(event)
    return app.resolve(event, context)


def _lowercase_media_type(event: dict) -> None:
    """Media types are case-insensitive (RFC 9110); the resolver compares them as written."""
    headers = event.get("headers") or {}
    for name, value in headers.items():
        if name.lower() == "content-type" and isinstance(value, str):
            kind, separator, parameters = value.partition(";")
            headers[name] = kind.strip().lower() + separator + parameters
