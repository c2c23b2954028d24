"""SOP plans through WeCom 企业群发 on fakes that obey WeCom's rules: audiences checked, one task
per (occurrence, step, group owner) made once, the results read until they settle, WeCom's
one-a-day limit skipped before a task is made, the report per occurrence and per guide."""

from __future__ import annotations

import base64
from datetime import UTC, datetime, timedelta

import pytest
from pydantic import ValidationError

from siyu.core.errors import Conflict, InvalidInput
from siyu.delivery.retry import RetryPolicy
from siyu.live_codes.model import LiveCode, Target
from siyu.sop.admin import SopAdmin
from siyu.sop.api import PlanCreate
from siyu.sop.group_rules import MAX_REMINDERS, REMIND_AFTER, TASK_LIFE, settle
from siyu.sop.job import SopJob
from siyu.sop.rules import AWAITING_STAFF, Delivery, Plan, RecipientResult
from siyu.sop.sender import SopSender
from siyu.wecom.records import GroupFact
from tests.fakes.sop import FakeChats, FakeCodeGroups, FakeFiles, FakeGroupMessenger, FakeSendQueue, FakeSopStore

T0 = datetime(2026, 11, 25, 2, 0, tzinfo=UTC)  # 10:00 in Shanghai
NO_QUIET_HOURS = {"quiet_start": "00:00", "quiet_end": "00:00"}
A, B, C = "wrGroupA", "wrGroupB", "wrGroupC"
OWNERS = {A: "zhangsan", B: "zhangsan", C: "lisi"}


def local(instant: datetime) -> str:
    return f"{instant + timedelta(hours=8):%Y-%m-%dT%H:%M}"


def once(name: str, at: datetime, text: str = "hi", **content: object) -> dict:
    body = {"kind": "text", "text": text, **content}
    return {"name": name, "schedule": {"kind": "once", "on": local(at)}, "content": body}


def code(*chats: str) -> LiveCode:
    target = Target("t1", "https://w.example", "group", "k", T0 + timedelta(days=999), T0, b"", wecom_chat_ids=chats)
    return LiveCode("code1", "c", "t", "g", 5, "", "active", T0, T0, 1, targets=(target,))


class Sop:
    def __init__(self) -> None:
        self.now = T0
        self.store, self.queue = FakeSopStore(), FakeSendQueue()
        self.codes = FakeCodeGroups({"code1": code(A, B)})
        self.chats = FakeChats({"code1": [GroupFact(C, "auto 2", 3, "t1", True, T0)]})
        self.wecom = FakeGroupMessenger(owners=dict(OWNERS))
        files, clock = FakeFiles(), lambda: self.now
        self.admin = SopAdmin(self.store, self.codes, files, clock, chats=self.chats, messenger=self.wecom)
        self.job = SopJob(self.store, self.codes, self.queue, clock, chats=self.chats, messenger=self.wecom)
        retry = RetryPolicy(attempts=3, base_seconds=60)
        self.sender = SopSender(self.store, self.codes, files, retry, clock, chats=self.chats, messenger=self.wecom)

    def plan(self, steps: list[dict], target: dict | None = None, **extra: object) -> Plan:
        body = {"target": target or {"kind": "wecom_groups", "code_id": "code1"}, "steps": steps}
        return self.admin.create(PlanCreate.model_validate({"guards": NO_QUIET_HOURS, **body, **extra}))

    def tick(self, at: datetime) -> list[str]:
        self.now = at
        self.job.run()
        return sorted(self.sender.send(p, d) for p, d in self.queue.take())

    def confirm(self, sender: str) -> None:
        for msgid, task in self.wecom.tasks.items():
            if task.task.sender in (sender, None):
                self.wecom.confirm(msgid, sender, f"{self.now + timedelta(hours=8):%Y-%m-%d}", self.now)


@pytest.fixture
def sop() -> Sop:
    return Sop()


# -- audiences ------------------------------------------------------------------------------


