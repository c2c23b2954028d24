"""The admin API's contract as a client meets it: malformed bodies and content types get a 4xx in the one
error shape ({"message": ..., "errors"?: [...]}), never a 5xx; the OpenAPI document states every status
code and media type a route answers with."""

from __future__ import annotations

import base64
import json

import pytest

from tests.helpers import admin_event


@pytest.fixture(scope="module")
def raw(stack):
    """Invoke the admin function with a body as bytes and headers of the test's choosing."""
    function = stack.functions["AdminApiFunction"]

    def call(method: str, path: str, body: bytes | str | None, content_type: str | None, base64_encoded=False):
        event = admin_event(method, path)
        if content_type is None:
            event["headers"].pop("content-type", None)
        else:
            event["headers"]["content-type"] = content_type
        if isinstance(body, bytes):
            body = base64.b64encode(body).decode() if base64_encoded else body.decode("latin-1")
        event["body"] = body
        event["isBase64Encoded"] = base64_encoded
        answer = function.invoke(event)
        headers = {k.lower(): v for k, v in (answer.get("headers") or {}).items()}
        return answer["statusCode"], headers.get("content-type", ""), answer.get("body")

    return call


def _error(status: int, content_type: str, body: str) -> dict:
    assert 400 <= status < 500, (status, body)
    assert content_type.startswith("application/json"), content_type
    error = json.loads(body)
    assert set(error) <= {"message", "errors"} and isinstance(error["message"], str) and error["message"], error
    return error


@pytest.mark.parametrize(
    ("content_type", "wanted"),
    [
        ("multipart/form-data", "application/json"),
        ("multipart/form-data; boundary=xyz", "application/json"),
        ("text/plain", "application/json"),
        ("application/x-www-form-urlencoded", "application/json"),
        ("application/xml", "application/json"),
        ("application/json; charset=latin-1", "UTF-8"),
    ],
)
def test_unsupported_content_types_get_415_saying_what_to_send(raw, content_type, wanted):
    base64_encoded = content_type.startswith("multipart/")
    error = _error(*raw("POST", "/admin/codes", b'{"name": "x"}', content_type, base64_encoded))
    assert wanted in error["message"]
    status, _, _ = raw("POST", "/admin/codes", b'{"name": "x"}', content_type, base64_encoded)
    assert status == 415


def test_json_with_utf8_charset_is_accepted(raw):
    status, _, body = raw("POST", "/admin/codes", '{"name": "字符集"}'.encode(), "application/json; charset=UTF-8")
    assert status == 201, body


@pytest.mark.parametrize(
    ("body", "base64_encoded"),
    [(b'{"name": "\xff\xfe"}', True), ('{"name": "\udcff"}', False)],  # as bytes; as a lone surrogate
)
def test_a_body_that_is_not_utf8_gets_400(raw, body, base64_encoded):
    status, content_type, body = raw("POST", "/admin/codes", body, "application/json", base64_encoded)
    error = _error(status, content_type, body)
    assert status == 400 and "UTF-8" in error["message"]


@pytest.mark.parametrize("body", [b"{", b"nope", b'{"name": "x",}'])
def test_a_body_that_is_not_json_gets_400(raw, body):
    status, content_type, answer = raw("POST", "/admin/codes", body, "application/json")
    error = _error(status, content_type, answer)
    assert status == 400 and "JSON" in error["message"]


@pytest.mark.parametrize("depth", [40, 100_000])
def test_json_nested_too_deep_gets_400(raw, depth):
    body = ('{"name": ' + "[" * depth + "]" * depth + "}").encode()
    status, content_type, answer = raw("POST", "/admin/codes", body, "application/json")
    error = _error(status, content_type, answer)
    assert status == 400 and "nested" in error["message"]


def test_a_body_over_the_limit_gets_413(raw):
    body = json.dumps({"name": "x", "title": "y" * (7 * 1024 * 1024)}).encode()
    status, content_type, answer = raw("POST", "/admin/codes", body, "application/json")
    error = _error(status, content_type, answer)
    assert status == 413 and "MB" in error["message"]


def test_validation_errors_and_unknown_routes_share_the_error_shape(raw):
    error = _error(*raw("POST", "/admin/codes", b'{"name": ""}', "application/json"))
    assert error["errors"] and "name" in error["message"]
    status, content_type, body = raw("GET", "/admin/no-such-thing", None, None)
    assert status == 404 and "no-such-thing" in _error(status, content_type, body)["message"]


