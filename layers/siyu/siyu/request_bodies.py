"""Reading posted bodies on public routes: JSON objects within a nesting limit, and the media
type of a Content-Type header. A body a client got wrong is a 400 that says what to send,
never a server error (a deep nesting would otherwise exhaust the parser's recursion)."""

from __future__ import annotations

import json

from siyu.errors import SiyuError

# Our bodies are a handful of fields; a few levels leave room for any of them.
MAX_JSON_DEPTH = 32


def media_type(content_type: str) -> str:
    """`multipart/form-data` of `Multipart/Form-Data; boundary=...`: lowercased, no parameters."""
    return content_type.split(";", 1)[0].strip().lower()


def json_object(body: bytes) -> dict:
    """The JSON object in `body` (UTF-8), or a 400 that says what is wrong with it."""
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        raise SiyuError("the request body is not UTF-8 text; send JSON encoded as UTF-8", 400) from None
    try:
        data = json.loads(text) if text.strip() else None
    except RecursionError:
        data = _TOO_DEEP
    except ValueError as error:
        raise SiyuError(f"the request body is not valid JSON ({error})", 400) from None
    if data is _TOO_DEEP or _depth_exceeds(data, MAX_JSON_DEPTH):
        raise SiyuError(
            f"the request body is nested too deeply; at most {MAX_JSON_DEPTH} levels of objects or lists", 400
        )
    if not isinstance(data, dict):
        raise SiyuError('the request body must be a JSON object, e.g. {"nickname": "小美"}', 400)
    return data


_TOO_DEEP = object()


def _depth_exceeds(value, limit: int) -> bool:
    """Whether objects and lists nest deeper than `limit` (iterative: no recursion to exhaust)."""
    stack = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict):
            children = item.values()
        elif isinstance(item, list):
            children = item
        else:
            continue
        if depth > limit:
            return True
        stack.extend((child, depth + 1) for child in children if isinstance(child, (dict, list)))
    return False
