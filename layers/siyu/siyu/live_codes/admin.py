"""What operators do to live codes and their targets (the admin API's logic).

Every change to a code is read-modify-write on its one config item with an optimistic
version check, retried a few times, so two operators editing at once never lose an edit.
Uploads are fully validated in memory before anything is written; if the table write fails
after the image reached S3, the image is removed again.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from siyu.core.clock import utcnow
from siyu.core.errors import Conflict, InvalidInput, NotFound
from siyu.live_codes.assignment import Counters, zone
from siyu.live_codes.model import (
    ACTIVE,
    ARCHIVED,
    CODE_ID_PATTERN,
    DEFAULT_FALLBACK_TEXT,
    DEFAULT_GUIDANCE,
    DEFAULT_STICKY_DAYS,
    DEFAULT_SWITCH_THRESHOLD,
    DEFAULT_TARGET_LIFETIME,
    DEFAULT_TIME_ZONE,
    GROUP,
    GROUPED,
    IN_ORDER,
    MAX_CHANNELS,
    MAX_OPTIONS,
    MAX_TARGETS_PER_CODE,
    ROUND_ROBIN,
    STAFF,
    STAFF_QR_KINDS,
    BackupQr,
    Channel,
    LiveCode,
    Option,
    Target,
    WorkingWindow,
    reorder,
    uses_threshold,
)
from siyu.live_codes.qr_upload import MAX_UPLOAD_BYTES, UploadedQr, read_qr_screenshot, scannable_qr_png
from siyu.live_codes.repository import CodesTable, VersionConflict
from siyu.storage.uploads_bucket import UploadsBucket
from siyu.web.base64_files import decode_base64_file

_ID_ALPHABET = "abcdefghijkmnpqrstuvwxyz23456789"  # no 0/o/1/l: ids get read aloud and typed
SAVE_ATTEMPTS = 5
MAX_WECHAT_GROUP_QR_LIFETIME = timedelta(days=7)
MAX_TARGET_LIFETIME = timedelta(days=3660)  # staff and WeCom QRs do not expire; ten years is "never"


DEFAULT_GUIDANCE_BY_KIND = {
    GROUP: DEFAULT_GUIDANCE,
    STAFF: "长按识别二维码添加好友",
    GROUPED: "请选择最符合您的一项",
}


def new_id(length: int = 10) -> str:
    return "".join(secrets.choice(_ID_ALPHABET) for _ in range(length))


@dataclass(frozen=True)
class OptionSpec:
    """An option as an operator describes it (the id is made here)."""

    label: str
    description: str = ""
    tag: str | None = None
    strategy: str = IN_ORDER


@dataclass(frozen=True)
class StaffSettings:
    """How a target takes part in assignment; None fields keep what the target has."""

    staff_name: str | None = None
    weight: int | None = None
    daily_cap: int | None = None
    clear_daily_cap: bool = False
    working_hours: tuple[WorkingWindow, ...] | None = None
    backup: bool | None = None
    robot_url: str | None = None  # a group's WeCom robot webhook (SOP pushes)
    clear_robot_url: bool = False


@dataclass
class CodeAdmin:
    table: CodesTable
    bucket: UploadsBucket
    clock: Callable[[], datetime] = utcnow

    @classmethod
    def from_environment(cls) -> CodeAdmin:
        return cls(CodesTable.from_environment(), UploadsBucket.from_environment())

    # -- codes ---------------------------------------------------------------------------

    def create_code(
        self,
        name: str,
        title: str | None = None,
        guidance: str | None = None,
        switch_threshold: int | None = None,
        fallback_text: str | None = None,
        kind: str = GROUP,
        strategy: str | None = None,
        time_zone: str | None = None,
        sticky_days: int | None = None,
        options: list[OptionSpec] = (),
    ) -> LiveCode:
        now = self.clock()
        strategy = strategy or (ROUND_ROBIN if kind == STAFF else IN_ORDER)
        _check_strategy(kind, strategy)
        if kind == GROUPED and not options:
            raise InvalidInput("a grouped code needs options: give at least one {label} in options")
        if kind != GROUPED and options:
            raise InvalidInput("only grouped codes have options; set kind to grouped or leave options out")
        code = LiveCode(
            id=new_id(),
            name=name,
            title=title or name,
            guidance=guidance or DEFAULT_GUIDANCE_BY_KIND[kind],
            switch_threshold=switch_threshold or DEFAULT_SWITCH_THRESHOLD,
            fallback_text=fallback_text or DEFAULT_FALLBACK_TEXT,
            status=ACTIVE,
            created_at=now,
            updated_at=now,
            version=1,
            kind=kind,
            strategy=strategy,
            time_zone=_checked_zone(time_zone or DEFAULT_TIME_ZONE),
            sticky_days=DEFAULT_STICKY_DAYS if sticky_days is None else sticky_days,
        )
        labels = [spec.label for spec in options]
        if len(set(labels)) < len(labels):
            repeated = sorted({label for label in labels if labels.count(label) > 1})
            raise InvalidInput("options: give each label once; repeated: " + ", ".join(repeated))
        for spec in options:
            code = _with_option(code, spec)
        self.table.create(code)
        return code

    def get_code(self, code_id: str) -> tuple[LiveCode, Counters]:
        if not CODE_ID_PATTERN.match(code_id):
            raise NotFound(f"no live code with id {code_id[:40]!r}")
        code, counters = self.table.load(code_id, consistent=True)
        if code is None:
            raise NotFound(f"no live code with id {code_id!r}")
        return code, counters

    def list_codes(self, status: str | None, limit: int, cursor: str | None):
        return self.table.list(status, limit, cursor)

    def update_code(self, code_id: str, **changes) -> LiveCode:
        changes = {k: v for k, v in changes.items() if v is not None}
        if "time_zone" in changes:
            _checked_zone(changes["time_zone"])

        def change(code: LiveCode) -> LiveCode:
            if "strategy" in changes:
                _check_strategy(code.kind, changes["strategy"])
            return replace(code, **changes)

        return self._modify(code_id, change)

    # -- options (grouped codes) and channels ------------------------------------------------

    def add_option(self, code_id: str, spec: OptionSpec) -> Option:
        def change(code: LiveCode) -> LiveCode:
            if code.kind != GROUPED:
                raise Conflict("only grouped codes have options; this is a " + code.kind + " code")
            return _with_option(code, spec)

        return self._modify(code_id, change).options[-1]

    def update_option(self, code_id: str, option_id: str, **changes) -> Option:
        changes = {k: v for k, v in changes.items() if v is not None}

        def change(code: LiveCode) -> LiveCode:
            option = code.option(option_id)
            if option is None:
                raise NotFound(f"code {code.id} has no option {option_id!r}")
            updated = replace(option, **changes)
            _check_strategy(GROUPED, updated.strategy)
            _check_pool(code, updated)
            return replace(code, options=tuple(updated if o.id == option_id else o for o in code.options))

        return self._modify(code_id, change).option(option_id)

    def add_channel(self, code_id: str, name: str) -> Channel:
        channel = Channel(new_id(6), name, self.clock())

        def change(code: LiveCode) -> LiveCode:
            _check_channel_name(code, name)
            if len(code.channels) >= MAX_CHANNELS:
                raise Conflict(f"a code has at most {MAX_CHANNELS} channels; make another code for more")
            return replace(code, channels=code.channels + (channel,))

        self._modify(code_id, change)
        return channel

    def rename_channel(self, code_id: str, channel_id: str, name: str) -> Channel:
        def change(code: LiveCode) -> LiveCode:
            channel = _channel_of(code, channel_id)
            _check_channel_name(code, name, channel_id)
            renamed = replace(channel, name=name)
            return replace(code, channels=tuple(renamed if c.id == channel_id else c for c in code.channels))

        return self._modify(code_id, change).channel(channel_id)

    def channel(self, code_id: str, channel_id: str) -> tuple[LiveCode, Channel]:
        code = self._get(code_id)
        return code, _channel_of(code, channel_id)

    def set_status(self, code_id: str, status: str) -> LiveCode:
        return self._modify(code_id, lambda code: replace(code, status=status))

    # -- targets -------------------------------------------------------------------------

    def add_target(
        self,
        code_id: str,
        image_base64: str,
        expires_at: datetime | None,
        staff: StaffSettings = StaffSettings(),
        option_id: str | None = None,
    ) -> Target:
        upload, image = _read_upload(image_base64)
        now = self.clock()
        expires_at = _checked_expiry(expires_at, upload.kind, now)
        target_id = new_id(8)
        target = Target(
            id=target_id,
            url=upload.url,
            kind=upload.kind,
            image_key=f"codes/{code_id}/targets/{target_id}.{upload.extension}",
            expires_at=expires_at,
            created_at=now,
            qr_png=scannable_qr_png(upload.url),
            option_id=option_id,
        )
        target = _with_staff(target, staff)

        def append(code: LiveCode) -> LiveCode:
            if code.status == ARCHIVED:
                raise Conflict("this code is archived; restore it before adding targets")
            _check_target_fits(code, target)
            duplicate = next((t for t in code.targets if t.url == upload.url), None)
            if duplicate:
                raise Conflict(f"this QR ({upload.url}) is already target {duplicate.id} of this code")
            if len(code.targets) >= MAX_TARGETS_PER_CODE:
                raise Conflict(f"a code holds at most {MAX_TARGETS_PER_CODE} targets; delete expired ones first")
            return replace(code, targets=code.targets + (target,))

        append(self._get(code_id))  # refuse what we can before anything reaches S3
        version = self.bucket.put(target.image_key, image, upload.content_type)
        try:
            self._modify(code_id, append)
        except BaseException:
            self.bucket.delete(target.image_key, version)
            raise
        return target

    def update_target(
        self,
        code_id: str,
        target_id: str,
        enabled: bool | None,
        expires_at: datetime | None,
        staff: StaffSettings = StaffSettings(),
    ) -> Target:
        def change(code: LiveCode) -> LiveCode:
            target = _target_of(code, target_id)
            updated = replace(
                target,
                enabled=target.enabled if enabled is None else enabled,
                expires_at=target.expires_at
                if expires_at is None
                else _checked_expiry(expires_at, target.kind, self.clock()),
            )
            updated = _with_staff(updated, staff)
            _check_target_fits(code, updated)
            return replace(code, targets=tuple(updated if t.id == target_id else t for t in code.targets))

        return _target_of(self._modify(code_id, change), target_id)

    def delete_target(self, code_id: str, target_id: str) -> None:
        image_key = _target_of(self._get(code_id), target_id).image_key  # a target's key never changes

        def drop(code: LiveCode) -> LiveCode:
            _target_of(code, target_id)  # still there? (a concurrent delete answers 404)
            return replace(code, targets=tuple(t for t in code.targets if t.id != target_id))

        self._modify(code_id, drop, save=lambda code, now: self.table.save_without_target(code, target_id, now))
        # The bucket is versioned: the original stays recoverable for the retention period.
        self.bucket.delete(image_key)

    def reorder_targets(self, code_id: str, target_ids: list[str]) -> LiveCode:
        def change(code: LiveCode) -> LiveCode:
            try:
                return replace(code, targets=reorder(code.targets, target_ids))
            except ValueError as error:
                current = ", ".join(t.id for t in code.targets) or "none"
                raise InvalidInput(f"{error} (current targets: {current})") from None

        return self._modify(code_id, change)

    def target_image_url(self, code_id: str, target_id: str) -> str:
        return self.bucket.download_url(_target_of(self._get(code_id), target_id).image_key)

    # -- backup QR (shown with the fallback text when no target is usable) ---------------

    def set_backup_qr(self, code_id: str, image_base64: str) -> LiveCode:
        upload, image = _read_upload(image_base64)
        key = f"codes/{code_id}/backup/{new_id(8)}.{upload.extension}"
        backup = BackupQr(url=upload.url, image_key=key, qr_png=scannable_qr_png(upload.url))
        previous = self._get(code_id).backup_qr
        version = self.bucket.put(key, image, upload.content_type)
        try:
            code = self._modify(code_id, lambda code: replace(code, backup_qr=backup))
        except BaseException:
            self.bucket.delete(key, version)
            raise
        if previous:
            self.bucket.delete(previous.image_key)
        return code

    def remove_backup_qr(self, code_id: str) -> LiveCode:
        previous = self._get(code_id).backup_qr
        code = self._modify(code_id, lambda code: replace(code, backup_qr=None))
        if previous:
            self.bucket.delete(previous.image_key)
        return code

    # -- plumbing ------------------------------------------------------------------------

    def _get(self, code_id: str) -> LiveCode:
        return self.get_code(code_id)[0]

    def _modify(self, code_id: str, change: Callable[[LiveCode], LiveCode], save=None) -> LiveCode:
        """Read, change and save the code, again from a fresh read if someone else saved first."""
        save = save or self.table.save
        for _ in range(SAVE_ATTEMPTS):
            code = self._get(code_id)
            try:
                return save(change(code), self.clock())
            except VersionConflict:
                continue
        raise _busy()


def _with_option(code: LiveCode, spec: OptionSpec) -> LiveCode:
    if len(code.options) >= MAX_OPTIONS:
        raise Conflict(f"a grouped code has at most {MAX_OPTIONS} options")
    if any(o.label == spec.label for o in code.options):
        raise Conflict(f"this code already has an option labelled {spec.label!r}")
    _check_strategy(GROUPED, spec.strategy)
    option = Option(new_id(6), spec.label, spec.description or "", spec.tag or spec.label, spec.strategy)
    return replace(code, options=code.options + (option,))


def _check_strategy(kind: str, strategy: str) -> None:
    if kind == GROUP and strategy != IN_ORDER:
        raise InvalidInput("a group code fills its groups in order; use a staff code for round_robin or weighted")
    if kind == STAFF and strategy == IN_ORDER:
        raise InvalidInput("a staff code shares scanners by round_robin or weighted, not in_order")


def _check_pool(code: LiveCode, option: Option) -> None:
    """An option's targets must suit its strategy (staff contacts for round robin / weights)."""
    for target in code.targets:
        if target.option_id == option.id:
            _check_target_fits(code, target, option)


