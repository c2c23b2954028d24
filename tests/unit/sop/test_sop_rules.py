"""SOP schedules across time zones and daylight saving, quiet hours, content per channel."""

from datetime import UTC, date, datetime, time, timedelta

import pytest

from siyu.sop.rules import (
    DAY_OFFSET,
    IMAGE,
    LINK,
    MINIPROGRAM,
    ONCE,
    TEXT,
    WEBHOOK,
    WECOM_ROBOT,
    WEEKLY,
    Content,
    Guards,
    PlanInvalid,
    Schedule,
    check_content,
    in_quiet_hours,
    occurrences,
    send_time,
    too_late,
    zone,
)

SHANGHAI, NEW_YORK, UTC_ZONE = zone("Asia/Shanghai"), zone("America/New_York"), zone("UTC")
WEEK_START = datetime(2026, 11, 22, tzinfo=UTC)  # a Sunday


def instants(schedule, start=date(2026, 11, 23), tz=SHANGHAI, after=WEEK_START, days=14):
    return list(occurrences(schedule, start, tz, after, after + timedelta(days=days)))


def test_day_offset_is_day_n_after_the_targets_start_at_local_time():
    found = instants(Schedule(DAY_OFFSET, time(20, 0), day=3))
    assert found == [datetime(2026, 11, 26, 12, 0, tzinfo=UTC)]  # 20:00 in Shanghai is 12:00 UTC
    assert instants(Schedule(DAY_OFFSET, time(9, 0), day=0), tz=NEW_YORK) == [datetime(2026, 11, 23, 14, 0, tzinfo=UTC)]


def test_weekly_runs_on_its_weekdays_in_the_plans_zone():
    monday_wednesday = Schedule(WEEKLY, time(8, 30), weekdays=(1, 3))
    found = instants(monday_wednesday, days=7)
    assert [i.astimezone(SHANGHAI).strftime("%a %H:%M") for i in found] == ["Mon 08:30", "Wed 08:30"]
    # The same wall-clock schedule in New York is 13 hours later in absolute time
    ny = instants(monday_wednesday, tz=NEW_YORK, days=7)
    assert [i.astimezone(NEW_YORK).strftime("%a %H:%M") for i in ny] == ["Mon 08:30", "Wed 08:30"]
    assert ny[0] - found[0] == timedelta(hours=13)


def test_once_happens_once_and_only_inside_the_window():
    schedule = Schedule(ONCE, time(10, 0), on=date(2026, 11, 30))
    assert instants(schedule) == [datetime(2026, 11, 30, 2, 0, tzinfo=UTC)]
    assert instants(schedule, after=datetime(2026, 11, 30, 2, 0, tzinfo=UTC)) == []


def test_weekly_keeps_local_time_across_a_daylight_saving_change():
    # New York leaves daylight saving on Sunday 2026-11-01: 09:00 local moves from 13:00 to 14:00 UTC
    daily = Schedule(WEEKLY, time(9, 0), weekdays=(1, 2, 3, 4, 5, 6, 7))
    found = instants(daily, tz=NEW_YORK, after=datetime(2026, 10, 30, tzinfo=UTC), days=4)
    assert [i.hour for i in found] == [13, 13, 14, 14]
    assert all(i.astimezone(NEW_YORK).hour == 9 for i in found)


def test_times_that_do_not_exist_or_happen_twice_on_dst_days():
    # 2026-03-08 02:30 does not exist in New York (clocks jump 02:00 -> 03:00): sent at 03:30 EDT
    gap = Schedule(ONCE, time(2, 30), on=date(2026, 3, 8))
    (instant,) = instants(gap, tz=NEW_YORK, after=datetime(2026, 3, 7, tzinfo=UTC))
    assert instant == datetime(2026, 3, 8, 7, 30, tzinfo=UTC)
    # 2026-11-01 01:30 happens twice: sent the first time (EDT, UTC-4)
    twice = Schedule(ONCE, time(1, 30), on=date(2026, 11, 1))
    (instant,) = instants(twice, tz=NEW_YORK, after=datetime(2026, 10, 31, tzinfo=UTC))
    assert instant == datetime(2026, 11, 1, 5, 30, tzinfo=UTC)


def test_quiet_hours_hold_a_push_until_they_end():
    guards = Guards()  # 22:00-08:00
    late_evening = datetime(2026, 11, 25, 15, 0, tzinfo=UTC)  # 23:00 in Shanghai
    assert in_quiet_hours(late_evening, guards, SHANGHAI)
    assert send_time(late_evening, guards, SHANGHAI) == datetime(2026, 11, 26, 0, 0, tzinfo=UTC)  # 08:00 next day
    early = datetime(2026, 11, 25, 20, 0, tzinfo=UTC)  # 04:00 on the 26th in Shanghai
    assert send_time(early, guards, SHANGHAI) == datetime(2026, 11, 26, 0, 0, tzinfo=UTC)
    noon = datetime(2026, 11, 25, 4, 0, tzinfo=UTC)
    assert send_time(noon, guards, SHANGHAI) == noon
    daytime_quiet = Guards(quiet_start=time(12, 0), quiet_end=time(14, 0))
    assert send_time(noon, daytime_quiet, SHANGHAI) == datetime(2026, 11, 25, 6, 0, tzinfo=UTC)


def test_a_push_too_late_is_skipped():
    guards = Guards(max_delay_minutes=60)
    scheduled = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
    assert not too_late(scheduled, scheduled + timedelta(minutes=60), guards)
    assert too_late(scheduled, scheduled + timedelta(minutes=61), guards)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (Content(MINIPROGRAM, title="t", appid="wx1", page="p"), "mini-program"),
        (Content(TEXT, text="字" * 700), "2048 bytes"),
        (Content(IMAGE, image_key="k", image_bytes=3 * 1024 * 1024), "2 MB"),
        (Content(LINK, title="标" * 50, url="https://x"), "title"),
    ],
)
def test_content_a_robot_cannot_carry_is_refused_with_the_reason(content, message):
    with pytest.raises(PlanInvalid, match=message):
        check_content(content, WECOM_ROBOT)


def test_a_webhook_carries_every_kind():
    for kind in (TEXT, IMAGE, LINK, MINIPROGRAM):
        check_content(Content(kind, text="x" * 5000), WEBHOOK)
