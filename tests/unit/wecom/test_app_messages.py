"""WeCom app messages (message/send textcard) as reminder mode's StaffReminders."""

from __future__ import annotations

import pytest

from siyu.sop.ports import GroupMessageRefused
from siyu.wecom.app_messages import WecomAppMessages
from siyu.wecom.client import WecomClient
from siyu.wecom.records import Connection
from tests.fakes.wecom import FakeWecomTable
from tests.unit.wecom.test_group_messages import NOW, FakeWecom

CARD = {"title": "SOP 待发送：一群", "description": "d", "url": "https://s.example/t/x.y", "btntxt": "去发送"}


class App:
    def __init__(self, http: FakeWecom, connected: bool = True):
        self._client = WecomClient("ww1", "secret-value", FakeWecomTable(), "https://q.example", http, lambda: NOW)
        self._connected = connected

    def current(self):
        return (Connection("ww1", "1000002", NOW), object()) if self._connected else None

    def client(self) -> WecomClient:
        return self._client


def test_a_reminder_is_one_textcard_to_every_user_from_the_connected_app():
    http = FakeWecom({})
    WecomAppMessages(App(http)).remind(["zhangsan", "lisi"], CARD)
    (body,) = http.bodies("/cgi-bin/message/send")
    assert body == {"touser": "zhangsan|lisi", "msgtype": "textcard", "agentid": 1000002, "textcard": CARD}


def test_wecom_refusing_or_reaching_nobody_is_refused_and_some_reached_is_sent():
    refusing = FakeWecom({"/cgi-bin/message/send": {"errcode": 81013, "errmsg": "user invalid"}})
    with pytest.raises(GroupMessageRefused, match="81013"):
        WecomAppMessages(App(refusing)).remind(["zhangsan"], CARD)
    nobody = FakeWecom({"/cgi-bin/message/send": {"errcode": 0, "invaliduser": "zhangsan|lisi"}})
    with pytest.raises(GroupMessageRefused, match="none of the users"):
        WecomAppMessages(App(nobody)).remind(["zhangsan", "lisi"], CARD)
    some = FakeWecom({"/cgi-bin/message/send": {"errcode": 0, "invaliduser": "lisi"}})
    WecomAppMessages(App(some)).remind(["zhangsan", "lisi"], CARD)
    assert not WecomAppMessages(App(some, connected=False)).connected()
