"""What operators do with SOP plans (the admin API's logic): create (from a preset or from
scratch), edit, pause and resume, look ahead, read the delivery log, resend a failed push.

Every step's content is checked against every destination's channel at creation: a robot that
cannot carry a mini-program card is refused now, with the reason, not at 3 a.m.

Webhook signing secrets are made with ``secrets.token_urlsafe`` (a secret, not an id: it is not
made by ``siyu.core.ids``).
"""

from __future__ import annotations

import secrets
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from siyu.core.clock import utcnow
from siyu.core.errors import Conflict, InvalidInput, NotFound
from siyu.core.ids import new_id
from siyu.sop import rules
from siyu.sop.api import ContentIn, DestinationIn, GuardsIn, PlanCreate, PlanUpdate, StepIn
from siyu.sop.audience import (
    CODE_GROUPS,
    DESTINATIONS,
    WECOM_CHATS,
    WECOM_GROUPS,
    WECOM_KINDS,
    WECOM_TAGS,
    audience_destinations,
    is_code_groups,
    sends_groupmsg,
    tags_identity,
)
from siyu.sop.group_rules import wecom_report
from siyu.sop.ports import ChatDirectory, CodeGroups, GroupMessenger, ImageFiles, SopStore
from siyu.sop.reminders import reminder_option, reminder_report
from siyu.sop.resume import requeue_held
from siyu.sop.rules import (
    Content,
    Delivery,
    Destination,
    Guards,
    Plan,
    PlanInvalid,
    PlannedPush,
    Reminder,
    Schedule,
    Step,
    check_content,
    decode_image,
    occurrences,
    send_time,
    zone,
)
from siyu.storage.versioned import modify

MAX_CALENDAR_DAYS = 60
OTHER_PLANS = 500  # plans the calendar reads for WeCom's one-a-day limit
REPORT_DELIVERIES = 1000  # deliveries the 企业群发 report reads


