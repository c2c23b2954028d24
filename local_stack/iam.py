"""The template's IAM policies, held to locally: each function's DynamoDB and S3 calls are checked
against the statements its `Policies` grant, the way IAM would judge them on AWS.

The emulator (moto) enforces no IAM, so without this a function could read an item or object its
policy does not allow and every local test would still pass. `IamGuard` wraps botocore's one call
path: while a handler runs (`LocalFunction.invoke` names it), each DynamoDB or S3 request is turned
into the accesses IAM authorizes (action, resource ARN, the partition keys it touches) and refused
with AccessDenied, as on AWS, when no statement allows it.

What is judged: Allow statements (Action, Resource with `*`/`?` wildcards, and the
`ForAllValues:StringLike` / `ForAllValues:StringEquals` condition on `dynamodb:LeadingKeys`); the
SAM policy templates the template uses are expanded first. A Query on an index is judged on the
index's ARN, with the index's partition key as the leading key (so a statement for
`table/X/index/*` states which index partitions the function may read). Calls made outside any
handler (test setup, the demo seeding through the admin API aside) are not judged.
"""

from __future__ import annotations

import contextvars
import functools
import logging
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from local_stack.template import Template

logger = logging.getLogger("local_stack.iam")
current_function: contextvars.ContextVar[str | None] = contextvars.ContextVar("current_function", default=None)


@dataclass(frozen=True)
class Statement:
    actions: tuple[str, ...]
    resources: tuple[str, ...]
    leading_keys: tuple[str, ...] | None = None  # ForAllValues:StringLike dynamodb:LeadingKeys

    def allows(self, access: Access) -> bool:
        if not any(_like(access.action, a, case=False) for a in self.actions):
            return False
        if not any(_like(access.resource, r) for r in self.resources):
            return False
        if self.leading_keys is None:
            return True
        return all(any(_like(key, pattern) for pattern in self.leading_keys) for key in access.leading_keys)


@dataclass(frozen=True)
class Access:
    action: str  # e.g. dynamodb:GetItem
    resource: str  # the ARN IAM judges
    leading_keys: tuple[str, ...] = ()

    def __str__(self) -> str:
        keys = f" keys {list(self.leading_keys)}" if self.leading_keys else ""
        return f"{self.action} on {self.resource}{keys}"


def _like(value: str, pattern: str, case: bool = True) -> bool:
    """IAM's StringLike: `*` any run of characters, `?` one character, nothing else special."""
    return _compiled(pattern, case).fullmatch(value) is not None


@functools.cache
def _compiled(pattern: str, case: bool) -> re.Pattern[str]:
    regex = "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern)
    return re.compile(regex, 0 if case else re.IGNORECASE)


# -- the template's statements --------------------------------------------------------------

_DYNAMODB_CRUD = (
    "dynamodb:GetItem",
    "dynamodb:DeleteItem",
    "dynamodb:PutItem",
    "dynamodb:Scan",
    "dynamodb:Query",
    "dynamodb:UpdateItem",
    "dynamodb:BatchWriteItem",
    "dynamodb:BatchGetItem",
    "dynamodb:DescribeTable",
    "dynamodb:ConditionCheckItem",
)
_DYNAMODB_READ = (
    "dynamodb:GetItem",
    "dynamodb:Scan",
    "dynamodb:Query",
    "dynamodb:BatchGetItem",
    "dynamodb:DescribeTable",
)
_S3_READ = ("s3:GetObject", "s3:ListBucket", "s3:GetBucketLocation", "s3:GetObjectVersion")
_S3_CRUD = (*_S3_READ, "s3:PutObject", "s3:PutObjectAcl", "s3:DeleteObject")


def function_statements(template: Template, function_id: str) -> list[Statement]:
    """The Allow statements of one function's `Policies`, SAM policy templates expanded."""
    properties = template.resources[function_id]["Properties"]
    statements: list[Statement] = []
    for policy in properties.get("Policies", []):
        if isinstance(policy, str):  # a managed policy by name: not judged here
            continue
        ((name, argument),) = policy.items()
        argument = template.resolve(argument)
        if name == "Statement":
            statements += [_statement(s) for s in (argument if isinstance(argument, list) else [argument])]
        elif name in ("DynamoDBCrudPolicy", "DynamoDBReadPolicy"):
            table = _table_arn(template, argument["TableName"])
            actions = _DYNAMODB_CRUD if name == "DynamoDBCrudPolicy" else _DYNAMODB_READ
            statements.append(Statement(actions, (table, f"{table}/index/*")))
        elif name in ("S3CrudPolicy", "S3ReadPolicy", "S3WritePolicy"):
            bucket = f"arn:aws:s3:::{argument['BucketName']}"
            actions = _S3_READ if name == "S3ReadPolicy" else _S3_CRUD
            statements.append(Statement(actions, (bucket, f"{bucket}/*")))
    return statements


