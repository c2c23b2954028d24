"""The admin API against the emulator: codes, target uploads (good and hostile), edits."""

import base64
import json
from datetime import UTC, datetime, timedelta, timezone

import pytest

from tests.helpers import BAD, GOOD, MANIFEST, b64, fixture_bytes, new_group_screenshot


def upload(admin, code_id, image: bytes, **extra):
    return admin("POST", f"/admin/codes/{code_id}/targets", {"image_base64": b64(image), **extra})


def test_create_read_update_archive_restore(admin, new_code):
    code = new_code(title="会员福利群", switch_threshold=50)
    assert code["scan_url"].endswith(f"/s/{code['id']}") and code["scan_url"].startswith("https://")
    assert code["switch_threshold"] == 50 and code["guidance"] == "长按识别二维码加入群聊"

    status, patched = admin("PATCH", f"/admin/codes/{code['id']}", {"switch_threshold": 120, "title": "新标题"})
    assert status == 200 and patched["switch_threshold"] == 120 and patched["title"] == "新标题"
    assert patched["version"] == code["version"] + 1

    status, archived = admin("POST", f"/admin/codes/{code['id']}/archive")
    assert status == 200 and archived["status"] == "archived"
    status, restored = admin("POST", f"/admin/codes/{code['id']}/restore")
    assert restored["status"] == "active"


def test_default_threshold_is_180(new_code):
    assert new_code()["switch_threshold"] == 180


def test_list_pages_newest_first(admin, new_code):
    made = [new_code(name=f"list {i}")["id"] for i in range(3)]
    status, first = admin("GET", "/admin/codes", query={"limit": "2"})
    assert status == 200 and len(first["items"]) == 2 and first["next_cursor"]
    status, second = admin("GET", "/admin/codes", query={"limit": "2", "cursor": first["next_cursor"]})
    listed = [c["id"] for c in first["items"] + second["items"]]
    assert listed[:3] == made[::-1]
    status, bad = admin("GET", "/admin/codes", query={"cursor": "garbage"})
    assert status == 422 and "cursor" in bad["message"]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, "name"),
        ({"name": ""}, "name"),
        ({"name": "x", "switch_threshold": 0}, "switch_threshold"),
        ({"name": "x", "switch_threshold": "lots"}, "switch_threshold"),
        ({"name": "x", "colour": "red"}, "colour"),
    ],
)
def test_bad_code_input_is_a_readable_422(admin, body, field):
    before = admin("GET", "/admin/codes", query={"limit": "100"})[1]["items"]
    status, answer = admin("POST", "/admin/codes", body)
    assert status == 422 and field in answer["message"]
    after = admin("GET", "/admin/codes", query={"limit": "100"})[1]["items"]
    assert len(after) == len(before)


def test_unknown_code_is_404_with_message(admin):
    status, answer = admin("GET", "/admin/codes/nosuchcode")
    assert status == 404 and "nosuchcode" in answer["message"]
    status, answer = admin("PATCH", "/admin/codes/nosuchcode", {"switch_threshold": 10})
    assert status == 404


@pytest.mark.parametrize("name", GOOD)
def test_good_uploads_store_original_and_decoded_url(admin, new_code, storage, name):
    code = new_code()
    status, target = upload(admin, code["id"], fixture_bytes(name))
    assert status == 201, target
    assert target["url"] == MANIFEST[name]["url"]
    expires = datetime.fromisoformat(target["expires_at"])
    # A group QR lasts 7 days; contact QRs (personal WeChat, WeCom) do not expire.
    lifetime = timedelta(days=7) if target["kind"] == "wechat_group" else timedelta(days=3660)
    assert abs(expires - (datetime.now(UTC) + lifetime)) < timedelta(minutes=1)
    keys = storage.keys(f"codes/{code['id']}/targets/")
    assert len(keys) == 1 and keys[0].startswith(f"codes/{code['id']}/targets/{target['id']}.")
    stored = storage.s3.get_object(Bucket=storage.bucket, Key=keys[0])["Body"].read()
    assert stored == fixture_bytes(name)
    _, read = admin("GET", f"/admin/codes/{code['id']}")
    assert [(t["id"], t["url"], t["scans"], t["status"]) for t in read["targets"]] == [
        (target["id"], target["url"], 0, "current")
    ]