@dataclass
class SopAdmin:
    sop: SopStore
    codes: CodeGroups
    files: ImageFiles
    clock: Callable[[], datetime] = utcnow
    chats: ChatDirectory | None = None  # a code's join-way groups (wecom_groups)
    messenger: GroupMessenger | None = None  # whether WeCom is connected (企业群发 audiences)

    # -- create and edit ---------------------------------------------------------------

    def create(self, body: PlanCreate) -> Plan:
        now = self.clock()
        tz = _checked_zone(body.time_zone)
        preset = rules.PRESETS.get(body.preset) if body.preset else None
        steps_in = body.steps if body.steps is not None else _preset_steps(preset)
        if not steps_in:
            raise InvalidInput("a plan needs steps: give steps, or a preset to start from")
        destinations, audience = self._audience(body)
        plan = Plan(
            reminder=self._reminder(body),
            id=new_id(),
            name=body.name or (preset["name"] if preset else "SOP plan"),
            time_zone=body.time_zone,
            audience=audience,
            steps=(),
            guards=_guards(body.guards),
            status=rules.ACTIVE,
            start=body.start_date or now.astimezone(tz).date(),
            created_at=now,
            destinations=destinations,
        )
        steps, images = self._steps(plan, steps_in)
        plan = replace(plan, steps=steps)
        self._store_images(images, lambda: self.sop.create_plan(plan))
        return plan

    def update(self, plan_id: str, body: PlanUpdate) -> Plan:
        steps: tuple[Step, ...] | None = None
        images: list[tuple[str, bytes]] = []
        if body.steps is not None:
            if not body.steps:
                raise InvalidInput("a plan needs at least one step; pause it instead")
            # A plan's audience (and so its channels) never changes: the steps are checked once.
            steps, images = self._steps(self.get(plan_id), body.steps)

        def change(plan: Plan) -> Plan:
            if body.name:
                plan = replace(plan, name=body.name)
            if body.guards:
                plan = replace(plan, guards=_guards(body.guards))
            if steps is not None:
                plan = replace(plan, steps=steps)
            return plan

        return self._store_images(images, lambda: self._save(plan_id, change, due_now=True))

    def set_status(self, plan_id: str, status: str) -> Plan:
        """Pause (nothing is sent; pushes that fall in the pause are skipped) or resume."""
        now = self.clock()
        found = self.sop.plan(plan_id) if plan_id.isalnum() else None
        # Pushes that fell in the pause stay skipped: the job goes on from now (or from where it got).
        resume_from = max(now, found[1].scanned_until) if found else now
        plan = self._save(plan_id, lambda p: replace(p, status=status), due_now=True, resume_from=resume_from)
        if status == rules.ACTIVE:  # every push held while paused goes out now (if it is not too late)
            requeue_held(self.sop, plan_id, now)
        return plan

    def get(self, plan_id: str) -> Plan:
        found = self.sop.plan(plan_id) if plan_id.isalnum() else None
        if found is None:
            raise NotFound(f"no SOP plan with id {plan_id[:40]!r}")
        return found[0]

    def list_plans(self, limit: int, cursor: str | None) -> tuple[list[Plan], str | None]:
        return self.sop.list_plans(limit, cursor)

    def warnings(self, plan: Plan) -> list[str]:
        if plan.audience.get("kind") == WECOM_GROUPS and not audience_destinations(plan, self.codes, self.chats):
            return [f"code {plan.audience['code_id']} has no WeCom customer groups on a join way (wecom_chat_ids)"]
        if is_code_groups(plan) and plan.reminder is None and not audience_destinations(plan, self.codes):
            return [
                f"none of code {plan.audience['code_id']}'s groups has a WeCom robot yet: set robot_url on its "
                "targets (PATCH /admin/codes/{id}/targets/{target_id}) and the plan reaches them"
            ]
        return []

    # -- look ahead, log, resend ---------------------------------------------------------

    def calendar(self, plan_id: str, days: int) -> list[PlannedPush]:
        """The pushes of the next `days` days as the job will make them (quiet hours and caps applied)."""
        if not 1 <= days <= MAX_CALENDAR_DAYS:
            raise InvalidInput(f"days must be 1 to {MAX_CALENDAR_DAYS}")
        plan = self.get(plan_id)
        now = self.clock()
        tz = zone(plan.time_zone)
        entries = self._pushes(plan, now, days)
        taken = self._wecom_days_taken(plan, now, days) if sends_groupmsg(plan) else {}
        per_day: Counter[tuple[str, date]] = Counter()
        items = []
        for at, scheduled, step, destination in entries:
            day = (destination.url or destination.key, at.astimezone(tz).date())
            per_day[day] += 1
            identity = _wecom_identity(plan, destination.key)
            if identity is not None and (per_day[day] > 1 or taken.get((identity, day[1]), at) < at):
                outcome = "over_wecom_daily_limit"
            elif per_day[day] > plan.guards.daily_cap:
                outcome = "over_daily_cap"
            else:
                outcome = "held_by_quiet_hours" if at != scheduled else "send"
            items.append(
                PlannedPush(
                    scheduled_for=scheduled,
                    send_at=None if outcome.startswith("over_") else at,
                    step_id=step.id,
                    step_name=step.name,
                    destination_key=destination.key,
                    destination_name=destination.name,
                    outcome=outcome,
                )
            )
        return items

    def _pushes(self, plan: Plan, now: datetime, days: int) -> list[tuple[datetime, datetime, Step, Destination]]:
        """(send at, scheduled, step, destination) of the plan's pushes in the next `days` days, in order."""
        tz = zone(plan.time_zone)
        entries = []
        for step in plan.steps:
            for destination in audience_destinations(plan, self.codes, self.chats):
                start = destination.start or plan.start
                for scheduled in occurrences(step.schedule, start, tz, now, now + timedelta(days=days)):
                    entries.append((send_time(scheduled, plan.guards, tz), scheduled, step, destination))
        entries.sort(key=lambda e: (e[0], e[1], e[2].id, e[3].key))
        return entries

    def _wecom_days_taken(self, plan: Plan, now: datetime, days: int) -> dict[tuple[str, date], datetime]:
        """(group or tag set, local day) -> the first push another active 企业群发 plan makes to it
        (WeCom lets each receive one a day from the corp)."""
        taken: dict[tuple[str, date], datetime] = {}
        cursor, read = None, 0
        while read < OTHER_PLANS:
            plans, cursor = self.sop.list_plans(100, cursor)
            read += len(plans)
            for other in plans:
                if other.id == plan.id or other.status != rules.ACTIVE or not sends_groupmsg(other):
                    continue
                for at, _, _, destination in self._pushes(other, now, days):
                    identity = _wecom_identity(other, destination.key)
                    day = at.astimezone(zone(plan.time_zone)).date()
                    if identity is not None and (identity, day) not in taken:
                        taken[(identity, day)] = at
            if cursor is None:
                break
        return taken

    def wecom_report(self, plan_id: str) -> dict[str, Any]:
        """Per occurrence: groups or customers sent, pending and not sent; per guide: the confirmation rate."""
        self.get(plan_id)
        found: list[Delivery] = []
        cursor = None
        while len(found) < REPORT_DELIVERIES:
            page, cursor = self.sop.deliveries(plan_id, 200, cursor)
            found += page
            if cursor is None:
                break
        return wecom_report(found) | {"reminders": reminder_report(found)}

    def deliveries(self, plan_id: str, limit: int, cursor: str | None) -> tuple[list[Delivery], str | None]:
        self.get(plan_id)
        return self.sop.deliveries(plan_id, limit, cursor)

    def resend(self, plan_id: str, delivery_id: str) -> Delivery:
        self.get(plan_id)
        delivery = self.sop.delivery(plan_id, delivery_id)
        if delivery is None:
            raise NotFound(f"plan {plan_id} has no delivery {delivery_id[:80]!r}")
        if not self.sop.requeue(plan_id, delivery_id, self.clock(), (rules.FAILED, rules.SKIPPED, rules.CANCELLED)):
            raise Conflict(f"delivery {delivery_id} is {delivery.status}; only failed or skipped ones are resent")
        if delivery.channel == rules.WECOM_GROUPMSG and delivery.cap_counted and delivery.chat_ids:
            # Its groups were counted against today's 企业群发 limit for the task WeCom refused: not again.
            self.sop.mark_cap_counted(plan_id, delivery_id)
        resent = self.sop.delivery(plan_id, delivery_id)
        assert resent is not None, "a delivery just requeued exists (deliveries are never deleted)"
        return resent

    # -- plumbing ----------------------------------------------------------------------------

    def _save(
        self,
        plan_id: str,
        change: Callable[[Plan], Plan],
        due_now: bool = False,
        resume_from: datetime | None = None,
    ) -> Plan:
        """Apply `change` to the stored plan and save it (again from a fresh read if someone saved
        it in between); `resume_from`: where the job goes on when this resumes a paused plan."""

        def change_and_save(plan: Plan) -> Plan:
            changed = change(plan)
            resumed = resume_from is not None and plan.status == rules.PAUSED and changed.status == rules.ACTIVE
            return self.sop.save_plan(changed, self.clock() if due_now else None, resume_from if resumed else None)

        return modify(lambda: self.get(plan_id), change_and_save, "the plan")

    def _audience(self, body: PlanCreate) -> tuple[tuple[Destination, ...], dict[str, Any]]:
        """The plan's named destinations and its audience, from the request's `target`."""
        audience = body.target
        if audience.kind in WECOM_KINDS:
            return (), self._wecom_audience(body)
        if audience.kind == CODE_GROUPS:
            if not audience.code_id:
                raise InvalidInput("target.code_id is required for a code_groups target")
            code, _ = self.codes.load(audience.code_id) if audience.code_id.isalnum() else (None, None)
            if code is None:
                raise InvalidInput(f"target.code_id: no live code {audience.code_id[:40]!r}")
            return (), {"kind": CODE_GROUPS, "code_id": code.id}
        if not audience.destinations:
            raise InvalidInput("target.destinations: give at least one {name, channel, url}")
        names = [d.name for d in audience.destinations]
        if len(set(names)) != len(names):
            raise InvalidInput("target.destinations: names must be unique within a plan")
        return tuple(_destination(d) for d in audience.destinations), {"kind": DESTINATIONS}

    def _wecom_audience(self, body: PlanCreate) -> dict[str, Any]:
        """A 企业群发 audience, checked (422), with WeCom connected (409)."""
        audience = body.target
        if audience.kind == WECOM_GROUPS:
            if not audience.code_id:
                raise InvalidInput("target.code_id is required for a wecom_groups target")
            code, _ = self.codes.load(audience.code_id) if audience.code_id.isalnum() else (None, None)
            if code is None:
                raise InvalidInput(f"target.code_id: no live code {audience.code_id[:40]!r}")
            if not any(t.wecom_chat_ids for t in code.targets):
                raise InvalidInput(
                    f"target.code_id: code {code.id} has no WeCom customer groups: add a join-way target "
                    "(wecom_chat_ids) first"
                )
            stored: dict[str, Any] = {"kind": WECOM_GROUPS, "code_id": code.id}
        elif audience.kind == WECOM_CHATS:
            if not audience.chat_ids:
                raise InvalidInput("target.chat_ids: give 1 to 2000 customer group chat ids")
            if len(set(audience.chat_ids)) != len(audience.chat_ids):
                raise InvalidInput("target.chat_ids: a chat id is given twice")
            stored = {"kind": WECOM_CHATS, "chat_ids": list(audience.chat_ids)}
        else:
            if not audience.tags:
                raise InvalidInput("target.tags: give 1 to 100 corp tag names")
            stored = {"kind": WECOM_TAGS, "tags": sorted(set(audience.tags)), "sender": audience.sender}
        direct = body.delivery is None or body.delivery.mode == "direct"  # reminder mode needs no 企业群发
        if direct and (self.messenger is None or not self.messenger.connected()):
            raise Conflict(
                f"a {audience.kind} target sends through WeCom 企业群发, and WeCom is not connected: "
                "connect it with PUT /admin/wecom first"
            )
        return stored

    def _reminder(self, body: PlanCreate) -> Reminder | None:
        """Reminder mode from `delivery` (422 when it does not fit); WeCom users need WeCom (409)."""
        if body.delivery is None:
            return None
        remind = body.delivery.remind
        users, robot = (remind.wecom_users, remind.robot_url) if remind else (None, None)
        reminder = reminder_option(body.delivery.mode, users, robot, body.delivery.task_hours, body.target.kind)
        if reminder and reminder.wecom_users and not (self.messenger and self.messenger.connected()):
            raise Conflict(
                "delivery.remind.wecom_users are reminded through the WeCom app, and WeCom is not "
                "connected: connect it with PUT /admin/wecom first, or use remind.robot_url"
            )
        return reminder

    def _store_images[Saved](self, images: list[tuple[str, bytes]], save: Callable[[], Saved]) -> Saved:
        """Store the steps' images, then save; if the save fails, remove them again."""
        stored: list[tuple[str, str | None]] = []
        try:
            for key, data in images:
                content_type = "image/png" if data.startswith(b"\x89PNG") else "image/jpeg"
                stored.append((key, self.files.put(key, data, content_type)))
            return save()
        except BaseException:
            for key, version in stored:
                self.files.delete(key, version)
            raise

    def _steps(self, plan: Plan, steps_in: list[StepIn]) -> tuple[tuple[Step, ...], list[tuple[str, bytes]]]:
        """The steps, every one checked against every channel of the plan, and the images to store."""
        channels = {rules.WECOM_ROBOT} if is_code_groups(plan) else {d.channel for d in plan.destinations}
        if plan.audience.get("kind") in WECOM_KINDS:
            channels = {rules.REMINDER if plan.reminder else rules.WECOM_GROUPMSG}
        elif plan.reminder is not None:
            channels = {rules.REMINDER}
        steps, images = [], []
        for number, step_in in enumerate(steps_in, 1):
            try:
                schedule = _schedule(step_in)
                content, image = _content(plan.id, step_in.content)
                for channel in sorted(channels):
                    check_content(content, channel)
            except PlanInvalid as error:
                raise InvalidInput(f"step {number} ({step_in.name}): {error}") from None
            steps.append(Step(f"s{number}", step_in.name, schedule, content))
            if image and content.image_key:
                images.append((content.image_key, image))
        return tuple(steps), images


