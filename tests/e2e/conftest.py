"""End-to-end tests: `python -m local_stack` (what `make run` starts) in its own process,
driven over HTTP like a real client."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from local_stack.demo import call
from tests.helpers import ROOT


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


# The template the stack runs: `make e2e` sets the host build's (.aws-sam/host/template.yaml),
# so these tests drive the functions and the layer as `sam build` packaged them.
TEMPLATE = Path(os.environ.get("SIYU_TEMPLATE") or ROOT / "template.yaml")


class RunningStack:
    """One `python -m local_stack` process on a free port with its own data folder."""

    def __init__(self, data_dir: Path, port: int | None = None):
        self.data_dir = data_dir
        self.port = port or free_port()
        self.log = data_dir / f"stack-{self.port}.log"
        self.process: subprocess.Popen | None = None
        self.info: dict = {}

    def start(self, timeout: float = 90) -> dict:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        (self.data_dir / "stack.json").unlink(missing_ok=True)
        self.process = subprocess.Popen(
            [sys.executable, "-m", "local_stack", "--port", str(self.port), "--data-dir", str(self.data_dir)]
            + ["--template", str(TEMPLATE.resolve())],
            cwd=ROOT,
            stdout=self.log.open("w"),
            stderr=subprocess.STDOUT,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"local stack exited early:\n{self.log.read_text()}")
            stack_json = self.data_dir / "stack.json"
            if stack_json.exists() and "Press Ctrl-C" in self.log.read_text():
                self.info = json.loads(stack_json.read_text())
                return self.info
            time.sleep(0.2)
        raise RuntimeError(f"local stack did not start in {timeout}s:\n{self.log.read_text()}")

    def stop(self) -> int:
        assert self.process is not None
        self.process.send_signal(signal.SIGINT)
        return self.process.wait(timeout=60)

    def kill(self) -> None:
        """Make sure nothing outlives a failed test."""
        if self.process and self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=10)


@pytest.fixture
def fresh_stack(tmp_path):
    """A stack of the test's own (start it yourself), killed whatever happens."""
    stack = RunningStack(tmp_path / "local")
    yield stack
    stack.kill()


@pytest.fixture(scope="session")
def running_stack(tmp_path_factory):
    stack = RunningStack(tmp_path_factory.mktemp("e2e") / "local")
    stack.start()
    yield stack
    if stack.process and stack.process.poll() is None:
        stack.stop()
    stack.kill()
    # The stack judged every DynamoDB and S3 call against the template's policies (local_stack/iam.py).
    refused = [line for line in stack.log.read_text().splitlines() if "not allowed by template.yaml" in line]
    assert not refused, "calls template.yaml's policies do not allow:\n" + "\n".join(refused[:20])


@pytest.fixture(scope="session")
def api(running_stack):
    """The admin API of the shared stack, as an operator's client calls it: (status, body)."""
    info = running_stack.info
    return lambda method, path, body=None: call(info["api_url"], info["admin_token"], method, path, body)