def test_wecom_audiences_are_checked_with_clear_refusals(sop):
    step = [once("hi", T0 + timedelta(hours=1))]
    with pytest.raises(InvalidInput, match="code_id is required"):
        sop.plan(step, {"kind": "wecom_groups"})
    sop.codes.codes["bare"] = code()
    with pytest.raises(InvalidInput, match="has no WeCom customer groups"):
        sop.plan(step, {"kind": "wecom_groups", "code_id": "bare"})
    with pytest.raises(InvalidInput, match="1 to 2000"):
        sop.plan(step, {"kind": "wecom_chats", "chat_ids": []})
    with pytest.raises(InvalidInput, match="given twice"):
        sop.plan(step, {"kind": "wecom_chats", "chat_ids": [A, A]})
    with pytest.raises(ValidationError):
        PlanCreate.model_validate({"target": {"kind": "wecom_chats", "chat_ids": [f"wr{i}" for i in range(2001)]}})
    with pytest.raises(InvalidInput, match="corp tag names"):
        sop.plan(step, {"kind": "wecom_tags", "tags": []})
    with pytest.raises(InvalidInput, match="企业群发 cannot send markdown"):
        sop.plan([{**step[0], "content": {"kind": "markdown", "text": "**hi**"}}])
    card = {"kind": "miniprogram", "title": "shop", "appid": "wx0123456789abcdef", "page": "pages/index"}
    with pytest.raises(InvalidInput, match="needs its picture"):
        sop.plan([{**step[0], "content": card}])
    sop.wecom.is_connected = False
    with pytest.raises(Conflict, match="WeCom is not connected"):
        sop.plan(step)


def test_a_mini_program_card_with_its_picture_is_accepted_and_robots_point_to_groupmsg(sop):
    png = base64.b64encode(b"\x89PNG\r\n\x1a\n" + b"\0" * 64).decode()
    card = {"kind": "miniprogram", "title": "shop", "appid": "wx0123456789abcdef", "page": "p", "image_base64": png}
    plan = sop.plan([{**once("card", T0 + timedelta(hours=1)), "content": card}])
    assert plan.audience == {"kind": "wecom_groups", "code_id": "code1"}
    sop.tick(T0 + timedelta(hours=1))
    task = next(iter(sop.wecom.tasks.values()))
    assert task.task.content.kind == "miniprogram" and task.task.image and task.task.image.startswith(b"\x89PNG")


# -- deliveries and tasks --------------------------------------------------------------------------


def test_one_task_per_occurrence_step_and_owner_made_once_however_often_the_job_and_sender_run(sop):
    plan = sop.plan([once("hi", T0 + timedelta(minutes=30))])
    at = T0 + timedelta(minutes=31)

    sop.now = at
    first, second = sop.job.run(), sop.job.run()

    assert (first.deliveries_created, second.deliveries_created) == (2, 0)
    deliveries = {d.sender: d for d in sop.store.of_plan(plan.id)}
    assert deliveries["zhangsan"].chat_ids == (A, B) and deliveries["lisi"].chat_ids == (C,)
    assert sop.wecom.owner_reads == 3  # each group's owner read once in the run
    messages = sop.queue.take()
    outcomes = [sop.sender.send(p, d) for p, d in messages + messages]  # every message delivered twice
    assert sorted(outcomes) == ["awaiting_staff", "awaiting_staff", "not_due", "not_due"]
    assert len(sop.wecom.tasks) == 2
    assert {d.status for d in sop.store.of_plan(plan.id)} == {AWAITING_STAFF}
    assert all(d.msgid for d in sop.store.of_plan(plan.id))


def test_a_group_wecom_does_not_know_is_recorded_as_skipped_without_a_task(sop):
    del sop.wecom.owners[C]
    plan = sop.plan([once("hi", T0 + timedelta(minutes=30))])
    sop.tick(T0 + timedelta(minutes=31))
    skipped = [d for d in sop.store.of_plan(plan.id) if d.status == "skipped"]
    assert [d.chat_ids for d in skipped] == [(C,)] and "groupchat/get" in (skipped[0].reason or "")
    assert len(sop.wecom.tasks) == 1


