"""Domain errors. Each carries the HTTP status and a message an operator can act on;
the admin API maps them to JSON answers in one place."""


class SiyuError(Exception):
    status = 400

    def __init__(self, message: str, status: int | None = None):
        super().__init__(message)
        self.message = message
        if status is not None:
            self.status = status


class NotFound(SiyuError):
    status = 404


class Conflict(SiyuError):
    status = 409


class InvalidInput(SiyuError):
    status = 422


class UploadRefused(SiyuError):
    """An uploaded image that is not one usable WeChat/WeCom QR. Nothing was stored."""

    status = 422


class TooManyRequests(SiyuError):
    status = 429
