"""Making and removing the WeCom ways behind WeCom-backed targets (admin function only: it reads
the QR WeCom serves with the upload check, Pillow + zxing-cpp).

All or nothing: a batch of ways is made in full, or every way of it already made is deleted
again before the error goes on. Deleting ways that are no longer needed never fails an edit:
a failure is logged (the way stays in WeCom, unreachable from any scan).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor, wait
from dataclasses import dataclass, field

from siyu.core.errors import Conflict, UploadRefused
from siyu.live_codes.model import ChannelWay, Target
from siyu.live_codes.ports import MadeWay, WayMaker, WayOwner
from siyu.live_codes.qr_upload import read_qr_screenshot, scannable_qr_png

logger = logging.getLogger(__name__)
PARALLEL_WAYS = 8

NOT_CONNECTED = "WeCom is not connected: connect it with PUT /admin/wecom first"


def connected(maker: WayMaker | None) -> WayMaker:
    if maker is None:
        raise Conflict(NOT_CONNECTED)
    return maker


@dataclass
class WayBatch:
    """Ways made for one edit; `undo` deletes every one of them (after a failure)."""

    maker: WayMaker
    code_id: str
    made: list[tuple[Target, ChannelWay]] = field(default_factory=list)

    def make(self, target: Target, channel_ids: Iterable[str | None]) -> list[ChannelWay]:
        """One way for `target` through each channel (None: direct scans). On a failure the caller
        calls `undo`: the ways made so far (the failing one too, if WeCom made it) are remembered.

        Each way is two or three WeCom calls and a QR read: a code with many channels has its ways
        made PARALLEL_WAYS at a time, so the request ends well within API Gateway's 30 s."""
        wanted = list(channel_ids)
        if len(wanted) <= PARALLEL_WAYS:
            return [self._make_one(target, channel_id) for channel_id in wanted]
        with ThreadPoolExecutor(PARALLEL_WAYS, thread_name_prefix="wecom-way") as pool:
            futures = [pool.submit(self._make_one, target, channel_id) for channel_id in wanted]
            wait(futures)  # every way that will be made is made (and remembered) before undo can run
        return [future.result() for future in futures]

    def _make_one(self, target: Target, channel_id: str | None) -> ChannelWay:
        owner = WayOwner(self.code_id, target.id, channel_id)
        if target.wecom_user is not None:
            made = self.maker.contact_way(owner, target.wecom_user, target.skip_verify)
        else:
            made = self.maker.join_way(owner, target.wecom_chat_ids, target.room_base_name, target.auto_create_room)
        way = ChannelWay(channel_id, made.config_id, made.state, made.qr_url, b"")
        self.made.append((target, way))  # from here on `undo` removes it, whatever the check says
        return ChannelWay(channel_id, made.config_id, made.state, made.qr_url, checked_qr(made))

    def undo(self) -> None:
        for target, way in reversed(self.made):
            delete_way(self.maker, target, way.config_id)
        self.made.clear()


def checked_qr(made: MadeWay) -> bytes:
    """The QR WeCom served goes through the same check as an operator's screenshot: exactly one
    QR, a WeCom URL, and it must be the way's own URL. Returns the clean PNG scanners see."""
    upload = read_qr_screenshot(made.qr_image)
    if upload.kind != "wecom":
        raise UploadRefused(f"the QR WeCom served for way {made.config_id} is not a WeCom URL ({upload.url[:120]!r})")
    if upload.url != made.qr_url:
        raise UploadRefused(
            f"the QR WeCom served for way {made.config_id} reads {upload.url[:120]!r}, not the way's URL "
            f"{made.qr_url[:120]!r}; try again"
        )
    return scannable_qr_png(made.qr_url)


def delete_way(maker: WayMaker | None, target: Target, config_id: str) -> None:
    """Remove one way from WeCom; a failure is logged, never raised."""
    if maker is None:
        logger.warning("WeCom is not connected: way %s of target %s is left in WeCom", config_id, target.id)
        return
    try:
        if target.wecom_user is not None:
            maker.delete_contact_way(config_id)
        else:
            maker.delete_join_way(config_id)
    except Exception as error:
        logger.warning("could not delete WeCom way %s of target %s (%s)", config_id, target.id, error)


def delete_ways(maker: WayMaker | None, targets: Sequence[Target]) -> None:
    for target in targets:
        for way in target.ways:
            delete_way(maker, target, way.config_id)