def _check_target_fits(code: LiveCode, target: Target, option: Option | None = None) -> None:
    """Refuse a target that does not belong in the code: wrong pool, or a group QR offered
    as a staff member."""
    if code.kind == GROUPED:
        option = option or code.option(target.option_id)
        if option is None:
            labels = ", ".join(f"{o.id} ({o.label})" for o in code.options)
            raise InvalidInput(f"a grouped code's target needs option_id, one of: {labels}")
        strategy = option.strategy
    elif target.option_id:
        raise InvalidInput("only grouped codes have options; leave option_id out")
    else:
        strategy = code.strategy
    if not uses_threshold(strategy):
        if target.kind not in STAFF_QR_KINDS:
            raise InvalidInput(
                f"this pool assigns staff, but the uploaded QR is a {target.kind} QR; upload the staff member's "
                "personal WeChat (u.wechat.com) or WeCom (work.weixin.qq.com) contact QR"
            )
        if not target.staff_name:
            raise InvalidInput("staff_name is required for a staff member's QR (scanners see it on the page)")


def _with_staff(target: Target, staff: StaffSettings) -> Target:
    changes = {
        k: v
        for k, v in {
            "staff_name": staff.staff_name,
            "weight": staff.weight,
            "daily_cap": staff.daily_cap,
            "working_hours": staff.working_hours,
            "backup": staff.backup,
            "robot_url": staff.robot_url,
        }.items()
        if v is not None
    }
    if staff.clear_daily_cap:
        changes["daily_cap"] = None
    if staff.clear_robot_url:
        changes["robot_url"] = None
    return replace(target, **changes)


