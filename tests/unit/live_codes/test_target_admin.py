"""Targets and the backup QR on the in-memory store and bucket: add, change, replace, delete;
an upload whose save fails is taken back out of the bucket."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from siyu.core.errors import Conflict, InvalidInput, NotFound
from siyu.live_codes.admin import CodeAdmin
from siyu.live_codes.counters_repository import ScanCount
from siyu.live_codes.edit_rules import StaffSettings
from siyu.live_codes.model import STAFF, LiveCode
from siyu.live_codes.targets_admin import TargetAdmin
from siyu.storage.versioned import SAVE_ATTEMPTS
from tests.fakes.live_codes import FakeCodeStore, FakeImageStore
from tests.helpers import b64, new_group_screenshot, new_staff_screenshot

NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)


@pytest.fixture
def setup():
    store, bucket = FakeCodeStore(), FakeImageStore()
    codes = CodeAdmin(store, clock=lambda: NOW)
    return codes, TargetAdmin(codes, bucket), store, bucket


def test_add_change_and_delete_a_target(setup):
    codes, targets, store, bucket = setup
    code = codes.create_code("双11")
    url, image = new_group_screenshot()

    target = targets.add_target(code.id, b64(image), None)

    assert (target.url, target.kind) == (url, "wechat_group")
    assert target.expires_at == NOW + timedelta(days=7)
    assert store.codes[code.id].targets == (target,)
    assert bucket.objects[target.image_key][0] == image

    changed = targets.update_target(code.id, target.id, enabled=False, expires_at=NOW + timedelta(days=2))
    assert (changed.enabled, changed.expires_at) == (False, NOW + timedelta(days=2))

    store.count_scan(ScanCount(code.id, target.id, 0, "2026-11-25", None, None))
    targets.delete_target(code.id, target.id)
    assert store.codes[code.id].targets == ()
    assert target.id not in store.scans(code.id)  # its counters go with it
    assert target.image_key not in bucket.objects
    with pytest.raises(NotFound):
        targets.delete_target(code.id, target.id)


def test_the_same_qr_twice_and_an_archived_code_are_refused_before_the_bucket(setup):
    codes, targets, store, bucket = setup
    code = codes.create_code("双11")
    _, image = new_group_screenshot()
    targets.add_target(code.id, b64(image), None)
    with pytest.raises(Conflict, match="already target"):
        targets.add_target(code.id, b64(image), None)
    codes.set_status(code.id, "archived")
    with pytest.raises(Conflict, match="archived"):
        targets.add_target(code.id, b64(new_group_screenshot()[1]), None)
    assert len(bucket.objects) == 1


def test_an_upload_whose_save_keeps_failing_is_taken_back_out_of_the_bucket(setup):
    codes, targets, store, bucket = setup
    code = codes.create_code("双11")
    store.concurrent_edits.extend([lambda c: replace(c, title="busy")] * SAVE_ATTEMPTS)

    with pytest.raises(Conflict):
        targets.add_target(code.id, b64(new_group_screenshot()[1]), None)

    assert bucket.objects == {}
    ((key, version),) = bucket.deleted
    assert version is not None  # exactly the version this upload made
    assert store.codes[code.id].targets == ()


def test_a_staff_pool_takes_only_named_contact_qrs(setup):
    codes, targets, store, _ = setup
    code = codes.create_code("客服", kind=STAFF)
    with pytest.raises(InvalidInput, match="uploaded QR is a wechat_group QR"):
        targets.add_target(code.id, b64(new_group_screenshot()[1]), None, StaffSettings(staff_name="小美"))
    with pytest.raises(InvalidInput, match="staff_name is required"):
        targets.add_target(code.id, b64(new_staff_screenshot()[1]), None)
    target = targets.add_target(code.id, b64(new_staff_screenshot()[1]), None, StaffSettings("小美", daily_cap=5))
    assert (target.staff_name, target.daily_cap) == ("小美", 5)
    cleared = targets.update_target(code.id, target.id, None, None, StaffSettings(clear_daily_cap=True))
    assert cleared.daily_cap is None and cleared.staff_name == "小美"


def test_reorder_and_replace_the_backup_qr(setup):
    codes, targets, store, bucket = setup
    code = codes.create_code("双11")
    first = targets.add_target(code.id, b64(new_group_screenshot()[1]), None)
    second = targets.add_target(code.id, b64(new_group_screenshot()[1]), None)
    reordered: LiveCode = targets.reorder_targets(code.id, [second.id, first.id])
    assert [t.id for t in reordered.targets] == [second.id, first.id]
    with pytest.raises(InvalidInput, match="current targets"):
        targets.reorder_targets(code.id, [first.id])

    old = targets.set_backup_qr(code.id, b64(new_group_screenshot()[1])).backup_qr
    new = targets.set_backup_qr(code.id, b64(new_group_screenshot()[1])).backup_qr
    assert old is not None and new is not None and old.image_key != new.image_key
    assert old.image_key not in bucket.objects and new.image_key in bucket.objects  # replaced
    assert targets.remove_backup_qr(code.id).backup_qr is None
    assert new.image_key not in bucket.objects
