"""Console weight benchmark (a report): how many bytes of JavaScript and CSS does the console's first
screen fetch, after gzip, as the browser fetches them? The issue's budget is 350 KB.

A local stack (demo data, no schedules) serves the built console (make console); Debian's Chromium
(Playwright, the system binary) opens console_url like a new user, waits until the first screen is
idle (signed in, the demo codes listed) and sums the bytes on the wire (the encoded body sizes) of
every script and stylesheet it fetched. The screens opened afterwards (statistics with ECharts,
poster editor) are listed separately: they load when their screen opens.

Run: .venv/bin/python bench/console_weight_bench.py   Exits 1 if the first screen is over budget.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from local_stack.stack import LocalStack  # noqa: E402

BUDGET_KB = 350
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def weigh(page, action) -> list[tuple[str, str, int, int]]:
    """(kind, name, bytes on the wire, bytes decoded) of each script and stylesheet `action` fetches."""
    seen: list = []

    def finished(request) -> None:
        seen.append(request)

    page.on("requestfinished", finished)
    action()
    page.wait_for_load_state("networkidle")
    page.remove_listener("requestfinished", finished)
    found = []
    for request in seen:
        kind = request.resource_type
        if kind not in ("script", "stylesheet"):
            continue
        sizes = request.sizes()
        response = request.response()
        decoded = len(response.body()) if response else 0
        found.append((kind, request.url.rsplit("/", 1)[-1], sizes["responseBodySize"], decoded))
    return found


def report(title: str, rows: list) -> int:
    total, unpacked = sum(r[2] for r in rows), sum(r[3] for r in rows)
    print(f"\n{title}: {len(rows)} files, {total / 1024:.1f} KB on the wire ({unpacked / 1024:.1f} KB decoded)")
    for kind, name, wire, decoded in sorted(rows, key=lambda r: -r[2])[:8]:
        print(f"  {wire / 1024:7.1f} KB  ({decoded / 1024:6.1f} KB)  {kind:10}  {name}")
    return total


def main() -> int:
    if not (ROOT / "functions" / "console" / "static" / "index.html").exists():
        print("the console is not built: run `make console` first", file=sys.stderr)
        return 1
    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory() as data:
        stack = LocalStack(ROOT, Path(data), port=0, persist=False, demo=True, schedules=False)
        info = stack.start()
        try:
            with sync_playwright() as driver:
                browser = driver.chromium.launch(executable_path="/usr/bin/chromium", args=ARGS)
                page = browser.new_page(viewport={"width": 1440, "height": 900})
                first = weigh(
                    page,
                    lambda: (page.goto(info["console_url"]), page.wait_for_selector('[data-test="overview-codes"]')),
                )
                stats = weigh(
                    page, lambda: (page.click("text=数据统计"), page.wait_for_selector('[data-test="chart"] canvas'))
                )
                browser.close()
        finally:
            stack.stop()
    total = report(f"First screen ({info['console_url']})", first)
    report("Statistics screen, when opened (ECharts)", stats)
    verdict = "within" if total <= BUDGET_KB * 1024 else "OVER"
    print(f"\nfirst screen: {total / 1024:.1f} KB of JS + CSS after gzip, {verdict} the {BUDGET_KB} KB budget")
    return 0 if total <= BUDGET_KB * 1024 else 1


if __name__ == "__main__":
    sys.exit(main())