def _content(plan_id: str, content: ContentIn) -> tuple[Content, bytes | None]:
    kind = content.kind
    if kind in (rules.TEXT, rules.MARKDOWN) and not content.text:
        raise PlanInvalid(f"{kind} content needs text")
    if kind == rules.IMAGE and not content.image_base64:
        raise PlanInvalid("image content needs image_base64 (PNG or JPEG)")
    if kind == rules.LINK and not (content.title and content.url):
        raise PlanInvalid("a link card needs title and url")
    if kind == rules.MINIPROGRAM and not (content.title and content.appid and content.page):
        raise PlanInvalid("a mini-program card needs title, appid and page")
    image_key, data = None, None
    if content.image_base64 and kind in (rules.IMAGE, rules.LINK, rules.MINIPROGRAM):
        data = decode_image(content.image_base64)
        extension = "png" if data.startswith(b"\x89PNG") else "jpg"
        image_key = f"sop/{plan_id}/{new_id(8)}.{extension}"
    built = Content(
        kind=kind,
        text=content.text or "",
        image_key=image_key,
        image_bytes=len(data) if data else 0,
        title=content.title or "",
        description=content.description or "",
        url=content.url or "",
        picture_url=content.picture_url or "",
        appid=content.appid or "",
        page=content.page or "",
    )
    return built, data


