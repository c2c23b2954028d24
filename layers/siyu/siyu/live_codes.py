"""Live codes (活码) and their targets: the pure rules, no AWS.

A live code is the permanent QR a brand prints. Behind it sits an ordered pool of targets
(uploaded group QRs). A scan shows the first target that is enabled, unexpired and still
under the code's switch threshold; every scan counts against the target it showed.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

DEFAULT_SWITCH_THRESHOLD = 180
MIN_SWITCH_THRESHOLD = 1
MAX_SWITCH_THRESHOLD = 10_000
DEFAULT_TARGET_LIFETIME = timedelta(days=7)
MAX_TARGETS_PER_CODE = 100
DEFAULT_GUIDANCE = "长按识别二维码加入群聊"
DEFAULT_FALLBACK_TEXT = "群已满或已过期，请稍后再来，或联系客服获取最新入群方式。"

# Ids are made by code_admin.new_id; anything else in a URL is not a code (and is never looked up).
CODE_ID_PATTERN = re.compile(r"^[a-z0-9]{4,32}$")

ACTIVE = "active"
ARCHIVED = "archived"


@dataclass(frozen=True)
class Target:
    id: str
    url: str
    kind: str
    image_key: str
    expires_at: datetime
    created_at: datetime
    qr_png: bytes  # the clean re-render the landing page shows, made at upload time
    enabled: bool = True


@dataclass(frozen=True)
class BackupQr:
    url: str
    image_key: str
    qr_png: bytes


@dataclass(frozen=True)
class LiveCode:
    id: str
    name: str
    title: str
    guidance: str
    switch_threshold: int
    fallback_text: str
    status: str
    created_at: datetime
    updated_at: datetime
    version: int
    targets: tuple[Target, ...] = ()
    backup_qr: BackupQr | None = None

    def target(self, target_id: str) -> Target | None:
        return next((t for t in self.targets if t.id == target_id), None)


def is_usable(target: Target, now: datetime) -> bool:
    """Enabled and not yet expired: the only targets a scanner may ever be shown."""
    return target.enabled and target.expires_at > now


def pick_target(code: LiveCode, scans: Mapping[str, int], now: datetime) -> Target | None:
    """The target the next scan should show, or None when the code must fall back."""
    return next(iter(candidate_targets(code, scans, now)), None)


def candidate_targets(code: LiveCode, scans: Mapping[str, int], now: datetime) -> list[Target]:
    """Usable targets still under the threshold (as far as `scans` knows), in order."""
    return [t for t in code.targets if is_usable(t, now) and scans.get(t.id, 0) < code.switch_threshold]


def target_status(code: LiveCode, target: Target, scans: Mapping[str, int], now: datetime) -> str:
    """What an operator needs to know about one target, in one word.

    ``current`` is being shown now; ``waiting`` takes over later; ``full`` reached the
    threshold; ``expired`` passed its expiry; ``disabled`` was switched off by the operator.
    """
    if not target.enabled:
        return "disabled"
    if target.expires_at <= now:
        return "expired"
    if scans.get(target.id, 0) >= code.switch_threshold:
        return "full"
    current = pick_target(code, scans, now)
    return "current" if current is not None and current.id == target.id else "waiting"


def reorder(targets: Sequence[Target], target_ids: Sequence[str]) -> tuple[Target, ...]:
    """Targets in the order given; the ids must be exactly the code's target ids."""
    by_id = {t.id: t for t in targets}
    if len(target_ids) != len(set(target_ids)) or set(target_ids) != set(by_id):
        raise ValueError("target_ids must list every target of the code exactly once")
    return tuple(by_id[i] for i in target_ids)
