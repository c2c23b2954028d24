"""Reading template.yaml for local use: functions, routes, schedules, tables, buckets, auth.

The template is the single source of truth; this module only resolves its intrinsic functions
to local values (resource names, parameter defaults, conditions), it never restates them.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

REGION = "us-east-1"
ACCOUNT = "123456789012"


class _CfnLoader(yaml.SafeLoader):
    """YAML with CloudFormation short tags (!Ref, !Sub, !If, ...) read as their long form."""


LOCAL_STACK_UUID = "5e1f0000-0000-4000-8000-00000000c0de"


def _tag(loader: yaml.Loader, suffix: str, node: yaml.Node) -> dict:
    name = "Ref" if suffix == "Ref" else f"Fn::{suffix}"
    if isinstance(node, yaml.ScalarNode):
        value: Any = loader.construct_scalar(node)
        if suffix == "GetAtt":
            value = value.split(".", 1)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    else:
        value = loader.construct_mapping(node, deep=True)
    return {name: value}


_CfnLoader.add_multi_constructor("!", _tag)


@dataclass(frozen=True)
class Route:
    method: str  # GET, POST, ... or ANY
    path: str  # /s/{code_id}, /admin/{proxy+}
    function_id: str
    authorizer: str | None  # name of the HttpApi authorizer, None for public routes

    @property
    def route_key(self) -> str:
        return f"{self.method} {self.path}"

    def match(self, method: str, path: str) -> dict[str, str] | None:
        """Path parameters if this route serves `method path`, else None."""
        if self.method not in ("ANY", method):
            return None
        pattern = "^"
        for part in re.split(r"(\{[^}]+\})", self.path):
            if part.startswith("{") and part.endswith("+}"):
                pattern += f"(?P<{part[1:-2]}>.+)"
            elif part.startswith("{"):
                pattern += f"(?P<{part[1:-1]}>[^/]+)"
            else:
                pattern += re.escape(part)
        found = re.match(pattern + "$", path)
        if not found:
            return None
        return found.groupdict()


@dataclass(frozen=True)
class Schedule:
    function_id: str
    name: str
    expression: str  # rate(5 minutes) or cron(...)
    enabled: bool = True
    input: str | None = None

    @property
    def rate_seconds(self) -> float | None:
        found = re.fullmatch(r"rate\((\d+)\s+(minute|minutes|hour|hours|day|days)\)", self.expression)
        if not found:
            return None
        unit = {"minute": 60, "hour": 3600, "day": 86400}[found.group(2).rstrip("s")]
        return int(found.group(1)) * unit


@dataclass(frozen=True)
class FunctionSpec:
    logical_id: str
    code_dir: Path
    handler: str  # module.function
    environment: dict[str, str]
    timeout: int


@dataclass(frozen=True)
class QueueSubscription:
    """An SQS event source: `function_id` receives batches from queue `queue` (local name)."""

    function_id: str
    queue: str
    batch_size: int
    partial_failures: bool  # FunctionResponseTypes: [ReportBatchItemFailures]


@dataclass(frozen=True)
class JwtAuthorizer:
    issuer: str
    audience: list[str]
    identity_source: str


@dataclass
class Template:
    path: Path
    parameter_overrides: dict[str, str] = field(default_factory=dict)

    def __post_init__(self):
        self.root = self.path.parent
        self.doc = yaml.load(self.path.read_text(), Loader=_CfnLoader)
        self.resources: dict[str, dict] = self.doc.get("Resources", {})
        self.parameters = {
            name: str(self.parameter_overrides.get(name, spec.get("Default", "")))
            for name, spec in self.doc.get("Parameters", {}).items()
        }
        self.conditions: dict[str, bool] = {}
        for name, expr in self.doc.get("Conditions", {}).items():  # a condition may use those before it
            self.conditions[name] = self._condition(expr)

    # -- names the local stack gives resources -----------------------------------------

    def local_name(self, logical_id: str) -> str:
        kind = self.resources[logical_id]["Type"]
        if kind == "AWS::S3::Bucket":
            return f"siyu-local-{logical_id.lower()}"
        if kind == "AWS::Cognito::UserPool":
            return f"{REGION}_local{logical_id}"
        if kind == "AWS::SNS::Topic":
            return f"siyu-local-{logical_id}"
        return logical_id

    def of_type(self, kind: str) -> dict[str, dict]:
        return {lid: r for lid, r in self.resources.items() if r.get("Type") == kind and self._included(r)}

    def _included(self, resource: dict) -> bool:
        return self.conditions.get(resource["Condition"], True) if "Condition" in resource else True

    # -- tables and buckets ------------------------------------------------------------

    def tables(self) -> dict[str, dict]:
        """Local table name -> CreateTable arguments taken from the template's properties."""
        tables = {}
        for lid, resource in self.of_type("AWS::DynamoDB::Table").items():
            props = self.resolve(resource["Properties"])
            args = {
                "TableName": self.local_name(lid),
                "AttributeDefinitions": props["AttributeDefinitions"],
                "KeySchema": props["KeySchema"],
                "BillingMode": props.get("BillingMode", "PAY_PER_REQUEST"),
            }
            if props.get("GlobalSecondaryIndexes"):
                args["GlobalSecondaryIndexes"] = props["GlobalSecondaryIndexes"]
            tables[args["TableName"]] = args
        return tables

    def buckets(self) -> list[str]:
        return [self.local_name(lid) for lid in self.of_type("AWS::S3::Bucket")]

    def versioned_buckets(self) -> list[str]:
        return [
            self.local_name(lid)
            for lid, r in self.of_type("AWS::S3::Bucket").items()
            if r.get("Properties", {}).get("VersioningConfiguration", {}).get("Status") == "Enabled"
        ]

    def topics(self) -> list[str]:
        return [self.local_name(lid) for lid in self.of_type("AWS::SNS::Topic")]

    def queues(self) -> dict[str, dict]:
        """Local queue name -> CreateQueue attributes (a redrive policy names its dead-letter queue
        by ARN, so dead-letter queues come first)."""
        queues = {}
        resources = self.of_type("AWS::SQS::Queue")
        ordered = sorted(resources.items(), key=lambda item: "RedrivePolicy" in item[1].get("Properties", {}))
        for lid, resource in ordered:
            props = self.resolve(resource.get("Properties", {}))
            attributes = {}
            if "VisibilityTimeout" in props:
                attributes["VisibilityTimeout"] = str(props["VisibilityTimeout"])
            if "RedrivePolicy" in props:
                attributes["RedrivePolicy"] = json.dumps(props["RedrivePolicy"])
            queues[self.local_name(lid)] = attributes
        return queues

    def queue_subscriptions(self) -> list[QueueSubscription]:
        found = []
        for lid, resource in self.of_type("AWS::Serverless::Function").items():
            for event in resource["Properties"].get("Events", {}).values():
                if event["Type"] != "SQS":
                    continue
                props = self.resolve(event["Properties"])
                queue = props["Queue"].rsplit(":", 1)[1]
                partial = "ReportBatchItemFailures" in props.get("FunctionResponseTypes", [])
                found.append(QueueSubscription(lid, queue, int(props.get("BatchSize", 10)), partial))
        return found

    # -- functions, routes, schedules ---------------------------------------------------

    def functions(self) -> dict[str, FunctionSpec]:
        globals_ = self.doc.get("Globals", {}).get("Function", {})
        specs = {}
        for lid, resource in self.of_type("AWS::Serverless::Function").items():
            props = resource["Properties"]
            env = dict(globals_.get("Environment", {}).get("Variables", {}))
            env.update(props.get("Environment", {}).get("Variables", {}))
            specs[lid] = FunctionSpec(
                logical_id=lid,
                code_dir=self.root / props["CodeUri"],
                handler=props["Handler"],
                environment={k: str(v) for k, v in self.resolve(env).items()},
                timeout=int(props.get("Timeout", globals_.get("Timeout", 3))),
            )
        return specs

    def layer_dirs(self) -> list[Path]:
        """Folders to put on sys.path so handlers import the layers' packages as on Lambda: a
        built layer's python/ folder (what Lambda mounts as /opt/python), else the source folder."""
        dirs = []
        for resource in self.of_type("AWS::Serverless::LayerVersion").values():
            content = self.root / resource["Properties"]["ContentUri"]
            dirs.append(content / "python" if (content / "python").is_dir() else content)
        return dirs

    def routes(self) -> list[Route]:
        routes = []
        for lid, resource in self.of_type("AWS::Serverless::Function").items():
            for event in resource["Properties"].get("Events", {}).values():
                if event["Type"] != "HttpApi":
                    continue
                props = event["Properties"]
                auth = props.get("Auth", {}).get("Authorizer")
                routes.append(
                    Route(props["Method"].upper(), props["Path"], lid, None if auth in (None, "NONE") else auth)
                )
        # Most specific first, as API Gateway matches: literal paths before greedy ones.
        return sorted(routes, key=lambda r: ("+}" in r.path, r.path.count("{"), -len(r.path)))

    def schedules(self) -> list[Schedule]:
        schedules = []
        for lid, resource in self.of_type("AWS::Serverless::Function").items():
            for name, event in resource["Properties"].get("Events", {}).items():
                if event["Type"] not in ("Schedule", "ScheduleV2"):
                    continue
                props = self.resolve(event["Properties"])
                enabled = props.get("Enabled", props.get("State", "ENABLED") in ("ENABLED", True))
                schedules.append(
                    Schedule(
                        lid,
                        name,
                        props.get("Schedule") or props["ScheduleExpression"],
                        bool(enabled),
                        props.get("Input"),
                    )
                )
        return schedules

    def jwt_authorizer(self, name: str) -> JwtAuthorizer:
        for resource in self.of_type("AWS::Serverless::HttpApi").values():
            config = resource["Properties"].get("Auth", {}).get("Authorizers", {}).get(name)
            if config:
                jwt = self.resolve(config["JwtConfiguration"])
                return JwtAuthorizer(jwt["issuer"], list(jwt["audience"]), config["IdentitySource"])
        raise KeyError(f"no HttpApi authorizer named {name} in {self.path}")

    # -- intrinsic functions -----------------------------------------------------------

    def resolve(self, value: Any) -> Any:
        if isinstance(value, list):
            return [self.resolve(v) for v in value]
        if not isinstance(value, dict):
            return value
        if len(value) == 1:
            ((key, arg),) = value.items()
            if key == "Ref":
                return self._ref(arg)
            if key == "Fn::Sub":
                return self._sub(arg)
            if key == "Fn::If":
                name, when_true, when_false = arg
                return self.resolve(when_true if self.conditions[name] else when_false)
            if key == "Fn::GetAtt":
                lid, attribute = arg if isinstance(arg, list) else arg.split(".", 1)
                return self._get_att(lid, attribute)
            if key == "Fn::Split":
                delimiter, text = arg
                return self.resolve(text).split(delimiter)
            if key == "Fn::Select":
                index, items = arg
                return self.resolve(items)[int(self.resolve(index))]
        return {k: self.resolve(v) for k, v in value.items()}

    def _ref(self, name: str) -> str:
        pseudo = {
            "AWS::Region": REGION,
            "AWS::AccountId": ACCOUNT,
            "AWS::Partition": "aws",
            "AWS::URLSuffix": "amazonaws.com",
            "AWS::StackName": "siyu-local",
            "AWS::StackId": f"arn:aws:cloudformation:{REGION}:{ACCOUNT}:stack/siyu-local/{LOCAL_STACK_UUID}",
        }
        if name in pseudo:
            return pseudo[name]
        if name in self.parameters:
            return self.parameters[name]
        if self.resources.get(name, {}).get("Type") == "AWS::SNS::Topic":  # Ref of a topic is its ARN
            return f"arn:aws:sns:{REGION}:{ACCOUNT}:{self.local_name(name)}"
        if self.resources.get(name, {}).get("Type") == "AWS::SQS::Queue":  # Ref of a queue is its URL
            return f"https://sqs.{REGION}.amazonaws.com/{ACCOUNT}/{self.local_name(name)}"
        return self.local_name(name)

    def _get_att(self, lid: str, attribute: str) -> str:
        if attribute == "Arn" and self.resources.get(lid, {}).get("Type") == "AWS::SQS::Queue":
            return f"arn:aws:sqs:{REGION}:{ACCOUNT}:{self.local_name(lid)}"
        if attribute == "Arn" and self.resources.get(lid, {}).get("Type") == "AWS::S3::Bucket":
            return f"arn:aws:s3:::{self.local_name(lid)}"  # as IAM names the bucket (local_stack/iam.py)
        if attribute == "Arn":
            return f"arn:aws:local:{REGION}:{ACCOUNT}:{self.local_name(lid)}"
        return self.local_name(lid)

    def _sub(self, arg: Any) -> str:
        text, extra = (arg, {}) if isinstance(arg, str) else (arg[0], self.resolve(arg[1]))

        def one(found: re.Match) -> str:
            name = found.group(1)
            if name in extra:
                return str(extra[name])
            if "." in name and not name.startswith("AWS::"):
                return self._get_att(*name.split(".", 1))
            return self._ref(name)

        return re.sub(r"\$\{([^}!]+)\}", one, text)

    def _condition(self, expr: Any) -> bool:
        ((key, arg),) = expr.items()
        if key == "Fn::Equals":
            left, right = (self.resolve(a) for a in arg)
            return str(left) == str(right)
        if key == "Fn::Not":
            return not self._condition(arg[0])
        if key == "Fn::And":
            return all(self._condition_or_ref(a) for a in arg)
        if key == "Fn::Or":
            return any(self._condition_or_ref(a) for a in arg)
        raise ValueError(f"condition {expr} is not supported by the local stack")

    def _condition_or_ref(self, expr: dict) -> bool:
        return self.conditions[expr["Condition"]] if "Condition" in expr else self._condition(expr)
