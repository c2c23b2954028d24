"""The WeCom emulator's group activity over real HTTP: customers who joined through a join way speak,
and groupchat/statistic reports per owner and day the groups, members, members who spoke and the
messages; its refusals are WeCom's errcodes."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from local_stack.wecom import WecomEmulator
from tests.integration.wecom.test_wecom_emulator import EXTERNAL, Clock, api, control, qr_content

CORP = "wwactivitycorp01"
CHINA = timezone(timedelta(hours=8))


@pytest.fixture(scope="module")
def emulator():
    emulator = WecomEmulator(lambda corp_id: None, clock=Clock()).start()
    yield emulator
    emulator.stop()


def day_start(emulator_clock_now: float) -> int:
    day = datetime.fromtimestamp(emulator_clock_now, CHINA).date()
    return int(datetime(day.year, day.month, day.day, tzinfo=CHINA).timestamp())


def test_members_who_spoke_are_counted_per_owner_and_day(emulator):
    body = {"scene": 2, "chat_id_list": ["wrAct1"], "state": "act"}
    config_id = api(emulator, f"{EXTERNAL}/groupchat/add_join_way", body, corp=CORP)["config_id"]
    way = api(emulator, f"{EXTERNAL}/groupchat/get_join_way", {"config_id": config_id}, corp=CORP)["join_way"]
    qr = qr_content(emulator, way["qr_code"])
    for who in ("wmA", "wmB", "wmC"):
        assert control(emulator, "/scan", {"url": qr, "external_userid": who})[0] == 200
    assert control(emulator, "/chats/wrAct1/speak", {"external_userid": "wmA"})[0] == 200
    assert control(emulator, "/chats/wrAct1/speak", {"external_userid": "wmA"})[0] == 200
    assert control(emulator, "/chats/wrAct1/speak", {"external_userid": "wmB"})[0] == 200
    assert control(emulator, "/chats/wrAct1/speak", {"external_userid": "wmZ"})[0] == 404  # not a member

    start = day_start(Clock().now)
    statistic = f"{EXTERNAL}/groupchat/statistic"
    answer = api(emulator, statistic, {"day_begin_time": start, "owner_filter": {"userid_list": ["owner"]}}, corp=CORP)
    assert answer["errcode"] == 0 and answer["total"] == 1
    data = answer["items"][0]["data"]
    assert (data["chat_total"], data["member_total"], data["member_has_msg"], data["msg_total"]) == (1, 4, 2, 3)
    before = {"day_begin_time": start - 86400, "owner_filter": {"userid_list": ["owner"]}}
    yesterday = api(emulator, statistic, before, corp=CORP)["items"][0]["data"]
    assert yesterday["member_has_msg"] == 0 and yesterday["chat_total"] == 0  # the group did not exist yet
    assert api(emulator, statistic, {}, corp=CORP)["errcode"] == 40058
    too_long = {"day_begin_time": start, "day_end_time": start + 31 * 86400}
    assert api(emulator, statistic, too_long, corp=CORP)["errcode"] == 40058
