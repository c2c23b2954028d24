"""The functions as `sam build` packages them, in a clean interpreter of the template's runtime.

`make built` builds the template for this machine's architecture (.aws-sam/host; the arm64
build that deploys is `make template`'s) and installs the runtime's boto3 on its own
(.tools/lambda-runtime). Each function is then imported, and invoked with its sample events
from events/, by `python -I -S` with nothing on sys.path but the standard library, its built
folder, the built layer and that boto3: a module that no shipped requirements file brings
fails here, whatever the dev virtualenv has. The invocations run against the local emulator.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from local_stack.stack import LocalStack
from local_stack.template import Template
from tests.helpers import EVENTS, ROOT

BUILD = ROOT / ".aws-sam" / "host"
RUNTIME_PACKAGES = ROOT / ".tools" / "lambda-runtime"
BOOTSTRAP = Path(__file__).with_name("lambda_bootstrap.py")
SOURCE = Template(ROOT / "template.yaml")
FUNCTIONS = sorted(SOURCE.functions())
EVENT_FILES = sorted(path.name for path in EVENTS.glob("*.json"))


def snake(logical_id: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", logical_id).lower()


def function_of(event_file: str) -> str:
    return next(lid for lid in FUNCTIONS if event_file.startswith(snake(lid) + "_"))


@pytest.fixture(scope="module")
def built() -> Template:
    path = BUILD / "template.yaml"
    if not path.exists() or not RUNTIME_PACKAGES.is_dir():
        pytest.fail("no host build or runtime packages: run `make built` (it builds them first)")
    return Template(path)


@pytest.fixture(scope="module")
def emulator_environment(built, tmp_path_factory):
    """The emulator with the template's resources; its environment for the invoked functions."""
    stack = LocalStack(
        ROOT, tmp_path_factory.mktemp("built"), port=0, persist=False, demo=False, schedules=False, template=built.path
    )
    stack.start()
    yield stack.emulator.client_environment()
    stack.stop()


def run_built(built: Template, logical_id: str, event: Path | None = None, environment: dict | None = None) -> dict:
    spec = built.functions()[logical_id]
    command = [sys.executable, "-I", "-S", str(BOOTSTRAP), "--task", str(spec.code_dir), "--handler", spec.handler]
    for layer in built.layer_dirs():
        command += ["--layer", str(layer)]
    command += ["--runtime", str(RUNTIME_PACKAGES), "--timeout", str(spec.timeout)]
    if event:
        command += ["--event", str(event)]
    env = {
        "PATH": "/usr/bin:/bin",
        "LANG": "C.UTF-8",
        "AWS_LAMBDA_FUNCTION_NAME": logical_id,
        **spec.environment,
        **(environment or {"AWS_DEFAULT_REGION": "us-east-1"}),
    }
    answer = subprocess.run(command, env=env, capture_output=True, text=True, timeout=120, cwd="/")
    assert answer.returncode == 0, f"{logical_id} as built:\n{answer.stderr[-4000:]}"
    line = next(line for line in reversed(answer.stdout.splitlines()) if line.startswith("BUILT-CHECK "))
    return json.loads(line.removeprefix("BUILT-CHECK "))


def test_the_checks_run_the_templates_runtime(built):
    runtimes = {SOURCE.doc["Globals"]["Function"]["Runtime"]}
    runtimes |= {r["Properties"].get("Runtime") for r in SOURCE.of_type("AWS::Serverless::Function").values()} - {None}
    assert runtimes == {f"python{sys.version_info.major}.{sys.version_info.minor}"}


@pytest.mark.parametrize("logical_id", FUNCTIONS)
def test_handler_imports_with_only_what_the_build_ships(built, logical_id):
    report = run_built(built, logical_id)
    assert not report["site_loaded"]
    allowed = [str(built.functions()[logical_id].code_dir), *map(str, built.layer_dirs()), str(RUNTIME_PACKAGES)]
    strays = {name: path for name, path in report["modules"].items() if not path.startswith(tuple(allowed))}
    assert not strays, f"{logical_id} loaded modules from outside its build: {strays}"


