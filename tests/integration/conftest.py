"""Integration tests: the real handlers against the in-process AWS emulator, resources created
from template.yaml, invoked with API Gateway events built from events/."""

from __future__ import annotations

import json

import boto3
import pytest

from local_stack.stack import LocalStack
from tests.helpers import ROOT, admin_event, scan_event


@pytest.fixture(scope="session")
def stack(tmp_path_factory):
    stack = LocalStack(ROOT, tmp_path_factory.mktemp("local"), port=0, persist=False, demo=False, schedules=False)
    stack.start()
    yield stack
    stack.stop()
    # Every DynamoDB and S3 call the handlers made was judged against their template policy; a
    # refusal a handler swallowed (the scan path serves its last good page) still fails the run.
    refused = sorted({f"{function}: {access}" for function, access in stack.iam.refused})
    assert not refused, "calls template.yaml's policies do not allow:\n" + "\n".join(refused)


@pytest.fixture(scope="session")
def admin(stack):
    function = stack.functions["AdminApiFunction"]

    def call(method: str, path: str, body: dict | None = None, query: dict | None = None):
        answer = function.invoke(admin_event(method, path, body, query))
        raw = answer.get("body")
        return answer["statusCode"], json.loads(raw) if raw else None

    return call


@pytest.fixture(scope="session")
def scan(stack):
    function = stack.functions["ScanFunction"]
    return lambda code_id: function.invoke(scan_event(code_id))


@pytest.fixture(scope="session")
def flush_stats(stack):
    """Write the scan container's buffered statistics now (what its flusher does within 5 s)."""
    import sys

    return lambda: sys.modules["lambda_ScanFunction"].service.stats.flush()


@pytest.fixture(scope="session")
def storage(stack):
    return Storage(stack)


class Storage:
    """Direct looks at what is stored, to prove what was (not) written."""

    def __init__(self, stack: LocalStack):
        self.table = next(iter(stack.template.tables()))
        self.bucket = stack.template.buckets()[0]
        self.dynamodb = boto3.client("dynamodb")
        self.s3 = boto3.client("s3")

    def items(self, code_id: str) -> list[dict]:
        answer = self.dynamodb.query(
            TableName=self.table,
            KeyConditionExpression="pk = :pk",
            ExpressionAttributeValues={":pk": {"S": f"CODE#{code_id}"}},
        )
        return answer["Items"]

    def keys(self, prefix: str = "") -> list[str]:
        answer = self.s3.list_objects_v2(Bucket=self.bucket, Prefix=prefix)
        return [o["Key"] for o in answer.get("Contents", [])]

    def item_count(self) -> int:
        return self.dynamodb.scan(TableName=self.table, Select="COUNT")["Count"]


@pytest.fixture
def new_code(admin):
    def create(**settings):
        status, code = admin("POST", "/admin/codes", {"name": "test code", **settings})
        assert status == 201, code
        return code

    return create