def test_repeated_identical_creates_answer_as_documented(admin, new_code):
    first, second = (admin("POST", "/admin/codes", {"name": "twice"}) for _ in range(2))
    assert first[0] == second[0] == 201 and first[1]["id"] != second[1]["id"]
    code = new_code()
    path = f"/admin/codes/{code['id']}/channels"
    assert admin("POST", path, {"name": "door"})[0] == 201
    status, error = admin("POST", path, {"name": "door"})
    assert status == 409 and "door" in error["message"]
    archived = [admin("POST", f"/admin/codes/{code['id']}/archive") for _ in range(2)]
    assert [status for status, _ in archived] == [200, 200] and archived[1][1]["status"] == "archived"


@pytest.mark.parametrize(
    "method, path, says",
    [
        ("post", "/admin/codes", "Not idempotent"),
        ("post", "/admin/codes/{code_id}/archive", "Idempotent"),
        ("post", "/admin/codes/{code_id}/channels", "409"),
        ("post", "/admin/campaigns", "Not idempotent"),
        ("post", "/admin/sop/plans", "Not idempotent"),
    ],
)
def test_what_a_repeat_does_is_documented(document, method, path, says):
    assert says in document["paths"][path][method]["description"]


@pytest.fixture(scope="module")
def document(admin):
    status, document = admin("GET", "/admin/openapi.json")
    assert status == 200
    return document


def test_every_operation_documents_success_and_the_common_errors(document):
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            codes = set(operation["responses"])
            assert any(code.startswith("2") for code in codes), (method, path, codes)
            assert {"401", "422", "429"} <= codes, (method, path, codes)
            if "{" in path:
                assert "404" in codes, (method, path)
            if method in ("post", "put", "patch"):
                assert {"400", "413", "415"} <= codes, (method, path, codes)
            if method != "get" and "{" in path:
                assert "409" in codes, (method, path, codes)
            for code in codes - {"200", "201", "202", "204"}:
                schema = operation["responses"][code]["content"]["application/json"]["schema"]
                assert schema == {"$ref": "#/components/schemas/ErrorBody"}, (method, path, code, schema)


@pytest.mark.parametrize(
    ("path", "media_type"),
    [
        ("/admin/codes/{code_id}/qr.png", "image/png"),
        ("/admin/codes/{code_id}/qr.svg", "image/svg+xml"),
        ("/admin/codes/{code_id}/channels/{channel_id}/qr.png", "image/png"),
        ("/admin/codes/{code_id}/channels/{channel_id}/qr.svg", "image/svg+xml"),
        ("/admin/campaigns/{campaign_id}/poster/preview.jpg", "image/jpeg"),
        ("/admin/codes/{code_id}/stats.csv", "text/csv"),
    ],
)
def test_files_are_documented_with_their_media_type(document, path, media_type):
    assert list(document["paths"][path]["get"]["responses"]["200"]["content"]) == [media_type]


def test_error_body_keeps_its_message(document):
    schema = document["components"]["schemas"]["ErrorBody"]
    assert schema["required"] == ["message"] and "errors" in schema["properties"]


def test_a_method_a_path_does_not_serve_gets_405_with_allow(raw):
    status, content_type, body = raw("TRACE", "/admin/codes", None, None)
    assert status == 405 and "GET, POST" in _error(status, content_type, body)["message"]
    status, _, _ = raw("PUT", "/admin/codes/abc/archive", None, None)
    assert status == 405


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"name": "x", "kind": "email"}, "email"),
        ({"name": "x", "kind": "email", "email": "no-at-sign"}, "email"),
        ({"name": "x", "kind": "webhook", "url": "http://[bad"}, "url"),
        ({"name": "x", "kind": "wecom_robot"}, "url"),
    ],
)
def test_alert_channel_fields_depend_on_kind_in_the_schema(admin, body, field):
    status, error = admin("POST", "/admin/alert-channels", body)
    assert status == 422 and field in error["message"]


def test_time_zones_and_stats_dates_are_in_the_schema(document, admin, new_code):
    zone = document["components"]["schemas"]["TimeZoneName"]
    assert "Asia/Shanghai" in zone["enum"] and "Mars/Olympus" not in zone["enum"]
    status, error = admin("POST", "/admin/codes", {"name": "x", "time_zone": "Mars/Olympus"})
    assert status == 422 and "time_zone" in error["message"]
    stats = {p["name"]: p["schema"] for p in document["paths"]["/admin/codes/{code_id}/stats"]["get"]["parameters"]}
    assert any(s.get("pattern", "").startswith("^2") for s in stats["from"].get("anyOf", [stats["from"]]))
    cursor = next(p for p in document["paths"]["/admin/codes"]["get"]["parameters"] if p["name"] == "cursor")
    assert "next_cursor" in cursor["description"]


