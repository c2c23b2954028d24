"""Public scan function: GET /s/{code_id} -> the live code's landing page.

Kept light on purpose (no Pillow, no pydantic, no HTTP resolver): it is the function that
cold-starts under a livestream burst.
"""

from aws_lambda_powertools import Logger
from aws_lambda_powertools.logging import correlation_paths

from siyu import landing_page
from siyu.scan import ScanService

logger = Logger(service="scan")
service = ScanService.from_environment()


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
def lambda_handler(event, context):
    code_id = (event.get("pathParameters") or {}).get("code_id", "")
    try:
        result = service.scan(code_id)
    except Exception:  # the scan path never shows an error page
        logger.exception("scan failed", extra={"code_id": code_id})
        return landing_page.busy_page()
    logger.info("scan", extra={"code_id": code_id, "outcome": result.outcome, "target_id": result.target_id})
    return result.page
