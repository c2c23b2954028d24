"""Loading the template's Lambda handlers into this process, as Lambda would load them.

Each function's CodeUri folder and every layer's content are importable; the environment is
the template's (resolved locally) plus the emulator's endpoint. Handlers are invoked with a
small Lambda context object.
"""

from __future__ import annotations

import importlib.util
import os
import sys
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass

from local_stack.iam import current_function
from local_stack.template import FunctionSpec, Template


@dataclass
class LambdaContext:
    function_name: str
    timeout_seconds: int
    memory_limit_in_mb: int = 512
    function_version: str = "$LATEST"

    def __post_init__(self):
        self.aws_request_id = str(uuid.uuid4())
        self.invoked_function_arn = f"arn:aws:lambda:us-east-1:123456789012:function:{self.function_name}"
        self._deadline = time.monotonic() + self.timeout_seconds

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._deadline - time.monotonic()) * 1000))


# Powertools' resolvers keep the request being handled in process-wide state (BaseRouter.current_event,
# the app's context): on Lambda each container handles one request at a time, but here one process
# serves every concurrent request (the console reads in parallel), so those handlers take turns.
_RESOLVER_TURN = threading.Lock()


@dataclass
class LocalFunction:
    spec: FunctionSpec
    handler: Callable
    turn: threading.Lock | None = None  # held while handling, for handlers that keep request state

    def invoke(self, event: dict) -> dict:
        # The calls the handler makes are judged against this function's policy (local_stack/iam.py).
        token = current_function.set(self.spec.logical_id)
        try:
            if self.turn is None:
                return self.handler(event, LambdaContext(self.spec.logical_id, self.spec.timeout))
            with self.turn:
                return self.handler(event, LambdaContext(self.spec.logical_id, self.spec.timeout))
        finally:
            current_function.reset(token)


def keeps_request_state(handler: Callable) -> bool:
    """Whether the handler's module routes with a Powertools resolver (one request at a time)."""
    try:
        from aws_lambda_powertools.event_handler.api_gateway import BaseRouter
    except ImportError:
        return False
    module = sys.modules.get(getattr(handler, "__module__", ""))
    return module is not None and any(isinstance(value, BaseRouter) for value in vars(module).values())


def load_functions(template: Template) -> dict[str, LocalFunction]:
    """Import every function's handler with the template's environment (the caller has already
    pointed AWS_ENDPOINT_URL at the emulator)."""
    for layer in template.layer_dirs():
        if str(layer) not in sys.path:
            sys.path.insert(0, str(layer))
    specs = template.functions()
    merged: dict[str, str] = {}
    for spec in specs.values():
        for name, value in spec.environment.items():
            # One process hosts every function, so they must agree on shared variable names.
            if merged.setdefault(name, value) != value:
                raise RuntimeError(f"{spec.logical_id} sets {name} differently from another function")
    os.environ.update(merged)
    functions = {}
    for lid, spec in specs.items():
        handler = _import_handler(spec)
        functions[lid] = LocalFunction(spec, handler, _RESOLVER_TURN if keeps_request_state(handler) else None)
    return functions


_loaded: dict[str, Callable] = {}


def _import_handler(spec: FunctionSpec) -> Callable:
    if spec.logical_id in _loaded:  # one module per function per process, as one Lambda container
        return _loaded[spec.logical_id]
    module_name, function_name = spec.handler.rsplit(".", 1)
    path = spec.code_dir / f"{module_name.replace('.', '/')}.py"
    sys.path.insert(0, str(spec.code_dir))
    try:
        loader = importlib.util.spec_from_file_location(f"lambda_{spec.logical_id}", path)
        module = importlib.util.module_from_spec(loader)
        sys.modules[loader.name] = module
        loader.loader.exec_module(module)
    finally:
        sys.path.remove(str(spec.code_dir))
    _loaded[spec.logical_id] = getattr(module, function_name)
    return _loaded[spec.logical_id]
