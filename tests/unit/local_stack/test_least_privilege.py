"""Least privilege, read from template.yaml: each function may touch only the item families (partition
key prefixes) and object prefixes declared here, never the whole table or bucket; the public
functions never delete. The integration suite holds the other side: every call a handler makes is
judged against these same policies by the local stack (local_stack/iam.py), so a repository writing
a family its function's policy lacks fails there (tests/integration/conftest.py)."""

from __future__ import annotations

import pytest

from local_stack.iam import Access, IamGuard, Schema, accesses, function_statements
from local_stack.template import Template
from tests.helpers import ROOT

TEMPLATE = Template(ROOT / "template.yaml")
TABLE = TEMPLATE.resolve({"Fn::GetAtt": ["SiyuTable", "Arn"]})
BUCKET = TEMPLATE.resolve({"Fn::GetAtt": ["UploadsBucket", "Arn"]})

# Customer layering's item families (questionnaires, profiles, segments, tags, links, flash groups, orders).
LAYERING = {"QNR#*", "PROFILE#*", "SEG#*", "TAGLIB", "LINK#*", "LEARN#*", "FLASH#*", "ACTIVITY#*"}
LAYERING |= {"SIGNUP#*", "ORDER#*", "ORDERS#*", "BUYER#*"}

# function -> (table partition keys, index partition keys, object prefixes) it may touch at all.
DECLARED: dict[str, tuple[set[str], set[str], set[str]]] = {
    "ScanFunction": ({"CODE#*", "STATS#*", "VISITOR#*", "RATE#SCAN#*", "PROFILE#*"}, set(), set()),
    "ConsoleFunction": (set(), set(), set()),
    "AdminApiFunction": (
        {"CODE#*", "STATS#*", "VISITOR#*", "ALERT#*", "ALERT_CHANNELS", "PLAN#*", "SOPCAP#*", "CAMPAIGN#*"}
        | {"ERASE#*", "WECOM", "WECOM#*"}
        | LAYERING,
        {"CODE", "PLAN", "CAMPAIGN", "ALERT", "RANK#*", "WECOM#*", "DUE", "SOP", "SOPSEND", "INVITE", "REWARD"}
        | {"ERASE", "QNRS", "PROFILES", "SEGS", "LINKS", "FLASHES"},
        {"codes/*", "sop/*", "campaigns/*"},
    ),
    "RotateFunction": ({"CODE#*", "ALERT#*", "ALERT_CHANNELS", "WECOM#*"}, {"DUE", "WECOM#GROUPS#*"}, set()),
    "SopFunction": ({"PLAN#*", "SOPCAP#*", "WECOM", "CODE#*", "WECOM#*"}, {"SOP", "SOPSEND", "PLAN", "WECOM#*"}, set()),
    "SopSendFunction": ({"PLAN#*", "SOPCAP#*", "WECOM", "CODE#*", "WECOM#*"}, {"SOPSEND", "WECOM#*"}, {"sop/*"}),
    "SopTaskFunction": ({"PLAN#*"}, set(), {"sop/*"}),
    "CampaignPageFunction": ({"CAMPAIGN#*", "RATE#*"}, {"RANK#*"}, {"campaigns/*/avatars/*", "campaigns/*/posters/*"}),
    "CampaignWorkerFunction": (
        {"CAMPAIGN#*", "RATE#*", "ERASE#*", "WECOM", "WECOM#*"},
        {"INVITE", "REWARD", "ERASE", "CAMPAIGN", "RANK#*"},
        {"campaigns/*"},
    ),
    "PosterFunction": (
        {"CAMPAIGN#*", "WECOM", "WECOM#STATE#*"},
        set(),
        {"campaigns/*/avatars/*", "campaigns/*/background-*", "campaigns/*/posters/*"},
    ),
    "WecomCallbackFunction": ({"WECOM", "WECOM#SEEN#*"}, set(), set()),
    "WecomWorkerFunction": ({"WECOM", "WECOM#*", "STATS#*", "CODE#*"}, {"WECOM#*"}, set()),
    "LayeringPagesFunction": (
        {"QNR#*", "PROFILE#*", "SEG#*", "LINK#*", "LEARN#*", "SIGNUP#*", "ORDER#*", "ORDERS#*", "BUYER#*"}
        | {"VISITOR#*", "WECOM#CONTACT#*", "WECOM"},
        {"SEGS"},
        set(),
    ),
    "LayeringJobFunction": (
        {"FLASH#*", "ACTIVITY#*", "PROFILE#*", "SEG#*", "WECOM#CHAT#*", "WECOM"},
        {"FLASHES", "PROFILES", "SEGS"},
        set(),
    ),
}
PUBLIC = {
    "ConsoleFunction",
    "ScanFunction",
    "CampaignPageFunction",
    "PosterFunction",
    "WecomCallbackFunction",
    "SopTaskFunction",
    "LayeringPagesFunction",
}
DELETES = {"dynamodb:DeleteItem", "dynamodb:BatchWriteItem", "s3:DeleteObject", "s3:DeleteObjectVersion"}


def test_every_function_is_declared():
    assert set(TEMPLATE.functions()) == set(DECLARED)


