"""Import one built function and, given an event, invoke it: run as a script by a clean
interpreter (`python -I -S`: no site-packages, no PYTHONPATH, no user site), with nothing on
sys.path but the standard library, the function's built folder, the built layers and the boto3
that the Lambda runtime provides, in Lambda's order (/var/task, /opt/python, the runtime).

Prints one JSON line: the modules it loaded from outside the standard library and where from,
and the handler's answer. Only the standard library is imported here.
"""

import argparse
import importlib
import json
import sys
import sysconfig
import time
import uuid


class LambdaContext:
    def __init__(self, name: str, timeout: int, memory: int):
        self.function_name = name
        self.function_version = "$LATEST"
        self.memory_limit_in_mb = memory
        self.aws_request_id = str(uuid.uuid4())
        self.invoked_function_arn = f"arn:aws:lambda:us-east-1:123456789012:function:{name}"
        self.log_group_name = f"/aws/lambda/{name}"
        self.log_stream_name = "built-check"
        self._deadline = time.monotonic() + timeout

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._deadline - time.monotonic()) * 1000))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--task", required=True, help="the function's built folder (/var/task)")
    parser.add_argument("--layer", action="append", default=[], help="a built layer's python/ folder (/opt/python)")
    parser.add_argument("--runtime", required=True, help="the runtime's own packages (boto3)")
    parser.add_argument("--handler", required=True)
    parser.add_argument("--event", help="a sample event file to invoke the handler with")
    parser.add_argument("--timeout", type=int, default=30)
    args = parser.parse_args()

    sys.path[:0] = [args.task, *args.layer, args.runtime]
    module_name, function_name = args.handler.rsplit(".", 1)
    handler = getattr(importlib.import_module(module_name), function_name)
    report = {"site_loaded": "site" in sys.modules, "modules": _outside_modules()}
    if args.event:
        with open(args.event, encoding="utf-8") as file:
            event = json.load(file)
        report["answer"] = handler(event, LambdaContext(args.task.rstrip("/").rsplit("/", 1)[-1], args.timeout, 512))
    print("\nBUILT-CHECK " + json.dumps(report, default=str))


def _outside_modules() -> dict[str, str]:
    """Top-level modules loaded from files outside the standard library, with their file."""
    stdlib = (sysconfig.get_paths()["stdlib"], sysconfig.get_paths()["platstdlib"])
    found = {}
    for name, module in list(sys.modules.items()):
        path = getattr(module, "__file__", None) or ""
        if (
            "." in name
            or name in ("__main__", "__mp_main__")
            or not path
            or (path.startswith(stdlib) and "site-packages" not in path)
        ):
            continue
        found[name] = path
    return found


if __name__ == "__main__":
    main()
