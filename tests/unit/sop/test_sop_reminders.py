"""SOP reminder mode on fakes: the plan option checked (422 / 409), one delivery per (occurrence,
step, group) for every enabled group (screenshots included), the guide reminded once with a signed
task link, the task page's token (forged, expired), marking sent once (a second POST is harmless),
and not_sent when the link expires unconfirmed; the report's confirmation rate per guide."""

from __future__ import annotations

import base64
from datetime import UTC, datetime, timedelta

import pytest
from pydantic import ValidationError

from siyu.core.errors import Conflict, InvalidInput
from siyu.delivery.retry import RetryPolicy
from siyu.live_codes.model import LiveCode, Target
from siyu.sop.admin import SopAdmin
from siyu.sop.api import PlanCreate, delivery_view
from siyu.sop.job import SopJob
from siyu.sop.reminders import NOT_CONFIRMED, reminder_report
from siyu.sop.rules import AWAITING_STAFF, NOT_SENT, SENT
from siyu.sop.sender import SopSender
from siyu.sop.task_page import SopTasks
from siyu.web.signed_links import LinkRefused, sign
from tests.fakes.sop import (
    FakeCodeGroups,
    FakeFiles,
    FakeGroupMessenger,
    FakeSendQueue,
    FakeSopStore,
    FakeStaffReminders,
)

T0 = datetime(2026, 11, 25, 2, 0, tzinfo=UTC)  # 10:00 in Shanghai
KEY = b"k" * 32
NO_QUIET_HOURS = {"quiet_start": "00:00", "quiet_end": "00:00"}
USERS = {"mode": "reminder", "remind": {"wecom_users": ["zhangsan", "lisi"]}, "task_hours": 24}
PNG = b"\x89PNG\r\n\x1a\n" + b"\0" * 64


def local(instant: datetime) -> str:
    return f"{instant + timedelta(hours=8):%Y-%m-%dT%H:%M}"


def once(at: datetime, **content: object) -> dict:
    body = content or {"kind": "text", "text": "今晚 8 点秒杀，记得来"}
    return {"name": "秒杀", "schedule": {"kind": "once", "on": local(at)}, "content": body}


def target(target_id: str, name: str, enabled: bool = True, robot: str | None = None) -> Target:
    return Target(target_id, "https://u", "group", "k", T0 + timedelta(days=9), T0, b"", enabled, name, robot_url=robot)


def code() -> LiveCode:
    targets = (target("t1", "一群"), target("t2", "二群", robot="https://robot/2"), target("t3", "停用", False))
    return LiveCode("code1", "c", "group", "g", 5, "", "active", T0, T0, 1, targets=targets)


class Sop:
    def __init__(self) -> None:
        self.now = T0
        self.store, self.queue, self.files = FakeSopStore(), FakeSendQueue(), FakeFiles()
        self.codes = FakeCodeGroups({"code1": code()})
        self.wecom, self.app = FakeGroupMessenger(), FakeStaffReminders()
        self.robot: list[tuple[str, dict]] = []
        clock = lambda: self.now  # noqa: E731
        self.admin = SopAdmin(self.store, self.codes, self.files, clock, messenger=self.wecom)
        self.job = SopJob(self.store, self.codes, self.queue, clock, messenger=self.wecom)
        self.sender = SopSender(
            self.store,
            self.codes,
            self.files,
            RetryPolicy(attempts=3, base_seconds=60),
            clock,
            messenger=self.wecom,
            reminders=self.app,
            signing_key=lambda: KEY,
            task_base_url=lambda: "https://siyu.example",
            robot=lambda url, message: self.robot.append((url, message)),
        )
        self.tasks = SopTasks(self.store, self.files, lambda: KEY, clock)

    def plan(self, steps: list[dict], delivery: dict | None = None, target_: dict | None = None):
        body = {
            "target": target_ or {"kind": "code_groups", "code_id": "code1"},
            "steps": steps,
            "guards": NO_QUIET_HOURS,
            "delivery": delivery or USERS,
        }
        return self.admin.create(PlanCreate.model_validate(body))

    def tick(self, at: datetime) -> list[str]:
        self.now = at
        self.job.run()
        return sorted(self.sender.send(p, d) for p, d in self.queue.take())

    def token(self, card: int = 0) -> str:
        return self.app.sent[card]["url"].rsplit("/t/", 1)[1]


@pytest.fixture
def sop() -> Sop:
    return Sop()


