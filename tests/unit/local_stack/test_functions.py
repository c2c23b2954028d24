"""Loading the handlers: those that route with a Powertools resolver take turns (the resolver keeps
the request being handled in process-wide state), the others run concurrently."""

from __future__ import annotations

import sys
import threading
import time
import types

from local_stack.functions import LocalFunction, keeps_request_state
from local_stack.template import FunctionSpec
from tests.helpers import ROOT


def handler_of(module_name: str, **globals_) -> types.FunctionType:
    module = types.ModuleType(module_name)
    vars(module).update(globals_)

    def lambda_handler(event, context):
        return {}

    lambda_handler.__module__ = module_name
    sys.modules[module_name] = module
    return lambda_handler


def test_a_resolver_module_keeps_request_state_and_a_plain_one_does_not():
    from aws_lambda_powertools.event_handler import APIGatewayHttpResolver

    assert keeps_request_state(handler_of("lambda_test_resolver", app=APIGatewayHttpResolver()))
    assert not keeps_request_state(handler_of("lambda_test_plain", CACHE={}))


def test_a_function_with_a_turn_handles_one_request_at_a_time():
    inside, most = [0], [0]
    lock = threading.Lock()

    def handler(event, context):
        with lock:
            inside[0] += 1
            most[0] = max(most[0], inside[0])
        time.sleep(0.01)
        with lock:
            inside[0] -= 1
        return {"statusCode": 200}

    spec = FunctionSpec("F", ROOT, "app.lambda_handler", {}, 3)
    function = LocalFunction(spec, handler, threading.Lock())
    threads = [threading.Thread(target=function.invoke, args=({},)) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert most[0] == 1