def _checked_zone(name: str) -> str:
    try:
        zone(name)
    except (ValueError, KeyError, OSError):
        raise InvalidInput(f"unknown time_zone {name[:60]!r}; use an IANA name such as Asia/Shanghai") from None
    return name


def _check_channel_name(code: LiveCode, name: str, channel_id: str | None = None) -> None:
    clash = next((c for c in code.channels if c.name == name and c.id != channel_id), None)
    if clash:
        raise Conflict(f"channel {clash.id} is already called {name!r}; pick another name")


def _channel_of(code: LiveCode, channel_id: str) -> Channel:
    channel = code.channel(channel_id)
    if channel is None:
        raise NotFound(f"code {code.id} has no channel {channel_id!r}")
    return channel


def _busy() -> Conflict:
    return Conflict("the code kept changing while saving (someone else is editing it); try again")


def _target_of(code: LiveCode, target_id: str) -> Target:
    target = code.target(target_id)
    if target is None:
        raise NotFound(f"code {code.id} has no target {target_id!r}")
    return target


def _read_upload(image_base64: str) -> tuple[UploadedQr, bytes]:
    image = decode_base64_file(image_base64, MAX_UPLOAD_BYTES, hint="; send a plain screenshot of the QR")
    return read_qr_screenshot(image), image


def _checked_expiry(expires_at: datetime | None, kind: str, now: datetime) -> datetime:
    if expires_at is None:
        # Contact QRs (personal WeChat, WeCom) do not expire; a group QR lasts 7 days.
        return now + (MAX_TARGET_LIFETIME if kind in STAFF_QR_KINDS else DEFAULT_TARGET_LIFETIME)
    if expires_at <= now:
        raise InvalidInput("expires_at is in the past; give the time the QR stops working, e.g. its 7th day")
    if expires_at > now + MAX_TARGET_LIFETIME:
        raise InvalidInput("expires_at is more than ten years away; leave it out or give a real date")
    if kind == "wechat_group" and expires_at > now + MAX_WECHAT_GROUP_QR_LIFETIME:
        raise InvalidInput(
            "expires_at is more than 7 days away, but a WeChat group QR is valid for 7 days at most; "
            "use the date WeChat shows under the QR"
        )
    return expires_at
