"""Public scan function: GET /s/{code_id} -> the live code's landing page.

Kept light on purpose: no Pillow, no pydantic, no QR library, no Powertools (its import costs
~50 ms of cold start, a fifth of boto3's): this is the function that cold-starts under a
livestream burst. A visitor id cookie (random, first-party) and a signed memory cookie per code (the target
given, the statistic dimensions seen) make unique-visitor counts and "same staff member again"
work without a read or a write; HEAD requests and bots see the page but are not counted. Logs are one JSON line;
routine pages (a target's QR, a grouped code's choices: first-time or
returning) log at DEBUG and template.yaml's LoggingConfig drops Lambda's own START/END/REPORT lines, so a
burst of thousands of scans a second does not turn into a CloudWatch bill.
"""

import json
import logging
import os

from siyu.live_codes import landing_page
from siyu.live_codes.scan import ScanService, Visit
from siyu.web.scan_memory import cookie_name, memory_cookie
from siyu.web.visitors import (
    VISITOR_COOKIE,
    cookie_value,
    is_bot,
    is_wechat,
    source_ip,
    visitor_cookie_for,
)

logger = logging.getLogger("siyu.live_codes.scan")
logger.setLevel(os.environ.get("POWERTOOLS_LOG_LEVEL", "INFO"))
service = ScanService.from_environment()


def lambda_handler(event, context):
    code_id = (event.get("pathParameters") or {}).get("code_id", "")
    headers = event.get("headers") or {}
    query = event.get("queryStringParameters") or {}
    user_agent = headers.get("user-agent", "")
    method = (event.get("requestContext") or {}).get("http", {}).get("method", "GET")
    cookies = event.get("cookies") or []
    try:
        visit = Visit(
            code_id,
            channel_id=query.get("ch"),
            option_id=query.get("o"),
            visitor_id=cookie_value(cookies, VISITOR_COOKIE),
            count=method == "GET" and not is_bot(user_agent),
            in_wechat=is_wechat(user_agent),
            referral=query.get("r"),
            address=source_ip(event),  # hashed with the stack's secret key by the service, never kept
            fetch=(headers.get("sec-fetch-dest"), headers.get("sec-fetch-mode")),
            first_pick=query.get("n") == "1",
            memory=cookie_value(cookies, cookie_name(code_id)) if code_id.isalnum() else None,
        )
        result = service.visit(visit)
    except Exception:  # the scan path never shows an error page
        logger.exception(json.dumps({"message": "scan failed", "code_id": code_id}))
        return landing_page.busy_page()
    page = result.page
    set_cookies = [visitor_cookie_for(event, result.visitor_id)] if result.visitor_id else []
    if result.memory_cookie:  # what the browser remembers of this code: its target, the dimensions seen
        secure = headers.get("x-forwarded-proto", "https") == "https"
        set_cookies.append(memory_cookie(*result.memory_cookie, secure=secure))
    if set_cookies:
        page = {**page, "cookies": set_cookies}
    level = logging.DEBUG if result.routine else logging.INFO
    if not logger.isEnabledFor(level):
        return page
    record = {
        "message": "scan",
        "code_id": code_id,
        "outcome": result.outcome,
        "target_id": result.target_id,
        "counted": result.counted,
        "channel_id": visit.channel_id,
        "request_id": getattr(context, "aws_request_id", None),
    }
    logger.log(level, json.dumps(record))
    return page
