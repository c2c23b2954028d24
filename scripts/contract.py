"""`make contract`: the admin API against its own OpenAPI document, with schemathesis.

Starts the local stack (python -m local_stack, on the template in SIYU_TEMPLATE if set: `make contract`
sets the host build's, so the packaged functions are what is fuzzed) on a free port with a fresh data
directory, waits until it answers, reads the admin token from <data-dir>/stack.json, runs
`schemathesis run` (settings in schemathesis.toml at the repository root; extra arguments are passed
on) and stops the stack.
Exits with schemathesis' status.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
START_SECONDS = 180


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_until_ready(data_dir: Path, url: str, stack: subprocess.Popen) -> str:
    deadline = time.monotonic() + START_SECONDS
    while time.monotonic() < deadline:
        if stack.poll() is not None:
            raise SystemExit(f"the local stack exited with {stack.returncode} before it was ready")
        info = data_dir / "stack.json"
        if info.exists():
            token = json.loads(info.read_text())["admin_token"]
            request = urllib.request.Request(url, headers={"Authorization": f"Bearer {token}"})
            try:
                with urllib.request.urlopen(request, timeout=5) as answer:
                    if answer.status == 200:
                        return token
            except OSError:
                pass
        time.sleep(0.5)
    raise SystemExit(f"the local stack did not answer {url} within {START_SECONDS} s")


def main() -> int:
    port = free_port()
    with tempfile.TemporaryDirectory(prefix="siyu-contract-") as tmp:
        data_dir = Path(tmp) / "data"
        log_path = Path(tmp) / "stack.log"
        schema_url = f"http://127.0.0.1:{port}/admin/openapi.json"
        with open(log_path, "w") as log:
            stack = subprocess.Popen(
                [sys.executable, "-m", "local_stack", "--port", str(port), "--data-dir", str(data_dir)]
                + ["--template", os.environ.get("SIYU_TEMPLATE") or str(ROOT / "template.yaml")],
                cwd=ROOT,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        try:
            started = time.monotonic()
            token = wait_until_ready(data_dir, schema_url, stack)
            print(f"local stack ready on port {port} in {time.monotonic() - started:.0f} s", flush=True)
            env = os.environ | {"SIYU_ADMIN_TOKEN": token}
            command = [str(Path(sys.executable).with_name("schemathesis")), "run", schema_url, *sys.argv[1:]]
            return subprocess.run(command, cwd=ROOT, env=env).returncode
        except BaseException:
            print("--- local stack log (last 40 lines) ---", file=sys.stderr)
            print("\n".join(log_path.read_text(errors="replace").splitlines()[-40:]), file=sys.stderr)
            raise
        finally:
            os.killpg(stack.pid, signal.SIGTERM)
            try:
                stack.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(stack.pid, signal.SIGKILL)
                stack.wait()


if __name__ == "__main__":
    sys.exit(main())