@pytest.mark.parametrize("name", BAD)
def test_hostile_uploads_are_refused_and_nothing_is_stored(admin, new_code, storage, name):
    code = new_code()
    items_before = storage.items(code["id"])
    status, answer = upload(admin, code["id"], fixture_bytes(name))
    assert 400 <= status < 500
    assert MANIFEST[name]["reject"].lower() in answer["message"].lower()
    assert storage.keys(f"codes/{code['id']}/") == []
    assert storage.items(code["id"]) == items_before


def test_upload_input_errors(admin, new_code, storage):
    code = new_code()
    _, image = new_group_screenshot()
    status, answer = admin("POST", f"/admin/codes/{code['id']}/targets", {"image_base64": "%%%not base64%%%"})
    assert status == 422 and "base64" in answer["message"]
    past = (datetime.now(UTC) - timedelta(hours=1)).isoformat()
    status, answer = upload(admin, code["id"], image, expires_at=past)
    assert status == 422 and "past" in answer["message"]
    far = (datetime.now(UTC) + timedelta(days=30)).isoformat()
    status, answer = upload(admin, code["id"], image, expires_at=far)
    assert status == 422 and "7 days" in answer["message"]
    status, answer = upload(admin, "nosuchcode", image)
    assert status == 404
    assert storage.keys(f"codes/{code['id']}/") == [] and storage.keys("codes/nosuchcode/") == []


def test_expiry_can_be_set_and_naive_times_are_china_time(admin, new_code):
    code = new_code()
    _, image = new_group_screenshot()
    local = (datetime.now(timezone(timedelta(hours=8))) + timedelta(days=2)).replace(microsecond=0, tzinfo=None)
    status, target = upload(admin, code["id"], image, expires_at=local.isoformat())
    assert status == 201
    assert datetime.fromisoformat(target["expires_at"]) == local.replace(tzinfo=timezone(timedelta(hours=8)))


def test_same_url_twice_in_one_code_is_refused(admin, new_code, storage):
    code = new_code()
    url, image = new_group_screenshot()
    assert upload(admin, code["id"], image)[0] == 201
    status, answer = upload(admin, code["id"], image)
    assert status == 409 and url in answer["message"]
    assert len(storage.keys(f"codes/{code['id']}/targets/")) == 1
    other = new_code()
    assert upload(admin, other["id"], image)[0] == 201  # another code may use it


def test_archived_code_refuses_uploads(admin, new_code, storage):
    code = new_code()
    admin("POST", f"/admin/codes/{code['id']}/archive")
    status, answer = upload(admin, code["id"], new_group_screenshot()[1])
    assert status == 409 and "archived" in answer["message"]
    assert storage.keys(f"codes/{code['id']}/") == []


def test_reorder_disable_delete_targets(admin, new_code, storage):
    code = new_code()
    ids = [upload(admin, code["id"], new_group_screenshot()[1])[1]["id"] for _ in range(3)]

    status, reordered = admin("PUT", f"/admin/codes/{code['id']}/targets/order", {"target_ids": ids[::-1]})
    assert status == 200 and [t["id"] for t in reordered["targets"]] == ids[::-1]
    assert reordered["current_target_id"] == ids[2]
    status, answer = admin("PUT", f"/admin/codes/{code['id']}/targets/order", {"target_ids": ids[:2]})
    assert status == 422 and "exactly once" in answer["message"]

    status, disabled = admin("PATCH", f"/admin/codes/{code['id']}/targets/{ids[2]}", {"enabled": False})
    assert status == 200 and disabled["status"] == "disabled"
    assert admin("GET", f"/admin/codes/{code['id']}")[1]["current_target_id"] == ids[1]

    status, _ = admin("DELETE", f"/admin/codes/{code['id']}/targets/{ids[1]}")
    assert status == 204
    _, read = admin("GET", f"/admin/codes/{code['id']}")
    assert [t["id"] for t in read["targets"]] == [ids[2], ids[0]]
    assert not any(ids[1] in key for key in storage.keys(f"codes/{code['id']}/"))
    assert admin("DELETE", f"/admin/codes/{code['id']}/targets/{ids[1]}")[0] == 404


