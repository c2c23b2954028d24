"""Cold-import timing in fresh interpreters, shared by the benchmarks that measure a function's
cold start against `import boto3` + a client (scan_bench.py, campaign_page_import_bench.py)."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile

from local_stack.template import Template


def isolated_environment(template: Template, function: str, region: str) -> dict[str, str]:
    """`function`'s environment from the template, with local credentials and no way to reach the
    network (no endpoint, no instance metadata, no ~/.aws files)."""
    env = {k: os.environ[k] for k in ("PATH", "LANG", "LC_ALL", "TMPDIR") if k in os.environ}
    env.update(template.functions()[function].environment)
    env.update(
        AWS_DEFAULT_REGION=region,
        AWS_ACCESS_KEY_ID="bench",
        AWS_SECRET_ACCESS_KEY="bench",
        AWS_EC2_METADATA_DISABLED="true",
        AWS_CONFIG_FILE=os.devnull,
        AWS_SHARED_CREDENTIALS_FILE=os.devnull,
    )
    return env


def run_fresh(
    code: str, path: list[str], env: dict[str, str], flags: tuple[str, ...] = ()
) -> subprocess.CompletedProcess[str]:
    """`code` in a fresh isolated interpreter (-I: no cwd, no PYTHON* variables, no user site)
    with `path` in front of sys.path; prints the seconds the code took, start-up excluded."""
    script = (
        f"import sys, time\nsys.path[:0] = {path!r}\nt = time.perf_counter()\n{code}\nprint(time.perf_counter() - t)"
    )
    return subprocess.run(
        [sys.executable, "-I", *flags, "-c", script], env=env, cwd=tempfile.gettempdir(), capture_output=True, text=True
    )


def timed(code: str, path: list[str], env: dict[str, str]) -> float:
    answer = run_fresh(code, path, env)
    if answer.returncode:
        raise RuntimeError(f"{code!r} failed in a fresh interpreter:\n{answer.stderr}")
    return float(answer.stdout.strip().splitlines()[-1])


def self_times(code: str, path: list[str], env: dict[str, str]) -> dict[str, int]:
    """Module -> its own import time in microseconds (python -X importtime)."""
    times = {}
    for line in run_fresh(code, path, env, ("-X", "importtime")).stderr.splitlines():
        parts = line.removeprefix("import time:").split("|")
        if len(parts) == 3 and parts[0].strip().isdigit():
            times[parts[2].strip()] = int(parts[0])
    return times
