"""The console and the admin API cannot drift: console/openapi/admin.json is what GET
/admin/openapi.json answers (regenerate with `make console-openapi`), and every call the console's
source makes names an operation of that document."""

from __future__ import annotations

import json
import re

from scripts.console_openapi import TARGET, document_text
from tests.helpers import ROOT

CALL = re.compile(r"""\bapi\.(get|post|put|patch|del)\(\s*["'](/admin/[^"']+)["']""")
METHODS = {"get": "get", "post": "post", "put": "put", "patch": "patch", "del": "delete"}


def console_calls() -> set[tuple[str, str]]:
    calls = set()
    for source in (ROOT / "console" / "src").rglob("*"):
        if source.suffix in (".js", ".vue"):
            for method, path in CALL.findall(source.read_text()):
                calls.add((METHODS[method], path))
    return calls


def test_the_console_contract_file_is_the_api_document(admin):
    status, document = admin("GET", "/admin/openapi.json")
    assert status == 200
    assert TARGET.read_text() == document_text(document), (
        "console/openapi/admin.json is stale: run `make console-openapi` and check the console's calls"
    )


def test_every_call_of_the_console_is_an_operation_of_the_api():
    paths = json.loads(TARGET.read_text())["paths"]
    calls = console_calls()
    assert len(calls) > 40, calls  # the regular expression still finds the calls
    unknown = sorted(f"{m.upper()} {p}" for m, p in calls if m not in paths.get(p, {}))
    assert not unknown, f"the console calls operations the API does not have: {unknown}"


def test_locally_the_admin_api_takes_turns_and_the_scan_path_does_not(stack):
    """The console reads in parallel; the admin API's resolver keeps the request in process-wide
    state, so the local stack hands it one request at a time (as one Lambda container)."""
    assert stack.functions["AdminApiFunction"].turn is not None
    assert stack.functions["ScanFunction"].turn is None
