"""What operators do to a live code's targets and its backup QR (the admin API's logic).

Uploads are fully validated in memory before anything is written; if the table write fails
after the image reached S3, the image is removed again. WeCom-backed targets (a contact way or
a join way per channel, made by the code admin's ``WayMaker``) follow the same rule: every way
is made and checked before the code is saved, and all of them are deleted again if anything
fails. Every change goes through ``CodeAdmin.modify`` (optimistic, retried).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime

from siyu.core.errors import Conflict, InvalidInput, NotFound
from siyu.core.ids import new_id
from siyu.live_codes.admin import CodeAdmin
from siyu.live_codes.edit_rules import (
    MAX_TARGET_LIFETIME,
    StaffSettings,
    WaySpec,
    check_target_fits,
    check_way_room,
    checked_expiry,
    checked_way_spec,
    target_of,
    with_staff,
)
from siyu.live_codes.model import (
    ARCHIVED,
    MAX_TARGETS_PER_CODE,
    WECOM_JOIN_KIND,
    BackupQr,
    LiveCode,
    Target,
    reorder,
)
from siyu.live_codes.ports import CodeStore, ImageStore
from siyu.live_codes.qr_upload import MAX_UPLOAD_BYTES, UploadedQr, read_qr_screenshot, scannable_qr_png
from siyu.live_codes.ways import WayBatch, connected, delete_ways
from siyu.web.base64_files import decode_base64_file


@dataclass
class TargetAdmin:
    codes: CodeAdmin
    bucket: ImageStore

    @property
    def _table(self) -> CodeStore:
        return self.codes.table

    def add_target(
        self,
        code_id: str,
        image_base64: str,
        expires_at: datetime | None,
        staff: StaffSettings = StaffSettings(),
        option_id: str | None = None,
    ) -> Target:
        upload, image = _read_upload(image_base64)
        now = self.codes.clock()
        expires_at = checked_expiry(expires_at, upload.kind, now)
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
        target = with_staff(target, staff)

        def append(code: LiveCode) -> LiveCode:
            if code.status == ARCHIVED:
                raise Conflict("this code is archived; restore it before adding targets")
            check_target_fits(code, target)
            duplicate = next((t for t in code.targets if t.url == upload.url), None)
            if duplicate:
                raise Conflict(f"this QR ({upload.url}) is already target {duplicate.id} of this code")
            if len(code.targets) >= MAX_TARGETS_PER_CODE:
                raise Conflict(f"a code holds at most {MAX_TARGETS_PER_CODE} targets; delete expired ones first")
            return replace(code, targets=code.targets + (target,))

        append(self.codes.get(code_id))  # refuse what we can before anything reaches S3
        version = self.bucket.put(target.image_key, image, upload.content_type)
        try:
            self.codes.modify(code_id, append)
        except BaseException:
            self.bucket.delete(target.image_key, version)
            raise
        return target

    def add_wecom_target(
        self,
        code_id: str,
        spec: WaySpec,
        staff: StaffSettings = StaffSettings(),
        option_id: str | None = None,
    ) -> Target:
        """A target backed by WeCom: a contact way for one member, or a join way over customer
        groups; one way per channel of the code and one for direct scans."""
        spec = checked_way_spec(spec)
        now = self.codes.clock()
        target = with_staff(
            Target(
                id=new_id(8),
                url="",
                kind="wecom" if spec.wecom_user is not None else WECOM_JOIN_KIND,
                image_key="",
                expires_at=now + MAX_TARGET_LIFETIME,  # never: WeCom ways do not expire
                created_at=now,
                qr_png=b"",
                option_id=option_id,
                wecom_user=spec.wecom_user,
                wecom_chat_ids=spec.chat_ids,
                skip_verify=spec.skip_verify,
                auto_create_room=spec.auto_create_room,
                room_base_name=spec.room_base_name,
            ),
            staff,
        )

        def check(code: LiveCode) -> None:
            if code.status == ARCHIVED:
                raise Conflict("this code is archived; restore it before adding targets")
            check_target_fits(code, target)
            same = next((t for t in code.targets if _same_way(t, target)), None)
            if same:
                raise Conflict(f"target {same.id} of this code already reaches {_reaches(target)}")
            if len(code.targets) >= MAX_TARGETS_PER_CODE:
                raise Conflict(f"a code holds at most {MAX_TARGETS_PER_CODE} targets; delete expired ones first")
            check_way_room(code, sum(t.is_wecom_way for t in code.targets) + 1, len(code.channels))

        code = self.codes.get(code_id)
        check(code)  # refuse what we can before WeCom makes anything
        maker = connected(self.codes.way_maker)
        channel_ids = [None, *(c.id for c in code.channels)]
        batch = WayBatch(maker, code_id)
        try:
            ways = tuple(batch.make(target, channel_ids))
            direct = ways[0]
            target = replace(target, ways=ways, url=direct.url, qr_png=direct.qr_png)

            def append(code: LiveCode) -> LiveCode:
                check(code)
                missing = [c.id for c in code.channels if c.id not in channel_ids]
                if missing:
                    raise Conflict(
                        f"channel {missing[0]} was added while WeCom made this target's ways; add the target again"
                    )
                return replace(code, targets=code.targets + (target,))

            self.codes.modify(code_id, append)
        except BaseException:
            batch.undo()
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
            target = target_of(code, target_id)
            if target.is_wecom_way and expires_at is not None:
                raise InvalidInput("a WeCom way does not expire; leave expires_at out (disable the target instead)")
            updated = replace(
                target,
                enabled=target.enabled if enabled is None else enabled,
                expires_at=target.expires_at
                if expires_at is None
                else checked_expiry(expires_at, target.kind, self.codes.clock()),
            )
            updated = with_staff(updated, staff)
            check_target_fits(code, updated)
            return replace(code, targets=tuple(updated if t.id == target_id else t for t in code.targets))

        return target_of(self.codes.modify(code_id, change), target_id)

    def delete_target(self, code_id: str, target_id: str) -> None:
        dropped: list[Target] = []

        def drop(code: LiveCode) -> LiveCode:
            dropped[:] = [target_of(code, target_id)]  # still there? (a concurrent delete answers 404)
            return replace(code, targets=tuple(t for t in code.targets if t.id != target_id))

        def save(code: LiveCode, now: datetime) -> LiveCode:
            return self._table.save_without_target(code, target_id, now)

        self.codes.modify(code_id, drop, save)
        target = dropped[0]  # as it was saved away (its ways included, even one a channel added meanwhile)
        if target.image_key:
            # The bucket is versioned: the original stays recoverable for the retention period.
            self.bucket.delete(target.image_key)
        delete_ways(self.codes.way_maker, [target])

    def reorder_targets(self, code_id: str, target_ids: Sequence[str]) -> LiveCode:
        def change(code: LiveCode) -> LiveCode:
            try:
                return replace(code, targets=reorder(code.targets, target_ids))
            except ValueError as error:
                current = ", ".join(t.id for t in code.targets) or "none"
                raise InvalidInput(f"{error} (current targets: {current})") from None

        return self.codes.modify(code_id, change)

    def target_image_url(self, code_id: str, target_id: str) -> str:
        target = target_of(self.codes.get(code_id), target_id)
        if not target.image_key:
            raise NotFound(f"target {target_id} is a WeCom way, not an upload: its QR is WeCom's (see its ways)")
        return self.bucket.download_url(target.image_key)

    # -- backup QR (shown with the fallback text when no target is usable) ---------------

    def set_backup_qr(self, code_id: str, image_base64: str) -> LiveCode:
        upload, image = _read_upload(image_base64)
        key = f"codes/{code_id}/backup/{new_id(8)}.{upload.extension}"
        backup = BackupQr(url=upload.url, image_key=key, qr_png=scannable_qr_png(upload.url))
        previous = self.codes.get(code_id).backup_qr
        version = self.bucket.put(key, image, upload.content_type)
        try:
            code = self.codes.modify(code_id, lambda code: replace(code, backup_qr=backup))
        except BaseException:
            self.bucket.delete(key, version)
            raise
        if previous:
            self.bucket.delete(previous.image_key)
        return code

    def remove_backup_qr(self, code_id: str) -> LiveCode:
        previous = self.codes.get(code_id).backup_qr
        code = self.codes.modify(code_id, lambda code: replace(code, backup_qr=None))
        if previous:
            self.bucket.delete(previous.image_key)
        return code


def _read_upload(image_base64: str) -> tuple[UploadedQr, bytes]:
    image = decode_base64_file(image_base64, MAX_UPLOAD_BYTES, hint="; send a plain screenshot of the QR")
    return read_qr_screenshot(image), image


def _same_way(existing: Target, new: Target) -> bool:
    """Two targets that would reach the same member or the same groups in the same pool."""
    if existing.option_id != new.option_id:
        return False
    if new.wecom_user is not None:
        return existing.wecom_user == new.wecom_user
    return bool(existing.wecom_chat_ids) and set(existing.wecom_chat_ids) == set(new.wecom_chat_ids)


def _reaches(target: Target) -> str:
    if target.wecom_user is not None:
        return f"WeCom member {target.wecom_user!r}"
    return "the customer groups " + ", ".join(target.wecom_chat_ids)