def _statement(raw: dict[str, Any]) -> Statement:
    if raw.get("Effect") != "Allow":
        raise ValueError(f"only Allow statements are expected in a function's policy: {raw}")
    leading = None
    for operator, keys in (raw.get("Condition") or {}).items():
        if operator not in ("ForAllValues:StringLike", "ForAllValues:StringEquals"):
            raise ValueError(f"condition {operator} is not judged by the local stack")
        for name, values in keys.items():
            if name != "dynamodb:LeadingKeys":
                raise ValueError(f"condition key {name} is not judged by the local stack")
            values = [values] if isinstance(values, str) else values
            leading = tuple(values if operator.endswith("Like") else (v.replace("*", "?") for v in values))
    return Statement(_strings(raw["Action"]), _strings(raw["Resource"]), leading)


def _strings(value: Any) -> tuple[str, ...]:
    return (value,) if isinstance(value, str) else tuple(value)


def _table_arn(template: Template, table_name: str) -> str:
    lid = next(lid for lid in template.of_type("AWS::DynamoDB::Table") if template.local_name(lid) == table_name)
    return template.resolve({"Fn::GetAtt": [lid, "Arn"]})


# -- what a request asks IAM for --------------------------------------------------------------


@dataclass
class Schema:
    """What IAM needs to know of the template's tables: each table's and index's partition key."""

    table_arns: dict[str, str] = field(default_factory=dict)  # table name -> ARN
    hash_keys: dict[tuple[str, str | None], str] = field(default_factory=dict)  # (table, index) -> key

    @classmethod
    def of(cls, template: Template) -> Schema:
        schema = cls()
        for name, arguments in template.tables().items():
            schema.table_arns[name] = _table_arn(template, name)
            schema.hash_keys[(name, None)] = _hash(arguments["KeySchema"])
            for index in arguments.get("GlobalSecondaryIndexes", []):
                schema.hash_keys[(name, index["IndexName"])] = _hash(index["KeySchema"])
        return schema


def _hash(key_schema: list[dict[str, str]]) -> str:
    return next(k["AttributeName"] for k in key_schema if k["KeyType"] == "HASH")


def accesses(schema: Schema, service: str, operation: str, params: dict[str, Any]) -> Iterator[Access]:
    """The (action, resource, leading keys) IAM authorizes for one call."""
    if service == "dynamodb":
        yield from _dynamodb(schema, operation, params)
    elif service == "s3":
        yield from _s3(operation, params)


def _dynamodb(schema: Schema, operation: str, params: dict[str, Any]) -> Iterator[Access]:
    def one(action: str, table: str, key: dict[str, Any] | None) -> Access:
        arn = schema.table_arns.get(table, f"arn:aws:dynamodb:::table/{table}")
        value = (key or {}).get(schema.hash_keys.get((table, None), "pk"), {}).get("S")
        return Access(f"dynamodb:{action}", arn, (value,) if value is not None else ())

    if operation in ("GetItem", "DeleteItem", "UpdateItem"):
        yield one(operation, params["TableName"], params.get("Key"))
    elif operation == "PutItem":
        yield one(operation, params["TableName"], params.get("Item"))
    elif operation in ("Query", "Scan"):
        table, index = params["TableName"], params.get("IndexName")
        arn = schema.table_arns.get(table, table) + (f"/index/{index}" if index else "")
        keys: tuple[str, ...] = ()
        if operation == "Query":
            hash_key = schema.hash_keys.get((table, index), "pk")
            keys = (_query_partition(params, hash_key),)
        yield Access(f"dynamodb:{operation}", arn, keys)
    elif operation == "TransactWriteItems":
        for item in params["TransactItems"]:
            ((kind, request),) = item.items()
            action = {"Put": "PutItem", "Update": "UpdateItem", "Delete": "DeleteItem"}.get(kind, "ConditionCheckItem")
            yield one(action, request["TableName"], request.get("Key") or request.get("Item"))
    elif operation == "TransactGetItems":
        for item in params["TransactItems"]:
            yield one("GetItem", item["Get"]["TableName"], item["Get"]["Key"])
    elif operation == "BatchGetItem":
        for table, request in params["RequestItems"].items():
            for key in request["Keys"]:
                yield one("BatchGetItem", table, key)
    elif operation == "BatchWriteItem":
        for table, requests in params["RequestItems"].items():
            for request in requests:
                key = request.get("PutRequest", {}).get("Item") or request.get("DeleteRequest", {}).get("Key")
                yield one("BatchWriteItem", table, key)
    elif operation in ("DescribeTable", "DescribeTimeToLive"):
        yield Access(f"dynamodb:{operation}", schema.table_arns.get(params["TableName"], params["TableName"]))
    else:
        yield Access(f"dynamodb:{operation}", "*")


