"""Domain errors to HTTP statuses: the one table every function answers with."""

from __future__ import annotations

from siyu.core.errors import (
    Conflict,
    InvalidInput,
    NotFound,
    SiyuError,
    TooLarge,
    TooManyRequests,
    Unavailable,
    UnreadableBody,
    UnsupportedMediaType,
)

STATUS_OF: dict[type[SiyuError], int] = {
    UnreadableBody: 400,
    NotFound: 404,
    Conflict: 409,
    TooLarge: 413,
    UnsupportedMediaType: 415,
    InvalidInput: 422,
    TooManyRequests: 429,
    Unavailable: 503,
}


def http_status(error: SiyuError) -> int:
    """The status of `error`'s nearest class in STATUS_OF; 400 for any other refusal."""
    for cls in type(error).__mro__:
        if cls in STATUS_OF:
            return STATUS_OF[cls]
    return 400
