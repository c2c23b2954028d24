"""An in-process AWS emulator (moto server) for the local stack and the tests.

moto alone is not safe under concurrent conditional writes, so every request is served
under one lock: each DynamoDB call is then atomic, as it is on AWS. A fault switch makes
DynamoDB answer like an AWS outage, for the scan path's fault tests.

moto's instance tracking is switched off (see _stop_tracking_instances): it kept every model
object ever made, and with it a copy of the whole table for every transaction.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from dataclasses import dataclass

from moto.core.common_models import BaseModel
from moto.moto_server.werkzeug_app import DomainDispatcherApplication, MotoRequestHandler, create_backend_app

from local_stack.background import BackgroundServer

logging.getLogger("werkzeug").setLevel(logging.ERROR)


def _stop_tracking_instances() -> None:
    """moto's BaseModel appends every instance of every model to a class-level list, forever, for
    its dashboard (/moto-api/data.json, which nothing here reads). Deleted S3 objects and SQS
    messages stay referenced that way, and so does each rollback copy of a whole DynamoDB table
    that transact_write_items deep-copies per operation: memory grew with transactions × table
    size (7.6 GB in one integration run). Models are now made without being tracked."""

    def untracked_new(cls, *args, **kwargs):
        return super(BaseModel, cls).__new__(cls)

    BaseModel.__new__ = staticmethod(untracked_new)


_stop_tracking_instances()


@dataclass
class Faults:
    """What the emulated DynamoDB does wrong: None (nothing), "error" (HTTP 500) or "slow"."""

    dynamodb: str | None = None
    slow_seconds: float = 3.0


class Emulator:
    def __init__(self, host: str = "127.0.0.1", port: int = 0):
        self.faults = Faults()
        self.writes = 0  # requests that may have changed state, for snapshotting
        self._lock = threading.Lock()
        self._moto = DomainDispatcherApplication(create_backend_app)
        self._server = BackgroundServer(self._app, host, port, "aws-emulator", request_handler=MotoRequestHandler)

    @property
    def endpoint_url(self) -> str:
        return self._server.url

    def client_environment(self) -> dict[str, str]:
        """Environment that points every boto3 client in this process at the emulator."""
        return {
            "AWS_ENDPOINT_URL": self.endpoint_url,
            "AWS_DEFAULT_REGION": "us-east-1",
            "AWS_ACCESS_KEY_ID": "local",
            "AWS_SECRET_ACCESS_KEY": "local",
            "POWERTOOLS_TRACE_DISABLED": "1",
        }

    def start(self) -> Emulator:
        self._server.start()
        return self

    def stop(self) -> None:
        self._server.stop()

    def _app(self, environ, start_response):
        target = environ.get("HTTP_X_AMZ_TARGET", "")
        if target.startswith("DynamoDB_") and self.faults.dynamodb:
            return self._fault(start_response)
        if environ.get("REQUEST_METHOD") not in ("GET", "HEAD") and not _is_read(target):
            self.writes += 1
        with self._lock:
            # Read the whole answer inside the lock: moto may build it lazily.
            chunks = list(self._moto(environ, start_response))
        return chunks

    def _fault(self, start_response):
        if self.faults.dynamodb == "slow":
            time.sleep(self.faults.slow_seconds)
        body = json.dumps(
            {"__type": "com.amazonaws.dynamodb.v20120810#InternalServerError", "message": "injected fault"}
        ).encode()
        start_response("500 Internal Server Error", [("Content-Type", "application/x-amz-json-1.0")])
        return [body]


def _is_read(target: str) -> bool:
    operation = target.rsplit(".", 1)[-1]
    return operation.startswith(("Get", "Query", "Scan", "Describe", "List", "BatchGet"))
