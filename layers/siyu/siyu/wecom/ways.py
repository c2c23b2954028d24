"""Contact ways (联系我) and join ways (加入群聊) behind live code targets: ``WayMaker`` on WeCom.

Each way gets its own ``state``: ``sy`` and 16 characters derived from its code, target and
channel (WeCom allows 30), remembered in the table, so the add/join callback finds where the
customer came from. The way's QR image is fetched once here and read (its content is the way's
URL); the live code admin checks it again like any upload.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from siyu.campaigns.ports import MadeReferralWay
from siyu.core.errors import InvalidInput, SiyuError
from siyu.core.ids import stable_id
from siyu.live_codes.ports import MadeWay, WayOwner
from siyu.live_codes.qr_upload import read_qr_screenshot
from siyu.wecom.client import WecomApiError, WecomClient
from siyu.wecom.records import REFERRAL_PREFIX, STATE_PREFIX, ReferralState, WayState

# Answers that mean "that member / group / way is not yours": the operator's input, not our fault.
GONE = frozenset({41044, 40096, 90500, 40058})


class StateRegistry(Protocol):
    def remember_state(self, way: WayState) -> None: ...


class ReferralStates(Protocol):
    def remember_referral_state(self, referral: ReferralState) -> None: ...


class ChatWatch(Protocol):
    def watch_chat(self, chat_id: str) -> None: ...


class ClientSource(Protocol):
    def client(self) -> WecomClient: ...


def way_state(owner: WayOwner) -> str:
    return STATE_PREFIX + stable_id(f"{owner.code_id}|{owner.target_id}|{owner.channel_id or '-'}", 16)


def referral_state(campaign_id: str, participant_id: str) -> str:
    return REFERRAL_PREFIX + stable_id(f"campaign|{campaign_id}|{participant_id}", 16)


@dataclass
class ReferralWays:
    """A campaign participant's own contact way (the campaigns' ``ReferralWays``): its state says
    which campaign and participant, so the add callback can credit the right poster."""

    connections: ClientSource
    states: ReferralStates

    def make(self, campaign_id: str, participant_id: str, users: tuple[str, ...]) -> MadeReferralWay:
        state = referral_state(campaign_id, participant_id)
        client = self.connections.client()
        body = {
            "type": 2 if len(users) > 1 else 1,
            "scene": 2,
            "user": list(users),
            "state": state,
            "skip_verify": True,
            "remark": f"siyu campaign {campaign_id}"[:30],
        }
        answer = client.post("/cgi-bin/externalcontact/add_contact_way", body)
        config_id = str(answer["config_id"])
        try:
            qr_url = str(answer.get("qr_code", ""))
            if not qr_url:
                qr_url = str(
                    WecomWays._get_way(client, "/cgi-bin/externalcontact/get_contact_way", config_id)["qr_code"]
                )
            self.states.remember_referral_state(ReferralState(state, campaign_id, participant_id))
            made = WecomWays._made(client, config_id, state, qr_url)
        except BaseException:
            self.delete(config_id)  # nothing else knows this way: do not leave it taking quota
            raise
        return MadeReferralWay(config_id=config_id, qr_url=made.qr_url, state=state)

    def delete(self, config_id: str) -> None:
        try:
            self.connections.client().post("/cgi-bin/externalcontact/del_contact_way", {"config_id": config_id})
        except WecomApiError as error:
            if error.errcode not in GONE:
                raise


@dataclass
class WecomWays:
    connections: ClientSource
    states: StateRegistry
    chats: ChatWatch  # a join way's groups go on the reconcile's list

    def contact_way(self, owner: WayOwner, user_id: str, skip_verify: bool) -> MadeWay:
        state = way_state(owner)
        client = self.connections.client()
        body = {
            "type": 1,
            "scene": 2,
            "user": [user_id],
            "state": state,
            "skip_verify": skip_verify,
            "remark": f"siyu {owner.code_id}"[:30],
        }
        answer = _refused_as_input(lambda: client.post("/cgi-bin/externalcontact/add_contact_way", body), user_id)
        config_id = str(answer["config_id"])
        with self._undone_on_failure("/cgi-bin/externalcontact/del_contact_way", config_id):
            qr_url = str(answer.get("qr_code", ""))
            if not qr_url:
                qr_url = str(self._get_way(client, "/cgi-bin/externalcontact/get_contact_way", config_id)["qr_code"])
            self.states.remember_state(WayState(state, owner.code_id, owner.target_id, owner.channel_id, "contact"))
            return self._made(client, config_id, state, qr_url)

    def join_way(self, owner: WayOwner, chat_ids: Sequence[str], room_base_name: str, auto_create: bool) -> MadeWay:
        state = way_state(owner)
        client = self.connections.client()
        body: dict[str, Any] = {
            "scene": 2,
            "remark": f"siyu {owner.code_id}"[:30],
            "auto_create_room": 1 if auto_create else 0,
            "chat_id_list": list(chat_ids),
            "state": state,
        }
        if auto_create:
            body.update(room_base_name=room_base_name[:40], room_base_id=1)
        label = ", ".join(chat_ids)
        answer = _refused_as_input(lambda: client.post("/cgi-bin/externalcontact/groupchat/add_join_way", body), label)
        config_id = str(answer["config_id"])
        with self._undone_on_failure("/cgi-bin/externalcontact/groupchat/del_join_way", config_id):
            way = self._get_way(client, "/cgi-bin/externalcontact/groupchat/get_join_way", config_id)
            self.states.remember_state(WayState(state, owner.code_id, owner.target_id, owner.channel_id, "join"))
            for chat_id in chat_ids:
                self.chats.watch_chat(chat_id)
            return self._made(client, config_id, state, str(way["qr_code"]))

    @contextlib.contextmanager
    def _undone_on_failure(self, delete_path: str, config_id: str) -> Iterator[None]:
        """WeCom made the way; if anything after fails (its QR, storage), take it back before the
        error goes on: the caller never learns its config id, so nobody else could."""
        try:
            yield
        except BaseException:
            with contextlib.suppress(Exception):
                self._delete(delete_path, config_id)
            raise

    def delete_contact_way(self, config_id: str) -> None:
        self._delete("/cgi-bin/externalcontact/del_contact_way", config_id)

    def delete_join_way(self, config_id: str) -> None:
        self._delete("/cgi-bin/externalcontact/groupchat/del_join_way", config_id)

    def _delete(self, path: str, config_id: str) -> None:
        try:
            self.connections.client().post(path, {"config_id": config_id})
        except WecomApiError as error:
            if error.errcode not in GONE:
                raise

    @staticmethod
    def _get_way(client: WecomClient, path: str, config_id: str) -> dict[str, Any]:
        answer = client.post(path, {"config_id": config_id})
        way = answer.get("contact_way") or answer.get("join_way") or {}
        if not isinstance(way, dict) or not way.get("qr_code"):
            raise WecomApiError(path, -2, "the way has no qr_code")
        return way

    @staticmethod
    def _made(client: WecomClient, config_id: str, state: str, image_url: str) -> MadeWay:
        image = client.fetch_image(image_url)
        try:
            content = read_qr_screenshot(image).url  # the live code admin checks it again, like an upload
        except SiyuError as error:
            raise WecomApiError("qr_code", -2, f"WeCom's QR image for way {config_id} is unreadable: {error}") from None
        return MadeWay(config_id=config_id, state=state, qr_url=content, qr_image=image)


def _refused_as_input(call: Any, what: str) -> dict[str, Any]:
    try:
        answer: dict[str, Any] = call()
    except WecomApiError as error:
        raise InvalidInput(
            f"WeCom refused the way for {what} (errcode {error.errcode}: {error.errmsg}); check that the member "
            "or group exists, is in the app's visible range, and that the app has 客户联系 permission"
        ) from None
    return answer
