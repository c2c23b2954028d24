"""The template's HTTP API on localhost: requests become API Gateway HTTP API (payload 2.0)
events for the same handlers Lambda runs, with the JWT authorizer enforced as configured."""

from __future__ import annotations

import base64
import json
import logging
import time
import uuid
from collections.abc import Callable

from werkzeug.exceptions import HTTPException, RequestEntityTooLarge
from werkzeug.wrappers import Request, Response

from local_stack.auth import LocalIssuer
from local_stack.background import BackgroundServer
from local_stack.functions import LocalFunction
from local_stack.template import Route, Template

logger = logging.getLogger("local_stack.api")
_TEXT_TYPES = ("text/", "application/json", "application/x-www-form-urlencoded", "application/xml")
MAX_PAYLOAD_BYTES = 10 * 1024 * 1024  # API Gateway HTTP APIs refuse larger request bodies with a 413
MAX_EVENT_BYTES = 6 * 1024 * 1024  # Lambda's synchronous payload limit: a larger event never reaches the function

LocalRoute = Callable[[Request, dict[str, str]], Response]


class LocalApi:
    def __init__(
        self,
        template: Template,
        functions: dict[str, LocalFunction],
        issuer: LocalIssuer,
        host: str = "127.0.0.1",
        port: int = 3000,
    ):
        self.template = template
        self.functions = functions
        self.issuer = issuer
        self.routes = template.routes()
        self.local_routes: list[tuple[Route, LocalRoute]] = []
        self._server = BackgroundServer(self._wsgi, host, port, "local-api")

    @property
    def url(self) -> str:
        return self._server.url

    def add_local_route(self, method: str, path: str, serve: LocalRoute) -> None:
        """Tooling-only routes (under /_local/) that exist here and never in the deployed API."""
        self.local_routes.append((Route(method, path, "local", None), serve))

    def start(self) -> LocalApi:
        self._server.start()
        return self

    def stop(self) -> None:
        self._server.stop()

    def _wsgi(self, environ, start_response):
        request = Request(environ)
        started = time.perf_counter()
        try:
            response = self._dispatch(request)
        except Exception:  # whatever a request carries, the gateway answers and goes on serving
            logger.exception("%s %s could not be handled", request.method, request.path)
            response = _json(500, {"message": "Internal Server Error"})
        logger.info(
            "%s %s -> %s (%.0f ms)",
            request.method,
            request.path,
            response.status_code,
            (time.perf_counter() - started) * 1000,
        )
        return response(environ, start_response)

    def _dispatch(self, request: Request) -> Response:
        request.max_content_length = MAX_PAYLOAD_BYTES  # chunked bodies too
        try:
            request.get_data()
        except RequestEntityTooLarge:
            return _json(413, {"message": "Request Entity Too Large"})
        except (HTTPException, OSError, ValueError):  # a broken chunked body, a client gone mid-body
            return _json(400, {"message": "Bad Request"})
        for route, serve in self.local_routes:
            params = route.match(request.method, request.path)
            if params is not None:
                return serve(request, params)
        for route in self.routes:
            params = route.match(request.method, request.path)
            if params is None:
                continue
            claims = None
            if route.authorizer:
                authorizer = self.template.jwt_authorizer(route.authorizer)
                claims = self.issuer.verify(authorizer, request.headers.get("Authorization"))
                if claims is None:
                    return _json(401, {"message": "Unauthorized"})
            event = http_api_event(request, route, params, claims, self.url)
            if len(json.dumps(event, ensure_ascii=False).encode()) > MAX_EVENT_BYTES:
                return _json(413, {"message": "Request Entity Too Large"})
            try:
                result = self.functions[route.function_id].invoke(event)
            except Exception:
                logger.exception("%s raised", route.function_id)
                return _json(500, {"message": "Internal Server Error"})
            return lambda_result_to_response(result)
        return _json(404, {"message": "Not Found"})


def http_api_event(request: Request, route: Route, params: dict, claims: dict | None, api_url: str) -> dict:
    """An API Gateway HTTP API payload-2.0 event for `request`, as AWS would build it."""
    body = request.get_data()
    is_text = not body or (request.mimetype or "").startswith(_TEXT_TYPES)
    if is_text:
        try:
            text = body.decode("utf-8")
        except UnicodeDecodeError:
            is_text = False  # not UTF-8 whatever its type says: handed over base64-encoded, as binary
    headers = {k.lower(): v for k, v in request.headers.items() if k.lower() != "cookie"}
    headers.setdefault("x-forwarded-proto", "http")
    headers.setdefault("x-forwarded-for", request.remote_addr or "127.0.0.1")
    domain = request.host or api_url.split("://", 1)[1]
    now = time.time()
    event = {
        "version": "2.0",
        "routeKey": route.route_key,
        "rawPath": request.path,
        "rawQueryString": request.query_string.decode("latin-1"),
        "headers": headers,
        "requestContext": {
            "accountId": "123456789012",
            "apiId": "local",
            "domainName": domain,
            "domainPrefix": domain.split(".")[0],
            "http": {
                "method": request.method,
                "path": request.path,
                "protocol": "HTTP/1.1",
                "sourceIp": request.remote_addr or "127.0.0.1",
                "userAgent": request.headers.get("User-Agent", ""),
            },
            "requestId": str(uuid.uuid4()),
            "routeKey": route.route_key,
            "stage": "$default",
            "time": time.strftime("%d/%b/%Y:%H:%M:%S +0000", time.gmtime(now)),
            "timeEpoch": int(now * 1000),
        },
        "isBase64Encoded": not is_text,
        "body": text if is_text else base64.b64encode(body).decode("ascii"),
    }
    if request.cookies:
        event["cookies"] = [f"{k}={v}" for k, v in request.cookies.items()]
    if request.args:
        event["queryStringParameters"] = {k: ",".join(request.args.getlist(k)) for k in request.args}
    if params:
        event["pathParameters"] = params
    if claims is not None:
        # HTTP APIs pass an array claim (cognito:groups) flattened into one string: "[a b]".
        flat = {k: f"[{' '.join(map(str, v))}]" if isinstance(v, list) else v for k, v in claims.items()}
        event["requestContext"]["authorizer"] = {"jwt": {"claims": flat, "scopes": None}}
    return event


def lambda_result_to_response(result) -> Response:
    """What API Gateway sends back for a handler's return value (payload 2.0 rules)."""
    if not (isinstance(result, dict) and "statusCode" in result):
        return _json(200, result)
    body = result.get("body") or ""
    data = base64.b64decode(body) if result.get("isBase64Encoded") else body.encode("utf-8")
    response = Response(data, status=int(result["statusCode"]))
    response.headers.pop("Content-Type", None)
    for name, value in (result.get("headers") or {}).items():
        response.headers[name] = str(value)
    for name, values in (result.get("multiValueHeaders") or {}).items():
        for value in values:
            response.headers.add(name, str(value))
    for cookie in result.get("cookies") or []:
        response.headers.add("Set-Cookie", cookie)
    return response


def _json(status: int, body) -> Response:
    return Response(json.dumps(body, ensure_ascii=False), status=status, content_type="application/json")