def test_the_delivery_option_is_checked_with_clear_refusals(sop):
    step = [once(T0 + timedelta(hours=1))]
    with pytest.raises(ValidationError):
        PlanCreate.model_validate({"target": {"kind": "code_groups"}, "delivery": {**USERS, "task_hours": 0}})
    with pytest.raises(InvalidInput, match="exactly one of remind.wecom_users or remind.robot_url"):
        sop.plan(step, {"mode": "reminder", "remind": {}})
    with pytest.raises(InvalidInput, match="exactly one of"):
        sop.plan(step, {"mode": "reminder", "remind": {"wecom_users": ["a"], "robot_url": "https://r"}})
    with pytest.raises(InvalidInput, match="needs remind"):
        sop.plan(step, {"mode": "reminder"})
    with pytest.raises(InvalidInput, match="only for targets that name groups"):
        sop.plan(step, target_={"kind": "wecom_tags", "tags": ["vip"]})
    with pytest.raises(ValidationError):
        PlanCreate.model_validate({"target": {"kind": "code_groups"}, "delivery": {"remind": {"robot_url": "ftp://x"}}})
    sop.wecom.is_connected = False
    with pytest.raises(Conflict, match="WeCom is not connected"):
        sop.plan(step)
    robot = "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=abc"
    plan = sop.plan(step, {"mode": "reminder", "remind": {"robot_url": robot}})  # no WeCom app needed
    assert plan.reminder is not None and plan.reminder.robot_url == robot and plan.reminder.task_hours == 24


def test_markdown_and_mini_program_cards_are_fine_for_a_person_to_send(sop):
    card = {"kind": "miniprogram", "title": "shop", "appid": "wx0123456789abcdef", "page": "pages/index"}
    markdown = once(T0 + timedelta(hours=2), kind="markdown", text="**a**")
    plan = sop.plan([once(T0 + timedelta(hours=1), **card), markdown])
    assert len(plan.steps) == 2


def test_every_enabled_group_gets_one_reminder_once_however_often_the_job_and_sender_run(sop):
    plan = sop.plan([once(T0 + timedelta(minutes=30))])
    sop.now = T0 + timedelta(minutes=31)
    first, second = sop.job.run(), sop.job.run()
    assert (first.deliveries_created, second.deliveries_created) == (2, 0)  # t1 and t2 (no robot needed), not t3

    messages = sop.queue.take()
    outcomes = [sop.sender.send(p, d) for p, d in messages + messages]

    assert sorted(outcomes) == ["awaiting_staff", "awaiting_staff", "not_due", "not_due"]
    assert len(sop.app.sent) == 2 and {tuple(m["users"]) for m in sop.app.sent} == {("zhangsan", "lisi")}
    card = sop.app.sent[0]
    assert card["url"].startswith("https://siyu.example/t/") and "秒杀" in card["description"]
    deliveries = sop.store.of_plan(plan.id)
    assert {d.status for d in deliveries} == {AWAITING_STAFF}
    assert all(d.task_expires_at == sop.now + timedelta(hours=24) for d in deliveries)
    assert {d.destination_name for d in deliveries} == {"一群", "二群"}


def test_a_robot_reminder_is_markdown_with_the_link(sop):
    robot = "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=abc"
    sop.plan([once(T0 + timedelta(minutes=30))], {"mode": "reminder", "remind": {"robot_url": robot}})
    assert sop.tick(T0 + timedelta(minutes=31)) == ["awaiting_staff", "awaiting_staff"]
    url, message = sop.robot[0]
    assert url == robot and message["msgtype"] == "markdown" and "/t/" in message["markdown"]["content"]


def test_wecom_refusing_the_reminder_fails_it_and_an_outage_retries(sop):
    plan = sop.plan([once(T0 + timedelta(minutes=30))])
    sop.app.refuse = True
    assert sop.tick(T0 + timedelta(minutes=31)) == ["failed", "failed"]
    sop.admin.resend(plan.id, sop.store.of_plan(plan.id)[0].id)
    sop.app.refuse, sop.app.unavailable = False, True
    assert sop.tick(T0 + timedelta(minutes=32)) == ["retry"]


