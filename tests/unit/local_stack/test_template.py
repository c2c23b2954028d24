"""template.yaml holds what the product promises (data safety, China partition, throttling),
and the local tooling reads routes, tables and auth from it rather than restating them."""

import re

import pytest

from local_stack.template import Route, Template
from tests.helpers import ROOT

TEMPLATE = Template(ROOT / "template.yaml")
RESOURCES = TEMPLATE.resources
TEXT = (ROOT / "template.yaml").read_text()


def of_type(kind):
    return [r for r in RESOURCES.values() if r["Type"] == kind]


def test_no_hard_coded_partition():
    assert not re.search(r"arn:aws:", TEXT), "use !Sub arn:${AWS::Partition}:... so the stack deploys to aws-cn"


def test_table_is_on_demand_recoverable_and_retained():
    (table,) = of_type("AWS::DynamoDB::Table")
    props = table["Properties"]
    assert table["DeletionPolicy"] == "Retain" and table["UpdateReplacePolicy"] == "Retain"
    assert props["BillingMode"] == "PAY_PER_REQUEST"
    assert props["DeletionProtectionEnabled"] is True
    assert props["PointInTimeRecoverySpecification"]["PointInTimeRecoveryEnabled"] is True


def test_bucket_is_private_encrypted_versioned_and_retained():
    (bucket,) = of_type("AWS::S3::Bucket")
    props = bucket["Properties"]
    assert bucket["DeletionPolicy"] == "Retain"
    assert all(props["PublicAccessBlockConfiguration"].values())
    assert props["BucketEncryption"]["ServerSideEncryptionConfiguration"]
    assert props["VersioningConfiguration"]["Status"] == "Enabled"


def test_china_gaps_are_behind_conditions():
    assert TEMPLATE.doc["Globals"]["Function"]["Tracing"] == {"Fn::If": ["InChina", "PassThrough", "Active"]}
    cognito = ("AWS::Cognito::UserPool", "AWS::Cognito::UserPoolClient", "AWS::Cognito::UserPoolDomain")
    for pool in [resource for kind in cognito for resource in of_type(kind)]:
        assert pool["Condition"] == "CreateUserPool"


def test_admin_routes_need_the_jwt_authorizer_and_scans_are_public_and_throttled():
    routes = {r.route_key: r for r in TEMPLATE.routes()}
    assert routes["GET /s/{code_id}"].authorizer is None
    assert routes["ANY /admin/{proxy+}"].authorizer == "AdminJwt"
    api = of_type("AWS::Serverless::HttpApi")[0]["Properties"]
    assert "GET /s/{code_id}" in api["RouteSettings"]
    assert api["DefaultRouteSettings"]["ThrottlingRateLimit"] > 0
    # The console's files are public (the app signs in and sends its token to /admin/* itself).
    for key in ("GET /console", "GET /console/", "GET /console/{proxy+}"):
        assert routes[key].authorizer is None and routes[key].function_id == "ConsoleFunction"


def test_local_reading_of_the_authorizer_follows_the_parameters():
    default = TEMPLATE.jwt_authorizer("AdminJwt")
    assert default.issuer.startswith("https://cognito-idp.") and default.audience == ["AdminUserPoolClient"]
    own = Template(ROOT / "template.yaml", {"AdminJwtIssuer": "https://id.example.cn", "AdminJwtAudience": "siyu"})
    assert own.jwt_authorizer("AdminJwt").issuer == "https://id.example.cn"
    assert own.jwt_authorizer("AdminJwt").audience == ["siyu"]
    assert "AdminUserPool" not in own.of_type("AWS::Cognito::UserPool")


def test_local_tables_come_from_the_template_definition():
    (args,) = TEMPLATE.tables().values()
    (table,) = of_type("AWS::DynamoDB::Table")
    assert args["KeySchema"] == table["Properties"]["KeySchema"]
    assert [i["IndexName"] for i in args["GlobalSecondaryIndexes"]] == ["ListIndex", "DueIndex"]


@pytest.mark.parametrize(
    ("route", "method", "path", "params"),
    [
        (Route("GET", "/s/{code_id}", "f", None), "GET", "/s/abc", {"code_id": "abc"}),
        (Route("GET", "/s/{code_id}", "f", None), "POST", "/s/abc", None),
        (Route("GET", "/s/{code_id}", "f", None), "GET", "/s/abc/def", None),
        (Route("ANY", "/admin/{proxy+}", "f", None), "PATCH", "/admin/codes/x/targets", {"proxy": "codes/x/targets"}),
        (Route("ANY", "/admin/{proxy+}", "f", None), "GET", "/admin", None),
    ],
)
def test_route_matching_follows_api_gateway(route, method, path, params):
    assert route.match(method, path) == params


def test_local_only_routes_are_not_in_the_template():
    assert not any(r.path.startswith("/_local") for r in TEMPLATE.routes())
    assert "_local" not in TEXT


def test_rotation_and_sop_run_on_the_template_schedules():
    schedules = {s.function_id: s for s in TEMPLATE.schedules()}
    assert set(schedules) == {
        "RotateFunction",
        "SopFunction",
        "CampaignWorkerFunction",
        "WecomWorkerFunction",
        "LayeringJobFunction",
    }
    assert schedules["LayeringJobFunction"].rate_seconds is None  # a daily cron: fired on demand locally
    assert schedules["RotateFunction"].rate_seconds == 300 and schedules["SopFunction"].rate_seconds == 60
    assert schedules["CampaignWorkerFunction"].rate_seconds == 60
    assert schedules["WecomWorkerFunction"].rate_seconds == 3600
    faster = Template(ROOT / "template.yaml", {"RotationSchedule": "rate(1 minute)"})
    assert {s.function_id: s.rate_seconds for s in faster.schedules()}["RotateFunction"] == 60


def test_queue_consumers_read_the_queues_the_template_defines():
    subscriptions = {s.function_id: s for s in TEMPLATE.queue_subscriptions()}
    assert {f: s.queue for f, s in subscriptions.items()} == {
        "SopSendFunction": "SopQueue",
        "CampaignWorkerFunction": "CampaignQueue",
        "PosterFunction": "PosterQueue",
        "WecomWorkerFunction": "WecomEventQueue",
        "LayeringJobFunction": "LayeringQueue",
    }
    assert all(s.partial_failures for s in subscriptions.values())
    # a segment backfill is one long budget per message; the others take batches of 10
    assert {f: s.batch_size for f, s in subscriptions.items()} == {f: 10 for f in subscriptions} | {
        "LayeringJobFunction": 1
    }
    queues = list(TEMPLATE.queues())
    for queue in ("SopQueue", "CampaignQueue", "PosterQueue", "WecomEventQueue", "LayeringQueue"):
        dead_letters = queue.removesuffix("Queue") + "DeadLetterQueue"
        assert queues.index(dead_letters) < queues.index(queue)  # the dead-letter queue exists first
        assert dead_letters in TEMPLATE.queues()[queue]["RedrivePolicy"]


def test_client_addresses_are_hashed_with_a_generated_secret_never_the_stack_id():
    for name in ("ScanFunction", "CampaignPageFunction"):
        environment = TEMPLATE.functions()[name].environment
        assert "CLIENT_HASH_KEY" not in environment  # the stack id is readable by anyone allowed DescribeStacks
        assert environment["SIGNING_KEY_PARAMETER"].endswith("/signing-key")  # the key is derived from this secret