def test_confirmed_tasks_are_recorded_as_sent_with_counts_and_unconfirmed_ones_not_sent_after_the_task_life(sop):
    plan = sop.plan([once("hi", T0 + timedelta(minutes=30))])
    start = T0 + timedelta(minutes=31)
    sop.tick(start)
    sop.now = start + timedelta(minutes=5)
    sop.confirm("zhangsan")

    assert sop.tick(start + timedelta(minutes=16)) == ["awaiting_staff", "sent"]
    by_sender = {d.sender: d for d in sop.store.of_plan(plan.id)}
    sent = by_sender["zhangsan"]
    assert sent.counts and (sent.counts.sent, sent.counts.pending, sent.counts.not_sent) == (2, 0, 0)
    assert sent.due_at is None and {r.status for r in sent.results} == {"sent"}
    waiting = by_sender["lisi"]
    assert waiting.status == AWAITING_STAFF and waiting.counts and waiting.counts.pending == 1
    # lisi is reminded once the task is REMIND_AFTER old, and never more than MAX_REMINDERS times
    sop.tick(start + REMIND_AFTER + timedelta(minutes=20))
    assert sop.wecom.tasks[waiting.msgid].reminders == 1
    at = start + REMIND_AFTER
    while at < start + TASK_LIFE + timedelta(minutes=30):
        at += timedelta(minutes=16)
        sop.tick(at)
    settled = sop.store.delivery(plan.id, waiting.id)
    assert settled.status == "not_sent" and settled.counts.not_sent == 1
    assert settled.results[0].reason == "the sender did not confirm the task in time"
    assert sop.wecom.tasks[waiting.msgid].reminders == MAX_REMINDERS and sop.wecom.tasks[waiting.msgid].cancelled


def test_wecom_refusing_the_task_fails_the_delivery_and_an_outage_is_retried(sop):
    sop.wecom.refuse = "41048"
    plan = sop.plan([once("hi", T0 + timedelta(minutes=30))], {"kind": "wecom_chats", "chat_ids": [C]})
    assert sop.tick(T0 + timedelta(minutes=31)) == ["failed"]
    assert "41048" in (sop.store.of_plan(plan.id)[0].last_error or "")

    sop.wecom.refuse, sop.wecom.unavailable = None, True
    other = sop.plan([once("hi", T0 + timedelta(days=1))], {"kind": "wecom_chats", "chat_ids": [A]})
    assert sop.tick(T0 + timedelta(days=1, minutes=1)) == ["retry"]
    sop.wecom.unavailable = False
    assert sop.tick(T0 + timedelta(days=1, minutes=2)) == ["awaiting_staff"]
    assert sop.store.of_plan(other.id)[0].msgid


# -- WeCom's one-a-day limit -------------------------------------------------------------------------


def test_a_group_already_pushed_today_is_left_out_of_the_task_and_shown_in_the_calendar(sop):
    morning, noon = T0 + timedelta(minutes=30), T0 + timedelta(hours=2)
    first = sop.plan([once("morning", morning)], {"kind": "wecom_chats", "chat_ids": [A]})
    second = sop.plan([once("noon", noon)])  # A, B (zhangsan) and C (lisi)

    calendar = sop.admin.calendar(second.id, 1)
    over = {e.destination_key: e.outcome for e in calendar}
    assert over == {f"c:{A}": "over_wecom_daily_limit", f"c:{B}": "send", f"c:{C}": "send"}

    sop.tick(morning)
    sop.tick(noon)
    by_sender = {d.sender: d for d in sop.store.of_plan(second.id)}
    assert by_sender["zhangsan"].chat_ids == (B,) and by_sender["zhangsan"].limited == (A,)
    made = [t.task.chat_ids for t in sop.wecom.tasks.values()]
    assert made == [(A,), (B,), (C,)] or sorted(made) == sorted([(A,), (B,), (C,)])
    assert [d.status for d in sop.store.of_plan(first.id)] == [AWAITING_STAFF]
    # Every group of a delivery over the limit: skipped, with the reason, and no task
    third = sop.plan([once("again", noon + timedelta(minutes=30))], {"kind": "wecom_chats", "chat_ids": [C]})
    assert "skipped" in sop.tick(noon + timedelta(minutes=30))
    (skipped,) = sop.store.of_plan(third.id)
    assert "one 企业群发 a day" in (skipped.reason or "") and len(sop.wecom.tasks) == 3


def test_two_steps_the_same_day_show_the_second_over_the_limit(sop):
    plan = sop.plan(
        [once("a", T0 + timedelta(hours=1)), once("b", T0 + timedelta(hours=3))],
        {"kind": "wecom_chats", "chat_ids": [C]},
    )
    assert [e.outcome for e in sop.admin.calendar(plan.id, 1)] == ["send", "over_wecom_daily_limit"]


# -- tags -----------------------------------------------------------------------------------------


