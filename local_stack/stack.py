"""The whole stack on one machine: emulator, resources from the template, handlers behind
the local HTTP API, schedules, demo data and a snapshot of the data under .local/."""

from __future__ import annotations

import json
import logging
import os
import sys
import threading
from pathlib import Path

import boto3
from werkzeug.wrappers import Request, Response

from local_stack.auth import LocalIssuer
from local_stack.demo import (
    call,
    seed_campaign_demo,
    seed_demo,
    seed_staff_and_grouped_demos,
    seed_wecom_demo,
    seed_wecom_sop_demo,
)
from local_stack.emulator import Emulator
from local_stack.functions import load_functions
from local_stack.gateway import LocalApi
from local_stack.iam import IamGuard
from local_stack.layering_demo import seed_layering_demo
from local_stack.queues import QueuePollers
from local_stack.scheduler import Scheduler
from local_stack.snapshot import Snapshot
from local_stack.template import Template
from local_stack.wecom import CallbackConfig, WecomEmulator

logger = logging.getLogger("local_stack")
SNAPSHOT_SECONDS = 5
CONSOLE_SIGN_IN = "/_local/console/sign-in"


class LocalStack:
    def __init__(
        self,
        root: Path,
        data_dir: Path,
        host: str = "127.0.0.1",
        port: int = 3000,
        persist: bool = True,
        demo: bool = True,
        schedules: bool = True,
        template: Path | None = None,
    ):
        self.root, self.data_dir = root, data_dir
        self.host, self.port = host, port
        self.persist, self.demo, self.run_schedules = persist, demo, schedules
        # template.yaml runs the sources; a `sam build` output template runs the built artifacts.
        self.template = Template(template or root / "template.yaml")
        self.info: dict = {}
        self._stopping = threading.Event()

    def start(self) -> dict:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        # moto's request recorder (`<emulator_url>/moto-api/recorder/start-recording`, then
        # `download-recording`) counts a scan's AWS calls; it writes into the data folder.
        os.environ.setdefault("MOTO_RECORDER_FILEPATH", str(self.data_dir / "moto_recording"))
        self.emulator = Emulator(self.host).start()
        os.environ.update(self.emulator.client_environment())
        # Outbound calls may reach receivers on this machine (test servers, over http): deployed,
        # nothing sets this, and the sender refuses loopback and plain http (delivery/addresses.py).
        os.environ["SIYU_RUNS_LOCALLY"] = "1"
        self._create_resources()
        self.snapshot = Snapshot(self.data_dir / "data")
        if self.persist:
            self.snapshot.restore(list(self.template.tables()), self.template.buckets())
        self.functions = load_functions(self.template)
        # Each function may touch only the items and objects its template policy allows.
        # SIYU_LOCAL_IAM=record only records (with SIYU_LOCAL_IAM_RECORD=<file>: every access, at stop).
        self.iam = IamGuard(
            self.template,
            enforce=os.environ.get("SIYU_LOCAL_IAM", "enforce") != "record",
            record=bool(os.environ.get("SIYU_LOCAL_IAM_RECORD")),
        )
        self.iam.install()
        # WeCom: the handlers talk to the emulator through their one base-URL setting.
        state = self.data_dir / "wecom_emulator.pickle" if self.persist else None
        self.wecom = WecomEmulator(self._wecom_callback_config, self.host, state_file=state).start()
        os.environ["WECOM_API_BASE_URL"] = self.wecom.base_url
        self.issuer = LocalIssuer(self.data_dir / "admin_jwt_key.pem")
        self.scheduler = Scheduler(self.template.schedules(), self.functions)
        self.queues = QueuePollers(self.template.queue_subscriptions(), self.functions)
        self.api = LocalApi(self.template, self.functions, self.issuer, self.host, self.port)
        self.api.add_local_route("POST", "/_local/schedules/{function_id}", self._fire_schedule)
        # The console signs in as the local operator here (its config.json points at this route);
        # the deployed console function has no such setting and never hands out tokens.
        self.api.add_local_route("GET", CONSOLE_SIGN_IN, self._console_sign_in)
        os.environ["CONSOLE_LOCAL_SIGN_IN_URL"] = CONSOLE_SIGN_IN
        self.api.start()
        # Reminder-mode task links point at this API (the template's default is the execute-api URL).
        os.environ["TASK_PAGE_BASE_URL"] = self.api.url
        if self.run_schedules:
            self.scheduler.start()
            self.queues.start()
        authorizer = next(r.authorizer for r in self.template.routes() if r.authorizer)
        token = self.issuer.mint(self.template.jwt_authorizer(authorizer), operator_claim=self.operator_claim())
        self.info = {
            "api_url": self.api.url,
            "admin_token": token,
            "openapi_url": f"{self.api.url}/admin/openapi.json",
            "console_url": f"{self.api.url}/console/",
            "emulator_url": self.emulator.endpoint_url,
            "wecom_emulator_url": self.wecom.base_url,
        }
        if self.demo:
            codes = self._demo_codes(token)  # WeCom is connected in there, before the (WeCom) campaign
            self.info.update(
                demo_code_id=codes["group"]["id"],
                scan_url=codes["group"]["scan_url"],
                staff_scan_url=codes["staff"]["scan_url"],
                grouped_scan_url=codes["grouped"]["scan_url"],
                campaign_url=codes["campaign"]["join_url"],
                wecom_demo=codes["wecom_demo"],
            )
            # After the join way exists: the plan's audience is its groups.
            self.info["wecom_sop_plan_id"] = seed_wecom_sop_demo(self.api.url, token, codes["group"])
            self.info["layering"] = seed_layering_demo(self.api.url, token, codes["group"]["id"])
        _write_json(self.data_dir / "stack.json", self.info)
        if self.persist:
            threading.Thread(target=self._keep_snapshot, daemon=True, name="snapshot").start()
        return self.info

    def operator_claim(self) -> tuple[str, str]:
        """The claim an admin token must carry (AdminClaimName, AdminClaimValue in the template)."""
        return os.environ.get("ADMIN_CLAIM_NAME", "cognito:groups"), os.environ.get("ADMIN_CLAIM_VALUE", "siyu-admin")

    def stop(self) -> None:
        if record := os.environ.get("SIYU_LOCAL_IAM_RECORD"):  # every judged access, for policy work
            with open(record, "a") as out:
                out.writelines(
                    f"{fn}\t{a.action}\t{a.resource}\t{'|'.join(a.leading_keys)}\n" for fn, a in self.iam.seen
                )
        self._stopping.set()
        self.scheduler.stop()
        self.queues.stop()
        self.api.stop()
        self.wecom.stop()
        self._flush_buffers()
        if self.persist:
            self._save()
        self.emulator.stop()

    def _flush_buffers(self) -> None:
        """What a function holds in memory to write later (the scan container's statistics buffer) is
        written while the emulator still runs: stopping `make run` right after a scan loses no count."""
        for logical_id in self.functions:
            service = getattr(sys.modules.get(f"lambda_{logical_id}"), "service", None)
            flush = getattr(getattr(service, "stats", None), "flush", None)
            if callable(flush):
                try:
                    flush()
                except Exception:
                    logger.exception("%s: could not write its buffered statistics", logical_id)

    def _create_resources(self) -> None:
        dynamodb, s3, sns = boto3.client("dynamodb"), boto3.client("s3"), boto3.client("sns")
        existing = set(dynamodb.list_tables()["TableNames"])
        for name, arguments in self.template.tables().items():
            if name not in existing:
                dynamodb.create_table(**arguments)
        for bucket in self.template.buckets():
            s3.create_bucket(Bucket=bucket)
        for bucket in self.template.versioned_buckets():
            s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
        for topic in self.template.topics():
            sns.create_topic(Name=topic)
        sqs = boto3.client("sqs")
        for queue, attributes in self.template.queues().items():
            sqs.create_queue(QueueName=queue, Attributes=attributes)

    def _demo_codes(self, token: str) -> dict:
        """The demo codes: made on the first start, found again on the next ones."""
        remembered = self.data_dir / "demo.json"
        ids = json.loads(remembered.read_text()) if remembered.exists() else {}
        codes = {}
        for kind, key in (("group", "id"), ("staff", "staff_id"), ("grouped", "grouped_id")):
            if key in ids:
                status, code = call(self.api.url, token, "GET", f"/admin/codes/{ids[key]}")
                if status == 200:
                    codes[kind] = code
        if "group" not in codes:
            codes["group"] = seed_demo(self.api.url, token)
        if "staff" not in codes or "grouped" not in codes:
            codes.update(seed_staff_and_grouped_demos(self.api.url, token))
        # The demo corp and its ways: connected before the campaign, whose invites WeCom adds prove.
        wecom_demo = seed_wecom_demo(self.api.url, token, codes["staff"], codes["group"])
        if "campaign_id" in ids:
            status, campaign = call(self.api.url, token, "GET", f"/admin/campaigns/{ids['campaign_id']}")
            if status == 200:
                codes["campaign"] = campaign
        if "campaign" not in codes:
            codes["campaign"] = seed_campaign_demo(self.api.url, token, codes["group"]["id"])
        ids = {
            "id": codes["group"]["id"],
            "staff_id": codes["staff"]["id"],
            "grouped_id": codes["grouped"]["id"],
            "campaign_id": codes["campaign"]["id"],
        }
        _write_json(remembered, ids)
        return {**codes, "wecom_demo": wecom_demo}

    def _wecom_callback_config(self, corp_id: str) -> CallbackConfig | None:
        """What the operator would have typed into WeCom's admin console (接收消息 → API接收) for
        this corp: the stack's callback URL and the token and EncodingAESKey it was connected with.
        Read from the emulated AWS (the connection item and its SecureString), as WeCom keeps its own
        copy of what it was given."""
        item = boto3.client("dynamodb").get_item(
            TableName=os.environ["TABLE_NAME"], Key={"pk": {"S": "WECOM"}, "sk": {"S": "CONNECTION"}}
        )
        if item.get("Item", {}).get("corp_id", {}).get("S") != corp_id:
            return None
        name = os.environ["WECOM_CREDENTIALS_PARAMETER"]
        try:
            value = boto3.client("ssm").get_parameter(Name=name, WithDecryption=True)["Parameter"]["Value"]
            credentials = json.loads(value)
            return CallbackConfig(
                url=f"{self.api.url}/wecom/callback",
                token=credentials["token"],
                encoding_aes_key=credentials["encoding_aes_key"],
            )
        except Exception:  # not connected (yet), or disconnected
            return None

    def _fire_schedule(self, request: Request, params: dict) -> Response:
        known = sorted({s.function_id for s in self.scheduler.schedules})
        if params["function_id"] in known:
            answers = self.scheduler.fire(params["function_id"])
        else:
            body = {"message": f"no schedule for {params['function_id']}; scheduled functions: {known}"}
            return Response(json.dumps(body), status=404, content_type="application/json")
        return Response(
            json.dumps({"fired": len(answers), "results": answers}, default=str), content_type="application/json"
        )

    def _console_sign_in(self, request: Request, params: dict) -> Response:
        authorizer = next(r.authorizer for r in self.template.routes() if r.authorizer)
        token = self.issuer.mint(
            self.template.jwt_authorizer(authorizer), hours=12, operator_claim=self.operator_claim()
        )
        body = json.dumps({"id_token": token, "operator": "local-operator@localhost"})
        return Response(body, content_type="application/json", headers={"Cache-Control": "no-store"})

    def _keep_snapshot(self) -> None:
        saved_at = -1
        while not self._stopping.wait(SNAPSHOT_SECONDS):
            if self.emulator.writes != saved_at:
                saved_at = self.emulator.writes
                self._save()

    def _save(self) -> None:
        try:
            self.snapshot.save(list(self.template.tables()), self.template.buckets())
            self.wecom.save()
        except Exception:
            logger.exception("could not save the local data snapshot")


def _write_json(path: Path, data: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, indent=2, ensure_ascii=False) + "\n")