def test_the_task_page_shows_the_content_and_marking_sent_twice_records_it_once(sop):
    plan = sop.plan([once(T0 + timedelta(minutes=30))])
    sop.tick(T0 + timedelta(minutes=31))
    token = sop.token()

    task = sop.tasks.open(token)
    assert task.group == task.delivery.destination_name and task.content.text == "今晚 8 点秒杀，记得来"
    assert task.delivery.status == AWAITING_STAFF

    sop.now += timedelta(hours=1)
    first, newly = sop.tasks.mark_sent(token, "张三")
    again, newly_again = sop.tasks.mark_sent(token, "李四")

    assert (newly, newly_again) == (True, False)
    delivery = sop.store.delivery(plan.id, first.delivery.id)
    assert delivery is not None and delivery.status == SENT
    assert delivery.confirmed_by == "张三" and delivery.sent_at == sop.now
    assert again.delivery.confirmed_by == "张三"
    view = delivery_view(delivery)
    assert view["status"] == "sent" and view["confirmed_by"] == "张三" and view["task_expires_at"]


def test_a_forged_or_expired_link_is_refused(sop):
    sop.plan([once(T0 + timedelta(minutes=30))])
    sop.tick(T0 + timedelta(minutes=31))
    token = sop.token()
    forged = sign({"plan": "x", "delivery": "y"}, sop.now + timedelta(hours=1), b"other" * 8)
    with pytest.raises(LinkRefused, match="invalid"):
        sop.tasks.open(forged)
    with pytest.raises(LinkRefused, match="invalid"):
        sop.tasks.open(token[:-2] + "AA")
    with pytest.raises(LinkRefused, match="invalid"):  # genuine signature, but no such delivery
        sop.tasks.open(sign({"plan": "x", "delivery": "y"}, sop.now + timedelta(hours=1), KEY))
    sop.now += timedelta(hours=24)
    with pytest.raises(LinkRefused, match="expired"):
        sop.tasks.open(token)
    with pytest.raises(LinkRefused, match="expired"):
        sop.tasks.mark_sent(token, "张三")


def test_a_task_not_marked_sent_before_its_link_expires_becomes_not_sent(sop):
    plan = sop.plan([once(T0 + timedelta(minutes=30))])
    sop.tick(T0 + timedelta(minutes=31))
    sop.tasks.mark_sent(sop.token(0), "张三")

    assert sop.tick(T0 + timedelta(hours=12)) == []  # nothing due before the links expire
    assert sop.tick(T0 + timedelta(minutes=31, hours=24)) == ["not_sent"]  # the confirmed one is not due

    statuses = {d.confirmed_by: (d.status, d.reason) for d in sop.store.of_plan(plan.id)}
    assert statuses == {"张三": (SENT, None), None: (NOT_SENT, NOT_CONFIRMED)}
    assert sop.tick(T0 + timedelta(hours=30)) == []
    report = sop.admin.wecom_report(plan.id)["reminders"]
    assert [(g["tasks"], g["sent"], g["not_sent"]) for g in report] == [(1, 1, 0), (1, 0, 1)]
    assert [g["confirmation_rate"] for g in report] == [1.0, 0.0]


def test_an_image_step_is_on_the_page(sop):
    image = {"kind": "image", "image_base64": base64.b64encode(PNG).decode()}
    sop.plan([once(T0 + timedelta(minutes=30), **image)])
    sop.tick(T0 + timedelta(minutes=31))
    task = sop.tasks.open(sop.token())
    assert task.image_src == "data:image/png;base64," + base64.b64encode(PNG).decode()


def test_the_report_counts_only_reminder_deliveries():
    assert reminder_report([]) == []


def test_the_page_has_the_content_to_copy_the_button_and_is_never_framed_or_cached(sop):
    from siyu.sop.task_page_html import refused_page, task_page

    sop.plan([once(T0 + timedelta(minutes=30), kind="text", text="<b>秒杀</b>")])
    sop.tick(T0 + timedelta(minutes=31))
    token = sop.token()
    page = task_page(sop.tasks.open(token), token)
    body, headers = page["body"], page["headers"]
    assert page["statusCode"] == 200 and "&lt;b&gt;秒杀&lt;/b&gt;" in body and "<b>秒杀</b>" not in body
    assert f"action='/t/{token}/sent'" in body and "已发送" in body and "复制" in body
    assert "navigator.clipboard" in body and "execCommand('copy')" in body
    assert "frame-ancestors 'none'" in headers["Content-Security-Policy"] and "no-store" in headers["Cache-Control"]
    task, _ = sop.tasks.mark_sent(token, "张三")
    assert "✓ 已发送（张三" in task_page(task, token)["body"]
    assert refused_page("expired")["statusCode"] == 410 and "链接已过期" in refused_page("expired")["body"]
    assert refused_page("invalid")["statusCode"] == 404 and "链接无效" in refused_page("invalid")["body"]
