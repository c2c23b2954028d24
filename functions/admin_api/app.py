"""Admin API function: everything under /admin, behind the JWT authorizer in template.yaml.

Routes live in routers/ (one per resource); errors become JSON answers here, in one place.
"""

import json

from aws_lambda_powertools import Logger
from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response, content_types
from aws_lambda_powertools.event_handler.openapi.exceptions import RequestValidationError
from aws_lambda_powertools.event_handler.openapi.models import HTTPBearer
from aws_lambda_powertools.logging import correlation_paths

from routers import alerts, campaigns, channels, codes, sop, stats, targets
from siyu.errors import SiyuError

logger = Logger(service="admin")
app = APIGatewayHttpResolver(enable_validation=True)
app.include_router(codes.router)
app.include_router(targets.router)
app.include_router(alerts.router)
app.include_router(channels.router)
app.include_router(stats.router)
app.include_router(sop.router)
app.include_router(campaigns.router)


@app.get("/admin/openapi.json", include_in_schema=False)
def openapi_document():
    return Response(
        status_code=200,
        content_type=content_types.APPLICATION_JSON,
        body=app.get_openapi_json_schema(
            title="siyu admin API",
            version="1.0.0",
            description=(
                "Live codes (活码): group, staff and grouped codes, their targets, channels and statistics; "
                "SOP push plans; fission campaigns with personal posters. "
                "Every route needs `Authorization: Bearer <JWT>`."
            ),
            security_schemes={"bearerAuth": HTTPBearer(bearerFormat="JWT")},
            security=[{"bearerAuth": []}],
        ),
    )


@app.exception_handler(SiyuError)
def domain_error(error: SiyuError):
    logger.info("refused", extra={"status": error.status, "reason": error.message})
    return _json_error(error.status, error.message)


@app.exception_handler(RequestValidationError)
def invalid_request(error: RequestValidationError):
    problems = []
    for item in error.errors():
        if item.get("type") == "json_invalid":
            problems.append("the request body is not valid JSON")
            continue
        where = ".".join(str(part) for part in item.get("loc", ()) if part not in ("body",)) or "body"
        problems.append(f"{where}: {item.get('msg', 'invalid')}")
    return _json_error(422, "; ".join(problems) or "the request is not valid", errors=problems)


def _json_error(status: int, message: str, **extra) -> Response:
    return Response(
        status_code=status,
        content_type=content_types.APPLICATION_JSON,
        body=json.dumps({"message": message, **extra}, ensure_ascii=False),
    )


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
def lambda_handler(event, context):
    return app.resolve(event, context)