@pytest.mark.parametrize("function", sorted(DECLARED))
def test_each_function_touches_only_its_declared_items_and_objects(function):
    table, indexes, objects = set(), set(), set()
    for statement in function_statements(TEMPLATE, function):
        for resource in statement.resources:
            if resource == TABLE:
                assert statement.leading_keys, f"{function} may touch the whole table: {statement}"
                table |= set(statement.leading_keys)
            elif resource.startswith(f"{TABLE}/index/"):
                assert statement.leading_keys, f"{function} may read a whole index: {statement}"
                indexes |= set(statement.leading_keys)
            elif resource.startswith(f"{BUCKET}/"):
                objects.add(resource.removeprefix(f"{BUCKET}/"))
            elif resource == BUCKET:
                assert set(statement.actions) <= {"s3:ListBucketVersions", "s3:ListBucket"}, statement
            assert not any(a in ("dynamodb:*", "s3:*", "dynamodb:Scan") for a in statement.actions), statement
    assert "*" not in objects, f"{function} may touch the whole bucket"
    assert (table, indexes, objects) == DECLARED[function]


# What a public function may delete: the callback its replay memory, the poster function the WeCom
# token it refreshes and a contact way's state it made; never a campaign record or an object.
DELETABLE = {
    "WecomCallbackFunction": {"WECOM", "WECOM#SEEN#*"},
    "PosterFunction": {"WECOM", "WECOM#STATE#*"},
    # a segment member item when its visitor no longer matches; the shared WeCom token when WeCom refuses it
    "LayeringPagesFunction": {"SEG#*", "WECOM"},
}


@pytest.mark.parametrize("function", sorted(PUBLIC))
def test_public_functions_never_delete_what_they_did_not_make_themselves(function):
    for statement in function_statements(TEMPLATE, function):
        if DELETES & set(statement.actions):
            assert set(statement.leading_keys or {"*"}) <= DELETABLE.get(function, set()), statement
            assert "dynamodb:BatchWriteItem" not in statement.actions, statement


GUARD = IamGuard(TEMPLATE)
SCHEMA = Schema.of(TEMPLATE)
TABLE_NAME = next(iter(TEMPLATE.tables()))


def _refused(function: str, service: str, operation: str, params: dict) -> Access | None:
    return GUARD.refusal(function, service, operation, params)


def test_the_local_judge_refuses_what_the_policy_does_not_allow():
    key = {"pk": {"S": "CAMPAIGN#c1"}, "sk": {"S": "PART#p"}}
    assert _refused("CampaignPageFunction", "dynamodb", "GetItem", {"TableName": TABLE_NAME, "Key": key}) is None
    refused = _refused("CampaignPageFunction", "dynamodb", "DeleteItem", {"TableName": TABLE_NAME, "Key": key})
    assert refused is not None and refused.action == "dynamodb:DeleteItem"
    code = {"pk": {"S": "CODE#abc"}, "sk": {"S": "CODE"}}
    assert _refused("PosterFunction", "dynamodb", "GetItem", {"TableName": TABLE_NAME, "Key": code}) is not None
    assert _refused("ScanFunction", "dynamodb", "Scan", {"TableName": TABLE_NAME}) is not None


def test_transactions_and_batches_are_judged_item_by_item():
    ok = {"Put": {"TableName": TABLE_NAME, "Item": {"pk": {"S": "CAMPAIGN#c"}, "sk": {"S": "PART#p"}}}}
    other = {"Update": {"TableName": TABLE_NAME, "Key": {"pk": {"S": "PLAN#x"}, "sk": {"S": "PLAN"}}}}
    assert _refused("CampaignPageFunction", "dynamodb", "TransactWriteItems", {"TransactItems": [ok]}) is None
    refused = _refused("CampaignPageFunction", "dynamodb", "TransactWriteItems", {"TransactItems": [ok, other]})
    assert refused is not None and refused.leading_keys == ("PLAN#x",)


def test_index_queries_are_judged_by_the_index_partition():
    def query(function, value):
        params = {
            "TableName": TABLE_NAME,
            "IndexName": "ListIndex",
            "KeyConditionExpression": "#k = :v",
            "ExpressionAttributeNames": {"#k": "list_pk"},
            "ExpressionAttributeValues": {":v": {"S": value}},
        }
        return _refused(function, "dynamodb", "Query", params)

    assert query("CampaignPageFunction", "RANK#c1") is None
    assert query("CampaignPageFunction", "CODE") is not None


def test_objects_are_judged_by_key_and_version():
    def call(function, operation, key, **extra):
        return _refused(function, "s3", operation, {"Bucket": TEMPLATE.buckets()[0], "Key": key, **extra})

    assert call("CampaignPageFunction", "PutObject", "campaigns/c/avatars/p.jpg") is None
    assert call("CampaignPageFunction", "PutObject", "codes/x/targets/t.png") is not None
    assert call("CampaignPageFunction", "GetObject", "campaigns/c/avatars/p.jpg") is not None
    assert call("PosterFunction", "DeleteObject", "campaigns/c/posters/p-v1.jpg") is not None
    assert call("AdminApiFunction", "DeleteObject", "campaigns/c/posters/p-v1.jpg", VersionId="v") is None
    assert call("SopTaskFunction", "GetObject", "sop/p/x.png", VersionId="v") is not None


def test_every_access_names_what_iam_needs():
    params = {"TableName": TABLE_NAME, "Key": {"pk": {"S": "CODE#a"}, "sk": {"S": "CODE"}}}
    (access,) = accesses(SCHEMA, "dynamodb", "GetItem", params)
    assert access == Access("dynamodb:GetItem", TABLE, ("CODE#a",))
