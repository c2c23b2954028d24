"""Campaign-page cold-import benchmark (a report, not a test): would the public campaign page on
Powertools' APIGatewayHttpResolver stay within 1.3x of `import boto3` + one client?

Each case runs in a fresh isolated interpreter (-I) with the campaign page's environment from
template.yaml, local credentials and no way to reach the network; the figure is the seconds the
code took, interpreter start-up excluded. The cases are interleaved round by round (their order
rotates), so every case sees the same machine conditions.

  a. baseline:       import boto3; boto3.client("dynamodb", region_name="cn-north-1")
  b. a + resolver:   a, then the Powertools imports a resolver-based page needs
  c. current page:   the hand-written functions/campaign_page/app.py, imported as the runtime does
  d. resolver page:  c, plus the resolver imports and an APIGatewayHttpResolver with the page's
                     four routes and its exception handler (what a rewrite adds on top of c)

Then, once, `python -X importtime` says which modules b adds beyond a (diagnostic only).

Run: .venv/bin/python bench/campaign_page_import_bench.py [rounds]   Always exits 0.
"""

from __future__ import annotations

import platform
import statistics
import sys
from importlib.metadata import version
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "layers" / "siyu")]

from bench.fresh_imports import isolated_environment, self_times, timed  # noqa: E402
from local_stack.template import Template  # noqa: E402

FUNCTION = "CampaignPageFunction"
ROUNDS = int(sys.argv[1]) if len(sys.argv) > 1 else 30
GOAL = 1.3

BASELINE = 'import boto3\nboto3.client("dynamodb", region_name="cn-north-1")'
RESOLVER_IMPORTS = (
    "from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response, content_types\n"
    "from aws_lambda_powertools.event_handler.exceptions import NotFoundError"
)
RESOLVER_APP = """
resolver = APIGatewayHttpResolver()
for path in ("/c/<campaign_id>", "/c/<campaign_id>/me", "/c/<campaign_id>/poster.jpg"):
    resolver.get(path)(lambda campaign_id: Response(200, content_types.TEXT_HTML, ""))
resolver.post("/c/<campaign_id>/join")(lambda campaign_id: Response(303, content_types.TEXT_HTML, ""))
resolver.exception_handler(Exception)(lambda error: Response(503, content_types.TEXT_HTML, ""))
resolver.not_found(lambda error: Response(404, content_types.TEXT_HTML, ""))
"""


def figures(seconds: list[float]) -> tuple[float, float]:
    """Median and p90, in milliseconds."""
    return statistics.median(seconds) * 1000, statistics.quantiles(seconds, n=10)[-1] * 1000


def main() -> None:
    template = Template(ROOT / "template.yaml")
    spec = template.functions()[FUNCTION]
    page_path = [str(spec.code_dir), *map(str, template.layer_dirs())]
    page = f"import {spec.handler.rsplit('.', 1)[0]}"
    env = isolated_environment(template, FUNCTION, "cn-north-1")
    cases = {
        "a. import boto3 + one DynamoDB client": (BASELINE, []),
        "b. a + Powertools HTTP resolver imports": (f"{BASELINE}\n{RESOLVER_IMPORTS}", []),
        "c. campaign page as it is (hand-written)": (page, page_path),
        "d. campaign page + resolver with its routes": (f"{page}\n{RESOLVER_IMPORTS}\n{RESOLVER_APP}", page_path),
    }
    print(
        f"campaign page cold-import benchmark  (python {platform.python_version()}, boto3 {version('boto3')}, "
        f"aws-lambda-powertools {version('aws-lambda-powertools')}, {ROUNDS} interleaved rounds)\n"
    )
    for code, path in cases.values():
        timed(code, path, env)  # not counted: brings __pycache__ up to date after edits
    samples: dict[str, list[float]] = {name: [] for name in cases}
    names = list(cases)
    for round_ in range(ROUNDS):
        for name in names[round_ % len(names) :] + names[: round_ % len(names)]:  # the order rotates
            code, path = cases[name]
            samples[name].append(timed(code, path, env))

    base_median, base_p90 = figures(samples[names[0]])
    print(f"{'case':46} {'median ms':>10} {'p90 ms':>8} {'/ a (median)':>13} {'/ a (p90)':>10}")
    for name in names:
        median, p90 = figures(samples[name])
        print(f"{name:46} {median:10.1f} {p90:8.1f} {median / base_median:12.2f}x {p90 / base_p90:9.2f}x")

    resolver_ratio = figures(samples[names[1]])[0] / base_median
    page_ratio = figures(samples[names[3]])[0] / base_median
    current_ratio = figures(samples[names[2]])[0] / base_median
    added = figures(samples[names[3]])[0] - figures(samples[names[2]])[0]
    print(
        f"\nresolver imports alone (b / a): {resolver_ratio:.2f}x   goal <= {GOAL}  "
        f"{'[ok]' if resolver_ratio <= GOAL else '[MISSED]'}\n"
        f"resolver-based page (d / a):    {page_ratio:.2f}x   goal <= {GOAL}  "
        f"{'[ok]' if page_ratio <= GOAL else '[MISSED]'}\n"
        f"hand-written page (c / a):      {current_ratio:.2f}x   (the page also creates its S3 client at import)\n"
        f"what the resolver adds to the page (d - c, medians): {added:.1f} ms"
    )

    base_modules = self_times(BASELINE, [], env)
    extra = self_times(cases[names[1]][0], [], env)
    heaviest = sorted(((m, us) for m, us in extra.items() if m not in base_modules), key=lambda x: -x[1])
    total_ms = sum(us for _, us in heaviest) / 1000
    top = ", ".join(f"{m} {us / 1000:.1f}" for m, us in heaviest[:8])
    print(
        f"\n-X importtime (one run, diagnostic): b imports {len(heaviest)} modules beyond a's, "
        f"{total_ms:.0f} ms of own import time; heaviest (ms): {top}"
    )


if __name__ == "__main__":
    main()
