"""Fixtures of the campaign integration tests: a group code, and campaigns on it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from tests.helpers import b64, new_group_screenshot
from tests.integration.campaigns.fission import Fission


@pytest.fixture
def group_code(admin):
    status, code = admin("POST", "/admin/codes", {"name": "fission landing"})
    assert status == 201, code
    _, screenshot = new_group_screenshot("裂变群")
    status, body = admin("POST", f"/admin/codes/{code['id']}/targets", {"image_base64": b64(screenshot)})
    assert status == 201, body
    return code


@pytest.fixture
def new_campaign(stack, admin, group_code):
    def create(tiers=None, rules=None, **extra) -> Fission:
        body = {
            "name": "双十二老带新",
            "code_id": group_code["id"],
            "ends_at": (datetime.now(UTC) + timedelta(days=7)).isoformat(),
            "tiers": tiers or [{"invites": 2, "reward": "¥30 无门槛券", "stock": 100}],
            "rules": rules or {},
            **extra,
        }
        status, campaign = admin("POST", "/admin/campaigns", body)
        assert status == 201, campaign
        fission = Fission(stack, admin, campaign)
        fission.work(), fission.render()  # nothing left over from other tests
        return fission

    return create
