"""Public scan function: GET /s/{code_id} -> the live code's landing page.

Kept light on purpose: no Pillow, no pydantic, no QR library, no Powertools (its import costs
~50 ms of cold start, a fifth of boto3's): this is the function that cold-starts under a
livestream burst. Logs are one JSON line; routine counted scans log at DEBUG so a burst of
thousands of scans a second does not turn into a CloudWatch bill.
"""

import json
import logging
import os

from siyu import landing_page
from siyu.scan import ScanService
from siyu.visitors import is_bot, is_wechat

logger = logging.getLogger("siyu.scan")
logger.setLevel(os.environ.get("POWERTOOLS_LOG_LEVEL", "INFO"))
service = ScanService.from_environment()


def lambda_handler(event, context):
    code_id = (event.get("pathParameters") or {}).get("code_id", "")
    user_agent = (event.get("headers") or {}).get("user-agent", "")
    try:
        result = service.scan(code_id, count=not is_bot(user_agent), in_wechat=is_wechat(user_agent))
    except Exception:  # the scan path never shows an error page
        logger.exception(json.dumps({"message": "scan failed", "code_id": code_id}))
        return landing_page.busy_page()
    level = logging.DEBUG if result.counted else logging.INFO
    if not logger.isEnabledFor(level):
        return result.page
    record = {
        "message": "scan",
        "code_id": code_id,
        "outcome": result.outcome,
        "target_id": result.target_id,
        "counted": result.counted,
        "request_id": getattr(context, "aws_request_id", None),
    }
    logger.log(level, json.dumps(record))
    return result.page
