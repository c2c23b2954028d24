"""`python -m local_stack` (what `make run` starts): the whole siyu stack on localhost."""

import argparse
import logging
import os
import signal
import threading
from pathlib import Path

from local_stack.stack import LocalStack

ROOT = Path(__file__).resolve().parent.parent


def main() -> None:
    parser = argparse.ArgumentParser(description="Run siyu locally: emulated AWS, the template's API and schedules.")
    parser.add_argument("--host", default=os.environ.get("HOST", "127.0.0.1"))
    parser.add_argument("--port", type=int, default=int(os.environ.get("PORT", "3000")))
    parser.add_argument("--data-dir", type=Path, default=ROOT / ".local", help="where data survives restarts")
    parser.add_argument(
        "--template",
        type=Path,
        default=ROOT / "template.yaml",
        help="template to run: template.yaml (the sources) or a sam build output (the built artifacts)",
    )
    parser.add_argument("--no-demo", action="store_true", help="do not create the demo code")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    logging.getLogger("botocore").setLevel(logging.WARNING)

    stack = LocalStack(
        ROOT, args.data_dir, host=args.host, port=args.port, demo=not args.no_demo, template=args.template
    )
    try:
        info = stack.start()
    except OSError as error:
        raise SystemExit(f"could not start on {args.host}:{args.port} ({error}); try: make run PORT=3001") from None
    print(
        f"""
siyu is running locally.
  Console        {info["console_url"]}   <- open it: signed in as the local operator
  API            {info["api_url"]}
  Demo scan URL  {info.get("scan_url", "(no demo)")}   <- open it; refresh to count scans (demo threshold 5)
  Staff code     {info.get("staff_scan_url", "(no demo)")}   <- round robin over store guides
  Grouped code   {info.get("grouped_scan_url", "(no demo)")}   <- pick a city, get its group
  Campaign       {info.get("campaign_url", "(no demo)")}   <- join, get your poster, scan it from another profile
  Questionnaire  {info.get("layering", {}).get("questionnaire_url", "(no demo)")}   <- answer it: tags, then segments
  Precise group  {info.get("layering", {}).get("precise_scan_url", "(no demo)")}   <- after answering 痘痘 + 祛痘
  Admin token    "admin_token" in {args.data_dir / "stack.json"} (send it as "Authorization: Bearer <token>")
  OpenAPI        {info["openapi_url"]}
  Data           {args.data_dir} (kept across restarts; delete it to start over)
Press Ctrl-C to stop.
""",
        flush=True,
    )
    stopped = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stopped.set())
    stopped.wait()
    print("stopping...", flush=True)
    stack.stop()
    print("stopped; data saved in", args.data_dir, flush=True)


if __name__ == "__main__":
    main()
