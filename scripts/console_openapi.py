"""Write the admin API's OpenAPI document (what GET /admin/openapi.json answers) to
console/openapi/admin.json, the file the console's TypeScript types are generated from.

`make console-openapi` runs it; tests/integration/test_console_contract.py fails when the
committed file differs from what the API answers, so the console and the API cannot drift."""

from __future__ import annotations

import json
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from local_stack.stack import LocalStack  # noqa: E402

TARGET = ROOT / "console" / "openapi" / "admin.json"


def document_text(document: dict) -> str:
    return json.dumps(document, indent=2, ensure_ascii=False, sort_keys=True) + "\n"


def main() -> None:
    with tempfile.TemporaryDirectory() as data:
        stack = LocalStack(ROOT, Path(data), port=0, persist=False, demo=False, schedules=False)
        stack.start()  # puts the layer on sys.path
        from tests.helpers import admin_event

        try:
            answer = stack.functions["AdminApiFunction"].invoke(admin_event("GET", "/admin/openapi.json"))
        finally:
            stack.stop()
    TARGET.parent.mkdir(parents=True, exist_ok=True)
    TARGET.write_text(document_text(json.loads(answer["body"])))
    print(f"wrote {TARGET.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
