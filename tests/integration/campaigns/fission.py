"""A campaign driven through the real functions of the emulated stack (the integration tests' helpers)."""

from __future__ import annotations

import json
import secrets
from datetime import UTC, datetime

import boto3

from siyu.campaigns.repository import CampaignsTable
from siyu.campaigns.rules import PAGE_TARGET, ReferralVisit
from siyu.campaigns.service import CampaignService
from siyu.storage.uploads_bucket import UploadsBucket
from tests.helpers import Clock, scan_event, visitor_id_of

ALICE_IP = "198.51.100.1"


def service_on_a_clock() -> tuple[CampaignService, Clock]:
    """The campaign service the worker runs, on a clock the test moves (stay times, retries)."""
    clock = Clock(datetime.now(UTC))
    return CampaignService(CampaignsTable.from_environment(), UploadsBucket.from_environment(), clock=clock), clock


def page_view(fission, referrer_id: str, visitor_id: str, address: str, at: datetime) -> ReferralVisit:
    """A first scan of a referral URL in WeChat's browser that showed the code's group QR."""
    code_id = fission.campaign["code_id"]
    return ReferralVisit(fission.id, referrer_id, visitor_id, True, address, at, code_id, PAGE_TARGET, True)


def page_event(method: str, path: str, visitor_id=None, body=None, ip="203.0.113.9", content_type="application/json"):
    route = {"join": "POST /c/{campaign_id}/join", "me": "GET /c/{campaign_id}/me"}
    parts = path.strip("/").split("/")
    route_key = route.get(parts[2], "GET /c/{campaign_id}/poster.jpg") if len(parts) > 2 else "GET /c/{campaign_id}"
    event = {
        "version": "2.0",
        "routeKey": route_key,
        "rawPath": path,
        "rawQueryString": "",
        "headers": {"content-type": content_type, "accept": "application/json", "x-forwarded-proto": "https"},
        "pathParameters": {"campaign_id": parts[1]},
        "requestContext": {"http": {"method": method, "path": path, "sourceIp": ip}, "domainName": "qr.example.cn"},
        "isBase64Encoded": False,
        "body": json.dumps(body) if body is not None else None,
    }
    if visitor_id is None and method == "POST":  # the browser got its cookie with the page (GET /c/{id})
        visitor_id = secrets.token_hex(10)
    if visitor_id:
        event["cookies"] = [f"siyu_vid={visitor_id}"]
    return event


class Fission:
    """One campaign driven through the real functions: joins on the campaign page, referral
    scans on the scan function, the worker draining the referral queue, the poster function
    draining the poster queue."""

    def __init__(self, stack, admin, campaign: dict):
        self.stack, self.admin, self.campaign = stack, admin, campaign
        self.id = campaign["id"]
        self.functions = stack.functions
        self.sqs = boto3.client("sqs")
        env = stack.template.functions()["ScanFunction"].environment
        self.referral_queue, self.poster_queue = env["CAMPAIGN_QUEUE_URL"], env["POSTER_QUEUE_URL"]

    def join(self, nickname: str, visitor_id=None, ip="203.0.113.9", **extra) -> tuple[int, dict, str | None]:
        visitor_id = visitor_id or secrets.token_hex(10)  # the cookie the campaign page (GET) set
        event = page_event("POST", f"/c/{self.id}/join", visitor_id, {"nickname": nickname, **extra}, ip)
        answer = self.functions["CampaignPageFunction"].invoke(event)
        assert "cookies" not in answer  # a POST never sets (or replaces) the visitor cookie
        return answer["statusCode"], json.loads(answer["body"]), visitor_id

    def scan(self, referral_url: str, visitor_id=None, ip=None) -> str | None:
        """Scan a poster's QR (the URL it decodes to); returns the scanner's visitor id. Each scan comes
        from a phone of its own (a random address) unless `ip` pins one: one address is held to the
        scan path's hourly per-client limit on the campaign's code."""
        query = dict(p.split("=", 1) for p in referral_url.split("?", 1)[1].split("&"))
        event = scan_event(self.campaign["code_id"], query, visitor_id, source_ip=ip)
        page = self.functions["ScanFunction"].invoke(event)
        assert page["statusCode"] == 200 and "我也要参加" in page["body"]
        return visitor_id_of(page) or visitor_id

    def work(self) -> list[str]:
        """Drain the referral queue into the worker function, as Lambda's poller would."""
        return self._drain(self.referral_queue, "CampaignWorkerFunction")

    def render(self) -> list[str]:
        return self._drain(self.poster_queue, "PosterFunction")

    def _drain(self, queue: str, function: str) -> list[str]:
        bodies = []
        while messages := self.sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=10).get("Messages", []):
            records = [
                {
                    "messageId": m["MessageId"],
                    "receiptHandle": m["ReceiptHandle"],
                    "body": m["Body"],
                    "attributes": {},
                    "messageAttributes": {},
                    "eventSource": "aws:sqs",
                }
                for m in messages
            ]
            answer = self.functions[function].invoke({"Records": records})
            assert answer == {"batchItemFailures": []}, answer
            for m in messages:
                bodies.append(m["Body"])
                self.sqs.delete_message(QueueUrl=queue, ReceiptHandle=m["ReceiptHandle"])
        return bodies

    def progress(self, visitor_id: str) -> dict:
        answer = self.functions["CampaignPageFunction"].invoke(page_event("GET", f"/c/{self.id}/me", visitor_id))
        assert answer["statusCode"] == 200, answer
        return json.loads(answer["body"])

    def get(self, what: str) -> list[dict]:
        status, body = self.admin("GET", f"/admin/campaigns/{self.id}/{what}")
        assert status == 200, body
        return body["items"]
