"""Customer layering through the real handlers on the in-process AWS emulator: the contract's
routes (questionnaire, answers as a form with the visitor cookie, the visitor's tags, a segment's
count), a refused form that keeps what was entered, the CSV exports, tracked links, erasure."""

from __future__ import annotations

import copy
import json
from urllib.parse import urlencode

import pytest

from tests.helpers import admin_event, b64, new_group_screenshot, qr_data_uri, sample_event, scan_event, visitor_id_of

QUESTIONNAIRE = {
    "title": "肤质小问卷",
    "questions": [
        {
            "text": "您的肤质？",
            "kind": "single",
            "options": [{"label": "干皮", "tag": "A"}, {"label": "油皮", "tag": "B"}],
        },
        {
            "text": "您的困扰？",
            "kind": "multi",
            "options": [{"label": "痘痘", "tag": "3"}, {"label": "闭口", "tag": "4"}],
        },
        {"text": "手机号", "kind": "phone", "required": False},
    ],
}


def public_event(method: str, path: str, route: str, params: dict, form: dict | None = None, visitor=None, ua=None):
    event = copy.deepcopy(sample_event("layering_pages_function_unknown_questionnaire"))
    event["routeKey"] = event["requestContext"]["routeKey"] = route
    event["rawPath"] = event["requestContext"]["http"]["path"] = path
    event["requestContext"]["http"]["method"] = method
    event["pathParameters"] = params
    event["headers"]["x-forwarded-proto"] = "http"
    if ua is not None:
        event["headers"]["user-agent"] = ua
    if form is not None:
        event["body"] = urlencode(form, doseq=True)
        event["headers"]["content-type"] = "application/x-www-form-urlencoded"
    if visitor:
        event["cookies"] = [f"siyu_vid={visitor}"]
    return event


@pytest.fixture(scope="module")
def pages(stack):
    function = stack.functions["LayeringPagesFunction"]

    def call(method: str, questionnaire_id: str, form=None, visitor=None):
        route = f"{method} /q/{{questionnaire_id}}"
        params = {"questionnaire_id": questionnaire_id}
        return function.invoke(public_event(method, f"/q/{questionnaire_id}", route, params, form, visitor))

    return call


def test_answers_become_the_visitors_tags_and_move_the_segment_count(admin, pages):
    status, created = admin("POST", "/admin/questionnaires", QUESTIONNAIRE)
    assert status == 201 and created["url"].endswith(f"/q/{created['id']}")
    status, segment = admin("POST", "/admin/segments", {"name": "油皮痘痘", "rule": {"all": ["B", "3"]}})
    assert status == 201 and segment["count"] == 0

    form = pages("GET", created["id"])
    assert form["statusCode"] == 200 and "您的肤质？" in form["body"] and "width=device-width" in form["body"]
    visitor = visitor_id_of(form)
    answered = pages("POST", created["id"], {"q0": "油皮", "q1": ["痘痘", "闭口"]}, visitor)
    assert answered["statusCode"] == 200 and "谢谢" in answered["body"]

    status, seen = admin("GET", f"/admin/visitors/{visitor}")
    assert status == 200 and seen["tags"] == ["3", "4", "B"] and seen["segments"] == [segment["id"]]
    assert admin("GET", f"/admin/segments/{segment['id']}")[1]["count"] == 1
    status, members = admin("GET", f"/admin/segments/{segment['id']}/members")
    assert [m["visitor_id"] for m in members["items"]] == [visitor]
    status, view = admin("GET", f"/admin/questionnaires/{created['id']}")
    assert view["responses"] == 1 and [o["count"] for o in view["questions"][1]["options"]] == [1, 1]

    status, preview = admin("POST", "/admin/segments/preview", {"any": ["4"]})
    assert status == 200 and preview["count"] >= 1 and preview["complete"]
    # A later segment is backfilled from the existing profiles
    status, closed = admin("POST", "/admin/segments", {"name": "闭口", "rule": {"any": ["4"]}})
    assert status == 201 and closed["count"] == 1 and closed["backfilled"]


def test_a_bad_form_is_a_chinese_4xx_page_that_keeps_what_was_entered(admin, pages):
    _, created = admin("POST", "/admin/questionnaires", QUESTIONNAIRE)
    refused = pages("POST", created["id"], {"q0": "油皮", "q2": "13800138000"}, "a" * 20)
    assert refused["statusCode"] == 422 and "这一题还没有填写" in refused["body"]
    assert 'value="油皮" checked' in refused["body"] and 'value="13800138000"' in refused["body"]
    assert "留下手机号需要勾选同意" in refused["body"]
    assert admin("GET", f"/admin/visitors/{'a' * 20}")[0] == 404  # nothing was stored
    missing = pages("GET", "nosuchthing")
    assert missing["statusCode"] == 404 and "问卷不存在" in missing["body"]


