"""Ways WeCom made are never left behind: if anything after `add_*_way` fails (reading its QR,
storage), the way is deleted in WeCom before the error goes on."""

from __future__ import annotations

import pytest

from siyu.core.errors import Unavailable
from siyu.live_codes.ports import WayOwner
from siyu.live_codes.qr_image import qr_png
from siyu.wecom.ways import WecomWays
from tests.fakes.wecom import FakeContacts, FakeWecomTable


class FakeClient:
    def __init__(self, image: bytes | None = None, image_error: Exception | None = None):
        self.calls: list[tuple[str, dict]] = []
        self.image, self.image_error = image, image_error

    def post(self, path: str, body: dict) -> dict:
        self.calls.append((path, body))
        if path.endswith("add_contact_way"):
            return {"config_id": "cfg1", "qr_code": "https://wework.qpic.cn/qr.png"}
        if path.endswith("add_join_way"):
            return {"config_id": "cfg2"}
        if path.endswith("get_join_way"):
            return {"join_way": {"qr_code": "https://wework.qpic.cn/qr2.png"}}
        return {"errcode": 0}

    def fetch_image(self, url: str) -> bytes:
        if self.image_error:
            raise self.image_error
        assert self.image is not None
        return self.image


class Connections:
    def __init__(self, client: FakeClient):
        self._client = client

    def client(self) -> FakeClient:
        return self._client


OWNER = WayOwner("code1", "t1", None)


def ways(client: FakeClient) -> WecomWays:
    return WecomWays(Connections(client), FakeWecomTable(), FakeContacts())  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "client",
    [FakeClient(image_error=Unavailable("the image host is down")), FakeClient(image=b"not an image")],
)
def test_a_contact_way_whose_qr_cannot_be_had_is_deleted_again(client):
    with pytest.raises(Exception):  # noqa: B017 - whatever failed goes on to the caller
        ways(client).contact_way(OWNER, "zhangsan", True)
    assert client.calls[-1] == ("/cgi-bin/externalcontact/del_contact_way", {"config_id": "cfg1"})


def test_a_join_way_whose_qr_cannot_be_had_is_deleted_again():
    client = FakeClient(image_error=Unavailable("down"))
    with pytest.raises(Unavailable):
        ways(client).join_way(OWNER, ["wrA"], "福利群", True)
    assert client.calls[-1] == ("/cgi-bin/externalcontact/groupchat/del_join_way", {"config_id": "cfg2"})


def test_a_way_made_whole_is_kept_and_its_state_remembered():
    client = FakeClient(image=qr_png("https://work.weixin.qq.com/ca/cawcde0123456789abcd"))
    table = FakeWecomTable()
    made = WecomWays(Connections(client), table, FakeContacts()).contact_way(OWNER, "zhangsan", True)  # type: ignore[arg-type]
    assert made.qr_url == "https://work.weixin.qq.com/ca/cawcde0123456789abcd"
    assert not any("del_" in path for path, _ in client.calls)
    assert table.states[made.state].code_id == "code1"
