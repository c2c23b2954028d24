"""WeCom callback function: GET /wecom/callback (WeCom checking the URL) and POST (one encrypted
event). Public: WeCom signs what it sends, and anything that fails the checks gets a bare 403.
A valid event is queued for the worker and acknowledged with ``success`` at once (WeCom waits
5 s at most and then retries)."""

import base64
import logging
import os

from siyu.wecom.callbacks import CallbackReceiver
from siyu.wecom.connection import WecomConnections
from siyu.wecom.credentials_repository import CredentialsStore
from siyu.wecom.crypto import CallbackRefused
from siyu.wecom.repository import EventQueue, WecomTable

logger = logging.getLogger("siyu.wecom.callback")
logger.setLevel(os.environ.get("POWERTOOLS_LOG_LEVEL", "INFO"))
table = WecomTable.from_environment()
connections = WecomConnections(table, CredentialsStore.from_environment())
receiver = CallbackReceiver(
    crypto=connections.callback_crypto,
    memory=table,
    queue=EventQueue.from_environment(),
    max_age_seconds=int(os.environ.get("WECOM_CALLBACK_MAX_AGE_SECONDS", "0") or 0),
)
MAX_BODY = 64 * 1024


def _answer(status: int, body: str) -> dict:
    return {"statusCode": status, "headers": {"content-type": "text/plain; charset=utf-8"}, "body": body}


def lambda_handler(event, context):
    method = (event.get("requestContext") or {}).get("http", {}).get("method", "GET")
    query = {k: v for k, v in (event.get("queryStringParameters") or {}).items() if isinstance(v, str)}
    try:
        if method == "GET":
            return _answer(200, receiver.verify_url(query))
        body = event.get("body") or ""
        raw = base64.b64decode(body) if event.get("isBase64Encoded") else body.encode("utf-8")
        if len(raw) > MAX_BODY:
            raise CallbackRefused("too large")
        receiver.receive(query, raw)
    except CallbackRefused:
        logger.info("refused a WeCom callback")
        return _answer(403, "forbidden")
    except ValueError:  # undecodable base64 body
        return _answer(403, "forbidden")
    return _answer(200, "success")