def test_responses_export_and_erasure(admin, pages, admin_csv):
    _, created = admin("POST", "/admin/questionnaires", QUESTIONNAIRE)
    form = {"q0": "干皮", "q1": "痘痘", "q2": "13800138000", "q2_consent": "1"}
    assert pages("POST", created["id"], form, "b" * 20)["statusCode"] == 200
    function_answer = admin_csv(f"/admin/questionnaires/{created['id']}/responses.csv")
    assert "13800138000" in function_answer and "b" * 20 in function_answer
    status, _ = admin("DELETE", f"/admin/visitors/{'b' * 20}")
    assert status == 204
    assert "13800138000" not in admin_csv(f"/admin/questionnaires/{created['id']}/responses.csv")
    assert admin("GET", f"/admin/visitors/{'b' * 20}")[0] == 404


@pytest.fixture(scope="module")
def admin_csv(stack):
    """A CSV route's body (the shared admin fixture reads JSON)."""

    def call(path: str) -> str:
        answer = stack.functions["AdminApiFunction"].invoke(admin_event("GET", path))
        assert answer["statusCode"] == 200 and answer["headers"]["Content-Type"].startswith("text/csv"), answer
        return answer["body"]

    return call


def test_a_contract_violation_is_a_422(admin):
    status, answer = admin(
        "POST", "/admin/questionnaires", {"title": "x", "questions": [{"text": "q", "kind": "single"}]}
    )
    assert status == 422 and "options" in answer["message"]
    status, answer = admin("POST", "/admin/segments", {"name": "x", "rule": {}})
    assert status == 422
    assert admin("GET", "/admin/segments/nosuchseg")[0] == 404


def test_a_precise_group_code_routes_the_segments_members_to_their_pool(stack, admin, pages):
    _, created = admin("POST", "/admin/questionnaires", QUESTIONNAIRE)
    _, segment = admin("POST", "/admin/segments", {"name": "精准群 痘痘", "rule": {"all": ["3"]}})
    _, live = admin("POST", "/admin/codes", {"name": "精准群活码"})
    status, route = admin("POST", f"/admin/codes/{live['id']}/segment-routes", {"segment_id": segment["id"]})
    assert status == 201 and route["segment_id"] == segment["id"]
    daily_url, daily = new_group_screenshot("日常群")
    precise_url, precise = new_group_screenshot("精准群")
    for image, extra in ((daily, {}), (precise, {"option_id": route["id"]})):
        status, answer = admin("POST", f"/admin/codes/{live['id']}/targets", {"image_base64": b64(image), **extra})
        assert status == 201, answer
    assert admin("POST", f"/admin/codes/{segment['id']}/segment-routes", {"segment_id": "nosuchseg"})[0] == 404

    pages("POST", created["id"], {"q0": "油皮", "q1": "痘痘"}, "f" * 20)  # in the segment
    pages("POST", created["id"], {"q0": "油皮", "q1": "闭口"}, "0" * 20)  # not in it
    scan = stack.functions["ScanFunction"].invoke
    assert qr_data_uri(precise_url) in scan(scan_event(live["id"], visitor_id="f" * 20))["body"]
    assert qr_data_uri(daily_url) in scan(scan_event(live["id"], visitor_id="0" * 20))["body"]
    assert qr_data_uri(daily_url) in scan(scan_event(live["id"]))["body"]  # first time: no segments yet


def test_the_tag_library_lists_each_tag_with_its_sources(admin):
    _, created = admin("POST", "/admin/questionnaires", QUESTIONNAIRE)
    _, grouped = admin(
        "POST", "/admin/codes", {"name": "分组", "kind": "grouped", "options": [{"label": "上海", "tag": "city:sh"}]}
    )
    status, library = admin("GET", "/admin/tags")
    sources = {item["tag"]: item["sources"] for item in library["items"]}
    assert status == 200 and f"questionnaire:{created['id']}" in sources["B"]
    assert f"pick:{grouped['id']}" in sources["city:sh"]


def test_an_id_no_questionnaire_has_is_the_missing_page_without_a_lookup(pages):
    for junk in ("x" * 3000, "../../etc", "QNR"):
        page = pages("GET", junk)
        assert page["statusCode"] == 404 and "问卷不存在" in page["body"]


def test_the_layering_job_takes_a_backfill_from_its_queue(stack, admin):
    _, segment = admin("POST", "/admin/segments", {"name": "队列回填", "rule": {"any": ["B"]}})
    record = {
        "messageId": "m1",
        "body": json.dumps({"backfill": segment["id"], "cursor": "e30="}),
        "eventSource": "aws:sqs",
    }
    answer = stack.functions["LayeringJobFunction"].invoke({"Records": [record]})
    assert answer == {"batchItemFailures": []}  # a segment already backfilled: nothing to do, settled