def test_a_tags_audience_is_one_task_per_occurrence_and_its_customers_results_are_recorded(sop):
    sop.wecom.tagged = {"wmX": ("VIP", "zhangsan"), "wmY": ("VIP", "lisi"), "wmZ": ("new", "lisi")}
    plan = sop.plan([once("vip", T0 + timedelta(minutes=30))], {"kind": "wecom_tags", "tags": ["VIP"]})
    assert sop.tick(T0 + timedelta(minutes=31)) == ["awaiting_staff"]
    (task,) = sop.wecom.tasks.values()
    assert task.task.chat_type == "single" and task.task.tags == ("VIP",) and task.task.sender is None

    sop.confirm("zhangsan")
    assert sop.tick(T0 + timedelta(minutes=47)) == ["awaiting_staff"]  # lisi has not sent yet
    sop.confirm("lisi")
    assert sop.tick(T0 + timedelta(minutes=63)) == ["sent"]
    (delivery,) = sop.store.of_plan(plan.id)
    assert delivery.counts and delivery.counts.sent == 2

    report = sop.admin.wecom_report(plan.id)
    assert report["occurrences"][0] | {"scheduled_for": None} == {
        "scheduled_for": None,
        "step_id": "s1",
        "step_name": "vip",
        "tasks": 1,
        "sent": 2,
        "pending": 0,
        "not_sent": 0,
    }


def test_the_report_gives_the_confirmation_rate_per_guide(sop):
    plan = sop.plan([once("hi", T0 + timedelta(minutes=30))])
    sop.tick(T0 + timedelta(minutes=31))
    sop.confirm("zhangsan")
    sop.tick(T0 + timedelta(minutes=47))

    report = sop.admin.wecom_report(plan.id)
    rates = {g["sender"]: (g["tasks"], g["confirmed"], g["confirmation_rate"]) for g in report["senders"]}
    assert rates == {"lisi": (1, 0, 0.0), "zhangsan": (1, 1, 1.0)}
    (occurrence,) = report["occurrences"]
    assert (occurrence["tasks"], occurrence["sent"], occurrence["pending"]) == (2, 2, 1)


# -- the results rules ------------------------------------------------------------------------------


def _awaiting(**fields: object) -> Delivery:
    base = dict(
        id="d",
        plan_id="p",
        step_id="s1",
        step_name="s",
        destination_key="s:zhangsan",
        destination_name="zhangsan",
        channel="wecom_groupmsg",
        scheduled_for=T0,
        send_at=T0,
        status=AWAITING_STAFF,
        created_at=T0,
        sender="zhangsan",
        chat_ids=(A, B),
        msgid="m",
        task_created_at=T0,
    )
    return Delivery(**{**base, **fields})  # type: ignore[arg-type]


def test_a_partly_sent_task_is_sent_with_counts_once_nothing_is_pending():
    refused_b = RecipientResult(B, "not_sent", "zhangsan", "already received a 企业群发 message today")
    settled = settle(_awaiting(), [RecipientResult(A, "sent", "zhangsan"), refused_b], T0 + timedelta(hours=1))
    assert settled.status == "sent" and (settled.counts.sent, settled.counts.not_sent) == (1, 1)


def test_every_recipient_refused_is_not_sent_and_unreported_groups_are_pending():
    refused = [RecipientResult(c, "not_sent", "zhangsan", "not the sender's contact") for c in (A, B)]
    assert settle(_awaiting(), refused, T0 + timedelta(minutes=1)).status == "not_sent"
    waiting = settle(_awaiting(), [], T0 + timedelta(minutes=1))
    assert waiting.status == AWAITING_STAFF and waiting.counts.pending == 2 and not waiting.remind
    assert settle(_awaiting(), [], T0 + REMIND_AFTER).remind
    assert not settle(_awaiting(reminders=MAX_REMINDERS), [], T0 + REMIND_AFTER * 4).remind
    expired = settle(_awaiting(), [], T0 + TASK_LIFE)
    assert expired.status == "not_sent" and expired.cancel and expired.counts.not_sent == 2


def test_a_task_wecom_refused_is_resent_the_same_day_without_counting_its_groups_again(sop):
    sop.wecom.refuse = "41048"
    plan = sop.plan([once("hi", T0 + timedelta(minutes=30))], {"kind": "wecom_chats", "chat_ids": [C]})
    assert sop.tick(T0 + timedelta(minutes=31)) == ["failed"]
    sop.wecom.refuse = None
    (failed,) = sop.store.of_plan(plan.id)

    assert sop.admin.resend(plan.id, failed.id).status == "queued"
    assert sop.tick(T0 + timedelta(minutes=32)) == ["awaiting_staff"]
    assert [t.task.chat_ids for t in sop.wecom.tasks.values()] == [(C,)]