def _query_partition(params: dict[str, Any], hash_key: str) -> str:
    """The partition key value a Query's key condition names (`pk = :v`, aliases resolved)."""
    names = {alias: name for alias, name in (params.get("ExpressionAttributeNames") or {}).items()}
    values = params.get("ExpressionAttributeValues") or {}
    for found in re.finditer(r"([#\w]+)\s*=\s*(:\w+)", params.get("KeyConditionExpression", "")):
        if names.get(found.group(1), found.group(1)) == hash_key:
            return str(values[found.group(2)].get("S", values[found.group(2)]))
    raise ValueError(f"no partition key {hash_key} in {params.get('KeyConditionExpression')!r}")


_S3_OBJECT_ACTIONS = {
    "GetObject": "s3:GetObject",
    "HeadObject": "s3:GetObject",
    "PutObject": "s3:PutObject",
    "DeleteObject": "s3:DeleteObject",
    "GetObjectTagging": "s3:GetObjectTagging",
    "PutObjectTagging": "s3:PutObjectTagging",
}


def _s3(operation: str, params: dict[str, Any]) -> Iterator[Access]:
    bucket = f"arn:aws:s3:::{params.get('Bucket', '')}"
    versioned = "VersionId" in params
    if operation in _S3_OBJECT_ACTIONS:
        action = _S3_OBJECT_ACTIONS[operation]
        if versioned and operation in ("GetObject", "HeadObject", "DeleteObject"):
            action += "Version"
        yield Access(action, f"{bucket}/{params['Key']}")
    elif operation == "DeleteObjects":
        for item in params["Delete"]["Objects"]:
            action = "s3:DeleteObjectVersion" if "VersionId" in item else "s3:DeleteObject"
            yield Access(action, f"{bucket}/{item['Key']}")
    elif operation in ("ListObjects", "ListObjectsV2"):
        yield Access("s3:ListBucket", bucket)
    elif operation == "ListObjectVersions":
        yield Access("s3:ListBucketVersions", bucket)
    else:
        yield Access(f"s3:{operation}", bucket)


# -- the guard -----------------------------------------------------------------------------------


class IamGuard:
    """Judges every DynamoDB and S3 call a handler makes against its function's statements."""

    def __init__(self, template: Template, enforce: bool = True, record: bool = False):
        self.schema = Schema.of(template)
        self.statements = {lid: function_statements(template, lid) for lid in template.functions()}
        self.enforce = enforce
        self.refused: list[tuple[str, Access]] = []
        self.record = record
        self.seen: set[tuple[str, Access]] = set()  # with `record`: every judged access, refused or not

    def refusal(self, function_id: str, service: str, operation: str, params: dict[str, Any]) -> Access | None:
        """The first access of this call that the function's policy does not allow, if any."""
        statements = self.statements.get(function_id)
        if statements is None:
            return None
        for access in accesses(self.schema, service, operation, params):
            if self.record:
                self.seen.add((function_id, access))
            if not any(s.allows(access) for s in statements):
                self.refused.append((function_id, access))
                logger.error("%s: not allowed by template.yaml: %s", function_id, access)
                return access
        return None

    def install(self) -> None:
        from botocore.client import BaseClient
        from botocore.exceptions import ClientError

        original = getattr(BaseClient._make_api_call, "__wrapped__", BaseClient._make_api_call)
        guard = self

        def guarded(client: Any, operation: str, params: dict[str, Any]) -> Any:
            function_id = current_function.get()
            service = client.meta.service_model.service_name
            if function_id is not None and service in ("dynamodb", "s3"):
                denied = guard.refusal(function_id, service, operation, params)
                if denied is not None and guard.enforce:
                    message = f"{function_id} is not authorized to perform {denied} (template.yaml Policies)"
                    error = {"Error": {"Code": "AccessDeniedException", "Message": message}}
                    raise ClientError(error, operation)
            return original(client, operation, params)

        guarded.__wrapped__ = original  # type: ignore[attr-defined]
        BaseClient._make_api_call = guarded  # type: ignore[method-assign]
