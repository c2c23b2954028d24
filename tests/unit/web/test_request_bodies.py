"""Posted bodies: JSON objects within a nesting limit, content types named, never a 5xx."""

import json

import pytest

from siyu.core.errors import SiyuError
from siyu.web.http_status import http_status
from siyu.web.request_bodies import MAX_JSON_DEPTH, charset_refusal, json_object, media_type


def test_a_json_object_is_read():
    assert json_object(b'{"nickname": "\xe5\xb0\x8f\xe7\xbe\x8e", "a": [1, {"b": 2}]}') == {
        "nickname": "小美",
        "a": [1, {"b": 2}],
    }


@pytest.mark.parametrize("depth", [MAX_JSON_DEPTH + 1, 5_000, 200_000])
def test_nesting_past_the_limit_is_a_400_that_names_the_limit(depth):
    body = ('{"a": ' * depth + "1" + "}" * depth).encode()
    with pytest.raises(SiyuError) as refused:
        json_object(body)
    assert http_status(refused.value) == 400
    assert str(MAX_JSON_DEPTH) in refused.value.message


def test_nesting_at_the_limit_is_fine():
    depth = MAX_JSON_DEPTH
    body = '{"a": ' * (depth - 1) + "[1]" + "}" * (depth - 1)
    assert json_object(body.encode())


def test_deep_lists_count_as_nesting():
    with pytest.raises(SiyuError):
        json_object(('{"a": ' + "[" * 100 + "]" * 100 + "}").encode())


@pytest.mark.parametrize(
    "body, says",
    [
        (b"\xff\xfe{not utf-8", "UTF-8"),
        (b"{nope", "not valid JSON"),
        (b"[1, 2]", "JSON object"),
        (b'"text"', "JSON object"),
        (b"", "JSON object"),
    ],
)
def test_bodies_that_are_not_a_json_object_get_a_400_saying_what_to_send(body, says):
    with pytest.raises(SiyuError) as refused:
        json_object(body)
    assert http_status(refused.value) == 400
    assert says in refused.value.message


def test_a_huge_flat_object_is_not_slowed_by_the_depth_check():
    body = json.dumps({"avatar_base64": "A" * 2_000_000, "n": list(range(1000))}).encode()
    assert len(json_object(body)["n"]) == 1000


@pytest.mark.parametrize(
    "header, expected",
    [
        ("application/json; charset=utf-8", "application/json"),
        ("Multipart/Form-Data; boundary=x", "multipart/form-data"),
        ("", ""),
        ("  text/plain ", "text/plain"),
    ],
)
def test_media_type_is_the_lowercased_type_without_parameters(header, expected):
    assert media_type(header) == expected


@pytest.mark.parametrize("constant", [b"NaN", b"Infinity", b"-Infinity"])
def test_nan_and_infinity_are_not_json(constant):
    with pytest.raises(SiyuError) as refused:
        json_object(b'{"a": ' + constant + b"}")
    assert http_status(refused.value) == 400 and "not a JSON number" in refused.value.message


@pytest.mark.parametrize(
    "header, refused",
    [
        ("application/json", False),
        ("application/json; charset=UTF-8", False),
        ('application/json; charset="utf8"', False),
        ("application/json; charset=latin-1", True),
        ("application/json; Charset=GBK", True),
    ],
)
def test_a_charset_other_than_utf8_is_a_415(header, refused):
    refusal = charset_refusal(header)
    assert (refusal is not None) == refused
    if refusal:
        assert http_status(refusal) == 415 and "UTF-8" in refusal.message
