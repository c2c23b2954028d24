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
import tomllib
import urllib.parse
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from local_stack.demo import call  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
START_SECONDS = 180
# Share of generated cases whose path ids are taken from the demo data instead of invented: random ids
# only ever reach the 404 branch; real ones reach the code behind it (uploads, stats, participants...).
KNOWN_ID_SHARE = 0.5


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


def known_ids(info: dict, token: str) -> dict[str, set[str]]:
    """Ids of what the demo data made, by path parameter name: the codes, their targets, options and
    channels, the demo campaign with one participant (joined on its public page), plans, alert channels."""
    api = info["api_url"]
    found: dict[str, set[str]] = {}
    # What the demo data has none of: a plan and an alert channel (to a closed local port: sends fail).
    nowhere = "http://127.0.0.1:9/contract"
    destination = {"kind": "destinations", "destinations": [{"name": "nowhere", "channel": "webhook", "url": nowhere}]}
    call(api, token, "POST", "/admin/sop/plans", {"preset": "daily_group_week", "target": destination})
    call(api, token, "POST", "/admin/alert-channels", {"name": "nowhere", "kind": "webhook", "url": nowhere})

    def add(name: str, value) -> None:
        if value:
            found.setdefault(name, set()).add(str(value))

    _, codes = call(api, token, "GET", "/admin/codes")
    for summary in codes.get("items", []):
        add("code_id", summary["id"])
        _, code = call(api, token, "GET", f"/admin/codes/{summary['id']}")
        for target in code.get("targets", []):
            add("target_id", target.get("id"))
        for option in code.get("options") or []:
            add("option_id", option.get("id"))
        _, channels = call(api, token, "GET", f"/admin/codes/{summary['id']}/channels")
        for channel in channels.get("items", []) if isinstance(channels, dict) else []:
            add("channel_id", channel.get("id"))
    _, campaigns = call(api, token, "GET", "/admin/campaigns")
    for campaign in campaigns.get("items", []):
        add("campaign_id", campaign["id"])
        # The campaign page sets the visitor cookie; the join (a POST) only uses it.
        with urllib.request.urlopen(f"{api}/c/{campaign['id']}", timeout=60) as answer:
            visitor = answer.headers.get("Set-Cookie", "").partition("siyu_vid=")[2].partition(";")[0]
        request = urllib.request.Request(
            f"{api}/c/{campaign['id']}/join",
            data=json.dumps({"nickname": "契约测试"}).encode(),
            headers={"Content-Type": "application/json", "Accept": "application/json", "Cookie": f"siyu_vid={visitor}"},
            method="POST",
        )
        urllib.request.urlopen(request, timeout=60).close()
        add("visitor_id", visitor)
        _, participants = call(api, token, "GET", f"/admin/campaigns/{campaign['id']}/participants")
        for participant in participants.get("items", []):
            add("participant_id", participant.get("id"))
    _, plans = call(api, token, "GET", "/admin/sop/plans")
    for plan in plans.get("items", []):
        add("plan_id", plan["id"])
    _, alert_channels = call(api, token, "GET", "/admin/alert-channels")
    for channel in alert_channels.get("items", []) if isinstance(alert_channels, dict) else []:
        add("channel_id", channel.get("id"))
    # Customer layering: the demo questionnaire answered once (a respondent), its segment, links, flash group.
    layering = info.get("layering") or {}
    if layering.get("questionnaire_url"):
        form = urllib.parse.urlencode({"q0": "油性皮肤", "q1": "痘痘", "q2": "祛痘"}).encode()
        with urllib.request.urlopen(
            urllib.request.Request(layering["questionnaire_url"], data=form), timeout=60
        ) as answer:
            add("visitor_id", answer.headers.get("Set-Cookie", "").partition("siyu_vid=")[2].partition(";")[0])
    add("questionnaire_id", layering.get("questionnaire_id"))
    add("segment_id", layering.get("segment_id"))
    add("flash_id", layering.get("flash_id"))
    _, links = call(api, token, "GET", "/admin/links")
    for link in links.get("items", []) if isinstance(links, dict) else []:
        add("link_id", link.get("id"))
    return found


def with_known_ids(config: Path, ids: dict[str, set[str]], folder: Path) -> Path:
    """schemathesis.toml plus a dictionary per path parameter of the ids that exist in this run's
    stack, used for KNOWN_ID_SHARE of the cases (the rest stay invented)."""
    settings = tomllib.loads(config.read_text())  # fails loudly if the file is not valid TOML
    lines = [config.read_text(), "", "# Added by scripts/contract.py for this run: ids that exist in its stack."]
    for name, values in sorted(ids.items()):
        dictionary = folder / f"{name}.dict"
        dictionary.write_text("".join(f'"{value}"\n' for value in sorted(values)))
        lines += [f"[dictionaries.{name}]", f'from-file = "{dictionary}"']
    if "parameters" in settings:
        raise SystemExit("schemathesis.toml has a [parameters] table: merge the known-id bindings into it here")
    if ids:
        lines.append("[parameters]")
        binding = '"path.{0}" = {{ dictionary = "{0}", probability = {1} }}'
        lines += [binding.format(name, KNOWN_ID_SHARE) for name in sorted(ids)]
    print("known ids: " + ", ".join(f"{name} {len(values)}" for name, values in sorted(ids.items())), flush=True)
    combined = folder / "schemathesis.toml"
    combined.write_text("\n".join(lines) + "\n")
    return combined


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
            info = json.loads((data_dir / "stack.json").read_text())
            config = with_known_ids(ROOT / "schemathesis.toml", known_ids(info, token), Path(tmp))
            command = [str(Path(sys.executable).with_name("schemathesis")), "--config-file", str(config), "run"]
            command += [schema_url, *sys.argv[1:]]
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
