"""Not a resource but what every router shares: what each admin route documents and refuses the same way
(its status codes, the one error shape siyu.api.types.ErrorBody) and the checks on a request body made
before any route sees it.

Written once: AdminResolver adds the common responses to every route it registers, so a router only
states what is particular to it (a file's media type, a route-specific error).
"""

from __future__ import annotations

import inspect
import re
from typing import Annotated, get_args, get_origin

from aws_lambda_powertools.event_handler import APIGatewayHttpResolver
from aws_lambda_powertools.event_handler.api_gateway import BaseRouter
from aws_lambda_powertools.event_handler.openapi.params import Body, Query

from siyu.api.types import ErrorBody
from siyu.core.errors import SiyuError, TooLarge, UnsupportedMediaType
from siyu.web.request_bodies import MAX_JSON_DEPTH, charset_refusal, json_document, media_type, raw_body

# Lambda's synchronous payload limit: on AWS nothing larger reaches the function (API Gateway answers
# 413 itself); a QR upload's 4 MB limit is about 5.4 MB of base64, well under it.
MAX_BODY_BYTES = 6 * 1024 * 1024
BODY_METHODS = frozenset({"POST", "PUT", "PATCH"})
JSON_MEDIA_TYPE = "application/json"

_ERRORS = {
    400: f"The body is not UTF-8 JSON, or is nested deeper than {MAX_JSON_DEPTH} levels.",
    401: "No valid bearer token: sign in again (Authorization: Bearer <JWT>).",
    403: "The token is valid but not an operator's: its AdminClaimName claim lacks AdminClaimValue "
    "(with the stack's user pool: the user is not in the siyu-admin group).",
    404: "No such resource (or no such route).",
    409: "Conflicts with the current state, or someone else changed it at the same time: read it again.",
    413: "The body (or an image in it) is larger than the limit the message states.",
    415: "The body is not sent as Content-Type: application/json (charset utf-8).",
    422: "A parameter or the body breaks a rule of the contract; `errors` lists each problem.",
    429: "Throttled (API Gateway's rate limit); retry after a moment.",
    503: "WeCom could not be reached or kept answering busy; try again in a minute.",
}
_SUCCESS = {200: "OK", 201: "Created", 202: "Accepted", 204: "Done; no content."}


def error_response(status: int, description: str | None = None) -> dict:
    return {"description": description or _ERRORS[status], "content": {JSON_MEDIA_TYPE: {"model": ErrorBody}}}


def file_response(media_type: str, description: str) -> dict:
    """A success answer that is a file (PNG, SVG, JPEG, CSV), not JSON."""
    schema = (
        {"type": "string"} if media_type.startswith(("text/", "image/svg")) else {"type": "string", "format": "binary"}
    )
    return {200: {"description": description, "content": {media_type: {"schema": schema}}}}


def common_responses(method: str, rule: str, status_code: int, names_a_code: bool = False) -> dict[int, dict]:
    """The answers any route of this method and path can give, success first. `names_a_code`: the
    route's body has a code_id that may not exist (a 404, or a 409 when the code is archived)."""
    success: dict = {"description": _SUCCESS.get(status_code, "OK")}
    if status_code == 204:
        success["content"] = {}
    statuses = [401, 403, 422, 429]
    if "<" in rule or names_a_code:  # a path id, or a body naming a code, that does not exist
        statuses.append(404)
    # Changes race with other changes (optimistic versions); creating a new top-level item races with nothing.
    if method != "GET" and not (method == "POST" and "<" not in rule and not names_a_code):
        statuses.append(409)
    if method in BODY_METHODS:  # any body sent is read before routing, whether the route takes one or not
        statuses += [400, 413, 415]
    return {status_code: success} | {status: error_response(status) for status in sorted(statuses)}


Cursor = Annotated[
    str | None,
    Query(
        pattern=r"^[A-Za-z0-9_-]*={0,2}$",
        max_length=2000,
        description="The `next_cursor` of the previous page, unchanged (opaque URL-safe base64); empty or absent: "
        "the first page. A value this API did not hand out gets 422 (no schema can tell them apart).",
    ),
]

_ROUTE = inspect.signature(BaseRouter.route)


class AdminResolver(APIGatewayHttpResolver):
    """Every route gets common_responses(); a route's own `responses` are merged over them.
    It also remembers each path's methods, to answer 405 (with Allow) for the others."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.methods_of: dict[str, tuple[re.Pattern, set[str]]] = {}

    def route(self, *args, **kwargs):
        bound = _ROUTE.bind(self, *args, **kwargs)
        bound.apply_defaults()
        given = bound.arguments
        methods = [given["method"]] if isinstance(given["method"], str) else list(given["method"])
        pattern = re.compile("^" + re.sub(r"<\w+>", "[^/]+", given["rule"]) + "$")
        self.methods_of.setdefault(given["rule"], (pattern, set()))[1].update(m.upper() for m in methods)
        register = super().route

        def with_common_responses(func):
            if given["include_in_schema"]:
                own = dict(given["responses"] or {})
                common = common_responses(methods[0].upper(), given["rule"], given["status_code"], _names_a_code(func))
                given["responses"] = common | own
            return register(*bound.args[1:], **bound.kwargs)(func)

        return with_common_responses

    def allowed_methods(self, path: str) -> set[str]:
        """The methods the most specific routes matching `path` serve (empty: no route has this path)."""
        matching = [
            (rule.count("<"), methods) for rule, (pattern, methods) in self.methods_of.items() if pattern.match(path)
        ]
        fewest = min((params for params, _ in matching), default=0)
        return {m for params, methods in matching if params == fewest for m in methods}


def _names_a_code(func) -> bool:
    """Whether the route's body model (or any model of a body union) has a code_id field."""
    for annotation in inspect.get_annotations(func, eval_str=True).values():
        if get_origin(annotation) is not Annotated or not any(isinstance(m, Body) for m in annotation.__metadata__):
            continue
        models = [annotation.__origin__, *get_args(annotation.__origin__)]
        for model in models:
            model = get_args(model)[0] if get_origin(model) is Annotated else model
            if "code_id" in getattr(model, "model_fields", {}):
                return True
    return False


def body_refusal(event: dict) -> SiyuError | None:
    """Why a POST, PUT or PATCH body cannot be read as JSON, or None. Checked before routing, so the
    answer is the same error shape whatever the route, and never a 5xx."""
    method = (event.get("requestContext", {}).get("http", {}).get("method") or "").upper()
    body = event.get("body")
    if method not in BODY_METHODS or not body:
        return None
    headers = {k.lower(): v for k, v in (event.get("headers") or {}).items()}
    content_type = headers.get("content-type", "")
    kind = media_type(content_type)
    if kind and kind != JSON_MEDIA_TYPE:
        hint = " (files go base64 inside the JSON, e.g. image_base64)" if kind.startswith("multipart/") else ""
        return UnsupportedMediaType(
            f"Content-Type {kind[:60]!r} is not accepted: send the body as JSON with "
            f"Content-Type: application/json{hint}"
        )
    charset = charset_refusal(content_type)
    if charset is not None:
        return charset
    try:
        raw = raw_body(event)
        if len(raw) > MAX_BODY_BYTES:
            return TooLarge(
                f"the body is {len(raw) / 1024 / 1024:.1f} MB; at most {MAX_BODY_BYTES // 1024 // 1024} MB is accepted"
            )
        json_document(raw)
    except SiyuError as refusal:
        return refusal
    return None