def test_a_wrong_time_zone_gets_a_short_message_naming_it(admin):
    status, error = admin("POST", "/admin/codes", {"name": "x", "time_zone": "Mars/Olympus"})
    assert status == 422 and "Mars/Olympus" in error["message"] and len(json.dumps(error)) < 600


@pytest.mark.parametrize(
    "query",
    [{"to": "0001-01-03"}, {"from": "9999-12-31"}, {"to": "2026-02-30"}, {"from": "2026-13-01"}],
)
def test_stats_dates_out_of_range_or_impossible_get_422(admin, new_code, query):
    code = new_code()
    for path in ("stats", "stats.csv"):
        status, error = admin("GET", f"/admin/codes/{code['id']}/{path}", query=query)
        assert status == 422 and error["message"], (path, status, error)


@pytest.mark.parametrize(
    "change",
    [
        {"starts_at": "0001-01-01"},
        {"ends_at": "9999-12-31T23:59:59-01:00"},
        {"ends_at": "1999-12-31T23:00:00Z"},
        {"ends_at": "2101-01-02T00:00:00+08:00"},
    ],
)
def test_instants_outside_2000_to_2100_get_422_not_an_overflow(admin, new_code, change):
    code = new_code()
    body = {"name": "far", "code_id": code["id"], "ends_at": "2030-01-01T00:00:00+08:00", "tiers": [], **change}
    body["tiers"] = [{"invites": 3, "reward": "券", "stock": 1}]
    status, error = admin("POST", "/admin/campaigns", body)
    assert status == 422 and "2000" in error["message"], (status, error)


def test_media_types_are_case_insensitive(raw):
    status, content_type, body = raw("POST", "/admin/codes", b'{"name": "upper"}', "APPLICATION/JSON; charset=UTF-8")
    assert status == 201, body


@pytest.mark.parametrize(
    ("body", "says"),
    [(b'{"name": NaN}', "NaN"), (b'{"name": "x", "switch_threshold": ' + b"9" * 5000 + b"}", "too many digits")],
)
def test_json_that_python_alone_would_read_or_explain_badly_gets_400(raw, body, says):
    status, content_type, text = raw("POST", "/admin/codes", body, "application/json")
    error = _error(status, content_type, text)
    assert status == 400 and says in error["message"] and "sys." not in error["message"]


@pytest.mark.parametrize(
    ("method", "path", "absent"),
    [
        ("post", "/admin/codes", {"404", "409"}),
        ("post", "/admin/alert-channels", set()),
        ("get", "/admin/codes", {"404", "409", "400", "413", "415"}),
    ],
)
def test_statuses_that_cannot_happen_are_not_documented(document, method, path, absent):
    codes = set(document["paths"][path][method]["responses"])
    assert not absent & codes, codes


def test_a_body_naming_a_code_documents_its_404(document):
    assert "404" in document["paths"]["/admin/campaigns"]["post"]["responses"]
    assert "404" in document["paths"]["/admin/alert-channels"]["post"]["responses"]


@pytest.mark.parametrize("zone", [5, ["Asia/Shanghai"], {"a": 1}])
def test_a_time_zone_that_is_not_text_gets_the_short_message(admin, zone):
    status, error = admin("POST", "/admin/codes", {"name": "x", "time_zone": zone})
    assert status == 422 and "IANA" in error["message"] and len(json.dumps(error)) < 600


def test_a_new_grouped_code_with_a_label_twice_is_a_422(admin):
    body = {"name": "x", "kind": "grouped", "options": [{"label": "a"}, {"label": "a"}]}
    status, error = admin("POST", "/admin/codes", body)
    assert status == 422 and error["message"].endswith("give each label once; repeated: a"), error


@pytest.mark.parametrize(
    "plan_change",
    [
        {"start_date": "9999-12-31"},
        {
            "steps": [
                {
                    "name": "x",
                    "schedule": {"kind": "once", "on": "0001-01-01T00:00"},
                    "content": {"kind": "text", "text": "hi"},
                }
            ]
        },
    ],
)
def test_plan_dates_outside_2000_to_2100_get_422(admin, plan_change):
    target = {
        "kind": "destinations",
        "destinations": [{"name": "n", "channel": "webhook", "url": "http://127.0.0.1:9/x"}],
    }
    body = {"preset": "daily_group_week", "target": target, **plan_change}
    status, error = admin("POST", "/admin/sop/plans", body)
    assert status == 422 and "2000" in error["message"], (status, error)
