"""Erasing personal data against the emulator (versioned bucket, the real table): one participant,
a whole campaign through the admin API, and campaigns past their retention on the worker's schedule."""

from __future__ import annotations

import base64
import io
import json
import time
from datetime import UTC, datetime, timedelta

import boto3
from PIL import Image

from siyu.campaigns.erasure import CampaignErasure
from siyu.campaigns.repository import CampaignsTable
from siyu.campaigns.repository.erasure import ErasureRecords
from siyu.storage.uploads_bucket import UploadsBucket
from tests.helpers import Clock


def _avatar() -> str:
    photo = io.BytesIO()
    Image.new("RGB", (64, 64), (30, 60, 200)).save(photo, "PNG")
    return base64.b64encode(photo.getvalue()).decode()


def _versions(storage, prefix: str) -> list[str]:
    """Every version and delete marker under `prefix`: what erasure must leave none of."""
    answer = boto3.client("s3").list_object_versions(Bucket=storage.bucket, Prefix=prefix)
    return [v["Key"] for v in answer.get("Versions", []) + answer.get("DeleteMarkers", [])]


def _partition(storage, campaign_id: str) -> list[dict]:
    answer = storage.dynamodb.query(
        TableName=storage.table,
        KeyConditionExpression="pk = :pk",
        ExpressionAttributeValues={":pk": {"S": f"CAMPAIGN#{campaign_id}"}},
    )
    return answer["Items"]


def _ended(fission, admin) -> None:
    """End the campaign now (the shortest PATCH allows is a moment after now)."""
    ends_at = datetime.now(UTC) + timedelta(seconds=1)
    status, body = admin("PATCH", f"/admin/campaigns/{fission.id}", {"ends_at": ends_at.isoformat()})
    assert status == 200, body
    time.sleep(max(0.0, (ends_at - datetime.now(UTC)).total_seconds()) + 0.1)


def test_one_participant_is_erased_with_every_version_of_their_avatar_and_posters(new_campaign, admin, storage):
    fission = new_campaign()
    status, alice, alice_vid = fission.join("小美Lily", avatar_base64=_avatar())
    assert status == 201, alice
    fission.render()
    bob_vid = fission.scan(alice["referral_url"])
    fission.work()
    status, bob, _ = fission.join("Bob", bob_vid)
    assert status == 201, bob
    # A second poster version (a new layout) makes an older version of Alice's poster.
    admin("PATCH", f"/admin/campaigns/{fission.id}", {"poster": {"background_color": "#FFFFFF"}})
    admin("POST", f"/admin/campaigns/{fission.id}/posters/render")
    fission.render()
    mine = [
        f"campaigns/{fission.id}/avatars/{alice['participant_id']}.",
        f"campaigns/{fission.id}/posters/{alice['participant_id']}-v",
    ]
    assert all(_versions(storage, prefix) for prefix in mine)

    status, erased = admin("DELETE", f"/admin/campaigns/{fission.id}/participants/{alice['participant_id']}")
    assert status == 200, erased
    assert erased["finished"] and erased["items"] >= 3 and erased["objects"] >= 2
    assert all(_versions(storage, prefix) == [] for prefix in mine)
    left = json.dumps(_partition(storage, fission.id), ensure_ascii=False)
    assert alice["participant_id"] not in left and alice_vid not in left and "小美Lily" not in left
    assert admin("GET", f"/admin/campaigns/{fission.id}/participants/{alice['participant_id']}")[0] == 404
    assert admin("GET", f"/admin/campaigns/{fission.id}/participants/{bob['participant_id']}")[0] == 200  # Bob stays
    assert _versions(storage, f"campaigns/{fission.id}/posters/{bob['participant_id']}-v")
    # Erased already: nothing to erase.
    assert admin("DELETE", f"/admin/campaigns/{fission.id}/participants/{alice['participant_id']}")[0] == 404


def test_a_whole_campaign_is_erased_once_it_has_ended(new_campaign, admin, storage):
    fission = new_campaign()
    for name in ("A", "B", "C"):
        assert fission.join(name, avatar_base64=_avatar())[0] == 201
    fission.render()
    status, refused = admin("DELETE", f"/admin/campaigns/{fission.id}")
    assert status == 409 and "has not ended" in refused["message"]
    assert _partition(storage, fission.id)  # nothing was deleted

    _ended(fission, admin)
    status, erased = admin("DELETE", f"/admin/campaigns/{fission.id}")
    assert status == 202, erased
    assert erased["finished"] and erased["items"] >= 6 and erased["objects"] >= 6
    assert _partition(storage, fission.id) == []
    assert _versions(storage, f"campaigns/{fission.id}/") == []
    assert admin("GET", f"/admin/campaigns/{fission.id}")[0] == 404
    assert admin("DELETE", f"/admin/campaigns/{fission.id}")[0] == 404
    assert ErasureRecords.from_environment().erasing() == []


def test_campaigns_past_their_retention_are_erased_by_the_schedule_and_others_are_not(new_campaign, admin, storage):
    old, recent = new_campaign(), new_campaign()
    for fission in (old, recent):
        assert fission.join("someone", avatar_base64=_avatar())[0] == 201
    _ended(old, admin)
    ends_at = datetime.fromisoformat(admin("GET", f"/admin/campaigns/{old.id}")[1]["ends_at"])
    erasure = CampaignErasure(
        CampaignsTable.from_environment(),
        ErasureRecords.from_environment(),
        UploadsBucket.from_environment(),
        retention=timedelta(days=30),
        clock=Clock(ends_at + timedelta(days=30, minutes=1)),
    )
    totals = erasure.expire(seconds=20)
    assert totals["unfinished"] == 0 and totals["campaigns"] >= 1
    assert _partition(storage, old.id) == [] and _versions(storage, f"campaigns/{old.id}/") == []
    assert _partition(storage, recent.id) and _versions(storage, f"campaigns/{recent.id}/")


def test_an_erasure_cut_short_is_resumed_by_the_schedule(new_campaign, admin, storage):
    fission = new_campaign()
    for n in range(4):
        assert fission.join(f"p{n}", avatar_base64=_avatar())[0] == 201
    _ended(fission, admin)
    records = ErasureRecords.from_environment()
    erasure = CampaignErasure(
        CampaignsTable.from_environment(), records, UploadsBucket.from_environment(), seconds_per_call=0
    )
    first = erasure.erase_campaign(fission.id)  # the campaign item goes, the rest waits
    assert not first.finished and fission.id in records.erasing()
    assert admin("GET", f"/admin/campaigns/{fission.id}")[0] == 404
    erasure.expire(seconds=20)
    assert fission.id not in records.erasing()
    assert _partition(storage, fission.id) == [] and _versions(storage, f"campaigns/{fission.id}/") == []
