"""What operators do to live codes, their options and channels (the admin API's logic).
Targets and the backup QR are in ``targets_admin``; the rules edits keep in ``edit_rules``.

Every change to a code is read-modify-write on its one config item with an optimistic
version check (``siyu.storage.versioned.modify``), so two operators editing at once never lose
an edit.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from siyu.core.clock import utcnow
from siyu.core.errors import Conflict, InvalidInput, NotFound
from siyu.core.ids import new_id
from siyu.live_codes.assignment import Counters
from siyu.live_codes.edit_rules import (
    DEFAULT_GUIDANCE_BY_KIND,
    OptionSpec,
    StaffSettings,
    channel_of,
    check_channel_name,
    check_pool,
    check_strategy,
    check_way_room,
    checked_tags,
    checked_welcome,
    checked_zone,
    option_of,
    with_option,
    with_segment_route,
)
from siyu.live_codes.model import (
    ACTIVE,
    CODE_ID_PATTERN,
    DEFAULT_FALLBACK_TEXT,
    DEFAULT_STICKY_DAYS,
    DEFAULT_SWITCH_THRESHOLD,
    DEFAULT_TIME_ZONE,
    GROUP,
    GROUPED,
    IN_ORDER,
    MAX_CHANNELS,
    ROUND_ROBIN,
    STAFF,
    Channel,
    ChannelWay,
    LiveCode,
    Option,
    Welcome,
)
from siyu.live_codes.ports import CodeStore, WayMaker
from siyu.live_codes.ways import WayBatch, connected
from siyu.storage.versioned import modify

__all__ = ["CodeAdmin", "OptionSpec", "Save", "StaffSettings"]

Save = Callable[[LiveCode, datetime], LiveCode]  # stores a changed code; StaleVersion if it moved on


@dataclass
class CodeAdmin:
    table: CodeStore
    clock: Callable[[], datetime] = utcnow
    way_maker: WayMaker | None = None  # WeCom's contact and join ways; None: WeCom is not connected

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
        options: Sequence[OptionSpec] = (),
    ) -> LiveCode:
        now = self.clock()
        strategy = strategy or (ROUND_ROBIN if kind == STAFF else IN_ORDER)
        check_strategy(kind, strategy)
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
            time_zone=checked_zone(time_zone or DEFAULT_TIME_ZONE),
            sticky_days=DEFAULT_STICKY_DAYS if sticky_days is None else sticky_days,
        )
        labels = [spec.label for spec in options]
        if len(set(labels)) < len(labels):
            repeated = sorted({label for label in labels if labels.count(label) > 1})
            raise InvalidInput("options: give each label once; repeated: " + ", ".join(repeated))
        for spec in options:
            code = with_option(code, spec)
        self.table.create(code)
        return code

    def get_code(self, code_id: str) -> tuple[LiveCode, Counters]:
        if not CODE_ID_PATTERN.match(code_id):
            raise NotFound(f"no live code with id {code_id[:40]!r}")
        code, counters = self.table.load(code_id, consistent=True)
        if code is None:
            raise NotFound(f"no live code with id {code_id!r}")
        return code, counters

    def list_codes(self, status: str | None, limit: int, cursor: str | None) -> tuple[list[LiveCode], str | None]:
        return self.table.list_codes(status, limit, cursor)

    def update_code(
        self,
        code_id: str,
        tags: Sequence[str] | None = None,
        welcome: Welcome | None = None,
        clear_welcome: bool = False,
        **changes: Any,
    ) -> LiveCode:
        changes = {k: v for k, v in changes.items() if v is not None}
        if "time_zone" in changes:
            checked_zone(changes["time_zone"])
        changes.update(_wecom_settings(tags, welcome, clear_welcome))

        def change(code: LiveCode) -> LiveCode:
            if "strategy" in changes:
                check_strategy(code.kind, changes["strategy"])
            return replace(code, **changes)

        return self.modify(code_id, change)

    def set_status(self, code_id: str, status: str) -> LiveCode:
        return self.modify(code_id, lambda code: replace(code, status=status))

    # -- options (grouped codes) and channels ------------------------------------------------

    def add_option(self, code_id: str, spec: OptionSpec) -> Option:
        def change(code: LiveCode) -> LiveCode:
            if code.kind != GROUPED:
                raise Conflict("only grouped codes have options; this is a " + code.kind + " code")
            return with_option(code, spec)

        return self.modify(code_id, change).options[-1]

    def add_segment_route(self, code_id: str, segment_id: str, label: str) -> Option:
        return self.modify(code_id, lambda code: with_segment_route(code, segment_id, label)).options[-1]

    def update_option(self, code_id: str, option_id: str, **changes: Any) -> Option:
        changes = {k: v for k, v in changes.items() if v is not None}

        def change(code: LiveCode) -> LiveCode:
            updated = replace(option_of(code, option_id), **changes)
            check_strategy(GROUPED, updated.strategy)
            check_pool(code, updated)
            return replace(code, options=tuple(updated if o.id == option_id else o for o in code.options))

        return option_of(self.modify(code_id, change), option_id)

    def add_channel(self, code_id: str, name: str, tags: Sequence[str] = (), welcome: Welcome | None = None) -> Channel:
        """A new channel; on a code with WeCom-backed targets, each of them gets its way through
        the channel first (all or none: the ways made are deleted again if anything fails)."""
        channel = Channel(
            new_id(6), name, self.clock(), checked_tags(tags), checked_welcome(welcome) if welcome else None
        )

        def check(code: LiveCode) -> None:
            check_channel_name(code, name)
            if len(code.channels) >= MAX_CHANNELS:
                raise Conflict(f"a code has at most {MAX_CHANNELS} channels; make another code for more")
            check_way_room(code, sum(t.is_wecom_way for t in code.targets), len(code.channels) + 1)

        code = self.get(code_id)
        check(code)
        wecom = [t for t in code.targets if t.is_wecom_way]
        if not wecom:
            self.modify(code_id, lambda code: _with_channel(code, check, channel, {}))
            return channel
        batch = WayBatch(connected(self.way_maker), code_id)
        try:
            new_ways = {t.id: batch.make(t, [channel.id])[0] for t in wecom}
            self.modify(code_id, lambda code: _with_channel(code, check, channel, new_ways))
        except BaseException:
            batch.undo()
            raise
        return channel

    def rename_channel(self, code_id: str, channel_id: str, name: str) -> Channel:
        return self.update_channel(code_id, channel_id, name=name)

    def update_channel(
        self,
        code_id: str,
        channel_id: str,
        name: str | None = None,
        tags: Sequence[str] | None = None,
        welcome: Welcome | None = None,
        clear_welcome: bool = False,
    ) -> Channel:
        changes = _wecom_settings(tags, welcome, clear_welcome)

        def change(code: LiveCode) -> LiveCode:
            channel = channel_of(code, channel_id)
            if name is not None:
                check_channel_name(code, name, channel_id)
                changes["name"] = name
            updated = replace(channel, **changes)
            return replace(code, channels=tuple(updated if c.id == channel_id else c for c in code.channels))

        return channel_of(self.modify(code_id, change), channel_id)

    def channel(self, code_id: str, channel_id: str) -> tuple[LiveCode, Channel]:
        code = self.get(code_id)
        return code, channel_of(code, channel_id)

    # -- the optimistic edit (targets_admin uses it too) -------------------------------------

    def get(self, code_id: str) -> LiveCode:
        return self.get_code(code_id)[0]

    def modify(self, code_id: str, change: Callable[[LiveCode], LiveCode], save: Save | None = None) -> LiveCode:
        """Read, change and save the code, again from a fresh read if someone else saved first;
        a Conflict when it keeps changing. `save` defaults to the table's versioned save."""
        store = save or self.table.save
        return modify(lambda: self.get(code_id), lambda code: store(change(code), self.clock()), "the code")


def _with_channel(
    code: LiveCode,
    check: Callable[[LiveCode], None],
    channel: Channel,
    new_ways: dict[str, ChannelWay],
) -> LiveCode:
    """The code with `channel` added and each WeCom target's way through it (made for exactly
    the WeCom targets the code had when the ways were made)."""
    check(code)
    wecom = {t.id for t in code.targets if t.is_wecom_way}
    if wecom != set(new_ways):
        raise Conflict("WeCom targets were added or deleted while the channel's ways were made; add the channel again")
    targets = tuple(replace(t, ways=t.ways + (new_ways[t.id],)) if t.id in new_ways else t for t in code.targets)
    return replace(code, channels=code.channels + (channel,), targets=targets)


def _wecom_settings(tags: Sequence[str] | None, welcome: Welcome | None, clear_welcome: bool) -> dict[str, Any]:
    """The checked tag and welcome changes of a code or channel edit (absent: unchanged)."""
    changes: dict[str, Any] = {}
    if tags is not None:
        changes["tags"] = checked_tags(tags)
    if welcome is not None:
        changes["welcome"] = checked_welcome(welcome)
    elif clear_welcome:
        changes["welcome"] = None
    return changes
