"""What the routers share: the code admin service and how to build public scan URLs."""

import functools
import os

from siyu.alert_admin import AlertAdmin
from siyu.code_admin import CodeAdmin


@functools.cache
def code_admin() -> CodeAdmin:
    return CodeAdmin.from_environment()


@functools.cache
def alert_admin() -> AlertAdmin:
    return AlertAdmin.from_environment()


def scan_url(event, code_id: str) -> str:
    """The public URL printed on parcel cards: PUBLIC_BASE_URL (a custom domain) if set,
    otherwise the API's own domain as this request reached it."""
    base = os.environ.get("PUBLIC_BASE_URL", "").rstrip("/")
    if not base:
        proto = event.headers.get("x-forwarded-proto", "https")
        base = f"{proto}://{event.request_context.domain_name}"
    return f"{base}/s/{code_id}"