def presets() -> list[dict[str, Any]]:
    return [{"id": key, **preset} for key, preset in rules.PRESETS.items()]


def _preset_steps(preset: dict[str, Any] | None) -> list[StepIn]:
    return [StepIn.model_validate(step) for step in preset["steps"]] if preset else []


def _schedule(step: StepIn) -> Schedule:
    s = step.schedule
    if s.kind == rules.ONCE:
        if s.on is None:
            raise PlanInvalid("a once schedule needs on (a local date-time such as 2026-12-12T20:00)")
        return Schedule(rules.ONCE, s.on.time().replace(second=0, microsecond=0), on=s.on.date())
    if s.at is None:
        raise PlanInvalid(f"a {s.kind} schedule needs at (HH:MM)")
    at = time.fromisoformat(s.at)
    if s.kind == rules.DAY_OFFSET:
        if s.day is None:
            raise PlanInvalid("a day_offset schedule needs day (0 = the start day)")
        return Schedule(rules.DAY_OFFSET, at, day=s.day)
    if not s.weekdays:
        raise PlanInvalid("a weekly schedule needs weekdays (1 = Monday … 7 = Sunday)")
    return Schedule(rules.WEEKLY, at, weekdays=tuple(sorted(set(s.weekdays))))


def _guards(g: GuardsIn) -> Guards:
    return Guards(time.fromisoformat(g.quiet_start), time.fromisoformat(g.quiet_end), g.max_delay_minutes, g.daily_cap)


def _destination(d: DestinationIn) -> Destination:
    secret = d.secret or (secrets.token_urlsafe(32) if d.channel == rules.WEBHOOK else None)
    return Destination(f"d:{new_id(6)}", d.name, d.channel, d.url, secret, d.start_date)


def _wecom_identity(plan: Plan, destination_key: str) -> str | None:
    """Who WeCom's one-a-day limit counts for this destination (None: not a 企业群发 one)."""
    if not sends_groupmsg(plan):
        return None
    return tags_identity(plan.audience["tags"]) if plan.audience["kind"] == WECOM_TAGS else destination_key[2:]


def _checked_zone(name: str) -> ZoneInfo:
    try:
        return zone(name)
    except (ValueError, KeyError, OSError):
        raise InvalidInput(f"unknown time_zone {name[:60]!r}; use an IANA name such as Asia/Shanghai") from None
