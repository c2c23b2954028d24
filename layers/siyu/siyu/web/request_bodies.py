"""Reading posted bodies, the same way on admin and public routes: the raw bytes of an API
Gateway event, the media type of a Content-Type header, and JSON within a nesting limit. A body
a client got wrong is a 400 that says what to send, never a server error (deep nesting would
otherwise exhaust the parser's recursion)."""

from __future__ import annotations

import base64
import binascii
import json
from typing import Any, NoReturn

from siyu.core.errors import SiyuError, UnreadableBody, UnsupportedMediaType

# The deepest body any route takes is an SOP plan (plan > target > destinations > item): 4 levels.
MAX_JSON_DEPTH = 16


def media_type(content_type: str) -> str:
    """`multipart/form-data` of `Multipart/Form-Data; boundary=...`: lowercased, no parameters."""
    return content_type.split(";", 1)[0].strip().lower()


def charset_refusal(content_type: str) -> SiyuError | None:
    """A 415 when the header names a charset other than UTF-8 (JSON is UTF-8), else None."""
    for parameter in content_type.split(";")[1:]:
        name, _, value = parameter.partition("=")
        charset = value.strip().strip('"').lower()
        if name.strip().lower() == "charset" and charset not in ("utf-8", "utf8"):
            return UnsupportedMediaType(f"charset {charset[:40]!r} is not accepted: send the JSON encoded as UTF-8")
    return None


def raw_body(event: dict[str, Any]) -> bytes:
    """The body's bytes as the client sent them (API Gateway base64-encodes what is not text)."""
    body = event.get("body") or ""
    try:
        return base64.b64decode(body, validate=True) if event.get("isBase64Encoded") else body.encode("utf-8")
    except (binascii.Error, ValueError, UnicodeEncodeError):
        raise UnreadableBody("the body could not be read; send it again (JSON encoded as UTF-8, or the form)") from None


def json_document(body: bytes) -> Any:
    """The JSON value in `body` (UTF-8), or a 400 that says what is wrong with it."""
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as error:
        raise UnreadableBody(
            f"the body is not UTF-8 text (byte {error.start} is not); send JSON encoded as UTF-8"
        ) from None
    try:
        document = json.loads(text, parse_constant=_no_constant)
    except RecursionError:
        raise _too_deep() from None
    except ValueError as error:
        reason = "a number has too many digits" if "digits" in str(error) else str(error)
        raise UnreadableBody(f"the body is not valid JSON ({reason}); send a JSON object") from None
    if _depth_exceeds(document, MAX_JSON_DEPTH):
        raise _too_deep()
    return document


def json_object(body: bytes) -> dict[str, Any]:
    """The JSON object in `body`, or a 400 that says what to send instead."""
    document = json_document(body) if body.strip() else None
    if not isinstance(document, dict):
        raise UnreadableBody('the body must be a JSON object, e.g. {"nickname": "小美"}')
    return document


def _no_constant(name: str) -> NoReturn:
    raise ValueError(f"{name} is not a JSON number")


def _too_deep() -> SiyuError:
    return UnreadableBody(f"the JSON is nested too deeply: at most {MAX_JSON_DEPTH} levels of objects or lists")


def _depth_exceeds(value: Any, limit: int) -> bool:
    """Whether objects and lists nest deeper than `limit` (iterative: no recursion to exhaust)."""
    pending = [(value, 1)]
    while pending:
        item, depth = pending.pop()
        children = item.values() if isinstance(item, dict) else item if isinstance(item, list) else None
        if children is None:
            continue
        if depth > limit:
            return True
        pending.extend((child, depth + 1) for child in children if isinstance(child, (dict, list)))
    return False
