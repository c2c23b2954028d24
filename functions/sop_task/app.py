"""Public SOP task page (``GET /t/{token}``, ``POST /t/{token}/sent``): a guide reminded of a
reminder-mode delivery opens its signed link, copies the content into the group by hand, and marks
it sent. The token is the only credential (no cookie, no login); an expired or forged one is a 4xx
page, and no failure shows a stack trace. Hand-written like the campaign page: two routes, light imports."""

import json
import logging
import os
from urllib.parse import parse_qs

from siyu.core.errors import SiyuError
from siyu.sop.repository import SopTable
from siyu.sop.task_page import SopTasks
from siyu.sop.task_page_html import refused_page, task_page, trouble_page
from siyu.storage.signing_key import SigningKey
from siyu.storage.uploads_bucket import UploadsBucket
from siyu.web.request_bodies import raw_body
from siyu.web.signed_links import LinkRefused

logger = logging.getLogger("siyu.sop_task")
logger.setLevel(os.environ.get("POWERTOOLS_LOG_LEVEL", "INFO"))
signing_key = SigningKey.from_environment()
tasks = SopTasks(SopTable.from_environment(), UploadsBucket.from_environment(), signing_key.get)
MAX_FORM_BYTES = 4096


def lambda_handler(event, context):
    token = (event.get("pathParameters") or {}).get("token", "")
    try:
        if event.get("routeKey", "") == "POST /t/{token}/sent":
            task, newly = tasks.mark_sent(token, _who(event))
            return task_page(task, token, "已记录为已发送，谢谢！" if newly else "这个任务之前已经标记过了。")
        return task_page(tasks.open(token), token)
    except LinkRefused as refused:
        return refused_page(refused.reason)
    except Exception:
        logger.exception(json.dumps({"message": "sop task page failed"}))
        return trouble_page()


def _who(event) -> str:
    """The form's optional `who` (the page records "未署名" without it; an unreadable body is no name)."""
    try:
        body = raw_body(event)[:MAX_FORM_BYTES].decode("utf-8", "replace")
    except SiyuError:
        return ""
    return (parse_qs(body).get("who") or [""])[0]
