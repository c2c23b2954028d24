"""What operators do to a live code's targets and its backup QR (the admin API's logic).

Uploads are fully validated in memory before anything is written; if the table write fails
after the image reached S3, the image is removed again. Every change goes through
``CodeAdmin.modify`` (optimistic, retried).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime

from siyu.core.errors import Conflict, InvalidInput
from siyu.core.ids import new_id
from siyu.live_codes.admin import CodeAdmin
from siyu.live_codes.edit_rules import (
    StaffSettings,
    check_target_fits,
    checked_expiry,
    target_of,
    with_staff,
)
from siyu.live_codes.model import ARCHIVED, MAX_TARGETS_PER_CODE, BackupQr, LiveCode, Target, reorder
from siyu.live_codes.ports import CodeStore, ImageStore
from siyu.live_codes.qr_upload import MAX_UPLOAD_BYTES, UploadedQr, read_qr_screenshot, scannable_qr_png
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
        image_key = target_of(self.codes.get(code_id), target_id).image_key  # a target's key never changes

        def drop(code: LiveCode) -> LiveCode:
            target_of(code, target_id)  # still there? (a concurrent delete answers 404)
            return replace(code, targets=tuple(t for t in code.targets if t.id != target_id))

        def save(code: LiveCode, now: datetime) -> LiveCode:
            return self._table.save_without_target(code, target_id, now)

        self.codes.modify(code_id, drop, save)
        # The bucket is versioned: the original stays recoverable for the retention period.
        self.bucket.delete(image_key)

    def reorder_targets(self, code_id: str, target_ids: Sequence[str]) -> LiveCode:
        def change(code: LiveCode) -> LiveCode:
            try:
                return replace(code, targets=reorder(code.targets, target_ids))
            except ValueError as error:
                current = ", ".join(t.id for t in code.targets) or "none"
                raise InvalidInput(f"{error} (current targets: {current})") from None

        return self.codes.modify(code_id, change)

    def target_image_url(self, code_id: str, target_id: str) -> str:
        return self.bucket.download_url(target_of(self.codes.get(code_id), target_id).image_key)

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