def test_original_upload_link(admin, new_code):
    code = new_code()
    target = upload(admin, code["id"], new_group_screenshot()[1])[1]
    status, link = admin("GET", f"/admin/codes/{code['id']}/targets/{target['id']}/image")
    assert status == 200 and target["id"] in link["url"] and link["expires_in"] > 0


def test_backup_qr_upload_is_checked_like_targets(admin, new_code, storage):
    code = new_code()
    status, answer = admin(
        "PUT", f"/admin/codes/{code['id']}/backup-qr", {"image_base64": b64(fixture_bytes("bad/no_qr.png"))}
    )
    assert status == 422 and storage.keys(f"codes/{code['id']}/") == []
    status, updated = admin(
        "PUT", f"/admin/codes/{code['id']}/backup-qr", {"image_base64": b64(fixture_bytes("good/staff_0.png"))}
    )
    assert status == 200 and updated["backup_qr_url"] == MANIFEST["good/staff_0.png"]["url"]
    status, cleared = admin("DELETE", f"/admin/codes/{code['id']}/backup-qr")
    assert status == 200 and cleared["backup_qr_url"] is None


def test_openapi_document_lists_the_contract(admin):
    status, document = admin("GET", "/admin/openapi.json")
    assert status == 200
    paths = document["paths"]
    assert "post" in paths["/admin/codes"] and "patch" in paths["/admin/codes/{code_id}"]
    assert "post" in paths["/admin/codes/{code_id}/targets"]
    assert document["components"]["securitySchemes"]["bearerAuth"]["scheme"] == "bearer"


def test_hostile_ids_cursors_and_dates_get_4xx(admin, new_code):
    assert admin("GET", "/admin/codes/" + "x" * 3000)[0] == 404
    assert admin("GET", "/admin/codes/..%2F..%2Fetc")[0] == 404
    forged = base64.urlsafe_b64encode(json.dumps({"pk": "x", "sk": "y", "list_pk": "z", "list_sk": "w"}).encode())
    status, answer = admin("GET", "/admin/codes", query={"cursor": forged.decode()})
    assert status == 422 and "cursor" in answer["message"]
    code = new_code()
    status, answer = admin(
        "POST",
        f"/admin/codes/{code['id']}/targets",
        {"image_base64": b64(fixture_bytes("good/staff_0.png")), "expires_at": "9999-12-31T23:00:00-08:00"},
    )
    assert status == 422 and "2100" in answer["message"]


def test_a_refused_duplicate_leaves_no_version_behind(admin, new_code, storage):
    code = new_code()
    _, image = new_group_screenshot()
    assert upload(admin, code["id"], image)[0] == 201
    assert upload(admin, code["id"], image)[0] == 409
    versions = storage.s3.list_object_versions(Bucket=storage.bucket, Prefix=f"codes/{code['id']}/")
    assert len(versions.get("Versions", [])) == 1 and not versions.get("DeleteMarkers")


def test_wrapped_and_url_safe_base64_are_accepted(admin, new_code):
    code = new_code()
    url, image = new_group_screenshot()
    wrapped = "\n".join(base64.encodebytes(image).decode().split())  # what `base64` without -w0 prints
    status, target = admin("POST", f"/admin/codes/{code['id']}/targets", {"image_base64": wrapped})
    assert status == 201 and target["url"] == url
    url, image = new_group_screenshot()
    status, target = admin(
        "POST", f"/admin/codes/{code['id']}/targets", {"image_base64": base64.urlsafe_b64encode(image).decode()}
    )
    assert status == 201 and target["url"] == url
