"""What customer layering needs of WeCom (``layering.ports``): tags on a contact and the corp's
tag names (``ContactTagger``), and when a contact added a guide (``ContactFacts``).

- ``get_corp_tag_list``: the corp's tags by name (read once per container, again when a name is
  missing); ``add_corp_tag``: the missing ones, in the ``siyu`` tag group (the group made with
  them the first time);
- ``externalcontact/mark_tag``: the tags on the contact, as the guide the token names.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from siyu.wecom.client import WecomClient
from siyu.wecom.records import Follow

TAG_GROUP = "siyu"


class ConnectedClient(Protocol):
    def current(self) -> object | None: ...

    def client(self) -> WecomClient: ...


@dataclass
class WecomContactTagger:
    connections: ConnectedClient
    _ids: dict[str, str] = field(default_factory=dict, repr=False)  # corp tag name -> id, per container
    _group_id: str | None = field(default=None, repr=False)

    def connected(self) -> bool:
        return self.connections.current() is not None

    def mark(self, user_id: str, external_user_id: str, tags: Collection[str], remove: Collection[str] = ()) -> None:
        """Add `tags` (made as needed) and take off `remove` (those the corp has) in one mark_tag."""
        ids = self._ids_for(sorted(set(tags)))
        gone = [self._ids[name] for name in sorted(set(remove)) if name in self._ids]
        if ids or gone:
            body: dict[str, Any] = {"userid": user_id, "external_userid": external_user_id}
            body.update({"add_tag": ids} if ids else {})
            body.update({"remove_tag": gone} if gone else {})
            self.connections.client().post("/cgi-bin/externalcontact/mark_tag", body)

    def corp_tags(self) -> list[str]:
        self._read()
        return sorted(self._ids)

    def _ids_for(self, names: list[str]) -> list[str]:
        if any(name not in self._ids for name in names):
            self._read()
        missing = [name for name in names if name not in self._ids]
        if missing:
            body: dict[str, Any] = {"tag": [{"name": name} for name in missing]}
            body.update({"group_id": self._group_id} if self._group_id else {"group_name": TAG_GROUP})
            answer = self.connections.client().post("/cgi-bin/externalcontact/add_corp_tag", body)
            self._group_id = str(answer.get("tag_group", {}).get("group_id", "")) or self._group_id
            for tag in answer.get("tag_group", {}).get("tag", []):
                self._ids[str(tag["name"])] = str(tag["id"])
        return [self._ids[name] for name in names if name in self._ids]

    def _read(self) -> None:
        answer = self.connections.client().post("/cgi-bin/externalcontact/get_corp_tag_list", {})
        self._ids.clear()
        for group in answer.get("tag_group", []):
            if group.get("group_name") == TAG_GROUP:
                self._group_id = str(group["group_id"])
            for tag in group.get("tag", []):
                if not tag.get("deleted"):
                    self._ids.setdefault(str(tag["name"]), str(tag["id"]))


class FollowReader(Protocol):
    def follows(self, external_user_id: str) -> list[Follow]: ...


@dataclass
class FollowFacts:
    """When the contact first added a guide, and when they had deleted every guide (None while one stays)."""

    contacts: FollowReader

    def added(self, external_user_id: str) -> tuple[datetime | None, datetime | None]:
        follows = self.contacts.follows(external_user_id)
        if not follows:
            return None, None
        first = min(f.added_at for f in follows)
        if any(f.deleted_at is None for f in follows):
            return first, None
        return first, max(f.deleted_at for f in follows if f.deleted_at is not None)