def test_every_function_has_a_sample_event():
    covered = {function_of(name) for name in EVENT_FILES if any(name.startswith(snake(f) + "_") for f in FUNCTIONS)}
    assert covered == set(FUNCTIONS), f"no sample event in events/ for {set(FUNCTIONS) - covered}"
    strays = [name for name in EVENT_FILES if not any(name.startswith(snake(f) + "_") for f in FUNCTIONS)]
    assert not strays, f"events/ files named after no function: {strays}"


def created_code(answer: dict) -> None:
    assert answer["statusCode"] == 201, answer
    assert answer["headers"]["Content-Type"].startswith("application/json")
    assert json.loads(answer["body"])["scan_url"]


def not_found_page(answer: dict) -> None:
    """Public pages of an unknown id: a 404 page a person can read, never an error page."""
    assert answer["statusCode"] == 404, answer
    assert answer["headers"]["Content-Type"].startswith("text/html")
    assert "<html" in answer["body"]


def refused_link_page(answer: dict) -> None:
    """A forged task link: a 4xx page that says the link is invalid, never framed or cached."""
    assert 400 <= answer["statusCode"] < 500, answer
    assert answer["headers"]["Content-Type"].startswith("text/html") and "链接无效" in answer["body"]
    assert "frame-ancestors 'none'" in answer["headers"]["Content-Security-Policy"]
    assert "no-store" in answer["headers"]["Cache-Control"]


def job_report(answer: dict) -> None:
    assert isinstance(answer, dict) and answer, answer
    assert not answer.get("errors") and not answer.get("failed_plans"), answer


def refused_bare(answer: dict) -> None:
    """A WeCom callback that does not verify (here: WeCom's published sample, but no corp is
    connected): 403, plain text, no detail."""
    assert answer["statusCode"] == 403, answer
    assert answer["headers"]["content-type"].startswith("text/plain") and answer["body"] == "forbidden"


def console_app_page(answer: dict) -> None:
    """A client-side route of the console: its index.html as built (make console), never cached."""
    assert answer["statusCode"] == 200, answer
    assert answer["headers"]["Content-Type"].startswith("text/html")
    assert answer["headers"]["Cache-Control"] == "no-cache"


def no_failed_records(answer: dict) -> None:
    """An SQS batch whose records refer to nothing: each is settled, none is retried."""
    assert answer == {"batchItemFailures": []}


# What each sample event must be answered with, as the API contract (or the event source) says.
EXPECTED = {
    "admin_api_function_create_code.json": created_code,
    "scan_function_scan.json": not_found_page,
    "console_function_client_route.json": console_app_page,
    "campaign_page_function_home.json": not_found_page,
    "layering_pages_function_unknown_questionnaire.json": not_found_page,
    "sop_task_function_forged_token.json": refused_link_page,
    "rotate_function_schedule.json": job_report,
    "sop_function_schedule.json": job_report,
    "layering_job_function_schedule.json": job_report,
    "campaign_worker_function_schedule.json": job_report,
    "sop_send_function_delivery.json": no_failed_records,
    "campaign_worker_function_referral.json": no_failed_records,
    "poster_function_render.json": no_failed_records,
    "wecom_callback_function_sample.json": refused_bare,
    "wecom_worker_function_event.json": no_failed_records,
    "wecom_worker_function_schedule.json": job_report,
}


def test_every_sample_event_has_an_expected_answer():
    assert set(EXPECTED) == set(EVENT_FILES)


@pytest.mark.parametrize("event_file", EVENT_FILES)
def test_built_function_answers_its_sample_event(built, emulator_environment, event_file):
    report = run_built(built, function_of(event_file), EVENTS / event_file, emulator_environment)
    EXPECTED[event_file](report["answer"])


def test_the_built_scan_function_serves_a_code_the_built_admin_api_created(built, emulator_environment, tmp_path):
    created = run_built(built, "AdminApiFunction", EVENTS / "admin_api_function_create_code.json", emulator_environment)
    code_id = json.loads(created["answer"]["body"])["id"]
    event = json.loads((EVENTS / "scan_function_scan.json").read_text())
    event["rawPath"] = event["requestContext"]["http"]["path"] = f"/s/{code_id}"
    event["pathParameters"] = {"code_id": code_id}
    (tmp_path / "scan.json").write_text(json.dumps(event))
    page = run_built(built, "ScanFunction", tmp_path / "scan.json", emulator_environment)["answer"]
    assert page["statusCode"] == 200 and page["headers"]["Content-Type"].startswith("text/html")
    assert "<html" in page["body"]
