"""Domain errors: each class names a fault, its message says what to change.

The features raise these and never pick an HTTP status; each function maps them to statuses once
(``siyu.web.http_status``), so the same fault has the same status on admin and public routes.
Messages are for the operator or developer who sent the request; copy that a customer reads (in
Chinese, on a page) belongs to the page code that shows it.
"""


class SiyuError(Exception):
    """A request the service refuses; nothing was written."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


class InvalidInput(SiyuError):
    """A value breaks a rule of the contract or the domain."""


class UploadRefused(InvalidInput):
    """An uploaded image that is not one usable WeChat/WeCom QR. Nothing was stored."""


class UnreadableBody(SiyuError):
    """The body cannot be read at all: not JSON, not UTF-8, nested too deeply, a broken form."""


class UnsupportedMediaType(SiyuError):
    """A body or file of a type this route does not take."""


class TooLarge(SiyuError):
    """A body or file over its size limit."""


class NotFound(SiyuError):
    """The thing named does not exist (or is not visible to this caller)."""


class Conflict(SiyuError):
    """The request clashes with the current state (a duplicate, an archived code, a full pool)."""


class TooManyRequests(SiyuError):
    """A limit on how often something may be done was reached."""


class Unavailable(SiyuError):
    """A service we depend on (WeCom) could not be reached or kept failing: try again later."""


class StaleVersion(Exception):
    """Storage: someone else saved the record since it was read. Not a refusal by itself: the
    optimistic modify (``siyu.storage.versioned``) reads again and retries, and reports a Conflict
    only when the record keeps changing."""
