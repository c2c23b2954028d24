"""WeCom app messages (``message/send``) on ``WecomClient``: the SOP feature's ``StaffReminders``.

Reminder mode sends the guides a ``textcard`` (title, description, the task page URL) from the
connected corp's self-built app (its ``agent_id``). WeCom answers the users it could not reach in
``invaliduser``: when none of them was reached the reminder is refused (``GroupMessageRefused``),
otherwise it counts as sent. WeCom out of reach stays ``Unavailable``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from siyu.sop.ports import GroupMessageRefused
from siyu.wecom.client import WecomApiError, WecomClient
from siyu.wecom.records import Connection


class ConnectedApp(Protocol):
    """``WecomConnections``: the connection (its agent id) and its client."""

    def current(self) -> tuple[Connection, Any] | None: ...

    def client(self) -> WecomClient: ...


@dataclass
class WecomAppMessages:
    connections: ConnectedApp

    def connected(self) -> bool:
        return self.connections.current() is not None

    def remind(self, users: Sequence[str], card: dict[str, str]) -> None:
        current = self.connections.current()
        if current is None:
            raise GroupMessageRefused("WeCom is not connected: the guides cannot be reminded")
        agent_id = current[0].agent_id
        body = {"touser": "|".join(users), "msgtype": "textcard", "agentid": int(agent_id), "textcard": card}
        try:
            answer = self.connections.client().post("/cgi-bin/message/send", body)
        except WecomApiError as error:
            raise GroupMessageRefused(str(error)) from None
        invalid = {u for u in str(answer.get("invaliduser") or "").split("|") if u}
        if invalid and invalid >= set(users):
            raise GroupMessageRefused(f"WeCom message/send reached none of the users: {', '.join(sorted(invalid))}")
